#!/usr/bin/env python3
"""A Python executor for the client tests, run as a component process: the
twin of test_executor.c. Labels of the target steer it:
  sleep_ms=N   wait N ms, or until cancelled or past the deadline
  fail=CODE    answer that status code name with "failing as asked"
  big=N        put N bytes in stdout_tail (to exceed size limits)
  crash=1      raise an ordinary exception (answered INTERNAL)
The result echoes the labels; its metadata says what the call carried."""

import sys
import threading

import testbus
from testbus import Code, StatusError, proto
from testbus.values import to_value


class TestExecutor(testbus.Component):
    name = "py-test-executor"
    kind = proto.KIND_EXECUTOR
    service = "Executor"
    summary = "An executor for the client tests: echoes its target."
    default_capacity = 2

    def __init__(self):
        self._lock = threading.Lock()
        self._invocations = 0
        self._config = {}

    def configure(self, settings, config):
        if "reject" in settings:
            raise StatusError(Code.INVALID_ARGUMENT, "config key reject is set")
        with self._lock:
            self._config = dict(settings)

    def Execute(self, call, target):
        with self._lock:
            self._invocations += 1
            n = self._invocations
            config = dict(self._config)
        call.event(proto.EVENT_STARTED, message="started")
        result = proto.ExecutionResult(success=True, start_time=-1234567890123, exit_code=-1,
                                       error=target.target_id)
        labels = target.labels
        if "sleep_ms" in labels:
            stop = call.wait(int(labels["sleep_ms"]) / 1000.0)
            result.cancelled = stop == Code.CANCELLED
            result.timed_out = stop == Code.DEADLINE_EXCEEDED
            result.success = not result.cancelled
        if "fail" in labels:
            raise StatusError(Code[labels["fail"]], "failing as asked")
        if "crash" in labels:
            raise RuntimeError("crashing as asked")
        if "big" in labels:
            result.stdout_tail = "x" * int(labels["big"])
        for k, v in labels.items():
            result.labels[k] = v
        meta = {"run_id": call.run_id, "trace_id": call.metadata.get(testbus.META_TRACE_ID, ""),
                "kubeconfig_len": len(target.kubeconfig), "invocations": n,
                "call_id": str(call.call_id), "config": config}
        for k, v in meta.items():
            result.metadata[k].CopyFrom(to_value(v))
        call.event(proto.EVENT_FINISHED, message="finished", percent=100.0)
        return result


if __name__ == "__main__":
    sys.exit(testbus.main(TestExecutor()))
