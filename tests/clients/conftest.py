"""Fixtures of the client tests: the built programs, component processes on
private ipc addresses, and certificates for TLS."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import testbus
from testbus import Client, StatusError

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("TESTBUS_BIN_DIR", "")


def binary(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built (TESTBUS_BIN_DIR=%s)" % (name, BIN))
    return path


class Proc:
    """A component process serving on url, stopped (SIGTERM) at teardown."""

    def __init__(self, argv, url, env=None, log=None):
        self.url = url
        self.log = log
        self.p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(log, "wb") if log else subprocess.DEVNULL,
                                  start_new_session=True)

    @property
    def pid(self):
        return self.p.pid

    def wait_ready(self, token=None, timeout=10.0):
        end = time.monotonic() + timeout
        with Client(self.url, token=token) as c:
            while True:
                try:
                    return c.describe(deadline_ms=500)
                except StatusError:
                    if time.monotonic() > end or self.p.poll() is not None:
                        raise
                    time.sleep(0.05)

    def stop(self):
        """SIGTERM, then waits; returns the exit status."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        return self.p.returncode


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="tb-clients-")
    os.chmod(d, 0o700)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def start(workdir):
    """start(argv, *args, token=None, env=None, url=None, wait=True): starts a
    component on url (default: an ipc address in workdir) and waits until it
    answers Describe."""
    procs = []

    def _start(argv, *args, token=None, env=None, name=None, wait=True, url=None):
        if isinstance(argv, str):
            argv = [argv]
        name = name or "c%d" % len(procs)
        url = url or "ipc://%s/%s.ipc" % (workdir, name)
        full = list(argv) + ["--listen", url] + list(args)
        if token:
            full += ["--token", token]
        p = Proc(full, url, env, os.path.join(workdir, name + ".log"))
        procs.append(p)
        if wait:
            p.wait_ready(token)
        return p

    yield _start
    failed = []
    for p in procs:
        if p.stop() != 0:
            with open(p.log, errors="replace") as f:
                failed.append("%s exited %d:\n%s" % (p.p.args[0], p.p.returncode, f.read()[-3000:]))
    assert not failed, "\n".join(failed)


def py_component(script):
    """The argv running a Python component script of this folder."""
    return [sys.executable, os.path.join(HERE, script)]


@pytest.fixture
def c_executor(start):
    return start(binary("testbus-test-executor"), token="s3cret")


@pytest.fixture
def py_executor(start):
    return start(py_component("py_executor.py"), token="s3cret")


def call_tool(*args, stdin=None, token=None, timeout=30):
    """Runs `testbus call` (the test driver); returns (exit status, stdout, stderr)."""
    env = dict(os.environ)
    env.pop("TESTBUS_TOKEN", None)
    if token:
        env["TESTBUS_TOKEN"] = token
    r = subprocess.run([binary("testbus-call-driver")] + list(args), input=stdin,
                       capture_output=True, text=True, env=env, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def status_exit(code):
    """The exit status of `testbus call` for a failed call with this code."""
    return 64 + int(code)


@pytest.fixture(scope="session")
def certs():
    """A CA, a server certificate for 127.0.0.1 and a client certificate (EC P-256)."""
    d = tempfile.mkdtemp(prefix="tb-certs-")

    def run(*cmd):
        subprocess.run(cmd, check=True, cwd=d, capture_output=True)

    def key(name):
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name)

    key("ca.key")
    run("openssl", "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=testbus test CA",
        "-days", "2", "-out", "ca.pem")
    for who, san in (("server", "IP:127.0.0.1,DNS:localhost"), ("client", "DNS:client")):
        key(who + ".key")
        run("openssl", "req", "-new", "-key", who + ".key", "-subj", "/CN=" + who,
            "-out", who + ".csr")
        with open(os.path.join(d, who + ".ext"), "w") as f:
            f.write("subjectAltName=%s\n" % san)
        run("openssl", "x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", who + ".ext", "-out", who + ".pem")
    yield {name: os.path.join(d, name) for name in
           ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}
    shutil.rmtree(d, ignore_errors=True)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


__all__ = ["binary", "call_tool", "py_component", "status_exit", "free_port", "testbus"]
