"""Status codes (gRPC numbering, as testbus.v1.StatusCode) and the exception
that carries a non-OK status."""

import enum


class Code(enum.IntEnum):
    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


def code_name(code):
    """The upper-case name of a code, as testbus prints it ("UNKNOWN" when out of range)."""
    try:
        return Code(code).name
    except ValueError:
        return "UNKNOWN"


class StatusError(Exception):
    """A call that ended with a non-OK status.

    Raised by the client for every non-OK answer or local failure; raised by a
    handler to answer with that status."""

    def __init__(self, code, message="", details=()):
        try:
            self.code = Code(code)
        except ValueError:
            self.code = Code.UNKNOWN
        self.message = message
        self.details = list(details)
        super().__init__("%s: %s" % (self.code.name, message))
