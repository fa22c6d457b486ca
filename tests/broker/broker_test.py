#!/usr/bin/env python3
"""Integration tests of the broker: the real `testbus` command and real component processes.

Every run uses testbus-test-recording-provisioner, which appends a line to a
record file for each cluster it creates or destroys; every test counts them,
so a leaked cluster fails the test that leaked it.

Under tests/valgrind/valgrind_check.py (TESTBUS_TEST_VALGRIND set to a log
folder), testbus runs under valgrind, and so do the testbus components it
spawns; each test then fails on any error or leak in the logs of its own
processes, and waits TESTBUS_TEST_TIME_SCALE times longer.

Usage: broker_test.py --bin BUILD/bin [unittest arguments, e.g. RunTest]
"""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from procs import proc_alive, proc_comm, processes_with  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "configs")
BIN = os.environ.get("TESTBUS_BIN_DIR", "")
VALGRIND_DIR = os.path.join(os.path.dirname(HERE), "valgrind")
sys.path.insert(0, VALGRIND_DIR)
import valgrind_check  # noqa: E402  (beside this folder, not installed)

# Set by valgrind_check.py: where valgrind's logs go, and how much slower we are.
VALGRIND_LOGS = os.environ.get("TESTBUS_TEST_VALGRIND", "")
TIME_SCALE = int(os.environ.get("TESTBUS_TEST_TIME_SCALE", "1"))

# The token inside the kubeconfig the recording provisioner hands out.
SECRET = "testbus-rec-secret-5f0c2a9e71"

RUN_TIMEOUT = 60 * TIME_SCALE          # a whole run of a test config, seconds
SIGNAL_EXIT_TIMEOUT = 30 * TIME_SCALE  # from a signal to the broker's exit
START_TIMEOUT = 30 * TIME_SCALE        # until the sleeping suite has started
LEFTOVER_TIMEOUT = 20 * TIME_SCALE     # until every process of a run has ended
SUITE_SLEEP = 30 * TIME_SCALE          # how long sleep.sh sleeps, seconds


def testbus():
    return os.path.join(BIN, "testbus")


def testbus_command(*args):
    """The command line that runs testbus with args, under valgrind when asked."""
    wrap = [os.path.join(VALGRIND_DIR, "valgrind-run.sh")] if VALGRIND_LOGS else []
    return wrap + [testbus()] + list(args)


def proc_cmdline(pid):
    """The command line of pid (under valgrind it names valgrind's tool first)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Record:
    """The record file of the recording provisioner, parsed."""

    def __init__(self, path):
        self.lines = []
        if os.path.exists(path):
            with open(path) as f:
                self.lines = [ln.split(None, 1) for ln in f.read().splitlines() if ln]

    def ids(self, what):
        return [parts[1] for parts in self.lines if parts[0] == what]

    @property
    def provisioned(self):
        return self.ids("provision")

    @property
    def destroyed(self):
        return self.ids("destroy")

    def __repr__(self):
        return "record %r" % [" ".join(p) for p in self.lines]


class BrokerCase(unittest.TestCase):
    """A private folder, environment, record file and process clean-up per test."""

    def setUp(self):
        if not os.access(testbus(), os.X_OK):
            self.fail("the broker is not built: no executable %s" % testbus())
        self.tmp = tempfile.mkdtemp(prefix="testbus-broker-test-", dir="/tmp")
        self.record_path = os.path.join(self.tmp, "record")
        self.state = os.path.join(self.tmp, "state")
        self.arts = os.path.join(self.tmp, "artifacts")
        os.mkdir(self.state)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TB_TEST_") and k not in ("KUBECONFIG", "TESTBUS_HOME")}
        env.update({"TB_TEST_RECORD": self.record_path, "TB_TEST_STATE": self.state,
                    "TB_TEST_SLEEP": str(SUITE_SLEEP),
                    # components start slower under valgrind
                    "TB_TEST_START_TIMEOUT": "%ds" % (10 * TIME_SCALE),
                    "PATH": BIN + os.pathsep + env.get("PATH", "/usr/bin:/bin")})
        if VALGRIND_LOGS:
            # One log folder per test, judged when the test's processes are gone.
            self.valgrind_logs = os.path.join(VALGRIND_LOGS, self.id())
            os.makedirs(self.valgrind_logs, exist_ok=True)
            env["TESTBUS_TEST_VALGRIND"] = self.valgrind_logs
        self.env = env
        self.marker = ("TB_TEST_STATE=" + self.state).encode()
        self.procs = []
        self.last = ""
        self.addCleanup(self.cleanup)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            if not p.out.closed:
                p.out.close()
                p.err.close()
        for pid in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if not os.environ.get("TB_TEST_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        if VALGRIND_LOGS:
            _, problems = valgrind_check.check_logs(self.valgrind_logs)
            if problems:
                self.fail("valgrind found errors or leaks:\n"
                          + valgrind_check.describe(problems))

    # --- processes -------------------------------------------------------

    def leftovers(self):
        """Processes started by this test's broker runs (they carry its environment)."""
        return processes_with(self.marker)

    def assert_no_leftovers(self, timeout=LEFTOVER_TIMEOUT):
        end = time.monotonic() + timeout
        while self.leftovers() and time.monotonic() < end:
            time.sleep(0.1)
        left = ["%d %s" % (pid, proc_comm(pid)) for pid in self.leftovers()]
        self.assertEqual(left, [], "processes of the run still alive %ds after it ended" % timeout)

    def start(self, *args, env=None, cwd=None):
        """Starts testbus with args; its output goes to files in the test folder."""
        n = len(self.procs)
        out = open(os.path.join(self.tmp, "out-%d" % n), "w+")
        err = open(os.path.join(self.tmp, "err-%d" % n), "w+")
        p = subprocess.Popen(testbus_command(*args), stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, env=env or self.env,
                             cwd=cwd or self.tmp, start_new_session=True)
        p.out, p.err = out, err
        p.testbus_args = list(args)
        p.started = time.monotonic()
        self.procs.append(p)
        return p

    def finish(self, p, timeout=RUN_TIMEOUT):
        """Waits for p; returns (status, stdout, stderr). A broker that hangs fails the test."""
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            p.err.seek(0)
            err = p.err.read()
            p.out.close()
            p.err.close()
            self.fail("testbus %s did not end within %ds; stderr:\n%s"
                      % (" ".join(p.testbus_args), timeout, err[-4000:]))
        p.out.seek(0)
        p.err.seek(0)
        out, err = p.out.read(), p.err.read()
        p.out.close()
        p.err.close()
        self.last = "testbus %s exited %d\n--- stdout:\n%s\n--- stderr:\n%s" % (
            " ".join(p.testbus_args), p.returncode, out[-3000:], err[-5000:])
        return p.returncode, out, err

    def run_testbus(self, *args, timeout=RUN_TIMEOUT, **kw):
        return self.finish(self.start(*args, **kw), timeout)

    def run_config(self, name, *extra, run_id="r1", **kw):
        return self.run_testbus("run", os.path.join(CONFIGS, name), "--artifacts", self.arts,
                                "--run-id", run_id, *extra, **kw)

    def wait_for(self, what, cond, timeout, proc=None):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            if proc is not None and proc.poll() is not None:
                self.finish(proc)
                self.fail("testbus ended before %s\n%s" % (what, self.last))
            time.sleep(0.05)
        self.fail("no %s within %ds" % (what, timeout))

    def start_sleeping_run(self, run_id="r1", extra_env=None):
        """Starts sleep.yaml and waits until its suite runs; returns (broker, suite pid, executor pid)."""
        env = dict(self.env, **(extra_env or {}))
        p = self.start("run", os.path.join(CONFIGS, "sleep.yaml"), "--artifacts", self.arts,
                       "--run-id", run_id, env=env)
        started = os.path.join(self.state, "started")
        self.wait_for("start of the sleeping suite", lambda: os.path.exists(started),
                      START_TIMEOUT, p)
        with open(started) as f:
            suite_pid, executor_pid = (int(x) for x in f.read().split())
        return p, suite_pid, executor_pid

    # --- what a run left -------------------------------------------------

    def record(self):
        return Record(self.record_path)

    def assert_clusters(self, provisioned):
        """Exactly `provisioned` clusters were created, and each was destroyed."""
        rec = self.record()
        self.assertEqual(len(rec.provisioned), provisioned, "%r\n%s" % (rec, self.last))
        self.assertEqual(sorted(rec.provisioned), sorted(rec.destroyed),
                         "leaked or unknown clusters: %r\n%s" % (rec, self.last))

    def assert_nothing_provisioned(self):
        rec = self.record()
        self.assertEqual(rec.ids("provisioning") + rec.provisioned + rec.ids("reuse"), [],
                         "%r\n%s" % (rec, self.last))

    def run_dir(self, run_id="r1"):
        return os.path.join(self.arts, run_id)

    def results(self, run_id="r1", required=True):
        path = os.path.join(self.run_dir(run_id), "results.json")
        if not os.path.exists(path):
            if required:
                self.fail("no %s\n%s" % (path, self.last))
            return None
        with open(path) as f:
            return json.load(f)

    def assert_summary(self, summary, **want):
        got = {k: summary.get(k) for k in want}
        self.assertEqual(got, want, "summary %r\n%s" % (summary, self.last))

    def assert_journal(self, run_id="r1"):
        """The run kept a journal (what it says is checked through `testbus cleanup`)."""
        path = os.path.join(self.run_dir(run_id), "journal")
        self.assertTrue(os.path.isfile(path), "no journal\n" + self.last)
        self.assertGreater(os.path.getsize(path), 0, "empty journal")

    def assert_cleanup_finds_nothing(self, cluster_id):
        """testbus cleanup --dry-run sees the run as closed: nothing left to destroy."""
        before = self.record().lines
        status, out, err = self.run_testbus("cleanup", self.arts, "--dry-run")
        self.assertEqual(status, 0, self.last)
        self.assertNotIn(cluster_id, out + err, "cleanup would destroy a destroyed cluster\n"
                         + self.last)
        self.assertEqual(self.record().lines, before, "--dry-run called the provisioner")


class RunTest(BrokerCase):
    """Runs that go as planned."""

    def test_passing_run(self):
        status, out, err = self.run_config("pass.yaml", run_id="pass-1")
        self.assertEqual(status, 0, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(1)
        cluster_id = self.record().provisioned[0]

        res = self.results("pass-1")
        self.assertEqual(res["run_id"], "pass-1")
        self.assertIs(res["success"], True, self.last)
        self.assert_summary(res["summary"], total=12, passed=9, failed=0, errors=0, skipped=3)
        self.assertEqual([ph["name"] for ph in res["phases"]], ["smoke", "more"])
        self.assertEqual([len(ph["targets"]) for ph in res["phases"]], [1, 2])
        for ph in res["phases"]:
            for t in ph["targets"]:
                self.assertIs(t["success"], True, t)
                self.assert_summary(t["summary"], total=4, passed=3, skipped=1)
                self.assertEqual(len(t["test_cases"]), 4)
        shards = sorted(t["labels"].get("shard") for t in res["phases"][1]["targets"])
        self.assertEqual(shards, ["0", "1"])
        self.assertEqual({t["labels"].get("shards") for t in res["phases"][1]["targets"]}, {"2"})
        self.assertEqual(res["cluster"]["id"], cluster_id)
        self.assertNotIn("kubeconfig", res["cluster"])

        run = self.run_dir("pass-1")
        self.assertEqual(os.path.realpath(os.path.join(self.arts, "latest")),
                         os.path.realpath(run))
        for name in ("journal", "config.yaml", "logs/recorder.log", "logs/shell.log"):
            self.assertTrue(os.path.isfile(os.path.join(run, name)), "no %s in %s" % (name, run))
        # each component's stderr is in its log (it was closed at exec once)
        for name in ("recorder", "shell"):
            with open(os.path.join(run, "logs", name + ".log")) as f:
                self.assertIn(": serving testbus.v1.", f.read(), "logs/%s.log" % name)
        kube = os.path.join(run, "kubeconfig")
        self.assertEqual(stat.S_IMODE(os.stat(kube).st_mode), 0o600)
        self.assert_journal("pass-1")
        # the kubeconfig's secret is in the kubeconfig file and nowhere else
        self.assertNotIn(SECRET, out + err)
        for folder, _, files in os.walk(run):
            for name in files:
                path = os.path.join(folder, name)
                if path == kube or os.path.islink(path):
                    continue
                with open(path, "rb") as f:
                    self.assertNotIn(SECRET.encode(), f.read(), "the secret leaked into " + path)

    def test_latest_follows_the_newest_run(self):
        self.assertEqual(self.run_config("pass.yaml", run_id="first")[0], 0, self.last)
        self.assertEqual(self.run_config("fail.yaml", run_id="second")[0], 1, self.last)
        self.assertEqual(os.path.realpath(os.path.join(self.arts, "latest")),
                         os.path.realpath(self.run_dir("second")))
        self.assertTrue(os.path.isfile(os.path.join(self.run_dir("first"), "results.json")))
        self.assert_no_leftovers()
        self.assert_clusters(2)

    def test_keep_always_keeps_the_cluster(self):
        status, _, _ = self.run_config("pass.yaml", "--keep", "always")
        self.assertEqual(status, 0, self.last)
        self.assert_no_leftovers()
        rec = self.record()
        self.assertEqual(len(rec.provisioned), 1, rec)
        self.assertEqual(rec.destroyed + rec.ids("destroy-failed"), [], rec)

    def test_keep_on_failure(self):
        self.assertEqual(self.run_config("pass.yaml", "--keep", "on-failure", run_id="ok")[0],
                         0, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(1)  # the run passed: destroyed
        self.assertEqual(self.run_config("fail.yaml", "--keep", "on-failure", run_id="bad")[0],
                         1, self.last)
        self.assert_no_leftovers()
        rec = self.record()
        self.assertEqual(len(rec.provisioned), 2, rec)
        self.assertEqual(rec.destroyed, rec.provisioned[:1], "the failed run's cluster is kept")

    def test_reused_cluster_is_not_destroyed(self):
        status, _, _ = self.run_config("pass.yaml", "--reuse-cluster", "existing-7")
        self.assertEqual(status, 0, self.last)
        self.assert_no_leftovers()
        rec = self.record()
        self.assertEqual(rec.ids("reuse"), ["existing-7"], rec)
        self.assertEqual(rec.provisioned + rec.destroyed + rec.ids("destroy-failed"), [], rec)
        self.assertEqual(self.results()["cluster"]["id"], "existing-7")

    def test_components_lists_them(self):
        status, out, _ = self.run_testbus("components", os.path.join(CONFIGS, "pass.yaml"))
        self.assertEqual(status, 0, self.last)
        for word in ("recorder", "provisioner", "shell", "executor"):
            self.assertIn(word, out, self.last)
        self.assert_no_leftovers()
        self.assert_nothing_provisioned()


    def test_status_line_on_a_terminal(self):
        """On a TTY the live line shows the phase, targets and each executor's load."""
        import pty
        pid, fd = pty.fork()
        if pid == 0:
            env = dict(self.env, TERM="xterm")
            argv = testbus_command("run", os.path.join(CONFIGS, "pass.yaml"), "--artifacts",
                                   self.arts, "--run-id", "tty")
            os.execve(argv[0], argv, env)
        out = b""
        end = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < end:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        text = out.decode(errors="replace")
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, text)
        self.assertRegex(text, r"\[smoke\] targets \d+/1 \| passed \d+ failed 0", text)
        self.assertRegex(text, r"\| shell [01]/1", text)
        self.assertIn("\r\033[K", text, "the line is not redrawn in place")
        self.assert_no_leftovers()


class FailureTest(BrokerCase):
    """Runs where a test or a step fails."""

    def test_failing_run(self):
        status, _, _ = self.run_config("fail.yaml")
        self.assertEqual(status, 1, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(1)
        res = self.results()
        self.assertIs(res["success"], False)
        self.assert_summary(res["summary"], total=3, passed=2, failed=1, errors=0, skipped=0)
        target = res["phases"][0]["targets"][0]
        self.assertIs(target["success"], False)
        self.assertEqual(target["exit_code"], 1)

    def test_failing_destroy_fails_the_run_and_cleanup_retries(self):
        env = dict(self.env, TB_TEST_FAIL_DESTROY="true")
        status, _, _ = self.run_config("pass.yaml", env=env)
        self.assertEqual(status, 1, "a failed Destroy must fail the run\n" + self.last)
        self.assert_no_leftovers()
        rec = self.record()
        self.assertEqual(len(rec.provisioned), 1, rec)
        self.assertEqual(rec.ids("destroy-failed"), rec.provisioned, rec)
        self.assertEqual(rec.destroyed, [], rec)
        res = self.results(required=False)
        if res is not None:
            self.assertIs(res["success"], False, "results.json says success after a failed "
                          "Destroy\n" + self.last)
        # the journal shows the cluster alive: cleanup destroys it once Destroy works
        status, out, err = self.run_testbus("cleanup", self.arts)
        self.assertEqual(status, 0, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(1)

    def test_failing_provision(self):
        env = dict(self.env, TB_TEST_FAIL_PROVISION="true")
        status, out, err = self.run_config("pass.yaml", env=env)
        self.assertEqual(status, 1, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(0)
        res = self.results(required=False)
        text = err + (json.dumps(res) if res else "")
        self.assertIn("fail_provision is set", text, "the provisioner's error is not shown\n"
                      + self.last)
        self.assertEqual(os.listdir(self.state), [], "a suite ran without a cluster")

    def test_cluster_never_healthy(self):
        env = dict(self.env, TB_TEST_HANG_HEALTH="true", TB_TEST_HEALTH_TIMEOUT="2s")
        status, _, _ = self.run_config("pass.yaml", env=env)
        self.assertEqual(status, 1, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(1)
        res = self.results(required=False)
        if res is not None:
            self.assertIs(res["success"], False)
            self.assertEqual(res["summary"]["passed"], 0, "tests ran on an unhealthy cluster")

    def test_executor_killed_mid_execute(self):
        p, suite_pid, executor_pid = self.start_sleeping_run()
        self.assertIn("/testbus-executor-shell ", proc_cmdline(executor_pid),
                      "the suite's parent is %r" % proc_cmdline(executor_pid))
        os.kill(executor_pid, signal.SIGKILL)
        # the orphaned suite is out of everyone's reach once its executor is gone
        os.killpg(suite_pid, signal.SIGKILL)
        status, _, _ = self.finish(p)
        self.assert_no_leftovers()
        self.assert_clusters(1)
        res = self.results()
        target = res["phases"][0]["targets"][0]
        if target["success"]:
            # retried on a new executor: the second attempt passed
            self.assertEqual(status, 0, self.last)
            self.assertGreaterEqual(len(target["attempts"]), 2, target)
            self.assertTrue(os.path.exists(os.path.join(self.state, "retried")))
        else:
            # failed cleanly: a failed target and a failed run, with the reason given
            self.assertEqual(status, 1, self.last)
            self.assertIs(res["success"], False)
            reasons = [a.get("reason", "") for a in target["attempts"]]
            self.assertTrue(target["error"] or any(r not in ("", "completed") for r in reasons),
                            "no reason for the failed target: %r" % target)


class SignalTest(BrokerCase):
    """SIGINT and SIGTERM to the broker: the cluster is destroyed and the run closed."""

    def interrupt_execute(self, signals):
        p, suite_pid, _ = self.start_sleeping_run()
        for i, sig in enumerate(signals):
            if i:
                time.sleep(0.2)
            os.kill(p.pid, sig)
        sent = time.monotonic()
        status, _, _ = self.finish(p, SIGNAL_EXIT_TIMEOUT)
        self.assertEqual(status, 1, self.last)
        self.assertLess(time.monotonic() - sent, SUITE_SLEEP - 5, "the broker waited for the suite")
        self.assert_no_leftovers()
        self.assertFalse(proc_alive(suite_pid), "the suite outlived the run")
        self.assert_clusters(1)
        cluster_id = self.record().provisioned[0]
        self.assert_journal()
        self.assert_cleanup_finds_nothing(cluster_id)
        res = self.results(required=False)
        if res is not None:
            self.assertIs(res["success"], False, "an interrupted run is not a success")

    def test_sigint_during_execute(self):
        self.interrupt_execute([signal.SIGINT])

    def test_sigterm_during_execute(self):
        self.interrupt_execute([signal.SIGTERM])

    def test_second_signal_still_destroys(self):
        self.interrupt_execute([signal.SIGINT, signal.SIGINT])

    def interrupt_provision(self, ignore_cancel):
        env = dict(self.env, TB_TEST_PROVISION_DELAY_MS="3000",
                   TB_TEST_IGNORE_CANCEL="true" if ignore_cancel else "false")
        p = self.start("run", os.path.join(CONFIGS, "pass.yaml"), "--artifacts", self.arts,
                       "--run-id", "r1", env=env)
        self.wait_for("a Provision call", lambda: self.record().ids("provisioning"),
                      START_TIMEOUT, p)
        os.kill(p.pid, signal.SIGTERM)
        status, _, _ = self.finish(p, SIGNAL_EXIT_TIMEOUT)
        self.assertEqual(status, 1, self.last)
        self.assert_no_leftovers()
        self.assertEqual(os.listdir(self.state), [], "a suite ran after SIGTERM")
        return self.record()

    def test_sigterm_during_provision(self):
        rec = self.interrupt_provision(ignore_cancel=False)
        self.assertEqual(rec.provisioned + rec.destroyed, [], rec)

    def test_sigterm_during_a_provision_that_completes(self):
        # The provisioner finishes creating the cluster although the call was
        # cancelled: the broker must still destroy what it was handed.
        self.interrupt_provision(ignore_cancel=True)
        self.assert_clusters(1)


class CleanupTest(BrokerCase):
    """A broker killed outright, and `testbus cleanup` destroying what it left."""

    def test_broker_sigkill_then_cleanup(self):
        p, suite_pid, _ = self.start_sleeping_run()
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        # its components notice their parent died, and take their suites with them
        self.assert_no_leftovers()
        self.assertFalse(proc_alive(suite_pid))
        rec = self.record()
        self.assertEqual(len(rec.provisioned), 1, rec)
        self.assertEqual(rec.destroyed, [], rec)
        cluster_id = rec.provisioned[0]

        status, out, err = self.run_testbus("cleanup", self.arts, "--dry-run")
        self.assertEqual(status, 0, self.last)
        self.assertIn(cluster_id, out + err, "--dry-run does not list the leaked cluster\n"
                      + self.last)
        self.assertEqual(self.record().lines, rec.lines, "--dry-run changed something")

        status, out, err = self.run_testbus("cleanup", self.arts)
        self.assertEqual(status, 0, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(1)

        # nothing is left, so a second cleanup destroys nothing
        status, out, err = self.run_testbus("cleanup", self.arts)
        self.assertEqual(status, 0, self.last)
        self.assert_no_leftovers()
        self.assertEqual(self.record().destroyed, [cluster_id])

    def test_cleanup_of_finished_runs_does_nothing(self):
        self.assertEqual(self.run_config("fail.yaml")[0], 1, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(1)
        self.assert_cleanup_finds_nothing(self.record().provisioned[0])
        status, _, _ = self.run_testbus("cleanup", self.arts)
        self.assertEqual(status, 0, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(1)


def expectations(path):
    """The '# expect: LINE: MESSAGE' lines of a bad config."""
    with open(path) as f:
        return [m.groups() for m in re.finditer(r"^# expect: (\d+): (.*)$", f.read(), re.M)]


class ConfigErrorTest(BrokerCase):
    """Bad configs and command lines: exit 2 with `file:line: message`, nothing started."""

    def test_bad_configs(self):
        bad = os.path.join(CONFIGS, "bad")
        names = sorted(n for n in os.listdir(bad) if n.endswith(".yaml"))
        self.assertGreater(len(names), 5)
        for name in names:
            with self.subTest(config=name):
                path = os.path.join(bad, name)
                status, out, err = self.run_testbus("run", path, "--artifacts", self.arts)
                self.assertEqual(status, 2, self.last)
                lines = err.splitlines()
                for line, message in expectations(path):
                    message = message.replace("@BIN@", os.path.realpath(BIN))
                    want = "%s:%s: %s" % (path, line, message)
                    self.assertTrue(any(ln.endswith(want) for ln in lines),
                                    "missing %r\n%s" % (want, self.last))
                self.assert_no_leftovers()
                self.assert_nothing_provisioned()

    def test_missing_config_file(self):
        path = os.path.join(self.tmp, "nope.yaml")
        status, _, err = self.run_testbus("run", path, "--artifacts", self.arts)
        self.assertEqual(status, 2, self.last)
        self.assertIn(path, err)
        self.assertIn("No such file or directory", err)

    def test_bad_command_lines(self):
        pass_yaml = os.path.join(CONFIGS, "pass.yaml")
        for args in (["run", pass_yaml, "--keep", "sometimes"], ["run", pass_yaml, "--bogus"],
                     ["frobnicate"], ["run", pass_yaml, "extra.yaml"]):
            with self.subTest(args=args):
                status, _, err = self.run_testbus(*args, "--artifacts", self.arts)
                self.assertEqual(status, 2, self.last)
                self.assertNotEqual(err.strip(), "", "no message\n" + self.last)
        self.assert_no_leftovers()
        self.assert_nothing_provisioned()
        for cmd in ([], ["run"], ["cleanup"], ["components"]):
            with self.subTest(help=cmd):
                status, out, _ = self.run_testbus(*cmd, "--help")
                self.assertEqual(status, 0, self.last)
                self.assertIn("testbus", out, self.last)
        status, out, _ = self.run_testbus("--version")
        self.assertEqual(status, 0, self.last)
        self.assertRegex(out, r"\d+\.\d+\.\d+")


class PreflightTest(BrokerCase):
    """Components that are not what the config says are refused before provisioning."""

    def refused(self, config):
        status, out, err = self.run_config(config)
        self.assertEqual(status, 2, self.last)
        self.assert_no_leftovers()
        self.assert_nothing_provisioned()
        return err

    def test_wrong_kind(self):
        err = self.refused("wrong_kind.yaml")
        lines = [ln for ln in err.splitlines() if "impostor" in ln and "provisioner" in ln]
        self.assertTrue(lines, "no line names the component and its real kind\n" + self.last)

    def test_wrong_protocol_version(self):
        err = self.refused("old_protocol.yaml")
        lines = [ln for ln in err.splitlines() if "protocol" in ln and "99" in ln]
        self.assertTrue(lines, "no line names protocol version 99\n" + self.last)
        self.assertRegex(lines[0], r"(?<![\d.])1(?![\d.])", "the supported version is not named")


class ReporterTest(BrokerCase):
    """A reporter that fails does not stop the others; the run reports the failure."""

    def test_failing_reporter_does_not_stop_the_others(self):
        status, _, err = self.run_config("reporter_fails.yaml")
        self.assertEqual(status, 1, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(1)
        run = os.path.join(self.arts, "r1")
        self.assertTrue(os.path.exists(os.path.join(run, "report.json")),
                        "the json reporter after the failing one did not report\n" + self.last)
        res = self.results()
        self.assertIs(res["success"], False)
        self.assertEqual(res["summary"]["failed"], 0, "the tests themselves passed")
        self.assertTrue(any("webhook" in e for e in res.get("errors", [])),
                        "results.json does not name the failing reporter: %r" % res.get("errors"))
        self.assertIn("webhook", err)


    def test_python_reporter_in_a_full_run(self):
        if not os.path.exists(os.path.join(BIN, "testbus-reporter-example-py")):
            self.skipTest("the Python SDK is not built (needs protoc and python3-protobuf)")
        status, _, _ = self.run_config("python_reporter.yaml")
        self.assertEqual(status, 0, self.last)
        self.assert_no_leftovers()
        self.assert_clusters(1)
        run = os.path.join(self.arts, "r1")
        with open(os.path.join(run, "python-report-r1.json")) as f:
            reported = json.load(f)
        self.assertEqual(reported["runId"], "r1")
        res = self.results()
        self.assertEqual(reported["summary"]["total"], res["summary"]["total"])
        self.assertTrue(os.path.exists(os.path.join(run, "python-report-summary.txt")))


class DefaultTest(BrokerCase):
    """`testbus run` with no config: the built-in pipeline on a machine without a cluster."""

    def test_default_pipeline(self):
        work = os.path.join(self.tmp, "work")
        os.mkdir(work)
        status, _, _ = self.run_testbus("run", cwd=work, timeout=120)
        self.assertEqual(status, 0, self.last)
        self.assert_no_leftovers()
        arts = os.path.join(work, "testbus-artifacts")
        latest = os.path.join(arts, "latest")
        self.assertTrue(os.path.islink(latest), "no latest link\n" + self.last)
        run = os.path.realpath(latest)
        self.assertEqual(os.path.dirname(run), os.path.realpath(arts))
        with open(os.path.join(run, "results.json")) as f:
            res = json.load(f)
        self.assertIs(res["success"], True)
        summary = res["summary"]
        self.assertGreater(summary["total"], 0)
        self.assertEqual(summary["failed"] + summary["errors"], 0, summary)
        self.assertEqual(summary["total"], summary["passed"] + summary["skipped"], summary)
        cases = 0
        for folder, _, files in os.walk(run):
            if "example-junit.xml" in files:
                with open(os.path.join(folder, "example-junit.xml")) as f:
                    cases += f.read().count("<testcase ")
        self.assertEqual(cases, summary["total"], "results.json counts differ from the report")


def main():
    global BIN
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--bin":
        BIN = os.path.abspath(args[1])
        args = args[2:]
    if not BIN:
        sys.exit("usage: broker_test.py --bin BUILD/bin [TestClass[.test] ...]")
    unittest.main(argv=[sys.argv[0], "-v"] + args)


if __name__ == "__main__":
    main()
