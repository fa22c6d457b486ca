#!/usr/bin/env python3
"""Registered executors end to end: `testbus run --listen` and executors started with --register.

Each test starts the real broker and two real `testbus-executor-shell
--register URL --labels region=eu --capacity 2` processes, runs a target of
four shards on them, and checks results.json. The recording provisioner
counts clusters, so a leaked one fails the test.

Usage: registration_test.py --bin BUILD/bin [unittest arguments, e.g. IpcTest]
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from procs import proc_alive  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "configs")
SUITES = os.path.join(os.path.dirname(HERE), "broker", "suites")
BIN = ""

RUN_TIMEOUT = 90    # a whole run, seconds
START_TIMEOUT = 30  # until the sleeping suite has started
TOKEN = "registration-test-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(folder):
    """A CA, a broker certificate for localhost and an executor certificate."""
    def ssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=folder, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    for name in ("broker", "executor", "stranger"):
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", name + ".key", "-out", name + ".csr")
        with open(os.path.join(folder, name + ".ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost\n")
        if name == "stranger":  # signed by a CA the broker does not trust
            ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=other CA", "-keyout", "other.key", "-out", "other.pem")
            ca, key = "other.pem", "other.key"
        else:
            ca, key = "ca.pem", "ca.key"
        ssl("x509", "-req", "-in", name + ".csr", "-CA", ca, "-CAkey", key, "-CAcreateserial",
            "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem")


class RegistrationCase(unittest.TestCase):
    config = "registered.yaml"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="testbus-reg-")
        self.record = os.path.join(self.tmp, "record")
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state)
        self.url = "ipc://" + os.path.join(self.tmp, "broker.ipc")
        self.env = dict(os.environ, TB_TEST_RECORD=self.record, TB_TEST_SUITES=SUITES,
                        TB_TEST_STATE=self.state, TB_TEST_TOKEN=TOKEN)
        self.executors = []
        self.broker = None

    def tearDown(self):
        for p in self.executors + ([self.broker] if self.broker else []):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.executors + ([self.broker] if self.broker else []):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in self.logs():
            f.close()
        self.kill_suite()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def logs(self):
        return getattr(self, "_logs", [])

    def log(self, name):
        f = open(os.path.join(self.tmp, name + ".log"), "w")
        self._logs = self.logs() + [f]
        return f

    def kill_suite(self):
        """Ends the sleeping suite a killed executor left behind."""
        started = os.path.join(self.state, "started")
        if os.path.exists(started):
            with open(started) as f:
                pid = int(f.read().split()[0])
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def start_broker(self, *extra):
        args = [os.path.join(BIN, "testbus"), "run", os.path.join(CONFIGS, self.config),
                "--artifacts", os.path.join(self.tmp, "artifacts")] + list(extra)
        self.broker = subprocess.Popen(args, env=self.env, stdout=self.log("broker"),
                                       stderr=subprocess.STDOUT)

    def start_executor(self, url, *extra, labels="region=eu"):
        args = [os.path.join(BIN, "testbus-executor-shell"), "--register", url,
                "--labels", labels, "--capacity", "2"] + list(extra)
        n = len(self.executors)
        p = subprocess.Popen(args, env=self.env, stdout=self.log("executor%d" % n),
                             stderr=subprocess.STDOUT)
        self.executors.append(p)
        return p

    def read(self, name):
        with open(os.path.join(self.tmp, name + ".log")) as f:
            return f.read()

    def wait_broker(self):
        try:
            return self.broker.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.broker.kill()
            self.fail("the run did not end:\n" + self.read("broker"))

    def results(self):
        with open(os.path.join(self.tmp, "artifacts", "latest", "results.json")) as f:
            return json.load(f)

    def check_clusters(self):
        with open(self.record) as f:
            lines = [ln.split() for ln in f.read().splitlines() if ln]
        made = [w[1] for w in lines if w[0] == "provision"]
        gone = [w[1] for w in lines if w[0] == "destroy"]
        self.assertEqual(len(made), 1, lines)
        self.assertEqual(sorted(made), sorted(gone), lines)

    def check_passed(self, status):
        out = self.read("broker")
        self.assertEqual(status, 0, out)
        res = self.results()
        self.assertTrue(res["success"], out)
        self.assertEqual(res["summary"]["total"], 16, res["summary"])
        self.assertEqual(res["summary"]["passed"], 12, res["summary"])
        self.assertEqual(res["summary"]["skipped"], 4, res["summary"])
        self.assertEqual(res["summary"]["failed"] + res["summary"]["errors"], 0, res["summary"])
        targets = res["phases"][0]["targets"]
        self.assertEqual(len(targets), 4)
        self.check_clusters()
        return targets


class IpcTest(RegistrationCase):
    def test_two_registered_executors_share_the_shards(self):
        self.start_broker("--listen", self.url)
        for _ in range(2):
            self.start_executor(self.url)
        targets = self.check_passed(self.wait_broker())
        used = {t["executor"] for t in targets}
        self.assertEqual(len(used), 2, targets)
        for t in targets:
            self.assertTrue(t["executor"].startswith("remote@"), t)
            self.assertEqual([a["reason"] for a in t["attempts"]], ["completed"], t)
        # The executors outlive the broker and register with the next one.
        for p in self.executors:
            self.assertIsNone(p.poll())
        os.remove(self.record)
        self.start_broker("--listen", self.url)
        targets = self.check_passed(self.wait_broker())
        self.assertEqual(len({t["executor"] for t in targets}), 2, targets)
        for i in range(2):
            self.assertIn("registering again", self.read("executor%d" % i))

    def test_components_lists_registered_executors(self):
        for _ in range(2):
            self.start_executor(self.url)
        out = subprocess.run([os.path.join(BIN, "testbus"), "components",
                              os.path.join(CONFIGS, self.config), "--listen", self.url],
                             env=self.env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        rows = [ln for ln in out.stdout.splitlines() if ln.startswith("remote@")]
        self.assertEqual(len(rows), 2, out.stdout)
        for row in rows:
            self.assertIn(" ok ", row)
            # capacity, running targets, lease age, labels
            fields = row.split()
            self.assertEqual(fields[3], "2", row)
            self.assertEqual(fields[4], "0", row)
            self.assertRegex(fields[6], r"^\d+\.\ds$", row)
            self.assertLess(float(fields[6][:-1]), 6.0, "a lease older than its lapse time")
            self.assertIn("region=eu", fields[-1], row)


class KillTest(RegistrationCase):
    def test_killed_executor_target_is_retried_on_the_other(self):
        self.env["TB_TEST_SUITE"] = "sleep"
        # Shards that start together may all sleep: keep the survivor's short.
        self.env["TB_TEST_SLEEP"] = "12"
        self.start_broker("--listen", self.url)
        for _ in range(2):
            self.start_executor(self.url)
        started = os.path.join(self.state, "started")
        deadline = time.time() + START_TIMEOUT
        while not os.path.exists(started) and time.time() < deadline:
            time.sleep(0.1)
        self.assertTrue(os.path.exists(started), self.read("broker"))
        with open(started) as f:
            executor_pid = int(f.read().split()[1])
        victim = [p for p in self.executors if p.pid == executor_pid]
        self.assertEqual(len(victim), 1, "the suite's parent is no executor of the test")
        victim[0].send_signal(signal.SIGKILL)
        victim[0].wait()
        status = self.wait_broker()
        out = self.read("broker")
        self.assertEqual(status, 0, out)
        res = self.results()
        self.assertTrue(res["success"], out)
        self.assertEqual(res["summary"]["total"], 4, res["summary"])
        self.assertEqual(res["summary"]["passed"], 4, res["summary"])
        m = re.search(r"pid %d\) as (\S+)" % executor_pid, out)
        self.assertIsNotNone(m, out)
        killed = "remote@" + m.group(1)
        targets = res["phases"][0]["targets"]
        # Shards the killed executor had finished stay its own; the one it was
        # running (at least) is retried on the other.
        retried = [t for t in targets if len(t["attempts"]) > 1]
        self.assertGreaterEqual(len(retried), 1, targets)
        for t in targets:
            last = t["attempts"][-1]
            self.assertEqual(last["reason"], "completed", t)
            self.assertEqual(t["executor"], last["executor"], t)
            if t in retried:
                self.assertEqual(t["attempts"][0]["executor"], killed, t)
                self.assertNotEqual(last["executor"], killed, t)
        for t in retried:
            self.assertEqual(len(t["attempts"]), 2, t)
            self.assertIn("executor lost", t["attempts"][0]["reason"], t)
            self.assertEqual(t["attempts"][1]["attempt"], 2, t)
        self.assertTrue(os.path.exists(os.path.join(self.state, "retried")))
        self.check_clusters()


    def wait_for(self, what, check, timeout):
        deadline = time.time() + timeout
        while not check():
            if time.time() > deadline:
                self.fail("no %s after %ds:\n%s" % (what, timeout, self.read("broker")))
            time.sleep(0.1)

    def test_frozen_executor_stops_the_work_it_lost(self):
        self.env["TB_TEST_SUITE"] = "sleep"
        self.env["TB_TEST_SLEEP"] = "30"
        self.start_broker("--listen", self.url)
        for _ in range(2):
            self.start_executor(self.url)
        started = os.path.join(self.state, "started")
        self.wait_for("started suite", lambda: os.path.exists(started), START_TIMEOUT)
        with open(started) as f:
            suite_pid, executor_pid = (int(w) for w in f.read().split())
        victim = [p for p in self.executors if p.pid == executor_pid][0]
        n = self.executors.index(victim)
        victim.send_signal(signal.SIGSTOP)
        try:
            self.wait_for("dropped registration",
                          lambda: re.search(r"registration \S+ \(shell\) ended",
                                            self.read("broker")), 20)
        finally:
            victim.send_signal(signal.SIGCONT)
        # Its next renewal is refused (or fails past the lease): it cancels
        # the call, which stops the suite, and does not send the result.
        self.wait_for("cancelled work",
                      lambda: "its result is not sent" in self.read("executor%d" % n), 20)
        self.wait_for("stopped suite", lambda: not proc_alive(suite_pid), 10)
        self.assertEqual(self.wait_broker(), 0, self.read("broker"))
        self.assertTrue(self.results()["success"])
        self.check_clusters()


class LateResultTest(RegistrationCase):
    config = "late.yaml"

    def test_result_of_a_lapsed_attempt_is_dropped(self):
        python_dir = os.environ.get("TESTBUS_PYTHON_DIR", "")
        if not python_dir:
            self.skipTest("needs the Python SDK (TESTBUS_PYTHON_DIR)")
        self.env["PYTHONPATH"] = python_dir
        out_file = os.path.join(self.tmp, "late")
        self.env["TB_TEST_LINGER_SUITE"] = os.path.join(HERE, "suites", "linger.sh")
        self.start_broker("--listen", self.url)
        self.start_executor(self.url, labels="region=eu,kind=real")
        python = os.environ.get("TESTBUS_PYTHON") or sys.executable
        fake = subprocess.Popen([python, "-B", os.path.join(HERE, "fake_executor.py"),
                                 self.url, out_file], env=self.env,
                                stdout=self.log("fake"), stderr=subprocess.STDOUT)
        self.executors.append(fake)
        status = self.wait_broker()
        out = self.read("broker")
        self.assertEqual(status, 0, out + self.read("fake"))
        # The late result came while the second phase ran.
        with open(out_file) as f:
            late = f.read()
        self.assertIn("accepted=False", late)
        work = late.split("work=")[1].strip()
        self.assertIn("dropped a result of %s attempt 1" % work, out)
        res = self.results()
        self.assertTrue(res["success"], out)
        target = [t for t in res["phases"][0]["targets"] if t["target_id"] == work][0]
        self.assertEqual(len(target["attempts"]), 2, target)
        self.assertIn("lease lapsed", target["attempts"][0]["reason"], target)
        self.assertEqual(target["attempts"][1]["reason"], "completed", target)
        self.assertEqual(target["attempts"][1]["attempt"], 2, target)
        # Counted once: the retry's result alone.
        self.assertLessEqual(target["summary"]["total"], 4, target)
        self.assertEqual(res["summary"]["total"],
                         sum(t["summary"]["total"] for p in res["phases"] for t in p["targets"]))
        self.check_clusters()


class TlsTest(RegistrationCase):
    config = "tls.yaml"

    def setUp(self):
        super().setUp()
        if shutil.which("openssl") is None:
            self.skipTest("needs openssl to make certificates")
        certs = os.path.join(self.tmp, "certs")
        os.mkdir(certs)
        make_certs(certs)
        self.certs = certs
        self.port = free_port()
        self.env["TB_TEST_CERTS"] = certs
        self.env["TB_TEST_LISTEN"] = "tls+tcp://127.0.0.1:%d" % self.port
        self.env["TB_TEST_WAIT"] = "8s"

    def start_tls_executor(self, name="executor", token=TOKEN):
        c = self.certs
        return self.start_executor(
            "tls+tcp://127.0.0.1:%d" % self.port, "--tls-server-name", "localhost",
            "--tls-ca", os.path.join(c, "ca.pem"), "--tls-cert", os.path.join(c, name + ".pem"),
            "--tls-key", os.path.join(c, name + ".key"), "--token", token)

    def test_mutual_tls_run_passes(self):
        self.start_broker()
        for _ in range(2):
            self.start_tls_executor()
        targets = self.check_passed(self.wait_broker())
        self.assertEqual(len({t["executor"] for t in targets}), 2, targets)

    def test_wrong_token_is_refused(self):
        self.env["TB_TEST_MIN"] = "1"
        self.start_broker()
        self.start_tls_executor(token="not-the-token")
        status = self.wait_broker()
        out = self.read("broker")
        self.assertEqual(status, 2, out)
        self.assertIn("0 of the 1 matching registration", out)
        self.assertNotIn("registered executor", out)
        self.assertIn("wrong identity token", self.read("executor0"))
        self.assertFalse(os.path.exists(self.record))

    def test_certificate_of_another_ca_is_refused(self):
        self.env["TB_TEST_MIN"] = "1"
        self.start_broker()
        self.start_tls_executor(name="stranger")
        status = self.wait_broker()
        out = self.read("broker")
        self.assertEqual(status, 2, out)
        self.assertNotIn("registered executor", out)
        self.assertFalse(os.path.exists(self.record))


class PlaintextTest(RegistrationCase):
    """Plain tcp:// carries kubeconfigs unencrypted: refused unless asked for."""

    def test_broker_refuses_plain_tcp_listen(self):
        url = "tcp://127.0.0.1:%d" % free_port()
        self.start_broker("--listen", url)
        status = self.wait_broker()
        out = self.read("broker")
        self.assertEqual(status, 2, out)
        self.assertIn("insecure", out)
        self.assertFalse(os.path.exists(self.record))

    def test_component_refuses_plain_tcp_listen(self):
        url = "tcp://127.0.0.1:%d" % free_port()
        p = subprocess.run([os.path.join(BIN, "testbus-executor-shell"), "--listen", url],
                           env=self.env, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--insecure", p.stderr)


if __name__ == "__main__":
    if "--bin" in sys.argv:
        i = sys.argv.index("--bin")
        BIN = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    unittest.main(verbosity=2)
