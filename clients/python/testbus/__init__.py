"""testbus: call testbus components and write them in Python.

The client (Client) and the component server (Server, Component, main)
speak the testbus wire protocol over the system NNG library; the message
classes of the testbus.v1 contract are in testbus.proto."""

from ._version import __version__
from .client import META_RUN_ID, META_TOKEN, META_TRACE_ID, Client, new_call_id
from .component import Component, main
from .server import Call, Server
from .status import Code, StatusError, code_name

__all__ = [
    "__version__", "Call", "Client", "Code", "Component", "META_RUN_ID", "META_TOKEN",
    "META_TRACE_ID", "Server", "StatusError", "code_name", "main", "new_call_id",
]
