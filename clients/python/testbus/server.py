"""The server side of the bus: a component serving one or more services over a
REP socket, with Describe, Health, Configure and Cancel served for it, call
deadlines, capacity, call-id de-duplication and progress events."""

import collections
import hmac
import os
import sys
import threading
import time
import traceback

from . import nng, proto
from .client import META_RUN_ID, META_TOKEN
from .proto import ComponentHealth, ComponentInfo, Event, Request, Response
from .status import Code, StatusError

# Finished answers kept for duplicates of a call (a bus-level retry).
_ANSWER_CACHE_SIZE = 256


class Call:
    """One call being served, handed to its handler."""

    def __init__(self, server, req, deadline):
        self.call_id = req.call_id
        self.service = req.service
        self.method = req.method
        self.metadata = dict(req.metadata)
        self._server = server
        self._deadline = deadline
        self._cond = threading.Condition()
        self._stop_code = Code.OK
        self._abandoned = False  # the server stopped waiting for the handler
        self._result = None   # (code, message, details, payload) once the handler returned
        self._answer = None   # packed Response once answered
        # Calls without an id (not allowed by the protocol, but possible) are
        # still tracked for Cancel-free shutdown, under a key no id can take.
        self.key = req.call_id or ("anonymous", id(self))

    @property
    def run_id(self):
        return self.metadata.get(META_RUN_ID, "")

    @property
    def stopped(self):
        """True once the call was cancelled, its deadline passed or the server stops."""
        return self._stop_code != Code.OK

    @property
    def stop_code(self):
        """Why the call stopped: Code.OK (not stopped), CANCELLED or DEADLINE_EXCEEDED."""
        return self._stop_code

    def remaining_ms(self):
        """Milliseconds left before the call's deadline (0 when passed)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def wait(self, seconds):
        """Sleeps up to seconds, waking early when the call stops; returns stop_code."""
        with self._cond:
            self._cond.wait_for(lambda: self._stop_code != Code.OK, timeout=seconds)
            return self._stop_code

    def event(self, kind, test_name="", message="", percent=0.0, labels=None):
        """Pushes a progress event for this call (never blocks; dropped when
        no events address was given or the queue is full)."""
        self._server.push_event(self, kind, test_name, message, percent, labels)

    def _stop(self, code):
        with self._cond:
            if self._stop_code == Code.OK:
                self._stop_code = code
                self._cond.notify_all()

    def _abandon(self):
        with self._cond:
            self._abandoned = True
            self._cond.notify_all()

    def _finish(self, result):
        with self._cond:
            self._result = result
            self._cond.notify_all()

    def _set_answer(self, data):
        with self._cond:
            self._answer = data
            self._cond.notify_all()

    def _await_answer(self):
        with self._cond:
            self._cond.wait_for(lambda: self._answer is not None)
            return self._answer


def _response(call_id, code, message="", details=(), payload=b""):
    resp = Response(call_id=call_id)
    resp.status.code = int(code)
    resp.status.message = message
    resp.status.details.extend(details)
    if code == Code.OK:
        resp.payload = payload
    return resp


class Server:
    """A component server. Strings are copied; handlers are callables
    handler(call, request) -> output message (None gives an empty output),
    raising StatusError to answer another status. Handlers run on their own
    threads and should return soon after call.stopped turns true."""

    def __init__(self, name, kind, version="", capacity=1, control_slots=4,
                 max_message_size=proto.DEFAULT_MAX_MESSAGE, token=None, tls_ca=None,
                 tls_cert=None, tls_key=None, events_url=None, labels=None, configure=None,
                 health=None):
        self.name = name
        self.kind = kind
        self.version = version
        self.capacity = max(1, capacity)
        self.max_message_size = max_message_size
        self._control_slots = control_slots or 4
        self._token = token.encode() if token else None
        self._tls_args = (tls_ca, tls_cert, tls_key)
        self._labels = dict(labels or {})
        self._configure = configure
        self._health = health
        self._services = {}   # full name -> (ServiceDescriptor, {method: handler})
        self._lock = threading.Lock()
        self._running = 0
        self._calls = {}      # Call.key -> Call, admitted and not yet answered
        self._answers = collections.OrderedDict()
        self._stopping = False
        self._threads = []
        self._tls = None
        self._events = None
        self._url = None
        self._sock = nng.Socket("rep", max_message_size)
        try:
            if events_url:
                self._events = nng.Socket("push", max_message_size)
                self._events.dial(events_url)
        except BaseException:
            self._sock.close()
            if self._events is not None:
                self._events.close()
            raise

    @property
    def url(self):
        """The address bound by the first listener (tcp port 0 resolved)."""
        return self._url

    @property
    def running(self):
        """The number of service calls running now."""
        return self._running

    def add_service(self, service, handlers):
        """Serves service (short or full name) with handlers, a dict of method
        name to callable; other methods answer UNIMPLEMENTED."""
        svc = proto.service_descriptor(service)
        for method in handlers:
            if method not in svc.methods_by_name:
                raise ValueError("%s has no method %s" % (svc.full_name, method))
        self._services[svc.full_name] = (svc, dict(handlers))

    def listen(self, url):
        """Listens on url (ipc://, tcp://, tls+tcp://); returns the bound URL."""
        tls = None
        if url.startswith("tls+"):
            if self._tls is None:
                self._tls = nng.TlsConfig(True, *self._tls_args)
            tls = self._tls
        port = self._sock.listen(url, tls)
        bound = url
        if port and url.rsplit(":", 1)[-1] == "0":
            bound = url.rsplit(":", 1)[0] + ":%d" % port
        if self._url is None:
            self._url = bound
        return bound

    def start(self):
        """Starts the receiver threads (capacity plus control slots). Does not block."""
        for i in range(self.capacity + self._control_slots):
            t = threading.Thread(target=self._receive_loop, name="testbus-recv-%d" % i,
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, grace_ms=5000):
        """Tells running handlers to stop, waits up to grace_ms for their
        answers, then closes the socket and joins the receivers. Idempotent."""
        with self._lock:
            self._stopping = True
            calls = list(self._calls.values())
        for c in calls:
            c._stop(Code.CANCELLED)
        end = time.monotonic() + grace_ms / 1000.0
        while time.monotonic() < end:
            with self._lock:
                if not self._calls:
                    break
            time.sleep(0.02)
        with self._lock:
            calls = list(self._calls.values())
        for c in calls:
            c._abandon()
        self._sock.close()
        for t in self._threads:
            t.join()
        self._threads = []
        if self._events is not None:
            self._events.close()
        if self._tls is not None:
            self._tls.free()
            self._tls = None

    def configure(self, config):
        """Applies a ComponentConfig as a Configure call would."""
        if self._configure is not None:
            self._configure(config)

    def push_event(self, call, kind, test_name="", message="", percent=0.0, labels=None):
        if self._events is None:
            return
        ev = Event(call_id=call.call_id, run_id=call.run_id, component=self.name, kind=kind,
                   time=int(time.time() * 1000), test_name=test_name or "",
                   message=message or "", percent=percent)
        for k, v in (labels or {}).items():
            ev.labels[k] = v
        data = ev.SerializeToString()
        if len(data) <= self.max_message_size:
            self._events.send_nonblock(data)

    def _receive_loop(self):
        ctx = nng.Context(self._sock)
        try:
            while True:
                try:
                    data = ctx.recv()
                except nng.NngError as e:
                    if e.errno in (nng.ECLOSED, nng.ECANCELED):
                        return
                    continue
                answer = self._serve(data)
                try:
                    ctx.send(answer)
                except nng.NngError as e:
                    if e.errno == nng.ECLOSED:
                        return
        finally:
            ctx.close()

    def _serve(self, data):
        req = Request()
        try:
            req.ParseFromString(data)
        except Exception as e:
            return _response(0, Code.INVALID_ARGUMENT,
                             "undecodable request envelope: %s" % e).SerializeToString()
        try:
            return self._dispatch(req)
        except StatusError as e:
            resp = _response(req.call_id, e.code, e.message, e.details)
            return resp.SerializeToString()

    def _dispatch(self, req):
        if self._token is not None:
            given = req.metadata.get(META_TOKEN, "").encode()
            if not hmac.compare_digest(given, self._token):
                raise StatusError(Code.UNAUTHENTICATED, "missing or wrong identity token")
        if self._stopping:
            raise StatusError(Code.UNAVAILABLE, "the component is shutting down")
        if req.service == proto.COMPONENT_SERVICE:
            return self._pack(req, self._control(req))
        entry = self._services.get(req.service)
        if entry is None:
            raise StatusError(Code.UNIMPLEMENTED, "%s does not serve %s" % (self.name,
                                                                            req.service))
        svc, handlers = entry
        mdesc = svc.methods_by_name.get(req.method)
        if mdesc is None or req.method not in handlers:
            raise StatusError(Code.UNIMPLEMENTED, "%s does not implement %s/%s" % (
                self.name, req.service, req.method))
        return self._service_call(req, mdesc, handlers[req.method])

    def _decode(self, req, descriptor):
        msg = proto.message_class(descriptor)()
        try:
            msg.ParseFromString(req.payload)
        except Exception as e:
            raise StatusError(Code.INVALID_ARGUMENT, "undecodable %s payload: %s"
                              % (descriptor.full_name, e)) from None
        return msg

    def _limit(self, req):
        limit = self.max_message_size
        if req.max_response_size:
            limit = min(limit, req.max_response_size)
        return limit

    def _pack(self, req, output):
        """The packed OK answer of output, or RESOURCE_EXHAUSTED when too big."""
        data = _response(req.call_id, Code.OK, payload=output.SerializeToString())
        data = data.SerializeToString()
        if len(data) > self._limit(req):
            raise StatusError(Code.RESOURCE_EXHAUSTED,
                              "response of %d bytes exceeds the limit of %d bytes"
                              % (len(data), self._limit(req)))
        return data

    # --- the Component control service ---

    def _control(self, req):
        mdesc = proto.service_descriptor(proto.COMPONENT_SERVICE).methods_by_name.get(req.method)
        if mdesc is None:
            raise StatusError(Code.UNIMPLEMENTED, "testbus.v1.Component has no method %s"
                              % req.method)
        request = self._decode(req, mdesc.input_type)
        if req.method == "Describe":
            return self._describe()
        if req.method == "Health":
            return self._health_status()
        if req.method == "Configure":
            self.configure(request)
            return proto.Empty()
        return proto.CancelReply(found=self._cancel(request.call_id))

    def _describe(self):
        info = ComponentInfo(name=self.name, kind=self.kind, version=self.version,
                             capacity=self.capacity,
                             protocol_version=proto.PROTOCOL_VERSION,
                             max_message_size=self.max_message_size, pid=os.getpid())
        info.services.append(proto.COMPONENT_SERVICE)
        info.services.extend(self._services)
        for k, v in self._labels.items():
            info.labels[k] = v
        return info

    def _health_status(self):
        serving, message = True, "serving"
        if self._health is not None:
            serving, message = self._health()
        return ComponentHealth(serving=serving, message=message, running=self._running,
                               capacity=self.capacity)

    def _cancel(self, call_id):
        with self._lock:
            call = self._calls.get(call_id)
        if call is None or call._result is not None:
            return False
        call._stop(Code.CANCELLED)
        return True

    # --- service calls ---

    def _admit(self, req):
        """Registers a new call, or returns the answer of an earlier copy."""
        with self._lock:
            if req.call_id and req.call_id in self._answers:
                return None, self._answers[req.call_id]
            twin = self._calls.get(req.call_id) if req.call_id else None
            if twin is None:
                if self._running >= self.capacity:
                    raise StatusError(Code.RESOURCE_EXHAUSTED,
                                      "busy: all %d slots in use" % self.capacity)
                self._running += 1
        if twin is not None:
            return None, twin._await_answer()
        deadline_ms = req.deadline_ms or proto.default_deadline_ms(req.service, req.method)
        call = Call(self, req, time.monotonic() + deadline_ms / 1000.0)
        with self._lock:
            self._calls[call.key] = call
        return call, None

    def _service_call(self, req, mdesc, handler):
        call, cached = self._admit(req)
        if call is None:
            return cached
        try:
            request = self._decode(req, mdesc.input_type)
        except StatusError as e:
            self._release()
            return self._record(call, _response(req.call_id, e.code, e.message)
                                .SerializeToString())
        out_cls = proto.message_class(mdesc.output_type)
        t = threading.Thread(target=self._run_handler, args=(call, handler, request, out_cls),
                             name="testbus-call-%d" % call.call_id, daemon=True)
        t.start()
        code, message, details, payload = self._await_result(call)
        resp = _response(req.call_id, code, message, details, payload).SerializeToString()
        if len(resp) > self._limit(req):
            resp = _response(req.call_id, Code.RESOURCE_EXHAUSTED,
                             "response of %d bytes exceeds the limit of %d bytes"
                             % (len(resp), self._limit(req))).SerializeToString()
        return self._record(call, resp)

    def _await_result(self, call):
        """The (code, message, details, payload) to answer: the handler's
        result, or DEADLINE_EXCEEDED at the deadline. A cancelled handler's
        own answer (e.g. a partial result) is waited for within the deadline,
        unless the server gives up on it while stopping."""
        with call._cond:
            left = call._deadline - time.monotonic()
            call._cond.wait_for(lambda: call._result is not None or call.stopped,
                                timeout=max(0.0, left))
            if call._result is None and call._stop_code == Code.CANCELLED:
                left = call._deadline - time.monotonic()
                call._cond.wait_for(lambda: call._result is not None or call._abandoned,
                                    timeout=max(0.0, left))
            if call._result is not None and call._stop_code != Code.DEADLINE_EXCEEDED:
                return call._result
            if call._abandoned:
                return (Code.CANCELLED, "the component is shutting down", (), b"")
            call._stop_code = Code.DEADLINE_EXCEEDED
            call._cond.notify_all()
            return (Code.DEADLINE_EXCEEDED, "the call ran past its deadline", (), b"")

    def _run_handler(self, call, handler, request, out_cls):
        try:
            out = handler(call, request)
            if out is None:
                out = out_cls()
            if not isinstance(out, out_cls):
                raise TypeError("handler returned a %s, not a %s"
                                % (type(out).__name__, out_cls.DESCRIPTOR.full_name))
            result = (Code.OK, "", (), out.SerializeToString())
        except StatusError as e:
            code = e.code if e.code != Code.OK else Code.UNKNOWN
            result = (code, e.message, tuple(e.details), b"")
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            result = (Code.INTERNAL, "%s: %s" % (type(e).__name__, e), (), b"")
        self._release()
        call._finish(result)

    def _release(self):
        with self._lock:
            self._running -= 1

    def _record(self, call, answer):
        """Keeps the answer for duplicates of the call and hands it to waiting twins."""
        with self._lock:
            self._calls.pop(call.key, None)
            if call.call_id:
                self._answers[call.call_id] = answer
                while len(self._answers) > _ANSWER_CACHE_SIZE:
                    self._answers.popitem(last=False)
        call._set_answer(answer)
        return answer
