"""The words of a verdict, as enums: what one list says of an address, what the lists say
together, and what SPF says. They are strings too, so JSON and DynamoDB carry them as such."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """One list, one address."""

    LISTED = "listed"
    CLEAN = "clean"
    ERROR = "error"  # no verdict: a timeout, SERVFAIL, REFUSED, "blocked", a bad answer
    UNHEALTHY = "unhealthy"  # the list failed its own test entries this run


class Rating(StrEnum):
    """Every list together, one address."""

    LISTED = "listed"  # at least one list lists it
    CLEAN = "clean"  # every list asked answered, none lists it
    INCOMPLETE = "incomplete"  # none of those that answered lists it, but some could not answer
    UNCHECKED = "unchecked"  # no list could say anything (none rates its family, or none answered)


class Spf(StrEnum):
    """An RFC 7208 result."""

    PASS = "pass"  # noqa: S105 - an SPF result, not a password
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"
