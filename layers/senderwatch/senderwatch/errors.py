"""senderwatch's own errors: callers catch these by name, and the command maps each to an exit status.

Every error senderwatch raises on purpose descends from SenderwatchError, so a caller catches
"ours" in one clause; what is not one is a bug (or Python's own: KeyboardInterrupt, MemoryError).
"""

from __future__ import annotations


class SenderwatchError(Exception):
    """Base of every error senderwatch raises on purpose; the message is one line for a person."""


class InvalidInput(SenderwatchError, ValueError):
    """Something a person typed or wrote (an address, a sender, a CSV row) is not usable."""


class InvalidLines(InvalidInput):
    """Several lines of a file a person wrote are not usable: each is said on a line of its own
    (LINES, the last of them what it comes to); the message is that last line."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(lines[-1])
        self.lines = lines


class InvalidTarget(InvalidInput):
    """A watched item that cannot be checked as written (a bad key, sender, zones): it gets a check_error."""


class InvalidMessage(InvalidInput):
    """A queue message or an event that is not one of ours (not JSON, no targets, not a stream
    event): it fails alone."""


class ConfigError(SenderwatchError, ValueError):
    """A function's environment is missing a setting or holds a malformed one: said at cold start."""


class WireError(SenderwatchError, ValueError):
    """A name that cannot be put on the wire, or a response that cannot be read."""


class DnsFailure(SenderwatchError):
    """A lookup a record check depends on failed (kind: timeout, servfail, refused, bad-answer):
    the check is incomplete, never a verdict."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class ResolverUnusable(SenderwatchError):
    """The DNS resolver itself does not work: no verdict from it can be trusted this run.

    kind, for people in a hurry (an SMS): no-answer, refuses, nothing-exists, hides-lists, unreachable.
    """

    def __init__(self, message: str, kind: str = "unreachable"):
        super().__init__(message)
        self.kind = kind


class ServiceError(SenderwatchError):
    """AWS (or the machine) failed us: credentials, a missing table, a throttled call, a full disk."""


class NoStack(ServiceError):
    """The stack a command was given does not exist here, or is not a senderwatch stack."""


class NoSubscriber(SenderwatchError):
    """Nobody has a confirmed subscription to the alert topic: a test alert would reach no one."""


class OutputClosed(SenderwatchError):
    """The command's output went away (`| head`: status 141) or cannot be written (a full disk: 4)."""

    def __init__(self, status: int, message: str = ""):
        super().__init__(message)
        self.status = status


class Interrupted(SenderwatchError):
    """Ctrl-C in the middle of work that can be finished later: the message says how."""
