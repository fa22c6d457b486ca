#!/usr/bin/env python3
"""A registered executor that lets its first lease lapse, then hands the late
result back anyway: the broker must drop it and count only the retry.

Registers as `shell` with region=eu and capacity 1, heartbeats, and polls.
For the first work item it gets it never renews the lease, waits until the
lease has run out, then calls CompleteWork and writes the broker's answer to
OUT_FILE ("accepted=<bool> reason=<text> work=<work id>"). Later items pass
at once with one test case. Runs until SIGTERM.

Usage: fake_executor.py URL OUT_FILE
"""
import signal
import sys
import threading
import time

from testbus.client import Client
from testbus.proto import services_pb2, types_pb2

stop = threading.Event()
first = threading.Lock()  # held by the item that lets its lease lapse


def passing_result():
    res = types_pb2.ExecutionResult(success=True, exit_code=0)
    res.summary.total = 1
    res.summary.passed = 1
    case = res.test_cases.add()
    case.name = "late-case"
    case.status = types_pb2.TEST_PASSED
    return res


def run_item(client, cid, item, out_file):
    done = services_pb2.WorkResult(component_id=cid, work_id=item.work_id,
                                   attempt_id=item.attempt_id)
    if first.acquire(blocking=False):
        time.sleep(item.lease_ms / 1000.0 + 1.5)
        done.result.CopyFrom(passing_result())
        ack = client.call("Broker", "CompleteWork", done, deadline_ms=10000)
        with open(out_file, "w") as f:
            f.write("accepted=%s reason=%s work=%s\n" % (ack.accepted, ack.reason, item.work_id))
        return
    done.result.CopyFrom(passing_result())
    client.call("Broker", "CompleteWork", done, deadline_ms=10000)


def main():
    url, out_file = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    client = Client(url)
    info = services_pb2.ComponentInfo(name="shell", kind=services_pb2.KIND_EXECUTOR, version="fake",
                                   capacity=1, protocol_version=1)
    info.labels["region"] = "eu"
    reply = client.call("Broker", "RegisterComponent", services_pb2.Registration(info=info),
                        deadline_ms=10000)
    cid = reply.component_id

    def beat():
        while not stop.wait(reply.heartbeat_ms / 1000.0):
            try:
                client.call("Broker", "Heartbeat", services_pb2.HeartbeatRequest(component_id=cid),
                            deadline_ms=2000)
            except Exception:
                pass
    threading.Thread(target=beat, daemon=True).start()
    while not stop.is_set():
        try:
            item = client.call("Broker", "PollWork",
                               services_pb2.PollRequest(component_id=cid, wait_ms=1000),
                               deadline_ms=5000)
        except Exception:
            time.sleep(0.2)
            continue
        if item.has_work:
            threading.Thread(target=run_item, args=(client, cid, item, out_file),
                             daemon=True).start()


if __name__ == "__main__":
    main()
