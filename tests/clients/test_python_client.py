"""The Python client calling the C test executor (libtestbus's server)."""

import threading
import time

import pytest

from conftest import binary, free_port
from testbus import Client, Code, StatusError, new_call_id, nng, proto


def execute(client, labels=None, **kw):
    target = proto.ExecutionTarget(labels=labels or {})
    return client.call("Executor", "Execute", target, **kw)


def test_handshake(c_executor):
    with Client(c_executor.url, token="s3cret") as c:
        info = c.handshake()
    assert info.name == "test-executor"
    assert info.kind == proto.KIND_EXECUTOR
    assert info.protocol_version == 1
    assert info.capacity == 2
    assert info.pid == c_executor.pid
    assert "testbus.v1.Executor" in info.services


def test_execute_with_metadata(c_executor):
    with Client(c_executor.url, token="s3cret") as c:
        target = proto.ExecutionTarget(labels={"suite": "e2e"}, kubeconfig=b"\0\1\2",
                                       target_id="t9")
        r = c.call("testbus.v1.Executor", "Execute", target, deadline_ms=5000,
                   metadata={"run-id": "run-7", "trace-id": "tr-1"})
    assert r.success and r.error == "t9"
    assert dict(r.labels) == {"suite": "e2e"}
    assert r.start_time == -1234567890123
    assert r.metadata["run_id"].string_value == "run-7"
    assert r.metadata["trace_id"].string_value == "tr-1"
    assert r.metadata["kubeconfig_len"].int_value == 3


def test_statuses(c_executor):
    with Client(c_executor.url, token="s3cret") as c:
        with pytest.raises(StatusError) as e:
            execute(c, {"fail": "FAILED_PRECONDITION"})
        assert e.value.code == Code.FAILED_PRECONDITION
        assert e.value.message == "failing as asked"
        with pytest.raises(StatusError) as e:
            c.call("Analyzer", "ShouldAnalyze", proto.ExecutionResult())
        assert e.value.code == Code.UNIMPLEMENTED
        with pytest.raises(StatusError) as e:
            c.call("Executor", "Nope")
        assert e.value.code == Code.UNIMPLEMENTED
        start = time.monotonic()
        with pytest.raises(StatusError) as e:
            execute(c, {"sleep_ms": "5000"}, deadline_ms=300)
        assert e.value.code == Code.DEADLINE_EXCEEDED
        assert time.monotonic() - start < 3
    with Client(c_executor.url, token="wrong") as c:
        with pytest.raises(StatusError) as e:
            c.health()
        assert e.value.code == Code.UNAUTHENTICATED


def test_overrunning_handler(c_executor):
    with Client(c_executor.url, token="s3cret") as c:
        start = time.monotonic()
        with pytest.raises(StatusError) as e:
            execute(c, {"busy_ms": "3000"}, deadline_ms=300)
        assert e.value.code == Code.DEADLINE_EXCEEDED
        assert "no answer within" in e.value.message  # given up locally
        assert time.monotonic() - start < 2.5


def test_close_after_deadline_answers(c_executor):
    # The component answers DEADLINE_EXCEEDED just as the deadline passes; in
    # NNG 1.5.2 an answer racing the end of the client's wait could make the
    # socket's close hang. Each close must finish promptly.
    for _ in range(15):
        c = Client(c_executor.url, token="s3cret")
        with pytest.raises(StatusError) as e:
            execute(c, {"sleep_ms": "5000"}, deadline_ms=100)
        assert e.value.code == Code.DEADLINE_EXCEEDED
        closer = threading.Thread(target=c.close, daemon=True)
        closer.start()
        closer.join(5)
        assert not closer.is_alive(), "closing the client hung"


def test_cancel(c_executor):
    cid = new_call_id()
    out = {}
    with Client(c_executor.url, token="s3cret") as c:
        t = threading.Thread(target=lambda: out.update(r=execute(
            c, {"sleep_ms": "10000"}, call_id=cid, deadline_ms=20000)))
        t.start()
        found = False
        for _ in range(100):  # until the call is running
            found = c.cancel(cid)
            if found:
                break
            time.sleep(0.02)
        t.join(10)
        assert found and not t.is_alive()
        assert out["r"].cancelled and not out["r"].success
        assert c.cancel(cid) is False  # no longer running


def test_capacity_leaves_control_calls_free(c_executor):
    with Client(c_executor.url, token="s3cret") as c:
        threads = [threading.Thread(target=lambda: execute(c, {"sleep_ms": "1500"},
                                                           deadline_ms=5000))
                   for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while c.health().running < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(StatusError) as e:
            execute(c, deadline_ms=2000)
        assert e.value.code == Code.RESOURCE_EXHAUSTED
        assert c.health().running == 2  # Health is still served
        for t in threads:
            t.join()


def test_same_call_id_runs_once(c_executor):
    cid = new_call_id()
    with Client(c_executor.url, token="s3cret") as c:
        a = execute(c, call_id=cid)
        b = execute(c, call_id=cid)
        n = execute(c)
    assert a == b
    assert n.metadata["invocations"].int_value == a.metadata["invocations"].int_value + 1


def test_request_too_big_is_refused_before_sending(c_executor):
    with Client(c_executor.url, token="s3cret", max_message_size=64 * 1024) as c:
        with pytest.raises(StatusError) as e:
            c.call("Executor", "Execute", proto.ExecutionTarget(kubeconfig=b"x" * 100000))
        assert e.value.code == Code.RESOURCE_EXHAUSTED
        assert c.health().serving  # the connection is still fine


def test_events_from_a_c_component(start, workdir):
    ev_url = "ipc://%s/events.ipc" % workdir
    pull = nng.Socket("pull", proto.DEFAULT_MAX_MESSAGE)
    try:
        pull.listen(ev_url)
        pull.set_recv_timeout(5000)
        comp = start(binary("testbus-test-executor"), "--events", ev_url)
        with Client(comp.url) as c:
            cid = new_call_id()
            execute(c, call_id=cid, metadata={"run-id": "ev-run"})
        # Only the first event is checked: libtestbus's PUSH socket has no
        # send buffer, so an event pushed right after another is dropped.
        ev = proto.Event()
        ev.ParseFromString(pull.recv())
        assert (ev.call_id, ev.run_id, ev.component) == (cid, "ev-run", "test-executor")
        assert ev.kind == proto.EVENT_STARTED and ev.message == "started"
        assert abs(ev.time - time.time() * 1000) < 60000
    finally:
        pull.close()


def test_mutual_tls(start, certs):
    url = "tls+tcp://127.0.0.1:%d" % free_port()
    start(binary("testbus-test-executor"), "--tls-ca", certs["ca.pem"], "--tls-cert",
          certs["server.pem"], "--tls-key", certs["server.key"], url=url, wait=False)
    # mbedtls 2 matches the server name against DNS names only: name it.
    with Client(url, tls_ca=certs["ca.pem"], tls_cert=certs["client.pem"],
                tls_key=certs["client.key"], tls_server_name="localhost") as c:
        deadline = time.monotonic() + 10
        while True:
            try:
                info = c.describe(deadline_ms=1000)
                break
            except StatusError:
                if time.monotonic() > deadline:
                    raise
        assert info.name == "test-executor"
        assert execute(c, {"over": "tls"}).labels["over"] == "tls"
    # Without a client certificate the server refuses the connection.
    with Client(url, tls_ca=certs["ca.pem"], tls_server_name="localhost") as c:
        with pytest.raises(StatusError) as e:
            c.describe(deadline_ms=1500)
        assert e.value.code == Code.UNAVAILABLE
    # Plain tcp:// to a TLS listener gets nowhere either.
    with Client(url.replace("tls+", "")) as c:
        with pytest.raises(StatusError) as e:
            c.describe(deadline_ms=1000)
        assert e.value.code == Code.UNAVAILABLE
