"""The client side of the bus: a connection to a component and calls on it,
speaking the same envelope, deadlines and call ids as libtestbus."""

import os
import random
import threading
import time

from . import nng, proto
from .proto import Empty, Request, Response
from .status import Code, StatusError

META_TOKEN = "auth-token"
META_RUN_ID = "run-id"
META_TRACE_ID = "trace-id"

# How long past the deadline the client waits for the component's own answer
# (it answers DEADLINE_EXCEEDED when its handler runs out of time), and how
# long a socket is kept after a call gave up waiting. Besides better errors,
# this keeps a late answer from racing the end of the wait: in NNG 1.5.2 that
# race can make closing the socket soon after hang.
ANSWER_SLACK_MS = 500

_ids_lock = threading.Lock()
_ids_next = [0]


def new_call_id():
    """A fresh non-zero call id, unique within the process and unlikely across
    processes (the pid and a random value seed the high bits)."""
    with _ids_lock:
        if _ids_next[0] == 0:
            seed = (os.getpid() << 40) ^ (random.getrandbits(40) << 20)
            _ids_next[0] = seed & 0xFFFFFFFFFFFFFFFF or 1
        _ids_next[0] = (_ids_next[0] + 1) & 0xFFFFFFFFFFFFFFFF or 1
        return _ids_next[0]


class Client:
    """A connection to one component at url (ipc://, tcp:// or tls+tcp://).

    Does not wait for the peer: calls made before it is up wait for it within
    their deadline. Many threads may call at once. Close it (or use it as a
    context manager) when done."""

    def __init__(self, url, token=None, tls_ca=None, tls_cert=None, tls_key=None,
                 tls_server_name=None, max_message_size=proto.DEFAULT_MAX_MESSAGE):
        self.url = url
        self.token = token
        self.max_message_size = max_message_size
        self._send_limit = max_message_size
        self._tls = None
        self._sock = None
        self._gave_up_at = None  # monotonic time a call last stopped waiting
        self._sock = nng.Socket("req", max_message_size)
        try:
            if url.startswith("tls+"):
                self._tls = nng.TlsConfig(False, tls_ca, tls_cert, tls_key,
                                          tls_server_name or nng.url_host(url))
            self._sock.dial(url, self._tls)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Closes the connection: calls in flight end with CANCELLED. Blocks
        up to ANSWER_SLACK_MS when a call recently gave up waiting."""
        if self._gave_up_at is not None:
            left = self._gave_up_at + ANSWER_SLACK_MS / 1000.0 - time.monotonic()
            if left > 0:
                time.sleep(left)
        if self._sock is not None:
            self._sock.close()
        if self._tls is not None:
            self._tls.free()
            self._tls = None

    def set_peer_max_message(self, size):
        """Lowers the largest request sent, e.g. to the peer's max_message_size."""
        if 0 < size < self._send_limit:
            self._send_limit = size

    def call(self, service, method, request=None, deadline_ms=0, metadata=None, call_id=0,
             retries=0):
        """Calls service/method (short or full service name) with request (a
        message of the method's input type; None gives an empty one) and
        returns the unpacked output. Raises StatusError on any non-OK status,
        local or remote. Blocks until the answer or the deadline."""
        mdesc = proto.method_descriptor(service, method)
        in_cls = proto.message_class(mdesc.input_type)
        if request is None:
            request = in_cls()
        if request.DESCRIPTOR.full_name != mdesc.input_type.full_name:
            raise StatusError(Code.INVALID_ARGUMENT, "%s takes a %s, not a %s" % (
                method, mdesc.input_type.full_name, request.DESCRIPTOR.full_name))
        payload = self.call_raw(mdesc.containing_service.full_name, method,
                                request.SerializeToString(), deadline_ms, metadata,
                                call_id, retries)
        out = proto.message_class(mdesc.output_type)()
        try:
            out.ParseFromString(payload)
        except Exception as e:
            raise StatusError(Code.DATA_LOSS, "undecodable %s answer: %s" % (
                mdesc.output_type.full_name, e)) from None
        return out

    def call_raw(self, service, method, payload, deadline_ms=0, metadata=None, call_id=0,
                 retries=0):
        """Like call, on packed bytes: returns the packed output. retries
        re-sends (same call id) after UNAVAILABLE, within the deadline."""
        service = proto.full_service_name(service)
        if not deadline_ms:
            deadline_ms = proto.default_deadline_ms(service, method)
        call_id = call_id or new_call_id()
        deadline = time.monotonic() + deadline_ms / 1000.0
        attempt = 0
        while True:
            try:
                return self._call_once(service, method, payload, deadline, metadata, call_id)
            except StatusError as e:
                attempt += 1
                left = deadline - time.monotonic()
                if e.code != Code.UNAVAILABLE or attempt > retries or left <= 0.05:
                    raise
                time.sleep(min(0.05 * (2 ** attempt), left / 2))

    def _envelope(self, service, method, payload, deadline, metadata, call_id):
        remaining = max(1, int((deadline - time.monotonic()) * 1000))
        req = Request(service=service, method=method, call_id=call_id,
                      deadline_ms=remaining, payload=payload,
                      max_response_size=self.max_message_size)
        for k, v in (metadata or {}).items():
            req.metadata[k] = v
        if self.token:
            req.metadata[META_TOKEN] = self.token
        data = req.SerializeToString()
        if len(data) > self._send_limit:
            raise StatusError(Code.RESOURCE_EXHAUSTED,
                              "request of %d bytes exceeds the limit of %d bytes"
                              % (len(data), self._send_limit))
        return data, remaining

    def _call_once(self, service, method, payload, deadline, metadata, call_id):
        data, remaining = self._envelope(service, method, payload, deadline, metadata, call_id)
        ctx = nng.Context(self._sock)
        try:
            ctx.send(data, remaining)
            left = max(1, int((deadline - time.monotonic()) * 1000))
            answer = ctx.recv(left + ANSWER_SLACK_MS)
        except nng.NngError as e:
            if e.code == Code.DEADLINE_EXCEEDED:
                self._gave_up_at = time.monotonic()
            if e.code == Code.DEADLINE_EXCEEDED and self._sock.pipes == 0:
                raise StatusError(Code.UNAVAILABLE, "%s %s within %d ms" % (
                    "lost the connection to" if self._sock.ever_connected
                    else "could not connect to", self.url, remaining)) from None
            if e.code == Code.DEADLINE_EXCEEDED:
                raise StatusError(Code.DEADLINE_EXCEEDED, "%s/%s on %s: no answer within %d ms"
                                  % (service, method, self.url, remaining)) from None
            raise StatusError(e.code, "%s/%s on %s: %s" % (service, method, self.url,
                                                           e.message)) from None
        finally:
            ctx.close()
        return self._unwrap(answer, call_id)

    def _unwrap(self, answer, call_id):
        resp = Response()
        try:
            resp.ParseFromString(answer)
        except Exception as e:
            raise StatusError(Code.DATA_LOSS, "undecodable response: %s" % e) from None
        # 0: the server could not read the envelope, so it could not echo the id.
        if resp.call_id not in (call_id, 0):
            raise StatusError(Code.DATA_LOSS, "response for call %d, expected %d"
                              % (resp.call_id, call_id))
        if resp.status.code != Code.OK:
            raise StatusError(resp.status.code, resp.status.message, resp.status.details)
        return resp.payload

    # The Component control service, served by every component.

    def describe(self, deadline_ms=0):
        return self.call("Component", "Describe", Empty(), deadline_ms)

    def health(self, deadline_ms=0):
        return self.call("Component", "Health", Empty(), deadline_ms)

    def configure(self, config, deadline_ms=0):
        """Sends a ComponentConfig (or a dict, stored as its config map)."""
        if isinstance(config, dict):
            from .values import fill_value_map
            msg = proto.ComponentConfig()
            fill_value_map(msg.config, config)
            config = msg
        self.call("Component", "Configure", config, deadline_ms)

    def cancel(self, call_id, deadline_ms=0):
        """Asks the component to cancel running call call_id; True when it was running."""
        reply = self.call("Component", "Cancel", proto.CancelRequest(call_id=call_id),
                          deadline_ms)
        return reply.found

    def handshake(self, deadline_ms=0):
        """Describe with the handshake checks: the protocol version must be in
        [PROTOCOL_MIN, PROTOCOL_MAX], and the peer's max_message_size lowers
        the request limit. Returns the ComponentInfo."""
        info = self.describe(deadline_ms)
        if not proto.PROTOCOL_MIN <= info.protocol_version <= proto.PROTOCOL_MAX:
            raise StatusError(Code.FAILED_PRECONDITION,
                              "component %s speaks protocol version %d; this client "
                              "supports %d to %d" % (info.name, info.protocol_version,
                                                     proto.PROTOCOL_MIN, proto.PROTOCOL_MAX))
        self.set_peer_max_message(info.max_message_size)
        return info
