#!/usr/bin/env python3
"""Registered executors on other hosts: network namespaces, mutual TLS, a cut link.

The test makes five network namespaces of its own: one for the broker, three
for executors and a "switch" holding a bridge that joins them by veth pairs,
with addresses in 198.18.0.0/24. The broker runs `testbus run --listen
tls+tcp://198.18.0.1:PORT` in its namespace; each executor namespace runs
`testbus-executor-shell --register ... --capacity 2` with certificates from a
CA the test made. A target of 12 shards (each a one-second suite) is spread
over them, and once one executor runs shards its link is cut (`ip link set
eth0 down` in its namespace). Its shards lapse their lease and finish on the
others; the run passes, and results.json has the same test cases, shard for
shard, as the same suite run on one host with one executor over loopback.

Needs root to make namespaces: otherwise it prints SKIPPED and exits 77.

Usage: multihost_test.py --bin BUILD/bin [unittest arguments]
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "registration"))
import registration_test as reg  # noqa: E402  (make_certs, free_port)

CONFIG = os.path.join(HERE, "configs", "multihost.yaml")
SUITE = os.path.join(HERE, "suites", "shard.sh")
BIN = ""
SKIP_STATUS = 77

TOKEN = "multihost-test-token"
SERVER_NAME = "localhost"   # the DNS name in the broker's certificate
BROKER_ADDR = "198.18.0.1"
BROKER_PORT = 7400
EXECUTORS = 3
SHARDS = 12

RUN_TIMEOUT = 40     # one run, seconds
CUT_TIMEOUT = 25     # until an executor runs a shard
STOP_TIMEOUT = 5     # a process asked to stop, before SIGKILL
IP_TIMEOUT = 10      # one ip command


def ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True,
                          timeout=IP_TIMEOUT, check=check)


class Network:
    """The namespaces of one test run, named tb<pid>b, tb<pid>s, tb<pid>e1...

    up() raises unittest.SkipTest when `ip netns add` is refused; down()
    removes whatever up() made and may be called any number of times.
    """

    def __init__(self):
        tag = "tb%d" % os.getpid()
        self.switch = tag + "s"
        self.broker = tag + "b"
        self.executors = ["%se%d" % (tag, i + 1) for i in range(EXECUTORS)]
        self.made = []

    def add(self, name):
        r = ip("netns", "add", name, check=False)
        if r.returncode != 0:
            if not self.made:
                raise unittest.SkipTest("`ip netns add` was refused: " + r.stderr.strip())
            raise RuntimeError("ip netns add %s: %s" % (name, r.stderr.strip()))
        self.made.append(name)

    def up(self):
        self.add(self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        hosts = [(self.broker, BROKER_ADDR)] + [
            (ns, "198.18.0.%d" % (11 + i)) for i, ns in enumerate(self.executors)]
        for i, (ns, addr) in enumerate(hosts):
            self.add(ns)
            port = "p%d" % i
            ip("-n", self.switch, "link", "add", port, "type", "veth",
               "peer", "name", "eth0", "netns", ns)
            ip("-n", self.switch, "link", "set", port, "master", "br0")
            ip("-n", self.switch, "link", "set", port, "up")
            ip("-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")

    def down(self):
        while self.made:
            ip("netns", "del", self.made.pop(), check=False)


class Processes:
    """Processes the test started, stopped by pid: SIGTERM, then SIGKILL."""

    def __init__(self):
        self.procs = []

    def start(self, args, env, log):
        p = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=STOP_TIMEOUT)

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.time() + STOP_TIMEOUT
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=STOP_TIMEOUT)
        self.procs = []


def test_cases(results):
    """{(phase, target_id): [(suite, classname, name, status), ...]}."""
    out = {}
    for phase in results["phases"]:
        for t in phase["targets"]:
            out[(phase["name"], t["target_id"])] = sorted(
                (c["suite"], c["classname"], c["name"], c["status"]) for c in t["test_cases"])
    return out


def on_signal(signum, frame):
    raise SystemExit("stopped by signal %d" % signum)


class MultiHostTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to make network namespaces")
        for tool in ("ip", "openssl"):
            if shutil.which(tool) is None:
                self.skipTest("needs %s" % tool)
        self.tmp = tempfile.mkdtemp(prefix="testbus-mh-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.logs = []
        self.addCleanup(lambda: [f.close() for f in self.logs])
        self.procs = Processes()
        self.net = Network()
        # Cleanups run in reverse: processes stop before their namespaces go.
        atexit.register(self.net.down)
        self.addCleanup(self.net.down)
        atexit.register(self.procs.stop_all)
        self.addCleanup(self.procs.stop_all)
        self.net.up()
        self.certs = os.path.join(self.tmp, "certs")
        os.mkdir(self.certs)
        reg.make_certs(self.certs)
        self.env = dict(os.environ, TB_MH_TOKEN=TOKEN, TB_MH_CERTS=self.certs,
                        TB_MH_SUITE=SUITE)
        self.env.pop("KUBECONFIG", None)

    def log(self, name):
        f = open(os.path.join(self.tmp, name + ".log"), "w")
        self.logs.append(f)
        return f

    def read(self, name):
        with open(os.path.join(self.tmp, name + ".log")) as f:
            return f.read()

    def netns(self, ns):
        return ["ip", "netns", "exec", ns] if ns else []

    def run_suite(self, name, url, executor_ns, capacity, broker_ns=None, during=None):
        """One run: the broker and its executors; returns (status, results, env)."""
        state = os.path.join(self.tmp, name + "-state")
        os.mkdir(state)
        env = dict(self.env, TB_MH_STATE=state, TB_MH_MIN=str(len(executor_ns)))
        broker = self.procs.start(
            self.netns(broker_ns) + [os.path.join(BIN, "testbus"), "run", CONFIG, "--listen", url,
                                     "--artifacts", os.path.join(self.tmp, name + "-artifacts")],
            env, self.log(name + "-broker"))
        executors = []
        for i, ns in enumerate(executor_ns):
            c = self.certs
            executors.append(self.procs.start(
                self.netns(ns) + [
                    os.path.join(BIN, "testbus-executor-shell"), "--register", url,
                    "--labels", "site=multihost,host=%d" % i, "--capacity", str(capacity),
                    "--tls-ca", os.path.join(c, "ca.pem"),
                    "--tls-cert", os.path.join(c, "executor.pem"),
                    "--tls-key", os.path.join(c, "executor.key"),
                    "--tls-server-name", SERVER_NAME, "--token", TOKEN],
                env, self.log("%s-executor%d" % (name, i))))
        extra = during(broker, executors, state) if during else None
        try:
            status = broker.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.procs.stop(broker)
            self.fail("the %s run did not end within %ds:\n%s"
                      % (name, RUN_TIMEOUT, self.read(name + "-broker")))
        for p in executors:
            self.procs.stop(p)
        out = self.read(name + "-broker")
        self.assertEqual(status, 0, out)
        with open(os.path.join(self.tmp, name + "-artifacts", "latest", "results.json")) as f:
            results = json.load(f)
        self.assertTrue(results["success"], out)
        return results, out, extra

    def cut_first_busy(self, broker, executors, state):
        """Cuts the link of the first executor that runs a shard."""
        deadline = time.time() + CUT_TIMEOUT
        while True:
            started = [f for f in os.listdir(state) if f.startswith("started-")]
            if started:
                break
            if broker.poll() is not None or time.time() > deadline:
                self.fail("no shard started:\n" + self.read("mh-broker"))
            time.sleep(0.05)
        with open(os.path.join(state, started[0])) as f:
            pid = int(f.read().split()[0])
        victim = [i for i, p in enumerate(executors) if p.pid == pid]
        self.assertEqual(len(victim), 1, "the shard's parent %d is no executor of the test" % pid)
        i = victim[0]
        ip("-n", self.net.executors[i], "link", "set", "eth0", "down")
        cut_at = time.time()
        # The shards it was running when its link went.
        time.sleep(0.05)
        running = set()
        for f in os.listdir(state):
            if f.startswith("started-"):
                with open(os.path.join(state, f)) as fh:
                    if int(fh.read().split()[0]) == pid:
                        running.add(int(f.split("-")[1]))
        return {"pid": pid, "index": i, "cut_at": cut_at, "shards": running}

    def test_cut_link_shards_finish_elsewhere(self):
        t0 = time.time()
        # The same suite on one host: one executor over loopback.
        one_url = "tls+tcp://127.0.0.1:%d" % reg.free_port()
        one, _, _ = self.run_suite("one", one_url, [None], capacity=4)
        t1 = time.time()

        url = "tls+tcp://%s:%d" % (BROKER_ADDR, BROKER_PORT)
        res, out, cut = self.run_suite("mh", url, self.net.executors, capacity=2,
                                       broker_ns=self.net.broker, during=self.cut_first_busy)
        t2 = time.time()
        sys.stderr.write("one host: %.1fs, three namespaces with a cut link: %.1fs "
                         "(run ended %.1fs after the cut)\n"
                         % (t1 - t0, t2 - t1, t2 - cut["cut_at"]))

        # Test case for test case, the same as on one host.
        self.assertEqual(len(test_cases(res)), SHARDS)
        self.assertEqual(test_cases(res), test_cases(one))
        self.assertEqual(res["summary"]["total"], SHARDS * 4, res["summary"])
        self.assertEqual(res["summary"], one["summary"])

        # Every executor registered across its namespace; names of the cut one.
        names = dict(re.findall(r"registered executor shell \S* \(capacity \d+, pid (\d+)\) as (\S+)",
                                out))
        self.assertEqual(len(names), EXECUTORS, out)
        cut_name = "remote@" + names[str(cut["pid"])]

        targets = res["phases"][0]["targets"]
        # The shards it ran when cut (and any it was handed): an attempt on
        # it ended with a reason, then another attempt completed elsewhere.
        retried = {int(t["labels"]["shard"]): t for t in targets if len(t["attempts"]) > 1}
        self.assertTrue(cut["shards"], cut)
        self.assertLessEqual(cut["shards"], set(retried), targets)
        for t in retried.values():
            first, last = t["attempts"][0], t["attempts"][-1]
            self.assertEqual(first["executor"], cut_name, t)
            self.assertTrue(first["reason"], t)
            self.assertNotEqual(first["reason"], "completed", t)
            self.assertEqual(last["reason"], "completed", t)
            self.assertNotEqual(last["executor"], cut_name, t)
            self.assertEqual(t["executor"], last["executor"], t)
            self.assertEqual(last["attempt"], len(t["attempts"]), t)
        for t in targets:
            self.assertEqual(t["attempts"][-1]["reason"], "completed", t)
        for shard, t in sorted(retried.items()):
            sys.stderr.write("shard %d: %s\n" % (shard, "; ".join(
                "attempt %d on %s: %s" % (a["attempt"], a["executor"], a["reason"])
                for a in t["attempts"])))
        for t in one["phases"][0]["targets"]:
            self.assertEqual(len(t["attempts"]), 1, t)


def main():
    global BIN
    if "--bin" in sys.argv:
        i = sys.argv.index("--bin")
        BIN = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    prog = unittest.main(verbosity=2, exit=False)
    r = prog.result
    if not r.wasSuccessful():
        sys.exit(1)
    if r.testsRun and len(r.skipped) == r.testsRun:
        print("SKIPPED: " + "; ".join(reason for _, reason in r.skipped))
        sys.exit(SKIP_STATUS)
    sys.exit(0)


if __name__ == "__main__":
    main()
