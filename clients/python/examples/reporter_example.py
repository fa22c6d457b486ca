#!/usr/bin/env python3
"""An example reporter written in Python: each Report writes the run as JSON
to <dir>/<prefix><run id>.json, and Finalize writes a one-line summary of
every run reported to <dir>/<prefix>summary.txt.

Config keys: dir (default: the run's artifacts_dir, else the current
directory) and prefix (default "python-report-")."""

import hashlib
import os
import sys
import threading

from google.protobuf import json_format

import testbus
from testbus import proto
from testbus.status import Code, StatusError


def _artifact(name, path, media_type):
    with open(path, "rb") as f:
        data = f.read()
    return proto.Artifact(name=name, uri=os.path.abspath(path), media_type=media_type,
                          size=len(data), sha256=hashlib.sha256(data).hexdigest())


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


class ExampleReporter(testbus.Component):
    name = "reporter-example-py"
    kind = proto.KIND_REPORTER
    service = "Reporter"
    summary = "Writes each reported run as JSON (an example component in Python)."
    config_help = "config keys:\n  dir     where to write (default: the run's artifacts_dir)\n" \
                  "  prefix  file name prefix (default python-report-)"

    def __init__(self):
        self._lock = threading.Lock()
        self._dir = None
        self._artifacts_dir = None
        self._prefix = "python-report-"
        self._lines = []

    def configure(self, settings, config):
        unknown = set(settings) - {"dir", "prefix"}
        if unknown:
            raise StatusError(Code.INVALID_ARGUMENT,
                              "unknown config keys: %s" % ", ".join(sorted(unknown)))
        for key in ("dir", "prefix"):
            if key in settings and not isinstance(settings[key], str):
                raise StatusError(Code.INVALID_ARGUMENT, "config %s must be a string" % key)
        with self._lock:
            self._dir = settings.get("dir", self._dir)
            self._prefix = settings.get("prefix", self._prefix)
            if config.artifacts_dir:
                self._artifacts_dir = config.artifacts_dir

    def _out_dir(self, artifacts_dir=""):
        with self._lock:
            d = self._dir or artifacts_dir or self._artifacts_dir or "."
        os.makedirs(d, exist_ok=True)
        return d

    def Initialize(self, call, request):
        with self._lock:
            if request.artifacts_dir:
                self._artifacts_dir = request.artifacts_dir
        return proto.Empty()

    def Report(self, call, request):
        run_id = request.run_id or "run"
        if "/" in run_id or run_id.startswith("."):
            raise StatusError(Code.INVALID_ARGUMENT, "run id %r cannot name a file" % run_id)
        path = os.path.join(self._out_dir(request.artifacts_dir),
                            "%s%s.json" % (self._prefix, run_id))
        text = json_format.MessageToJson(request, sort_keys=True)
        try:
            _write(path, text + "\n")
            artifact = _artifact(os.path.basename(path), path, "application/json")
        except OSError as e:
            raise StatusError(Code.INTERNAL, "%s: %s" % (path, e.strerror)) from None
        s = request.summary
        line = "%s %s: %d total, %d passed, %d failed, %d skipped, %d errors" % (
            run_id, "passed" if request.success else "failed", s.total, s.passed, s.failed,
            s.skipped, s.errors)
        with self._lock:
            self._lines.append(line)
        return proto.ReportOutput(artifacts=[artifact], message="wrote " + path)

    def Finalize(self, call, request):
        with self._lock:
            lines = list(self._lines)
        path = os.path.join(self._out_dir(), self._prefix + "summary.txt")
        try:
            _write(path, "".join(line + "\n" for line in lines))
            artifact = _artifact(os.path.basename(path), path, "text/plain")
        except OSError as e:
            raise StatusError(Code.INTERNAL, "%s: %s" % (path, e.strerror)) from None
        return proto.ReportOutput(artifacts=[artifact],
                                  message="%d run(s) reported" % len(lines))


if __name__ == "__main__":
    sys.exit(testbus.main(ExampleReporter()))
