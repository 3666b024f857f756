"""Mail identities people type: a sender (MAIL FROM), a HELO name, a mail host's name."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .addresses import shown
from .errors import InvalidInput

SENDER, HELO, PTR = "sender", "helo", "ptr"  # why a domain is watched
_LOCAL = re.compile(r"[^\s@\x00-\x1f\x7f-\x9f]{1,64}")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$")


def normalize_sender(text: str) -> str:
    """'user@domain' stays; a bare domain means postmaster@domain. InvalidInput when invalid."""
    raw = str(text).strip()
    local, at, domain = raw.rpartition("@")
    if not at:
        local, domain = "postmaster", raw
    domain = _ascii_name(domain)  # an internationalised domain as DNS has it (xn--)
    if not _LOCAL.fullmatch(local) or not _DOMAIN.match(domain):
        raise InvalidInput(f"invalid sender {shown(text)}: expected user@example.com or example.com")
    return f"{local}@{domain}"


def validate_helo(text: str) -> str:
    name = _ascii_name(text)
    if not _DOMAIN.match(name):
        raise InvalidInput(f"invalid HELO name {shown(text)}: expected a host name such as mail.example.com")
    return name


def is_host_name(name: str) -> bool:
    """A name as DNS spells a host (lower case, no final dot, letters, digits, '-', '_')."""
    return bool(_DOMAIN.match(name)) and not name.endswith(".")


def parse_host(text: str) -> str:
    """A mail host's name as DNS spells it (lower case, no final dot, an IDN as xn--), or InvalidInput."""
    name = _ascii_name(text)
    if not _DOMAIN.match(name):
        raise InvalidInput(
            f"{shown(text)} is not an IPv4 or IPv6 address, a network (192.0.2.0/24) or a host name (mail.example.com)"
        )
    return name


def _ascii_name(text: str) -> str:
    """NAME with an internationalised label written as DNS has it (bücher.de is xn--bcher-kva.de)."""
    name = str(text).strip().rstrip(".").lower()
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name  # not a name DNS can hold: the caller's check refuses it


def watched_domains(
    senders: Iterable[str], helo: str | None, ptr_names: Iterable[str] = ()
) -> dict[str, tuple[str, ...]]:
    """The domains a target's checks look at, each with why: its senders' domains, its HELO name,
    and the PTR names of its addresses (a name that is not a host name is not asked of a list)."""
    roles: dict[str, list[str]] = {}
    for sender in senders:
        if SENDER not in roles.get(domain := sender.rpartition("@")[2].lower(), []):
            roles.setdefault(domain, []).append(SENDER)
    if helo:
        roles.setdefault(helo.lower(), []).append(HELO)
    for name in ptr_names:
        name = name.rstrip(".").lower()
        if is_host_name(name) and PTR not in roles.get(name, []):
            roles.setdefault(name, []).append(PTR)
    return {name: tuple(why) for name, why in roles.items()}
