#!/usr/bin/env python3
"""A local stand-in for an LLM endpoint that speaks both the OpenAI chat
completions API and Gemini generateContent, for the analyzer tests.

The first path segment picks the behaviour, the rest is the API path:
  /good/v1/chat/completions, /good/v1beta/models/M:generateContent
Behaviours:
  good      a valid JSON answer
  fenced    a valid JSON answer inside a ```json fence
  nonjson   prose instead of JSON
  flaky429  429 (Retry-After: 0) on the first request per API, then good
  down500   always 500
  slow      waits 5 s before a good answer
Every request is appended to the log file as one JSON line holding the
behaviour, the API, the path, the headers and the body, so a test can check
exactly what left the analyzer. Standard library only; listens on 127.0.0.1
on a free port written to --port-file.
"""
import argparse
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = {
    "summary": "Pods could not start because their image was not found.",
    "root_cause": "The image tag web:v9 does not exist in the registry.",
    "evidence": ['Failed to pull image "web:v9": not found'],
    "recommendations": ["Push web:v9 or fix the tag in the deployment."],
    "confidence": 0.8,
}

OPENAI_PATH = re.compile(r"^/v1/chat/completions$")
GEMINI_PATH = re.compile(r"^/v1beta/models/([^/:]+):generateContent$")


class State:
    def __init__(self, log_path):
        self.lock = threading.Lock()
        self.log_path = log_path
        self.counts = {}

    def record(self, entry):
        with self.lock:
            key = (entry["behaviour"], entry["api"])
            self.counts[key] = self.counts.get(key, 0) + 1
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
            return self.counts[key]


def wrap(api, text):
    if api == "openai":
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
        }
    return {"candidates": [{"finishReason": "STOP", "index": 0,
                            "content": {"role": "model", "parts": [{"text": text}]}}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def send_json(self, code, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        parts = self.path.split("/", 2)
        behaviour = parts[1] if len(parts) > 1 else ""
        rest = "/" + (parts[2] if len(parts) > 2 else "")
        if OPENAI_PATH.match(rest):
            api = "openai"
        elif GEMINI_PATH.match(rest):
            api = "gemini"
        else:
            self.send_json(404, {"error": "no such path " + self.path})
            return
        n = self.server.state.record({
            "behaviour": behaviour, "api": api, "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        try:
            json.loads(body)
        except ValueError:
            self.send_json(400, {"error": "request body is not JSON"})
            return
        self.answer(behaviour, api, n)

    def answer(self, behaviour, api, n):
        good = json.dumps(ANSWER)
        if behaviour == "good":
            self.send_json(200, wrap(api, good))
        elif behaviour == "fenced":
            self.send_json(200, wrap(api, "```json\n" + good + "\n```"))
        elif behaviour == "nonjson":
            self.send_json(200, wrap(api, "The cluster looks unhappy, maybe the image?"))
        elif behaviour == "flaky429":
            if n == 1:
                self.send_json(429, {"error": "rate limited"}, {"Retry-After": "0"})
            else:
                self.send_json(200, wrap(api, good))
        elif behaviour == "down500":
            self.send_json(500, {"error": "internal"})
        elif behaviour == "slow":
            time.sleep(5)
            self.send_json(200, wrap(api, good))
        else:
            self.send_json(404, {"error": "unknown behaviour " + behaviour})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args.log)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
