"""senderwatch's own errors: callers catch these by name, and the command maps each to an exit status."""

from __future__ import annotations


class SenderwatchError(Exception):
    """Base of every error senderwatch raises on purpose; the message is one line for a person."""


class InvalidInput(SenderwatchError, ValueError):
    """Something a person typed or wrote (an address, a sender, a CSV row) is not usable."""


class InvalidTarget(InvalidInput):
    """A watched item that cannot be checked as written (a bad key, sender, zones): it gets a check_error."""


class InvalidMessage(InvalidInput):
    """A queue message that is not one of ours (not JSON, no targets): it fails alone."""


class ResolverUnusable(SenderwatchError):
    """The DNS resolver itself does not work: no verdict from it can be trusted this run.

    kind, for people in a hurry (an SMS): no-answer, refuses, nothing-exists, hides-lists, unreachable.
    """

    def __init__(self, message: str, kind: str = "unreachable"):
        super().__init__(message)
        self.kind = kind


class ServiceError(SenderwatchError):
    """AWS (or the machine) failed us: credentials, a missing table, a throttled call, a full disk."""
