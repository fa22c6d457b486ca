"""ctypes bindings to the system NNG library (libnng.so.1, NNG 1.5.2): the
sockets, contexts, asynchronous I/O and TLS configuration the bus uses."""

import atexit
import ctypes
import os
import threading
import weakref
from urllib.parse import urlsplit

from .status import Code, StatusError

_LIBNAME = os.environ.get("TESTBUS_LIBNNG", "libnng.so.1")
_lib = ctypes.CDLL(_LIBNAME)

# Constants of NNG 1.5.2 (nng.h, tls.h).
DURATION_INFINITE = -1
FLAG_ALLOC = 1
FLAG_NONBLOCK = 2
TLS_MODE_CLIENT = 0
TLS_MODE_SERVER = 1
TLS_AUTH_NONE = 0
TLS_AUTH_REQUIRED = 2

PIPE_EV_ADD_POST = 1
PIPE_EV_REM_POST = 2

OPT_RECVMAXSZ = b"recv-size-max"
OPT_SENDBUF = b"send-buffer"
OPT_REQ_RESENDTIME = b"req:resend-time"
OPT_TLS_CONFIG = b"tls-config"
OPT_TCP_BOUND_PORT = b"tcp-bound-port"

ETIMEDOUT = 5
ECONNREFUSED = 6
ECLOSED = 7
EAGAIN = 8
ECANCELED = 20


class _Handle(ctypes.Structure):
    """nng_socket, nng_ctx, nng_dialer and nng_listener: a struct of one id."""

    _fields_ = [("id", ctypes.c_uint32)]


_c_int_p = ctypes.POINTER(ctypes.c_int)
_handle_p = ctypes.POINTER(_Handle)
_void_pp = ctypes.POINTER(ctypes.c_void_p)


def _proto(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_int, _vp, _cp, _sz = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t

_req0_open = _proto("nng_req0_open", _int, _handle_p)
_rep0_open = _proto("nng_rep0_open", _int, _handle_p)
_push0_open = _proto("nng_push0_open", _int, _handle_p)
_pull0_open = _proto("nng_pull0_open", _int, _handle_p)
_close = _proto("nng_close", _int, _Handle)
_socket_set_ms = _proto("nng_socket_set_ms", _int, _Handle, _cp, ctypes.c_int32)
_socket_set_int = _proto("nng_socket_set_int", _int, _Handle, _cp, _int)
_socket_set_size = _proto("nng_socket_set_size", _int, _Handle, _cp, _sz)
_send = _proto("nng_send", _int, _Handle, _cp, _sz, _int)
_recv = _proto("nng_recv", _int, _Handle, _void_pp, ctypes.POINTER(_sz), _int)
_free = _proto("nng_free", None, _vp, _sz)
_strerror = _proto("nng_strerror", _cp, _int)

_dialer_create = _proto("nng_dialer_create", _int, _handle_p, _Handle, _cp)
_dialer_set_ptr = _proto("nng_dialer_set_ptr", _int, _Handle, _cp, _vp)
_dialer_set_size = _proto("nng_dialer_set_size", _int, _Handle, _cp, _sz)
_dialer_start = _proto("nng_dialer_start", _int, _Handle, _int)
_listener_create = _proto("nng_listener_create", _int, _handle_p, _Handle, _cp)
_listener_set_ptr = _proto("nng_listener_set_ptr", _int, _Handle, _cp, _vp)
_listener_set_size = _proto("nng_listener_set_size", _int, _Handle, _cp, _sz)
_listener_start = _proto("nng_listener_start", _int, _Handle, _int)
_listener_get_int = _proto("nng_listener_get_int", _int, _Handle, _cp, _c_int_p)

_ctx_open = _proto("nng_ctx_open", _int, _handle_p, _Handle)
_ctx_close = _proto("nng_ctx_close", _int, _Handle)
_ctx_send = _proto("nng_ctx_send", None, _Handle, _vp)
_ctx_recv = _proto("nng_ctx_recv", None, _Handle, _vp)

_aio_alloc = _proto("nng_aio_alloc", _int, _void_pp, _vp, _vp)
_aio_free = _proto("nng_aio_free", None, _vp)
_aio_stop = _proto("nng_aio_stop", None, _vp)
_aio_cancel = _proto("nng_aio_cancel", None, _vp)
_aio_wait = _proto("nng_aio_wait", None, _vp)
_aio_result = _proto("nng_aio_result", _int, _vp)
_aio_set_msg = _proto("nng_aio_set_msg", None, _vp, _vp)
_aio_get_msg = _proto("nng_aio_get_msg", _vp, _vp)
_aio_set_timeout = _proto("nng_aio_set_timeout", None, _vp, ctypes.c_int32)

_msg_alloc = _proto("nng_msg_alloc", _int, _void_pp, _sz)
_msg_free = _proto("nng_msg_free", None, _vp)
_msg_body = _proto("nng_msg_body", _vp, _vp)
_msg_len = _proto("nng_msg_len", _sz, _vp)

_pipe_cb = ctypes.CFUNCTYPE(None, _Handle, _int, _vp)
_pipe_notify = _proto("nng_pipe_notify", _int, _Handle, _int, _pipe_cb)

_tls_alloc = _proto("nng_tls_config_alloc", _int, _void_pp, _int)
_tls_free = _proto("nng_tls_config_free", None, _vp)
_tls_server_name = _proto("nng_tls_config_server_name", _int, _vp, _cp)
_tls_ca_file = _proto("nng_tls_config_ca_file", _int, _vp, _cp)
_tls_own_cert = _proto("nng_tls_config_own_cert", _int, _vp, _cp, _cp, _cp)
_tls_auth_mode = _proto("nng_tls_config_auth_mode", _int, _vp, _int)

# The one translation of NNG errors into status codes (as in libtestbus).
_CODES = {
    ETIMEDOUT: Code.DEADLINE_EXCEEDED,
    ECANCELED: Code.CANCELLED,
    ECLOSED: Code.CANCELLED,
    2: Code.RESOURCE_EXHAUSTED,   # ENOMEM
    17: Code.RESOURCE_EXHAUSTED,  # EMSGSIZE
    3: Code.INVALID_ARGUMENT,     # EINVAL
    15: Code.INVALID_ARGUMENT,    # EADDRINVAL
    9: Code.INVALID_ARGUMENT,     # ENOTSUP
    30: Code.INVALID_ARGUMENT,    # EBADTYPE
    12: Code.NOT_FOUND,           # ENOENT
    16: Code.PERMISSION_DENIED,   # EPERM
    27: Code.UNAUTHENTICATED,     # EPEERAUTH
    26: Code.UNAUTHENTICATED,     # ECRYPTO
    10: Code.ALREADY_EXISTS,      # EADDRINUSE
    23: Code.ALREADY_EXISTS,      # EEXIST
    ECONNREFUSED: Code.UNAVAILABLE,
    19: Code.UNAVAILABLE,         # ECONNRESET
    31: Code.UNAVAILABLE,         # ECONNSHUT
    18: Code.UNAVAILABLE,         # ECONNABORTED
    14: Code.UNAVAILABLE,         # EUNREACHABLE
    EAGAIN: Code.UNAVAILABLE,
    11: Code.UNAVAILABLE,         # ESTATE
    13: Code.DATA_LOSS,           # EPROTO
}


class NngError(StatusError):
    """An NNG failure, carrying the NNG error number and its status code."""

    def __init__(self, rv, what):
        self.errno = rv
        text = _strerror(rv).decode("utf-8", "replace")
        super().__init__(_CODES.get(rv, Code.INTERNAL), "%s: %s" % (what, text))


def _check(rv, what):
    if rv != 0:
        raise NngError(rv, what)


class TlsConfig:
    """An NNG TLS configuration built from PEM files.

    ca_file verifies the peer (a server with one requires client
    certificates); cert_file and key_file are our own identity. server_name
    (client only) defaults to the host of the URL dialled."""

    def __init__(self, server_mode, ca_file=None, cert_file=None, key_file=None,
                 server_name=None):
        self._ptr = ctypes.c_void_p()
        mode = TLS_MODE_SERVER if server_mode else TLS_MODE_CLIENT
        _check(_tls_alloc(ctypes.byref(self._ptr), mode), "tls config")
        try:
            self._fill(server_mode, ca_file, cert_file, key_file, server_name)
        except BaseException:
            self.free()
            raise

    def _fill(self, server_mode, ca_file, cert_file, key_file, server_name):
        if ca_file:
            _check(_tls_ca_file(self._ptr, ca_file.encode()), "tls ca file " + ca_file)
            _check(_tls_auth_mode(self._ptr, TLS_AUTH_REQUIRED), "tls auth mode")
        else:
            _check(_tls_auth_mode(self._ptr, TLS_AUTH_NONE), "tls auth mode")
        if cert_file or key_file:
            if not (cert_file and key_file):
                raise StatusError(Code.INVALID_ARGUMENT,
                                  "tls: a certificate needs its key and a key its certificate")
            cert = _read_pem(cert_file)
            key = _read_pem(key_file)
            _check(_tls_own_cert(self._ptr, cert, key, None), "tls certificate " + cert_file)
        if server_name and not server_mode:
            _check(_tls_server_name(self._ptr, server_name.encode()), "tls server name")

    @property
    def pointer(self):
        return self._ptr

    def free(self):
        if self._ptr:
            _tls_free(self._ptr)
            self._ptr = ctypes.c_void_p()


def _read_pem(path):
    try:
        with open(path, "rb") as f:
            return f.read() + b"\0"
    except OSError as e:
        raise StatusError(Code.INVALID_ARGUMENT, "tls: %s: %s" % (path, e.strerror)) from None


def url_host(url):
    """The host part of a tcp:// or tls+tcp:// URL ("" when none)."""
    return urlsplit(url).hostname or ""


# Sockets still open; closed at exit, before the interpreter goes away under
# NNG's threads (which may call back into Python on connection events).
_open_sockets = weakref.WeakSet()


@atexit.register
def _close_all():
    for sock in list(_open_sockets):
        sock.close()


class Socket:
    """An NNG socket of one protocol ("req", "rep", "push" or "pull").

    The max message size is applied to the socket and to each dialer and
    listener; REQ sockets never re-send a request by themselves and count
    their connections (pipes); PUSH sockets queue a few hundred messages."""

    _OPENERS = {"req": _req0_open, "rep": _rep0_open, "push": _push0_open, "pull": _pull0_open}
    PUSH_QUEUE = 256

    def __init__(self, protocol, max_message_size):
        self._sock = _Handle()
        self._max = max_message_size
        self._lock = threading.Lock()
        self._closed = False
        self.pipes = 0               # connections up now
        self.ever_connected = False
        self._pipe_cb = None
        _check(self._OPENERS[protocol](ctypes.byref(self._sock)), "open %s socket" % protocol)
        try:
            _check(_socket_set_size(self._sock, OPT_RECVMAXSZ, max_message_size),
                   "set recv-size-max")
            if protocol == "req":
                _check(_socket_set_ms(self._sock, OPT_REQ_RESENDTIME, DURATION_INFINITE),
                       "turn off request re-sending")
                self._count_pipes()
            if protocol == "push":
                _check(_socket_set_int(self._sock, OPT_SENDBUF, self.PUSH_QUEUE),
                       "set send-buffer")
        except BaseException:
            _close(self._sock)
            raise
        _open_sockets.add(self)

    def _count_pipes(self):
        def on_pipe(pipe, event, arg):
            with self._lock:
                if event == PIPE_EV_ADD_POST:
                    self.pipes += 1
                    self.ever_connected = True
                elif event == PIPE_EV_REM_POST and self.pipes > 0:
                    self.pipes -= 1

        self._pipe_cb = _pipe_cb(on_pipe)
        for event in (PIPE_EV_ADD_POST, PIPE_EV_REM_POST):
            _check(_pipe_notify(self._sock, event, self._pipe_cb, None), "pipe notify")

    @property
    def handle(self):
        return self._sock

    def dial(self, url, tls=None, block=False):
        """Dials url. Without block, the connection is made in the
        background and re-made when lost."""
        d = _Handle()
        _check(_dialer_create(ctypes.byref(d), self._sock, url.encode()), "dial " + url)
        _check(_dialer_set_size(d, OPT_RECVMAXSZ, self._max), "dial " + url)
        if tls is not None:
            _check(_dialer_set_ptr(d, OPT_TLS_CONFIG, tls.pointer), "dial " + url)
        _check(_dialer_start(d, 0 if block else FLAG_NONBLOCK), "dial " + url)

    def listen(self, url, tls=None):
        """Listens on url; returns the port bound for tcp transports (else 0)."""
        lst = _Handle()
        _check(_listener_create(ctypes.byref(lst), self._sock, url.encode()), "listen " + url)
        _check(_listener_set_size(lst, OPT_RECVMAXSZ, self._max), "listen " + url)
        if tls is not None:
            _check(_listener_set_ptr(lst, OPT_TLS_CONFIG, tls.pointer), "listen " + url)
        _check(_listener_start(lst, 0), "listen " + url)
        port = ctypes.c_int(0)
        if _listener_get_int(lst, OPT_TCP_BOUND_PORT, ctypes.byref(port)) != 0:
            return 0
        return port.value

    def send_nonblock(self, data):
        """Sends data without waiting; returns False when it was dropped."""
        return _send(self._sock, data, len(data), FLAG_NONBLOCK) == 0

    def recv(self):
        """Receives one message (blocks; honours the socket's timeouts)."""
        ptr = ctypes.c_void_p()
        size = ctypes.c_size_t()
        _check(_recv(self._sock, ctypes.byref(ptr), ctypes.byref(size), FLAG_ALLOC), "recv")
        try:
            return ctypes.string_at(ptr, size.value)
        finally:
            _free(ptr, size.value)

    def set_recv_timeout(self, ms):
        _check(_socket_set_ms(self._sock, b"recv-timeout", ms), "set recv-timeout")

    def close(self):
        """Closes the socket: operations in flight end with ECLOSED. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _close(self._sock)


class Context:
    """A context of a REQ or REP socket with its own aio: one request/reply
    exchange at a time, with a timeout per operation."""

    def __init__(self, sock):
        self._ctx = _Handle()
        self._aio = ctypes.c_void_p()
        _check(_ctx_open(ctypes.byref(self._ctx), sock.handle), "open context")
        rv = _aio_alloc(ctypes.byref(self._aio), None, None)
        if rv != 0:
            _ctx_close(self._ctx)
            raise NngError(rv, "allocate aio")

    def send(self, data, timeout_ms=DURATION_INFINITE):
        """Sends data; blocks until queued or timeout_ms passed."""
        msg = ctypes.c_void_p()
        _check(_msg_alloc(ctypes.byref(msg), len(data)), "allocate message")
        if data:
            ctypes.memmove(_msg_body(msg), data, len(data))
        _aio_set_msg(self._aio, msg)
        _aio_set_timeout(self._aio, timeout_ms)
        _ctx_send(self._ctx, self._aio)
        _aio_wait(self._aio)
        rv = _aio_result(self._aio)
        if rv != 0:
            _msg_free(msg)  # a failed send leaves the message with us
            raise NngError(rv, "send")

    def recv(self, timeout_ms=DURATION_INFINITE):
        """Receives one message body; blocks until it comes or timeout_ms passed."""
        _aio_set_timeout(self._aio, timeout_ms)
        _ctx_recv(self._ctx, self._aio)
        _aio_wait(self._aio)
        _check(_aio_result(self._aio), "receive")
        msg = _aio_get_msg(self._aio)
        try:
            return ctypes.string_at(_msg_body(msg), _msg_len(msg))
        finally:
            _msg_free(msg)

    def cancel(self):
        """Cancels the operation in flight (it ends with ECANCELED)."""
        if self._aio:
            _aio_cancel(self._aio)

    def close(self):
        """Stops the operation in flight and frees the context. Idempotent."""
        if self._aio:
            _aio_stop(self._aio)
            _aio_free(self._aio)
            self._aio = ctypes.c_void_p()
            _ctx_close(self._ctx)
