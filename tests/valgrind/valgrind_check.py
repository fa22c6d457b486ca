#!/usr/bin/env python3
"""Runs a test with its testbus programs under valgrind, then judges every log.

Usage: valgrind_check.py --logs DIR [--supp FILE] [--valgrind PROGRAM]
                         [--time-scale N] -- TEST [ARGS...]

The test's harness sees TESTBUS_TEST_VALGRIND=DIR and starts the programs it
tests through valgrind-run.sh, which writes DIR/<pid>.log per process (also
for the broker's own children). A process fails the check when valgrind
reported an error, or a definite or indirect leak. Its exit status alone is
not enough: a component spawned by the broker is reaped by the broker, and a
killed process writes no summary. Possible leaks are not counted: NNG's
threads hold blocks that way until they end.

Harnesses and tests may import check_logs() to judge one test's folder.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

SUMMARY = re.compile(r"^==\d+== ERROR SUMMARY: (\d+) errors", re.M)
LOST = re.compile(r"^==\d+== +(definitely|indirectly) lost: ([\d,]+) bytes", re.M)
# A stack trace: valgrind prints one with every error it reports.
STACK = re.compile(r"^==\d+== +(at|by) 0x", re.M)
COMMAND = re.compile(r"^==\d+== Command: (\S+)", re.M)
# valgrind itself failed (an unhandled instruction, its own assertion).
BROKEN = re.compile(r"impossible happened|unhandled instruction|Assertion .* failed")


def judge(text):
    """What is wrong in one log: a list of reasons, empty when it is clean."""
    reasons = []
    summary = SUMMARY.search(text)
    if summary and int(summary.group(1)) != 0:
        reasons.append("%s errors" % summary.group(1))
    for kind, size in LOST.findall(text):
        if size.replace(",", "") != "0":
            reasons.append("%s bytes %s lost" % (size, kind))
    # No summary: killed outright, or a child that exec'd a program valgrind
    # skips. Either way, an error reported before that still counts.
    if not summary and STACK.search(text):
        reasons.append("errors reported before the process ended without a summary")
    if BROKEN.search(text):
        reasons.append("valgrind itself failed")
    return reasons


def check_logs(folder):
    """Judges every log in folder: (checked, problems).

    checked counts the processes that ran to valgrind's summary; problems is
    a list of (path, reasons, text) for the logs that are not clean.
    """
    checked, problems = 0, []
    if not os.path.isdir(folder):
        return checked, problems
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".log"):
            continue
        path = os.path.join(folder, name)
        with open(path, errors="replace") as f:
            text = f.read()
        if SUMMARY.search(text):
            checked += 1
        reasons = judge(text)
        if reasons:
            problems.append((path, reasons, text))
    return checked, problems


def describe(problems, limit=20000):
    """The problems as text for a test failure, each with its log (cut to limit)."""
    out = []
    for path, reasons, text in problems:
        program = COMMAND.search(text)
        out.append("%s (%s): %s\n%s" % (path, program.group(1) if program else "?",
                                         "; ".join(reasons), text[-limit:]))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description="Runs a test with its testbus programs "
                                     "under valgrind, then judges every log.")
    parser.add_argument("--logs", required=True, help="folder for the logs (emptied first)")
    parser.add_argument("--supp", help="valgrind suppression file")
    parser.add_argument("--valgrind", help="the valgrind program (default: from PATH)")
    parser.add_argument("--time-scale", default="10",
                        help="how many times longer the harnesses wait (default 10)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- TEST [ARGS...]")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no test command after --")

    logs = os.path.abspath(args.logs)
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    env = dict(os.environ, TESTBUS_TEST_VALGRIND=logs, TESTBUS_TEST_TIME_SCALE=args.time_scale)
    if args.supp:
        env["TESTBUS_TEST_VALGRIND_SUPP"] = os.path.abspath(args.supp)
    if args.valgrind:
        env["TESTBUS_TEST_VALGRIND_PROGRAM"] = args.valgrind

    status = subprocess.call(command, env=env)
    # Logs in sub-folders are the broker tests' own, one per test.
    checked, problems = 0, []
    for folder, _, _ in os.walk(logs):
        n, p = check_logs(folder)
        checked, problems = checked + n, problems + p
    print("valgrind: %d logs with a summary, %d with problems (in %s)"
          % (checked, len(problems), logs))
    if problems:
        print(describe(problems))
        return 1
    if checked == 0:
        print("valgrind: no process ran under valgrind: the harness ignored "
              "TESTBUS_TEST_VALGRIND")
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
