#!/usr/bin/python3
"""HTTPS test servers for the provisioner tests: a fault-injecting HTTP
server, a Kubernetes-API-compatible server and an OpenShift Cluster
Manager-compatible server. Standard library only.

Each listens on 127.0.0.1 with a free port, prints "PORT <n>" on stdout,
and exits when its stdin closes (so a crashed test leaves nothing behind).
"""

import argparse
import base64
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

LOCK = threading.RLock()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    app = None

    def log_message(self, fmt, *args):
        pass

    def _dispatch(self):
        parsed = urllib.parse.urlsplit(self.path)
        self.query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        self.route = parsed.path
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.app.handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def token(self):
        auth = self.headers.get("Authorization") or ""
        return auth[7:] if auth.startswith("Bearer ") else None

    def client_cert(self):
        try:
            return self.connection.getpeercert() or None
        except (AttributeError, ValueError):
            return None

    def reply(self, code, body=b"", ctype="application/json", headers=()):
        if hasattr(self.app, "save"):
            self.app.save()  # the state a test reads is written before it sees the answer
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


# --- a generic server with faults on demand -------------------------------


class FaultApp:
    """Paths: /status, /flaky, /drop, /slow, /big, /echo; /count reads counters."""

    def __init__(self, args):
        self.counts = {}
        self.times = {}

    def handle(self, h):
        q = h.query
        key = q.get("key", h.route)
        if h.route not in ("/count", "/times"):
            with LOCK:
                self.counts[key] = self.counts.get(key, 0) + 1
                self.times.setdefault(key, []).append(time.monotonic())
                n = self.counts[key]
        route = getattr(self, "r_" + h.route.strip("/"), None)
        if route is None:
            return h.reply(404, {"error": "no route " + h.route})
        return route(h, q, key, n if h.route not in ("/count", "/times") else 0)

    def r_count(self, h, q, key, n):
        with LOCK:
            h.reply(200, {"count": self.counts.get(key, 0)})

    def r_times(self, h, q, key, n):
        with LOCK:
            h.reply(200, {"times": self.times.get(key, [])})

    def r_status(self, h, q, key, n):
        h.reply(int(q.get("code", "200")), "status " + q.get("code", "200"), "text/plain")

    def r_flaky(self, h, q, key, n):
        if n <= int(q.get("fail", "1")):
            headers = [("Retry-After", q["retry_after"])] if "retry_after" in q else []
            return h.reply(int(q.get("code", "503")), "try again", "text/plain", headers)
        h.reply(200, "ok after %d" % n, "text/plain")

    def r_drop(self, h, q, key, n):
        h.close_connection = True
        h.connection.shutdown(2)

    def r_slow(self, h, q, key, n):
        time.sleep(int(q.get("ms", "2000")) / 1000.0)
        h.reply(200, "slow", "text/plain")

    def r_big(self, h, q, key, n):
        h.reply(200, b"x" * int(q.get("n", "1000")), "text/plain")

    def r_echo(self, h, q, key, n):
        h.reply(200, {"method": h.command,
                      "authorization": h.headers.get("Authorization"),
                      "content_type": h.headers.get("Content-Type"),
                      "body": h.body.decode("utf-8", "replace"),
                      "client_cert": h.client_cert() is not None})


# --- a Kubernetes API server ----------------------------------------------


class KubeApp:
    READYZ = ["ping", "log", "etcd", "informer-sync", "poststarthook/start-apiserver"]

    def __init__(self, args):
        self.args = args
        self.requests = []
        self.operators = dict(o.split("=", 1) for o in args.operator)
        self.deployments = dict(d.split("=", 1) for d in args.deployment)

    def authorized(self, h):
        if self.args.token and h.token() == self.args.token:
            return True
        return self.args.client_ca is not None and h.client_cert() is not None

    def handle(self, h):
        with LOCK:
            self.requests.append("%s %s" % (h.command, h.path))
        if h.route == "/_test/requests":
            with LOCK:
                return h.reply(200, {"requests": self.requests})
        if not self.authorized(h):
            return h.reply(401, {"kind": "Status", "status": "Failure",
                                 "message": "Unauthorized", "code": 401})
        if h.command != "GET":
            return h.reply(405, {"kind": "Status", "message": "read-only test server"})
        if h.route == "/readyz":
            return self.readyz(h)
        if h.route == "/version":
            return h.reply(200, {"major": "1", "minor": "29", "gitVersion": "v1.29.2"})
        if h.route == "/api/v1/nodes":
            return self.nodes(h)
        parts = h.route.strip("/").split("/")
        if h.route.startswith("/apis/config.openshift.io/v1/clusteroperators/"):
            return self.conditions(h, self.operators.get(parts[-1]))
        if h.route.startswith("/apis/apps/v1/namespaces/") and len(parts) == 7:
            return self.conditions(h, self.deployments.get(parts[4] + "/" + parts[6]))
        h.reply(404, {"kind": "Status", "message": "not found", "code": 404})

    def readyz(self, h):
        failing = set(self.args.readyz_fail)
        lines = ["[%s]%s %s" % ("-" if n in failing else "+", n,
                                "failed: reason withheld" if n in failing else "ok")
                 for n in self.READYZ]
        lines.append("readyz check %s" % ("failed" if failing else "passed"))
        text = "\n".join(lines) + "\n" if "verbose" in h.query else ("ok" if not failing else "failed")
        h.reply(500 if failing else 200, text, "text/plain")

    def nodes(self, h):
        names = ["node-%d" % i for i in range(self.args.nodes)]
        start = int(h.query.get("continue", "0") or 0)
        page = names[start:start + self.args.page_size]
        nxt = start + len(page)
        items = [{"metadata": {"name": n},
                  "status": {"conditions": [
                      {"type": "MemoryPressure", "status": "False"},
                      {"type": "Ready",
                       "status": "False" if n in self.args.not_ready else "True",
                       "message": "kubelet is posting ready status"}]}} for n in page]
        h.reply(200, {"kind": "NodeList", "apiVersion": "v1",
                      "metadata": {"continue": str(nxt) if nxt < len(names) else ""},
                      "items": items})

    def conditions(self, h, spec):
        if spec is None:
            return h.reply(404, {"kind": "Status", "message": "not found", "code": 404})
        values = spec.split(",")
        conds = [{"type": "Available", "status": values[0], "message": "state " + values[0]}]
        if len(values) > 1:
            conds.append({"type": "Degraded", "status": values[1], "message": "pods crashing"})
        h.reply(200, {"metadata": {"name": h.route.rsplit("/", 1)[-1]},
                      "status": {"conditions": conds}})


# --- an OpenShift Cluster Manager server ----------------------------------

CLUSTERS = "/api/clusters_mgmt/v1/clusters"


class OcmApp:
    def __init__(self, args):
        self.args = args
        self.clusters = {}
        self.tokens = {}       # access token -> [expiry, uses]
        self.issued = 0
        self.requests = []
        self.failed_once = set()
        self.next_id = 1

    def save(self):
        if self.args.state:
            tmp = self.args.state + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"clusters": self.clusters, "tokens_issued": self.issued,
                           "requests": self.requests}, f)
            os.replace(tmp, self.args.state)

    def handle(self, h):
        with LOCK:
            try:
                self.route(h)
            finally:
                self.save()

    def log(self, h, code):
        self.requests.append("%s %s %d" % (h.command, h.route, code))

    def error(self, h, code, reason):
        self.log(h, code)
        h.reply(code, {"kind": "Error", "id": str(code), "code": "CLUSTERS-MGMT-%d" % code,
                       "reason": reason})

    def fail_once(self, h, what, code):
        if not self.args.fail_once or what in self.failed_once:
            return False
        self.failed_once.add(what)
        self.log(h, code)
        h.reply(code, {"kind": "Error", "reason": "injected"}, headers=[("Retry-After", "1")])
        return True

    def route(self, h):
        if h.route.endswith("/token") and h.command == "POST":
            return self.token(h)
        tok = self.tokens.get(h.token())
        if tok is None or tok[0] < time.time() or \
                (self.args.revoke_after and tok[1] >= self.args.revoke_after):
            return self.error(h, 401, "invalid or expired access token")
        tok[1] += 1
        parts = h.route[len(CLUSTERS):].strip("/").split("/") if h.route.startswith(CLUSTERS) else None
        if parts is None:
            return self.error(h, 404, "no such path")
        if parts == [""] and h.command == "POST":
            return self.create(h)
        cluster = self.clusters.get(parts[0])
        if cluster is None or cluster["deleted"]:
            return self.error(h, 404, "Cluster '%s' not found" % parts[0])
        if len(parts) == 2 and parts[1] == "credentials" and h.command == "GET":
            return self.credentials(h, cluster)
        if len(parts) == 1 and h.command == "GET":
            return self.get(h, cluster)
        if len(parts) == 1 and h.command == "DELETE":
            cluster["state"] = "uninstalling"
            cluster["delete_requests"] += 1
            self.log(h, 204)
            return h.reply(204)
        self.error(h, 405, "method not allowed")

    def token(self, h):
        form = dict(urllib.parse.parse_qsl(h.body.decode()))
        grant = form.get("grant_type")
        ok = (grant == "refresh_token" and form.get("client_id") == "cloud-services" and
              form.get("refresh_token") == self.args.refresh_token) or \
             (grant == "client_credentials" and form.get("client_id") == self.args.sa_id and
              form.get("client_secret") == self.args.sa_secret)
        if not ok:
            self.log(h, 400)
            return h.reply(400, {"error": "invalid_grant", "error_description": "bad token"})
        self.issued += 1
        access = "access-%d" % self.issued
        self.tokens[access] = [time.time() + self.args.token_ttl, 0]
        self.log(h, 200)
        h.reply(200, {"access_token": access, "expires_in": self.args.token_ttl,
                      "token_type": "Bearer"})

    def create(self, h):
        if self.fail_once(h, "create", 429):
            return
        spec = json.loads(h.body or b"{}")
        name = spec.get("name", "")
        if not name or any(c["name"] == name and not c["deleted"] for c in self.clusters.values()):
            return self.error(h, 400, "Cluster name '%s' is missing or taken" % name)
        cid = "c%04d" % self.next_id
        self.next_id += 1
        self.clusters[cid] = {"id": cid, "name": name, "state": "pending", "gets": 0,
                              "deleted": False, "delete_requests": 0, "spec": spec}
        self.log(h, 201)
        h.reply(201, self.view(self.clusters[cid]))

    def advance(self, c):
        c["gets"] += 1
        if c["state"] == "uninstalling":
            c["deleted"] = True
        elif "slow" in c["name"]:
            c["state"] = "installing"
        elif c["gets"] >= self.args.ready_after:
            c["state"] = "error" if "error" in c["name"] else "ready"
        else:
            c["state"] = "installing"

    def get(self, h, c):
        if self.fail_once(h, "get " + c["id"], 500):
            return
        self.advance(c)
        if c["deleted"]:
            return self.error(h, 404, "Cluster '%s' not found" % c["id"])
        self.log(h, 200)
        h.reply(200, self.view(c))

    def view(self, c):
        spec = c["spec"]
        status = {"state": c["state"], "description": ""}
        if c["state"] == "error":
            status["provision_error_code"] = "OCM3042"
            status["provision_error_message"] = "Provisioning failed: insufficient quota"
        return {"kind": "Cluster", "id": c["id"], "href": CLUSTERS + "/" + c["id"],
                "name": c["name"], "state": c["state"], "status": status,
                "openshift_version": spec.get("version", {}).get("id", "openshift-v4.15.0")[11:],
                "region": spec.get("region", {"id": "us-east-1"}),
                "cloud_provider": spec.get("cloud_provider", {"id": "aws"}),
                "api": {"url": self.args.kube_url},
                "console": {"url": "https://console.%s.example.test" % c["name"]},
                "expiration_timestamp": spec.get("expiration_timestamp")}

    def credentials(self, h, c):
        if c["state"] != "ready":
            return self.error(h, 400, "Cluster '%s' is not ready" % c["id"])
        with open(self.args.kube_ca, "rb") as f:
            ca = base64.b64encode(f.read()).decode()
        kubeconfig = (
            "apiVersion: v1\nkind: Config\ncurrent-context: admin\n"
            "clusters:\n- name: %s\n  cluster:\n    server: %s\n"
            "    certificate-authority-data: %s\n"
            "contexts:\n- name: admin\n  context:\n    cluster: %s\n    user: admin\n"
            "users:\n- name: admin\n  user:\n    token: %s\n"
            % (c["name"], self.args.kube_url, ca, c["name"], self.args.kube_token))
        self.log(h, 200)
        h.reply(200, {"kind": "ClusterCredentials", "kubeconfig": kubeconfig})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["faults", "kube", "ocm"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-ca", help="ask for client certificates signed by this CA")
    p.add_argument("--require-client-cert", action="store_true")
    p.add_argument("--token")
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--page-size", type=int, default=500)
    p.add_argument("--not-ready", action="append", default=[])
    p.add_argument("--readyz-fail", action="append", default=[])
    p.add_argument("--operator", action="append", default=[], help="name=Available[,Degraded]")
    p.add_argument("--deployment", action="append", default=[], help="ns/name=Available")
    p.add_argument("--state")
    p.add_argument("--refresh-token", default="offline-token")
    p.add_argument("--sa-id", default="sa-id")
    p.add_argument("--sa-secret", default="sa-secret")
    p.add_argument("--token-ttl", type=int, default=3600)
    p.add_argument("--revoke-after", type=int, default=0)
    p.add_argument("--ready-after", type=int, default=3)
    p.add_argument("--fail-once", action="store_true")
    p.add_argument("--kube-url", default="https://127.0.0.1:1")
    p.add_argument("--kube-ca")
    p.add_argument("--kube-token", default="kube-token")
    args = p.parse_args()

    Handler.app = {"faults": FaultApp, "kube": KubeApp, "ocm": OcmApp}[args.mode](args)
    server = Server(("127.0.0.1", 0), Handler)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            ctx.load_verify_locations(args.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED if args.require_client_cert else ssl.CERT_OPTIONAL
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("PORT %d" % server.server_address[1], flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
