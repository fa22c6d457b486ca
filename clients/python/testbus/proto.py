"""The generated testbus.v1 modules, and lookups of services, methods and
message classes by name."""

from .status import Code, StatusError
from .v1 import envelope_pb2, services_pb2, types_pb2, value_pb2

PACKAGE = "testbus.v1"
COMPONENT_SERVICE = PACKAGE + ".Component"

# The wire protocol version this SDK speaks, and the range it accepts.
PROTOCOL_VERSION = 1
PROTOCOL_MIN = 1
PROTOCOL_MAX = 1

# Default largest message on every socket, in bytes (4 MiB).
DEFAULT_MAX_MESSAGE = 4 * 1024 * 1024

_MODULES = (value_pb2, envelope_pb2, types_pb2, services_pb2)

# Every top-level message class of the contract, by full name.
_CLASSES = {}
for _mod in _MODULES:
    for _name in _mod.DESCRIPTOR.message_types_by_name:
        _cls = getattr(_mod, _name)
        _CLASSES[_cls.DESCRIPTOR.full_name] = _cls
        globals()[_name] = _cls
    for _name, _enum in _mod.DESCRIPTOR.enum_types_by_name.items():
        globals()[_name] = getattr(_mod, _name)
        for _value in _enum.values:
            globals()[_value.name] = _value.number

# Default deadlines by method, in ms, for calls made with deadline 0: never
# infinite. The same table as libtestbus's tb_default_deadline_ms.
_SECOND = 1000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DEADLINES = {
    "Provisioner/Provision": 2 * _HOUR,
    "Provisioner/Destroy": 1 * _HOUR,
    "Provisioner/GetKubeconfig": 2 * _MINUTE,
    "Provisioner/Health": 2 * _MINUTE,
    "Executor/Execute": 1 * _HOUR,
    "Analyzer/ShouldAnalyze": 30 * _SECOND,
    "Analyzer/Analyze": 10 * _MINUTE,
    "Reporter/Initialize": 1 * _MINUTE,
    "Reporter/Report": 10 * _MINUTE,
    "Reporter/Finalize": 10 * _MINUTE,
    "Component": 10 * _SECOND,
    "Broker/PollWork": 2 * _MINUTE,
    "Broker": 30 * _SECOND,
}
_FALLBACK_DEADLINE = 1 * _MINUTE


def full_service_name(name):
    """"Executor" gives "testbus.v1.Executor"; a dotted name is kept as is."""
    return name if "." in name else PACKAGE + "." + name


def service_descriptor(name):
    """The ServiceDescriptor of a service of the contract, short or full name.

    Raises StatusError(UNIMPLEMENTED) when there is none."""
    full = full_service_name(name)
    pkg, _, short = full.rpartition(".")
    svc = services_pb2.DESCRIPTOR.services_by_name.get(short) if pkg == PACKAGE else None
    if svc is None:
        known = ", ".join(sorted(services_pb2.DESCRIPTOR.services_by_name))
        raise StatusError(Code.UNIMPLEMENTED, "unknown service %s (known: %s)" % (name, known))
    return svc


def method_descriptor(service, method):
    """The MethodDescriptor of service/method; StatusError(UNIMPLEMENTED) when unknown."""
    svc = service_descriptor(service)
    m = svc.methods_by_name.get(method)
    if m is None:
        known = ", ".join(svc.methods_by_name)
        raise StatusError(Code.UNIMPLEMENTED,
                          "%s has no method %s (methods: %s)" % (svc.full_name, method, known))
    return m


def message_class(descriptor):
    """The Python class of a message descriptor of the contract."""
    return _CLASSES[descriptor.full_name]


def default_deadline_ms(service, method):
    """The default deadline of a method, in ms: never infinite."""
    full = full_service_name(service)
    if not full.startswith(PACKAGE + "."):
        return _FALLBACK_DEADLINE
    short = full[len(PACKAGE) + 1:]
    return _DEADLINES.get(short + "/" + method, _DEADLINES.get(short, _FALLBACK_DEADLINE))
