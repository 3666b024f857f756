"""What `senderwatch targets add` asks DNS before it writes: each list it is given that the catalogue
does not know, by its RFC 5782 test entries (127.0.0.2 listed, 127.0.0.1 not; ::FFFF:7F00:2 and
::FFFF:7F00:1 for IPv6), so that a mistyped or dead list is refused with the reason instead of
being asked in vain every run; and a new host's addresses, to say which other targets watch them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ..addresses import address_text, family_name
from ..dnsbl import DnsblChecker
from ..errors import InvalidInput, ResolverUnusable, ServiceError
from ..hosts import resolve_hosts
from ..nameservers import server_text
from ..resolver import Resolver
from ..targets import HOST, TargetName
from ..zones import Zone, catalogue, default_zones, parse_zones, resolve_zones

_NOT_A_LIST = ("lists-nothing", "lists-everything")  # answers: the list is not one (or not working)


@dataclass
class Asked:
    """What DNS said: notes for the person, and the host's addresses (when a host was asked)."""

    notes: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)


def unknown_lists(zones: list[str] | None) -> list[Zone]:
    """The lists among ZONES (a target's, as parse_settings gives them) the catalogue does not know."""
    choice = parse_zones(zones or [])
    names = [n for n in (*choice.named, *choice.added) if n not in catalogue()]
    return resolve_zones(names) if names else []


def ask(
    name: TargetName, zones: list[Zone], nameservers: list[tuple[str, int]], timeout: float, *, host: bool
) -> Asked:
    """Probe ZONES for NAME's families (InvalidInput: a list that is not one, with why; ServiceError:
    no answer to tell), and resolve NAME when HOST and it is a host (best effort: a note if not)."""
    families = set(name.families)

    async def run() -> Asked:
        asked = Asked()
        async with Resolver(nameservers, timeout=timeout) as resolver:
            if zones:
                dnsbl = DnsblChecker(resolver, zones)
                # The default lists beside them: the resolver is judged as every run judges it, so a
                # list that lists nothing is that list's doing, not a resolver that hides lists.
                try:
                    await dnsbl.probe(families, [*zones, *default_zones()])
                except ResolverUnusable as exc:
                    raise ServiceError(f"{exc}; nothing was changed (name another with --nameserver)") from None
                asked.notes += [_judged(zone, families, dnsbl, resolver) for zone in zones]
            if host and name.kind == HOST:
                found = (await resolve_hosts(resolver, [name.key]))[name.key]
                asked.addresses = [address_text(ip) for ip in found.all]
        asked.notes = [n for n in asked.notes if n]
        return asked

    return asyncio.run(run())


def _judged(zone: Zone, families: set[int], dnsbl: DnsblChecker, resolver: Resolver) -> str:
    """'' when ZONE answers its test entries right for every one of FAMILIES, a note when for some;
    raises when for none (InvalidInput when its answers say it is not a list, ServiceError when no
    answer said anything)."""
    wanted = sorted(families & set(zone.families))
    failed = {family: dnsbl.failed[(zone.zone, family)] for family in wanted if (zone.zone, family) in dnsbl.failed}
    if not failed:
        return ""
    family, verdict = next(iter(failed.items()))
    entry, clean = zone.test_listed[family], zone.test_clean[family]
    why = {
        "lists-nothing": f"it does not list its test entry {entry}, which every DNSBL lists (RFC 5782)",
        "lists-everything": f"it lists its clean test entry {clean} too, so it would call every address listed",
    }.get(verdict.error, "")
    if len(failed) < len(wanted):
        works = ", ".join(family_name(f) for f in wanted if f not in failed)
        return f"{zone.zone} answers its test entries right for {works} only: {why or verdict.error}"
    servers = ", ".join(server_text(host, port) for host, port in resolver.nameservers)
    if verdict.error in _NOT_A_LIST:
        raise InvalidInput(
            f"{zone.zone} is not a list senderwatch knows, and {why} (asked through {servers}): "
            "is the name right? Nothing was changed"
        )
    raise ServiceError(
        f"cannot tell whether {zone.zone} is a working list: its test entries got no answer "
        f"({verdict.error}) through {servers}; nothing was changed: try again, or name a resolver with --nameserver"
    )
