#!/usr/bin/env python3
"""The chaos matrix: every phase of a run against every fault, on the real broker.

Rows are the phases of configs/chaos.yaml (provision, health, the execute
phases smoke and more, analyze, report, destroy); columns the faults: the
component serving the phase SIGKILLed, the broker sent SIGINT or SIGTERM, the
component hanging past its deadline, answering bytes that are no envelope
(junk) or an OK envelope whose payload is no message (wrong), and the broker
SIGKILLed, followed by `testbus cleanup`. Each cell runs one `testbus run` in
its own folder and checks:
  - the broker's exit status is the one docs/architecture.md gives;
  - no process of the run is left (they carry the cell's environment marker);
  - every cluster the recording provisioner created was destroyed: by the run
    itself, or by `testbus cleanup` where the docs say cleanup is needed
    (broker killed, Destroy itself broken); elsewhere cleanup finds nothing;
  - after cleanup, no socket folder of the run is left in /tmp;
  - the run folder holds the journal, results.json (rewritten after each
    phase: a killed broker leaves it unfinished) and the outputs and results
    of the phases that finished before the fault.
A fault lands mid-phase: the proxy (or the sleeping suite) writes a marker
when the phase's call starts, and the test acts only once it exists.

Usage: chaos_test.py --bin BUILD/bin [--jobs N] [--only PHASE:FAULT ...] [--keep]
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from procs import proc_comm, proc_env_has, processes_with  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "configs", "chaos.yaml")

RUN_TIMEOUT = 180      # one run, from start to exit (a hung Execute waits its deadline + 60 s)
MARKER_TIMEOUT = 60    # from start until the faulted call arrives
LEFTOVER_TIMEOUT = 30  # from the broker's exit until every process of the run has ended
CLEANUP_TIMEOUT = 60

# phase: (proxy role, method faulted by the proxy, execute phase name or None)
PHASES = {
    "provision": ("PROVISIONER", "Provisioner/Provision", None),
    "health": ("PROVISIONER", "Provisioner/Health", None),
    "smoke": ("SMOKE", "Executor/Execute", "smoke"),
    "more": ("MORE", "Executor/Execute", "more"),
    "analyze": ("ANALYZER", "Analyzer/Analyze", None),
    "report": ("REPORTER", "Reporter/Report", None),
    "destroy": ("PROVISIONER", "Provisioner/Destroy", None),
}
PHASE_ORDER = list(PHASES)
FAULTS = ["kill", "sigint", "sigterm", "hang", "junk", "wrong", "broker-kill"]
# Faults that act once the phase is under way; the others are the component's own doing.
ACTING = {"kill", "sigint", "sigterm", "broker-kill"}

# How AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer start a report.
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ")

# A held Destroy that no signal cancels (Destroy never is) goes on after this.
DESTROY_HOLD_MS = 4000
# The target deadline when Execute hangs: the broker then waits it plus 60 s.
HANG_EXECUTE_TIMEOUT = "2s"


def expected_status(phase, fault):
    """docs/architecture.md: 1 when a step failed or the run was interrupted.

    A provisioner killed mid-Destroy is started again and destroys the cluster:
    no step failed in the end, so the run passes, as it does when a target
    whose executor was lost passes on its retry.
    """
    if fault == "broker-kill":
        return -signal.SIGKILL
    return 0 if (phase, fault) == ("destroy", "kill") else 1


def expected_clusters(phase, fault):
    """How many clusters the run creates: none when Provision itself is faulted."""
    return 0 if phase == "provision" else 1


def needs_cleanup(phase, fault):
    """Whether the cluster outlives the run, for `testbus cleanup` to destroy.

    A killed broker cannot destroy; a Destroy that hangs or answers garbage
    failed, and the run says to run cleanup once the provisioner works. A
    provisioner killed mid-run is started again to destroy, so it is not here.
    """
    if phase == "provision":
        return False
    return fault == "broker-kill" or (phase == "destroy" and fault in ("hang", "junk", "wrong"))


# --- one cell ----------------------------------------------------------------

class Cell:
    """One run of the pipeline with one fault in one phase, and what it left."""

    def __init__(self, phase, fault, bin_dir, root):
        self.phase, self.fault, self.bin = phase, fault, bin_dir
        self.dir = tempfile.mkdtemp(prefix="%s-%s-" % (phase, fault), dir=root)
        self.record_path = os.path.join(self.dir, "record")
        self.marker = os.path.join(self.dir, "marker")
        self.arts = os.path.join(self.dir, "artifacts")
        self.run_dir = os.path.join(self.arts, "r1")
        self.env_marker = ("TB_CHAOS_CELL=" + self.dir).encode()
        self.problems = []
        self.status = None
        self.leftovers = []
        self.provisioned = self.destroyed = 0
        self.cleaned = False
        self.seconds = 0.0

    # environment

    def base_env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TB_TEST_", "TB_CHAOS_"))
               and k not in ("KUBECONFIG", "TESTBUS_HOME")}
        env.update({"PATH": self.bin + os.pathsep + env.get("PATH", "/usr/bin:/bin"),
                    "TB_TEST_RECORD": self.record_path, "TB_CHAOS_MARKER": self.marker,
                    "TB_CHAOS_CELL": self.dir})
        return env

    def fault_env(self):
        env = self.base_env()
        role, method, execute_phase = PHASES[self.phase]
        if self.fault in ACTING and execute_phase is not None:
            env["TB_CHAOS_SLEEP_PHASE"] = execute_phase
            return env
        env["TB_CHAOS_%s_FAULT" % role] = "hold" if self.fault in ACTING else self.fault
        env["TB_CHAOS_%s_METHOD" % role] = method
        if self.phase == "destroy" and self.fault in ("sigint", "sigterm"):
            env["TB_CHAOS_HOLD_MS"] = str(DESTROY_HOLD_MS)
        if self.fault == "hang" and execute_phase is not None:
            env["TB_CHAOS_EXECUTE_TIMEOUT"] = HANG_EXECUTE_TIMEOUT
        return env

    def problem(self, text):
        self.problems.append(text)

    # running

    def testbus(self, args, env, name):
        out = open(os.path.join(self.dir, name + ".out"), "w")
        return subprocess.Popen([os.path.join(self.bin, "testbus")] + args, env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=self.dir, start_new_session=True), out

    def wait_marker(self, broker):
        end = time.monotonic() + MARKER_TIMEOUT
        while time.monotonic() < end:
            if os.path.exists(self.marker):
                with open(self.marker) as f:
                    return [int(x) for x in f.read().split()]
            if broker.poll() is not None:
                return None
            time.sleep(0.02)
        return None

    def act(self, broker):
        """Lands the fault once the phase's call is under way; False when it never came."""
        pids = self.wait_marker(broker)
        if pids is None:
            self.problem("the %s phase never started (no marker)" % self.phase)
            return False
        if self.fault == "kill":
            # The component serving the phase: the executor running the suite, or
            # the component behind the proxy that holds the call.
            victim = pids[1]
            comm = proc_comm(victim)
            if not proc_env_has(victim, self.env_marker) or not comm.startswith("testbus-") \
                    or comm.startswith("testbus-test-ch"):
                self.problem("pid %d (%s) of the marker is not a component of this run"
                             % (victim, comm))
                return False
            os.kill(victim, signal.SIGKILL)
        else:
            os.kill(broker.pid, {"sigint": signal.SIGINT, "sigterm": signal.SIGTERM,
                                 "broker-kill": signal.SIGKILL}[self.fault])
        return True

    def wait_leftovers(self, when):
        end = time.monotonic() + LEFTOVER_TIMEOUT
        left = processes_with(self.env_marker)
        while left and time.monotonic() < end:
            time.sleep(0.1)
            left = processes_with(self.env_marker)
        if left:
            self.leftovers = ["%d %s" % (pid, proc_comm(pid)) for pid in left]
            self.problem("processes alive %ds after %s: %s"
                         % (LEFTOVER_TIMEOUT, when, ", ".join(self.leftovers)))
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def record(self):
        if not os.path.exists(self.record_path):
            return [], []
        with open(self.record_path) as f:
            lines = [ln.split(None, 1) for ln in f.read().splitlines() if ln]
        return ([p[1] for p in lines if p[0] == "provision"],
                [p[1] for p in lines if p[0] == "destroy"])

    def run(self):
        started = time.monotonic()
        broker, out = self.testbus(["run", CONFIG, "--artifacts", self.arts, "--run-id", "r1"],
                                   self.fault_env(), "run")
        try:
            if self.fault in ACTING:
                self.act(broker)
            try:
                self.status = broker.wait(RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.problem("the broker did not exit within %ds" % RUN_TIMEOUT)
                broker.kill()
                self.status = broker.wait()
        finally:
            out.close()
        self.wait_leftovers("the broker exited")
        self.check_run()
        self.cleanup()
        self.check_sanitizers()
        self.seconds = time.monotonic() - started

    def check_sanitizers(self):
        """In a sanitizer build a fault path that corrupts memory reports it in some log."""
        logs = [os.path.join(self.dir, n) for n in ("run.out", "cleanup.out")]
        folder = os.path.join(self.run_dir, "logs")
        if os.path.isdir(folder):
            logs += [os.path.join(folder, n) for n in sorted(os.listdir(folder))]
        for path in logs:
            with open(path, errors="replace") as f:
                text = f.read()
            for needle in SANITIZER_REPORTS:
                if needle in text:
                    self.problem("%s in %s" % (needle.strip(), path))

    def cleanup(self):
        """`testbus cleanup` with working components; destroys only what cleanup must."""
        before = self.record()
        proc, out = self.testbus(["cleanup", self.arts], self.base_env(), "cleanup")
        try:
            status = proc.wait(CLEANUP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            status = proc.wait()
            self.problem("testbus cleanup did not exit within %ds" % CLEANUP_TIMEOUT)
        out.close()
        if status != 0:
            self.problem("testbus cleanup exited %d" % status)
        self.wait_leftovers("testbus cleanup exited")
        folders = self.socket_folders()
        if not folders:
            self.problem("the journal names no socket folder")
        for folder in folders:
            if os.path.exists(folder):
                self.problem("the run's socket folder %s is left" % folder)
        after = self.record()
        self.provisioned, self.destroyed = len(after[0]), len(after[1])
        self.cleaned = len(after[1]) > len(before[1])
        if len(after[0]) != expected_clusters(self.phase, self.fault):
            self.problem("%d clusters provisioned, expected %d"
                         % (len(after[0]), expected_clusters(self.phase, self.fault)))
        if sorted(after[0]) != sorted(after[1]):
            self.problem("clusters leaked: provisioned %s, destroyed %s" % after)
        if not needs_cleanup(self.phase, self.fault):
            if sorted(before[0]) != sorted(before[1]):
                self.problem("the run itself did not destroy its cluster: provisioned %s, "
                             "destroyed %s" % before)
            elif self.cleaned:
                self.problem("testbus cleanup destroyed a cluster the run had destroyed")

    # what the run left

    def socket_folders(self):
        """The private socket folders the journal names (a killed broker leaves its own)."""
        path = os.path.join(self.run_dir, "journal")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [ln.split(None, 2)[2] for ln in f.read().splitlines()
                    if len(ln.split(None, 2)) == 3 and ln.split(None, 2)[1] == "sockets"]

    def results(self):
        path = os.path.join(self.run_dir, "results.json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def check_run(self):
        want = expected_status(self.phase, self.fault)
        if self.status != want:
            self.problem("exit status %s, expected %d" % (self.status, want))
        journal = os.path.join(self.run_dir, "journal")
        if not os.path.isfile(journal) or os.path.getsize(journal) == 0:
            self.problem("no journal")
        res = self.results()
        row = PHASE_ORDER.index(self.phase)
        if self.fault == "broker-kill":
            # results.json is rewritten after each phase: a killed broker leaves
            # the one of the phases that finished, marked unfinished.
            if row > PHASE_ORDER.index("smoke") and res is None:
                self.problem("no results.json of the phases finished before the broker died")
            if res is not None and (res.get("success") is not False
                                    or res.get("finished_at") is not None):
                self.problem("results.json of a killed broker does not say it is unfinished")
        elif res is None:
            self.problem("no results.json")
        elif res.get("success") is not (self.status == 0):
            self.problem("results.json says success is %r, the exit status %s"
                         % (res.get("success"), self.status))
        self.check_finished_phases(res)
        if (self.phase, self.fault) == ("analyze", "kill") and res is not None:
            # Each call to a dead analyzer would wait out its deadline.
            calls = [e for e in res.get("errors", []) if e.startswith("analyzer rules on ")]
            if len(calls) != 1:
                self.problem("the killed analyzer was called again: %r" % calls)
        if (self.phase, self.fault) == ("report", "kill") and res is not None:
            # Finalize on a dead reporter would wait out its deadline.
            if any(e.startswith("reporter json: Finalize") for e in res.get("errors", [])):
                self.problem("Finalize was called on the killed reporter")

    def check_finished_phases(self, res):
        """The outputs of the phases that finished before the faulted one are there."""
        row = PHASE_ORDER.index(self.phase)
        phases = {ph["name"]: ph for ph in (res or {}).get("phases", [])}
        for name, folder in (("smoke", "smoke_basic-1"), ("more", "more_wide-1")):
            report = os.path.join(self.run_dir, "executor-shell", folder, "report.xml")
            if row > PHASE_ORDER.index(name):
                if not os.path.isfile(report):
                    self.problem("no %s of the finished %s phase" % (report, name))
                if res is not None and not all(t["success"] for t in
                                               phases.get(name, {}).get("targets", [{}])):
                    self.problem("results.json lost the passing %s phase" % name)
            elif name == self.phase and res is not None and self.fault != "broker-kill":
                targets = phases.get(name, {}).get("targets", [])
                if not targets or any(t.get("success") for t in targets):
                    self.problem("results.json does not show the %s phase failed" % name)
        if res is not None and row > PHASE_ORDER.index("analyze") and \
                len(res.get("analysis", [])) != 2:
            self.problem("results.json lost the analysis of the finished analyze phase")
        if row == 0 and os.path.exists(os.path.join(self.run_dir, "executor-shell")):
            self.problem("a suite ran without a cluster")
        if row > PHASE_ORDER.index("report") and \
                not os.path.isfile(os.path.join(self.run_dir, "report.json")):
            self.problem("no report.json of the finished report phase")

    # the table

    def text(self):
        status = "x%d" % self.status if self.status is not None and self.status >= 0 \
            else "k%d" % -(self.status or 0)
        return "%d/%d%s %s %dp%s" % (self.provisioned, self.destroyed, "c" if self.cleaned else "",
                                     status, len(self.leftovers), "" if not self.problems else " !")


def print_matrix(cells, out):
    width = max(14, max(len(c.text()) for c in cells.values()) + 1)
    out.write("\nchaos matrix: provisioned/destroyed (c: by testbus cleanup), exit status "
              "(x: code, k: killed by signal), processes left; ! = wrong\n")
    out.write("%-10s" % "phase" + "".join("%-*s" % (width, f) for f in FAULTS) + "\n")
    for phase in PHASE_ORDER:
        row = "%-10s" % phase
        for fault in FAULTS:
            cell = cells.get((phase, fault))
            row += "%-*s" % (width, cell.text() if cell else "-")
        out.write(row.rstrip() + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="the build's bin folder")
    ap.add_argument("--jobs", type=int, default=4, help="cells run at once")
    ap.add_argument("--only", nargs="*", default=None, help="cells as PHASE:FAULT")
    ap.add_argument("--keep", action="store_true", help="keep the cells' folders")
    args = ap.parse_args()
    bin_dir = os.path.abspath(args.bin)
    if not os.access(os.path.join(bin_dir, "testbus"), os.X_OK):
        sys.exit("no testbus in %s" % bin_dir)
    wanted = [(p, f) for p in PHASE_ORDER for f in FAULTS]
    if args.only:
        wanted = [tuple(x.split(":", 1)) for x in args.only]
    # The cells that wait out a hung Execute go first, so the others run beside them.
    wanted.sort(key=lambda pf: not (pf[1] == "hang" and PHASES[pf[0]][2]))
    root = tempfile.mkdtemp(prefix="testbus-chaos-", dir="/tmp")
    cells = {pf: Cell(pf[0], pf[1], bin_dir, root) for pf in wanted}
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(cell.run): cell for cell in cells.values()}
        for fut in concurrent.futures.as_completed(futures):
            cell = futures[fut]
            if fut.exception() is not None:
                cell.problem("the test failed: %r" % fut.exception())
            print("%-9s %-11s %5.1fs  %s" % (cell.phase, cell.fault, cell.seconds, cell.text()),
                  flush=True)
    elapsed = time.monotonic() - started
    print_matrix(cells, sys.stdout)
    bad = [c for c in cells.values() if c.problems]
    print("\n%d cells in %.0f s, %d wrong" % (len(cells), elapsed, len(bad)))
    for c in bad:
        print("\n%s x %s (%s):" % (c.phase, c.fault, c.dir))
        for p in c.problems:
            print("  - " + p)
    if not args.keep and not bad:
        shutil.rmtree(root, ignore_errors=True)
    elif bad:
        print("\ncell folders kept in %s" % root)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
