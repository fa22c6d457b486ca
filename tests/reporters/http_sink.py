#!/usr/bin/env python3
"""A local HTTP server for the Slack and webhook reporter tests (Python 3 stdlib only).

It listens on 127.0.0.1 on a free port, writes the port to --port-file, and
answers each request with the next status of --statuses (the last one
repeats), 429 answers carrying "Retry-After: --retry-after". Every request is
appended to --log as one JSON line: method, path, headers and body.
"""
import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--statuses", default="200")
    ap.add_argument("--retry-after", default="1")
    ap.add_argument("--lifetime", type=float, default=120,
                    help="seconds after which the server exits, whatever happens")
    args = ap.parse_args()
    statuses = [int(s) for s in args.statuses.split(",")]
    lock = threading.Lock()
    seen = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def answer(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else b""
            with lock:
                status = statuses[min(seen["n"], len(statuses) - 1)]
                seen["n"] += 1
                with open(args.log, "a", encoding="utf-8") as log:
                    log.write(json.dumps({
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body.decode("utf-8", errors="replace"),
                    }) + "\n")
            text = b"ok" if status < 300 else b"rate limited" if status == 429 else b"server error"
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", args.retry_after)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        do_POST = answer
        do_PUT = answer

        def log_message(self, fmt, *a):
            pass

    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    server = HTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
