"""Running a component process written in Python: the Component base class
and main(), which takes the same command line as the C SDK's
tb_component_main and serves until SIGTERM, SIGINT or the parent's death."""

import argparse
import os
import signal
import sys
import threading

from . import proto
from ._version import __version__
from .server import Server
from .status import Code, StatusError
from .values import load_config_file, value_map_to_dict

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

# How long running calls get to answer once a stop was asked for.
STOP_GRACE_MS = 5000


class Component:
    """Base class of a component. A subclass sets name, kind (a
    ComponentKind value) and service ("Reporter", ...), and defines one
    method per rpc it implements, named as in the .proto:

        def Report(self, call, request): return ReportOutput(...)

    Methods it does not define answer UNIMPLEMENTED. Each runs on its own
    thread; raise StatusError to answer a non-OK status."""

    name = None
    kind = proto.KIND_UNSPECIFIED
    service = None
    version = __version__
    summary = ""
    default_capacity = 1
    config_help = ""

    def configure(self, settings, config):
        """Called with the component's config (from --config or a Configure
        call) before the calls it applies to: settings is its config map as
        plain Python data, config the ComponentConfig message (run_id,
        artifacts_dir). Raise StatusError to refuse it."""

    def health(self):
        """(serving, message) for Health: (True, "serving") unless overridden."""
        return True, "serving"

    def handlers(self):
        """The methods of the service this object defines, by rpc name."""
        svc = proto.service_descriptor(self.service)
        out = {}
        for m in svc.methods:
            fn = getattr(self, m.name, None)
            if callable(fn):
                out[m.name] = fn
        return out


def _labels(text):
    out = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError("labels are k=v,k=v, not %r" % item)
        out[key.strip()] = value.strip()
    return out


def _positive(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1 or n > 0xFFFFFFFF:
        raise argparse.ArgumentTypeError("needs a positive number, not %r" % text)
    return n


def _parser(comp):
    epilog = comp.config_help or None
    p = argparse.ArgumentParser(prog=comp.name, description=comp.summary or None,
                                epilog=epilog,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", metavar="URL", required=True,
                   help="address to serve on: ipc://PATH, tls+tcp://HOST:PORT "
                        "(or tcp://HOST:PORT with --insecure)")
    p.add_argument("--events", metavar="URL", help="where to push progress events")
    p.add_argument("--capacity", metavar="N", type=_positive, default=comp.default_capacity,
                   help="calls of the service run at once (default %(default)s)")
    p.add_argument("--config", metavar="FILE", help="the component's own config (YAML)")
    p.add_argument("--token", metavar="TOKEN", default=os.environ.get("TESTBUS_TOKEN"),
                   help="identity token every request must carry (default: $TESTBUS_TOKEN)")
    p.add_argument("--tls-ca", metavar="FILE", help="CA certificates; requires client certs")
    p.add_argument("--tls-cert", metavar="FILE", help="our certificate (PEM)")
    p.add_argument("--tls-key", metavar="FILE", help="its private key (PEM)")
    p.add_argument("--max-message-size", metavar="BYTES", type=_positive,
                   default=proto.DEFAULT_MAX_MESSAGE,
                   help="largest message in bytes (default 4 MiB)")
    p.add_argument("--insecure", action="store_true", help="allow plain tcp://")
    p.add_argument("--labels", metavar="K=V,...", type=_labels, default={},
                   help="labels reported by Describe")
    p.add_argument("--version", action="version",
                   version="%s %s (testbus protocol %d)"
                   % (comp.name, comp.version, proto.PROTOCOL_VERSION))
    return p


def _check_url(p, args):
    url = args.listen
    if url.startswith("tcp://") and not args.insecure:
        p.error("refusing to serve %s in clear text: use tls+tcp:// or pass --insecure" % url)
    if url.startswith("tls+") and not (args.tls_cert and args.tls_key):
        p.error("%s needs --tls-cert and --tls-key" % url)


def _make_server(comp, args):
    def configure(config):
        try:
            comp.configure(value_map_to_dict(config.config), config)
        except StatusError:
            raise
        except Exception as e:
            raise StatusError(Code.INVALID_ARGUMENT, "config: %s" % e) from None

    srv = Server(comp.name, comp.kind, comp.version, capacity=args.capacity,
                 max_message_size=args.max_message_size,
                 token=args.token, tls_ca=args.tls_ca, tls_cert=args.tls_cert,
                 tls_key=args.tls_key, events_url=args.events, labels=args.labels,
                 configure=configure, health=comp.health)
    srv.add_service(comp.service, comp.handlers())
    return srv


def _parent_gone(parent):
    return parent is not None and os.getppid() != parent


def _serve(comp, args):
    parent = os.environ.get("TESTBUS_PARENT_PID")
    parent = int(parent) if parent and parent.isdigit() else None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    srv = _make_server(comp, args)
    try:
        if args.config:
            srv.configure(load_config_file(args.config))
        srv.listen(args.listen)
        srv.start()
        print("%s: serving %s on %s (capacity %d)"
              % (comp.name, proto.full_service_name(comp.service), srv.url, srv.capacity),
              file=sys.stderr, flush=True)
        while not stop.wait(0.2):
            if _parent_gone(parent):
                print("%s: parent %d is gone, stopping" % (comp.name, parent),
                      file=sys.stderr, flush=True)
                break
    finally:
        # A handler or a shutdown step that hangs must not keep the process alive.
        signal.alarm(STOP_GRACE_MS // 1000 + 5)
        srv.stop(STOP_GRACE_MS)


def main(comp, argv=None):
    """The main() of a component process: parses the standard options,
    serves comp until SIGTERM or SIGINT (or the death of the process named by
    TESTBUS_PARENT_PID), then stops cleanly. Returns the exit status. Meant to
    be the last thing the process does: once a stop is asked for, an alarm
    ends the process if stopping takes more than a few seconds too long."""
    p = _parser(comp)
    try:
        args = p.parse_args(argv)
        _check_url(p, args)
    except SystemExit as e:
        return EXIT_OK if e.code in (0, None) else EXIT_USAGE
    try:
        _serve(comp, args)
    except StatusError as e:
        print("%s: %s: %s" % (comp.name, e.code.name, e.message), file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK
