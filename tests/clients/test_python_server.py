"""Python components (the SDK's server and command line) called by the C
client, libtestbus through `testbus call`, and by raw requests."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import call_tool, free_port, py_component, status_exit
from testbus import Client, Code, StatusError, nng, proto

PY_EXEC = py_component("py_executor.py")


def execute(url, labels=None, *flags, token="s3cret"):
    rc, out, err = call_tool(*flags, url, "Executor/Execute",
                             json.dumps({"labels": labels or {}}), token=token)
    return rc, (json.loads(out) if rc == 0 else None), err


def background(url, labels, *flags, token="s3cret"):
    env = {k: v for k, v in os.environ.items() if k != "TESTBUS_TOKEN"}
    if token:
        env["TESTBUS_TOKEN"] = token
    return subprocess.Popen([os.path.join(os.environ["TESTBUS_BIN_DIR"], "testbus-call-driver")]
                            + list(flags) + [url, "Executor/Execute",
                                             json.dumps({"labels": labels})],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_running(url, n, token="s3cret"):
    end = time.monotonic() + 5
    while time.monotonic() < end:
        rc, out, _ = call_tool(url, "Component/Health", token=token)
        if rc == 0 and json.loads(out).get("running", 0) >= n:
            return
        time.sleep(0.05)
    pytest.fail("%d calls never ran" % n)


def test_describe_and_health(start):
    comp = start(PY_EXEC, "--labels", "region=eu,tier=2", token="s3cret")
    rc, out, err = call_tool(comp.url, "Component/Describe", token="s3cret")
    assert rc == 0, err
    info = json.loads(out)
    assert info["name"] == "py-test-executor" and info["kind"] == "KIND_EXECUTOR"
    assert info["services"] == ["testbus.v1.Component", "testbus.v1.Executor"]
    assert info["labels"] == {"region": "eu", "tier": "2"}
    assert (info["capacity"], info["protocolVersion"]) == (2, 1)
    assert info["maxMessageSize"] == 4 * 1024 * 1024 and info["pid"] == str(comp.pid)
    rc, out, _ = call_tool(comp.url, "Component/Health", token="s3cret")
    assert json.loads(out) == {"serving": True, "message": "serving", "capacity": 2}


def test_statuses(py_executor):
    url = py_executor.url
    rc, r, err = execute(url, {"x": "1"}, "-H", "run-id=r5", "-H", "trace-id=t5")
    assert rc == 0, err
    assert r["labels"] == {"x": "1"} and r["startTime"] == "-1234567890123"
    assert r["metadata"]["run_id"] == {"stringValue": "r5"}
    assert r["metadata"]["trace_id"] == {"stringValue": "t5"}
    rc, _, err = execute(url, {"fail": "ALREADY_EXISTS"})
    assert (rc, err.strip()) == (status_exit(Code.ALREADY_EXISTS),
                                 "ALREADY_EXISTS: failing as asked")
    rc, _, err = call_tool(url, "Analyzer/Analyze", "{}", token="s3cret")
    assert rc == status_exit(Code.UNIMPLEMENTED)
    # The component stops the handler at the deadline and says so. (Asked
    # through the Python client: libtestbus can hang closing its connection
    # when an answer comes at the very moment its own wait ends.)
    with Client(url, token="s3cret") as c:
        start = time.monotonic()
        with pytest.raises(StatusError) as e:
            c.call("Executor", "Execute", proto.ExecutionTarget(labels={"sleep_ms": "5000"}),
                   deadline_ms=300)
        assert e.value.code == Code.DEADLINE_EXCEEDED
        assert e.value.message == "the call ran past its deadline"  # the component's answer
        assert time.monotonic() - start < 3
    assert execute(url, token="wrong")[0] == status_exit(Code.UNAUTHENTICATED)
    assert execute(url, token=None)[0] == status_exit(Code.UNAUTHENTICATED)


def test_same_call_id_runs_once(py_executor):
    first = execute(py_executor.url, {}, "--call-id", "4242")
    again = execute(py_executor.url, {}, "--call-id", "4242")
    assert first[0] == 0 and again == first
    other = execute(py_executor.url, {})
    assert other[1]["metadata"]["invocations"]["intValue"] == "2"


def test_duplicate_of_a_running_call_waits_for_its_answer(py_executor):
    a = background(py_executor.url, {"sleep_ms": "700"}, "--call-id", "999")
    wait_running(py_executor.url, 1)
    b = background(py_executor.url, {"sleep_ms": "700"}, "--call-id", "999")
    out_a, _ = a.communicate(10)
    out_b, _ = b.communicate(10)
    assert a.returncode == 0 and out_a == out_b
    assert json.loads(out_a)["metadata"]["invocations"]["intValue"] == "1"


def test_cancel_from_c(py_executor):
    p = background(py_executor.url, {"sleep_ms": "20000"}, "--call-id", "5151")
    wait_running(py_executor.url, 1)
    rc, out, err = call_tool(py_executor.url, "Component/Cancel", '{"callId": "5151"}',
                             token="s3cret")
    assert rc == 0, err
    assert json.loads(out) == {"found": True}
    out, err = p.communicate(10)
    assert p.returncode == 0, err
    r = json.loads(out)
    assert r["cancelled"] is True and "success" not in r
    rc, out, _ = call_tool(py_executor.url, "Component/Cancel", '{"callId": "5151"}',
                           token="s3cret")
    assert json.loads(out) == {}  # found: false, the default


def test_capacity(start):
    comp = start(PY_EXEC, "--capacity", "1")
    p = background(comp.url, {"sleep_ms": "1500"})
    wait_running(comp.url, 1)
    rc, _, err = execute(comp.url, {})
    assert rc == status_exit(Code.RESOURCE_EXHAUSTED), err
    assert "busy" in err
    assert call_tool(comp.url, "Component/Describe")[0] == 0  # control calls still served
    p.communicate(10)
    assert execute(comp.url, {})[0] == 0


def test_oversized_answer(py_executor):
    rc, _, err = execute(py_executor.url, {"big": str(5 * 1024 * 1024)})
    assert rc == status_exit(Code.RESOURCE_EXHAUSTED), err
    assert "exceeds" in err
    assert execute(py_executor.url, {"big": "1000"})[0] == 0


def test_malformed_requests(py_executor):
    sock = nng.Socket("req", proto.DEFAULT_MAX_MESSAGE)
    sock.dial(py_executor.url)
    try:
        answers = []
        for body in (b"\xff\xff\xff", proto.Request(
                service="testbus.v1.Executor", method="Execute", call_id=7,
                payload=b"\x0a\x05ab", metadata={"auth-token": "s3cret"}).SerializeToString()):
            ctx = nng.Context(sock)
            try:
                ctx.send(body, 5000)
                resp = proto.Response()
                resp.ParseFromString(ctx.recv(5000))
                answers.append(resp)
            finally:
                ctx.close()
    finally:
        sock.close()
    assert (answers[0].call_id, answers[0].status.code) == (0, Code.INVALID_ARGUMENT)
    assert (answers[1].call_id, answers[1].status.code) == (7, Code.INVALID_ARGUMENT)
    assert "ExecutionTarget" in answers[1].status.message


def test_events(start, workdir):
    ev_url = "ipc://%s/events.ipc" % workdir
    pull = nng.Socket("pull", proto.DEFAULT_MAX_MESSAGE)
    try:
        pull.listen(ev_url)
        pull.set_recv_timeout(5000)
        comp = start(PY_EXEC, "--events", ev_url)
        rc, _, err = call_tool("--call-id", "31337", "-H", "run-id=evr", comp.url,
                               "Executor/Execute", "{}")
        assert rc == 0, err
        events = []
        for _ in range(2):
            ev = proto.Event()
            ev.ParseFromString(pull.recv())
            events.append(ev)
    finally:
        pull.close()
    assert [e.kind for e in events] == [proto.EVENT_STARTED, proto.EVENT_FINISHED]
    assert all((e.call_id, e.run_id, e.component) == (31337, "evr", "py-test-executor")
               for e in events)
    assert events[1].percent == 100.0


def run_cli(*args, env=None):
    return subprocess.run(PY_EXEC + list(args), capture_output=True, text=True, timeout=30,
                          env=env)


def test_command_line():
    r = run_cli("--help")
    assert r.returncode == 0 and "--listen URL" in r.stdout and "--tls-ca" in r.stdout
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("py-test-executor ")
    assert "testbus protocol 1" in r.stdout
    r = run_cli("--listen", "tcp://127.0.0.1:%d" % free_port())
    assert r.returncode == 2 and "--insecure" in r.stderr
    assert run_cli("--listen", "ipc:///tmp/x.ipc", "--capacity", "0").returncode == 2
    assert run_cli("--listen", "ipc:///tmp/x.ipc", "--labels", "novalue").returncode == 2
    assert run_cli().returncode == 2
    r = run_cli("--listen", "tls+tcp://127.0.0.1:%d" % free_port())
    assert r.returncode == 2 and "--tls-cert" in r.stderr


def test_insecure_tcp(start):
    url = "tcp://127.0.0.1:%d" % free_port()
    comp = start(PY_EXEC, "--insecure", url=url)
    assert execute(comp.url, {}, token=None)[0] == 0


def test_config_file_and_configure(start, workdir):
    cfg = os.path.join(workdir, "cfg.yaml")
    with open(cfg, "w") as f:
        f.write("count: 3\nratio: 0.5\nflag: yes\nstrict: true\nnames: [a, b]\n"
                "nested: {k: v}\n")
    comp = start(PY_EXEC, "--config", cfg)
    config = execute(comp.url, {}, token=None)[1]["metadata"]["config"]["mapValue"]["fields"]
    assert config["count"] == {"intValue": "3"}
    assert config["ratio"] == {"doubleValue": 0.5}
    assert config["flag"] == {"stringValue": "yes"}  # YAML 1.2: not a boolean
    assert config["strict"] == {"boolValue": True}
    assert config["names"]["listValue"]["values"] == [{"stringValue": "a"}, {"stringValue": "b"}]
    assert config["nested"]["mapValue"]["fields"] == {"k": {"stringValue": "v"}}
    rc, _, err = call_tool(comp.url, "Component/Configure",
                           '{"config": {"mode": {"stringValue": "fast"}}}')
    assert rc == 0, err
    config = execute(comp.url, {}, token=None)[1]["metadata"]["config"]["mapValue"]["fields"]
    assert config == {"mode": {"stringValue": "fast"}}
    rc, _, err = call_tool(comp.url, "Component/Configure",
                           '{"config": {"reject": {"boolValue": true}}}')
    assert rc == status_exit(Code.INVALID_ARGUMENT) and "reject" in err
    with open(cfg, "w") as f:
        f.write("reject: 1\n")
    r = run_cli("--listen", "ipc://%s/bad.ipc" % workdir, "--config", cfg)
    assert r.returncode == 1 and "reject" in r.stderr
    with open(cfg, "w") as f:
        f.write("- a list\n")
    r = run_cli("--listen", "ipc://%s/bad.ipc" % workdir, "--config", cfg)
    assert r.returncode == 1 and "mapping" in r.stderr


def test_sigterm_stops_cleanly(start):
    comp = start(PY_EXEC)
    p = background(comp.url, {"sleep_ms": "30000"}, token=None)
    wait_running(comp.url, 1, token=None)
    t0 = time.monotonic()
    assert comp.stop() == 0
    assert time.monotonic() - t0 < 8
    out, err = p.communicate(10)
    # The running call was told to stop and answered with its partial result.
    assert p.returncode == 0, err
    assert json.loads(out)["cancelled"] is True


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_exits_when_the_parent_dies(workdir):
    url = "ipc://%s/orphan.ipc" % workdir
    pidfile = os.path.join(workdir, "pid")
    script = ('TESTBUS_PARENT_PID=$$ "$@" & echo $! > %s; sleep 1' % pidfile)
    subprocess.run(["sh", "-c", script, "sh"] + PY_EXEC + ["--listen", url], timeout=30,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(pidfile) as f:
        pid = int(f.read())
    end = time.monotonic() + 10
    while not gone(pid) and time.monotonic() < end:
        time.sleep(0.1)
    if not gone(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the component outlived its parent")


def test_tls_and_token_from_c(start, certs):
    url = "tls+tcp://127.0.0.1:%d" % free_port()
    start(PY_EXEC, "--tls-ca", certs["ca.pem"], "--tls-cert", certs["server.pem"],
          "--tls-key", certs["server.key"], "--token", "tok", url=url, wait=False)
    tls = ["--tls-ca", certs["ca.pem"], "--tls-cert", certs["client.pem"],
           "--tls-key", certs["client.key"], "--tls-server-name", "localhost"]
    end = time.monotonic() + 10
    while True:
        rc, out, err = call_tool(*tls, "--deadline", "1s", url, "Component/Describe", token="tok")
        if rc == 0 or time.monotonic() > end:
            break
    assert rc == 0, err
    assert json.loads(out)["name"] == "py-test-executor"
    rc, _, _ = call_tool(*tls, "--deadline", "1s", url, "Component/Describe", token="bad")
    assert rc == status_exit(Code.UNAUTHENTICATED)
    rc, _, _ = call_tool(*tls[:2], "--tls-server-name", "localhost", "--deadline", "1s", url,
                         "Component/Describe", token="tok")
    assert rc == status_exit(Code.UNAVAILABLE)  # no client certificate

