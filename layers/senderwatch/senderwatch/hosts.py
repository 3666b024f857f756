"""A host target's addresses: its A and AAAA records, asked every run.

A family that cannot be resolved (a timeout, SERVFAIL) is an error for that family, never
"the host has no address": the caller keeps what it knew. An address no list can rate (a
private address in split-horizon DNS) is set aside and said, not checked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import wire
from .addresses import IPAddress, address_text, unrateable
from .resolver import Resolver

MAX_ADDRESSES = 256  # per family, as many as a network target holds; the rest are said, not checked
_ERRORS = {wire.TIMEOUT: "timeout", wire.SERVFAIL: "servfail", wire.REFUSED: "refused"}
FAMILY_TYPES = ((4, wire.A), (6, wire.AAAA))


@dataclass(frozen=True)
class HostAddresses:
    """What DNS says of one host name, per family."""

    host: str
    addresses: dict[int, tuple[IPAddress, ...]] = field(default_factory=dict)  # families that resolved
    errors: dict[int, str] = field(default_factory=dict)  # families that could not be resolved, and why
    exists: bool = True  # False: NXDOMAIN for both families
    set_aside: tuple[str, ...] = ()  # what it resolves to that no list rates, said in words
    cut: dict[int, int] = field(default_factory=dict)  # families with more than MAX_ADDRESSES: how many

    @property
    def all(self) -> list[IPAddress]:
        return [ip for family in (4, 6) for ip in self.addresses.get(family, ())]


def _error(answer: wire.Answer) -> str:
    if answer.skipped:
        return "bad-answer"
    if answer.rcode in (wire.NOERROR, wire.NXDOMAIN):
        return ""
    return _ERRORS.get(answer.rcode, "servfail")


async def resolve_hosts(resolver: Resolver, hosts: Sequence[str]) -> dict[str, HostAddresses]:
    """Each host's addresses, both families asked at once for every host."""
    hosts = list(dict.fromkeys(hosts))
    questions = [(host, rtype) for host in hosts for _, rtype in FAMILY_TYPES]
    answers = iter(await resolver.query_many(questions))
    out = {}
    for host in hosts:
        addresses: dict[int, tuple[IPAddress, ...]] = {}
        errors: dict[int, str] = {}
        set_aside: list[str] = []
        cut: dict[int, int] = {}
        missing = 0
        for family, rtype in FAMILY_TYPES:
            answer = next(answers)
            error = _error(answer)
            if error:
                errors[family] = error
                continue
            missing += answer.rcode == wire.NXDOMAIN
            found = []
            for value in dict.fromkeys(answer.values(rtype)):
                ip = ipaddress.ip_address(value)
                if ip.version == 6 and ip.ipv4_mapped:
                    ip = ip.ipv4_mapped
                problem = unrateable(ip) or ("a loopback address" if ip.is_loopback else "")
                if problem:
                    set_aside.append(f"{address_text(ip)} ({problem})")
                    continue
                found.append(ip)
            found.sort()
            if len(found) > MAX_ADDRESSES:
                cut[family] = len(found)
                found = found[:MAX_ADDRESSES]
            addresses[family] = tuple(found)
        out[host] = HostAddresses(host, addresses, errors, missing < 2, tuple(set_aside), cut)
    return out
