"""`testbus call` against real component processes: the C test executor, the
shipped components that are built, and Python components."""

import glob
import http.server
import json
import os
import sys
import threading

import pytest

from conftest import BIN, binary, call_tool, py_component, status_exit
from testbus import Code


def test_describe_needs_no_component():
    rc, out, err = call_tool("ipc:///nonexistent.ipc", "describe", "Executor/Execute")
    assert rc == 0, err
    assert "rpc Execute(ExecutionTarget) returns (ExecutionResult)" in out
    assert "map<string, string> labels = 3;" in out
    assert "uint32 timeout_ms = 4;  // JSON: timeoutMs" in out
    assert "message testbus.v1.ClusterInfo {" in out  # the types it uses, too
    rc, out, _ = call_tool("ipc:///nonexistent.ipc", "describe", "TestStatus")
    assert rc == 0 and "TEST_FAILED = 2;" in out
    rc, _, err = call_tool("ipc:///nonexistent.ipc", "describe", "Nothing")
    assert rc == status_exit(Code.NOT_FOUND)
    assert err.startswith("NOT_FOUND: ")


def test_usage_errors():
    rc, out, _ = call_tool("--help")
    assert rc == 0 and "usage:" in out and "exit status" in out
    assert call_tool("ipc:///x.ipc")[0] == 2
    assert call_tool("--deadline", "soon", "ipc:///x.ipc", "list")[0] == 2
    assert call_tool("-H", "novalue", "ipc:///x.ipc", "list")[0] == 2
    assert call_tool("--bogus", "ipc:///x.ipc", "list")[0] == 2


def test_list_and_describe_component(c_executor):
    rc, out, err = call_tool("--token", "s3cret", c_executor.url, "list")
    assert rc == 0, err
    assert out.startswith("component test-executor (KIND_EXECUTOR)")
    assert "service testbus.v1.Executor {" in out
    assert out.count("service testbus.v1.Component {") == 1
    rc, out, err = call_tool("--token", "s3cret", c_executor.url, "Component/Describe")
    assert rc == 0, err
    info = json.loads(out)
    assert info["name"] == "test-executor"
    assert info["kind"] == "KIND_EXECUTOR"
    assert info["protocolVersion"] == 1
    assert info["pid"] == str(c_executor.pid)  # int64 as a string


def test_execute_round_trip(c_executor):
    body = json.dumps({"labels": {"suite": "e2e"}, "kubeconfig": "AAECAw==",
                       "target_id": "t1", "timeoutMs": 5})
    rc, out, err = call_tool("-H", "run-id=r-42", "--header=trace-id=tr", "--deadline", "10s",
                             c_executor.url, "testbus.v1.Executor/Execute", body,
                             token="s3cret")
    assert rc == 0, err
    r = json.loads(out)
    assert r["success"] is True
    assert r["labels"] == {"suite": "e2e"}
    assert r["startTime"] == "-1234567890123"
    assert r["endTime"] == "9223372036854775807"
    assert r["error"] == "t1"
    assert r["metadata"]["run_id"] == {"stringValue": "r-42"}
    assert r["metadata"]["trace_id"] == {"stringValue": "tr"}
    assert r["metadata"]["kubeconfig_len"] == {"intValue": "4"}
    assert "stdoutTail" not in r
    rc, out, _ = call_tool("--emit-defaults", c_executor.url, "Executor/Execute", "{}",
                           token="s3cret")
    assert rc == 0 and json.loads(out)["stdoutTail"] == ""


def test_input_from_stdin(c_executor):
    rc, out, err = call_tool(c_executor.url, "Executor/Execute", "-", token="s3cret",
                             stdin='{"targetId": "from-stdin"}\n')
    assert rc == 0, err
    assert json.loads(out)["error"] == "from-stdin"


def test_bad_json_is_a_clear_error(c_executor):
    rc, out, err = call_tool(c_executor.url, "Executor/Execute", '{"labels": {"a": 1}}',
                             token="s3cret")
    assert rc == status_exit(Code.INVALID_ARGUMENT)
    assert out == ""
    assert err.strip() == ("INVALID_ARGUMENT: testbus.v1.ExecutionTarget input: "
                           'labels["a"]: expected a string, got int')
    rc, _, err = call_tool(c_executor.url, "Executor/Execute", '{"labls": {}}', token="s3cret")
    assert rc == status_exit(Code.INVALID_ARGUMENT)
    assert "labls: unknown field of testbus.v1.ExecutionTarget" in err
    rc, _, err = call_tool(c_executor.url, "Executor/Execute", '{"labels": ', token="s3cret")
    assert rc == status_exit(Code.INVALID_ARGUMENT)
    assert "invalid JSON at line 1" in err


def test_unknown_method(c_executor):
    # Known to the contract, not served by the component: the component says so.
    rc, _, err = call_tool(c_executor.url, "Analyzer/Analyze", "{}", token="s3cret")
    assert rc == status_exit(Code.UNIMPLEMENTED)
    assert err.startswith("UNIMPLEMENTED: ") and "test-executor" in err
    # Not in the contract at all: refused before calling.
    rc, _, err = call_tool(c_executor.url, "Executor/Run", "{}", token="s3cret")
    assert rc == status_exit(Code.UNIMPLEMENTED)
    assert "testbus.v1.Executor has no method Run" in err


def test_failures_map_to_exit_codes(c_executor, workdir):
    rc, _, err = call_tool(c_executor.url, "Executor/Execute", '{"labels": {"fail": "NOT_FOUND"}}',
                           token="s3cret")
    assert (rc, err.strip()) == (status_exit(Code.NOT_FOUND), "NOT_FOUND: failing as asked")
    # A handler that overruns: the tool gives up on its own at the deadline.
    # (One that stops at the deadline answers DEADLINE_EXCEEDED at the very
    # moment libtestbus stops waiting, a race that can hang its tb_conn_close.)
    rc, _, err = call_tool("--deadline", "300ms", c_executor.url, "Executor/Execute",
                           '{"labels": {"busy_ms": "2000"}}', token="s3cret")
    assert rc == status_exit(Code.DEADLINE_EXCEEDED), err
    rc, _, err = call_tool(c_executor.url, "Component/Health", token="wrong")
    assert rc == status_exit(Code.UNAUTHENTICATED)
    rc, _, err = call_tool("--deadline", "300ms", "ipc://%s/absent.ipc" % workdir,
                           "Component/Health")
    assert rc == status_exit(Code.UNAVAILABLE), err


def test_call_id_reuse_is_answered_once(c_executor):
    args = ("--call-id", "77001", c_executor.url, "Executor/Execute", "{}")
    first = call_tool(*args, token="s3cret")
    second = call_tool(*args, token="s3cret")
    assert first[0] == 0 and second == first  # the cached answer, not a second run
    third = call_tool(c_executor.url, "Executor/Execute", "{}", token="s3cret")
    assert json.loads(third[1])["metadata"]["invocations"]["intValue"] == \
        str(int(json.loads(first[1])["metadata"]["invocations"]["intValue"]) + 1)


# One real method per shipped component (beyond Describe): its config (YAML),
# the calls to make in order, and a field the last answer has a non-default
# value in. In both, {dir} is the test's folder and {http} a local HTTP sink.
REPORT = {"runId": "r1", "success": True, "summary": {"total": 1, "passed": 1}}
INIT = ("Reporter/Initialize", {"runId": "r1", "artifactsDir": "{dir}/art"})
FAILED = {"success": False, "summary": {"total": 1, "failed": 1}}
SHIPPED_CALLS = {
    "testbus-analyzer-rules": (None, [("Analyzer/ShouldAnalyze", FAILED)], "analyze"),
    "testbus-analyzer-llm": (None, [("Analyzer/ShouldAnalyze", FAILED)], "analyze"),
    "testbus-provisioner-local": (None, [("Provisioner/Provision", {"runId": "r"})], "provider"),
    "testbus-provisioner-exec": (
        "provision_command: [sh, -c, \"echo '{\\\"id\\\": \\\"c1\\\"}'\"]\n"
        "destroy_command: [\"true\"]\n",
        [("Provisioner/Provision", {"runId": "r"})], "id"),
    "testbus-executor-shell": ("script: \"echo hello\"\n",
                               [("Executor/Execute", {"targetId": "t"})], "testCases"),
    "testbus-executor-pytest": ("python: %s\npaths: [\"{dir}/test_one.py\"]\n" % sys.executable,
                                [("Executor/Execute", {"targetId": "t"})], "testCases"),
    "testbus-reporter-console": (None, [INIT, ("Reporter/Report", REPORT)], "artifacts"),
    "testbus-reporter-html": (None, [INIT, ("Reporter/Report", REPORT)], "artifacts"),
    "testbus-reporter-json": (None, [INIT, ("Reporter/Report", REPORT)], "artifacts"),
    "testbus-reporter-junit": (None, [INIT, ("Reporter/Report", REPORT)], "artifacts"),
    "testbus-reporter-webhook": ("url: \"{http}/hook\"\n", [INIT, ("Reporter/Report", REPORT)],
                                 None),
    "testbus-reporter-slack": ("webhook_url: \"{http}/slack\"\n",
                               [INIT, ("Reporter/Report", REPORT)], None),
}
# Shipped components not called beyond Describe, and why.
NOT_CALLED = {
    "testbus-executor-ginkgo": "running a Ginkgo suite means building Go code first",
    "testbus-provisioner-ocm": "needs the OpenShift Cluster Manager API",
}


class _Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.server.posts.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_sink():
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Sink)
    srv.posts = []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def shipped_components():
    names = []
    for kind in ("provisioner", "executor", "analyzer", "reporter"):
        names += [os.path.basename(p) for p in glob.glob(os.path.join(BIN, "testbus-%s-*" % kind))]
    return sorted(n for n in names if not n.endswith("-py"))


@pytest.mark.parametrize("name", shipped_components())
def test_shipped_component(name, start, workdir, http_sink):
    def fill(text):
        return text.replace("{dir}", workdir).replace(
            "{http}", "http://127.0.0.1:%d" % http_sink.server_port)

    spec = SHIPPED_CALLS.get(name)
    with open(os.path.join(workdir, "test_one.py"), "w") as f:
        f.write("def test_ok():\n    assert True\n")
    args = []
    if spec and spec[0]:
        with open(os.path.join(workdir, "config.yaml"), "w") as f:
            f.write(fill(spec[0]))
        args = ["--config", os.path.join(workdir, "config.yaml")]
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    comp = start(binary(name), *args, env=env)
    rc, out, err = call_tool(comp.url, "Component/Describe")
    assert rc == 0, err
    info = json.loads(out)
    assert info["protocolVersion"] == 1 and info["pid"] == str(comp.pid)
    assert call_tool(comp.url, "list")[0] == 0
    if spec is None:
        assert name in NOT_CALLED, "add %s to SHIPPED_CALLS" % name
        pytest.skip("%s: %s; Describe checked" % (name, NOT_CALLED[name]))
    for method, body in spec[1]:
        rc, out, err = call_tool("--deadline", "60s", comp.url, method, fill(json.dumps(body)))
        assert rc == 0, "%s: %s" % (method, err)
    if spec[2] is not None:
        assert json.loads(out).get(spec[2]), out
    else:
        assert http_sink.posts, "nothing was posted"


def test_python_reporter_example(start, workdir):
    out_dir = os.path.join(workdir, "reports")
    rep = start(binary("testbus-reporter-example-py"))
    rc, _, err = call_tool(rep.url, "Reporter/Initialize",
                           json.dumps({"runId": "r1", "artifactsDir": out_dir}))
    assert rc == 0, err
    report = {"runId": "r1", "success": False, "summary": {"total": 3, "passed": 2, "failed": 1},
              "phases": [{"name": "e2e", "targets": [{"targetId": "t", "labels": {"a": "b"}}]}]}
    rc, out, err = call_tool(rep.url, "Reporter/Report", json.dumps(report))
    assert rc == 0, err
    art = json.loads(out)["artifacts"][0]
    path = os.path.join(out_dir, "python-report-r1.json")
    assert art["uri"] == path and int(art["size"]) == os.path.getsize(path)
    with open(path) as f:
        written = json.load(f)
    assert written["summary"] == {"total": 3, "passed": 2, "failed": 1}
    assert written["phases"][0]["targets"][0]["labels"] == {"a": "b"}
    rc, out, err = call_tool(rep.url, "Reporter/Finalize")
    assert rc == 0, err
    with open(os.path.join(out_dir, "python-report-summary.txt")) as f:
        assert f.read() == "r1 failed: 3 total, 2 passed, 1 failed, 0 skipped, 0 errors\n"
    # The example refuses a run id that would escape its folder.
    rc, _, err = call_tool(rep.url, "Reporter/Report", '{"runId": "../x"}')
    assert rc == status_exit(Code.INVALID_ARGUMENT)


def test_python_component_via_call(start):
    comp = start(py_component("py_executor.py"))
    rc, out, err = call_tool("-H", "run-id=py-run", comp.url, "Executor/Execute",
                             '{"labels": {"x": "y"}, "kubeconfig": "AAE="}')
    assert rc == 0, err
    r = json.loads(out)
    assert r["labels"] == {"x": "y"}
    assert r["metadata"]["run_id"] == {"stringValue": "py-run"}
    assert r["metadata"]["kubeconfig_len"] == {"intValue": "2"}
    rc, _, err = call_tool(comp.url, "Executor/Execute", '{"labels": {"crash": "1"}}')
    assert rc == status_exit(Code.INTERNAL)
    assert "RuntimeError: crashing as asked" in err
