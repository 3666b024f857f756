"""The checker's DNS side: how one invocation checks (its resolvers, timeout, lists and DQS key),
one resolver per queue message however many slices it takes, and the lists probed once per
invocation - the checker stage (checker.py) is given these, and unit tests a fake of them.
`probe_lists` is the invocation that asks the lists' test entries only (for `senderwatch doctor`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from .dnsbl import DnsblChecker, ProbeCache
from .domainhealth import DomainReport, check_domains
from .errors import ResolverUnusable
from .nameservers import DNS_TIMEOUT
from .resolver import Resolver
from .targetcheck import AddressResults, CheckResult, check_addresses, expand_targets
from .targets import ADDRESS, Target
from .zones import NAMES, Zone, resolve_domain_zones, resolve_zones

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DnsInvocation:
    """How to check, for one invocation: resolvers, timeout, zones when a target names none,
    the Spamhaus DQS key. Every message of the invocation shares one probe of the lists."""

    nameservers: tuple[tuple[str, int], ...] = ()
    timeout: float = DNS_TIMEOUT
    zones: tuple[str, ...] = ()
    dqs_key: str | None = None
    probes: ProbeCache = field(default_factory=ProbeCache, compare=False)
    domains_checked: set[str] = field(default_factory=set, compare=False)  # this invocation's

    def zones_for(self, target: Target) -> list[Zone]:
        """A target's address lists: its own, or the deployment's as the target changes them."""
        if target.zones:
            return resolve_zones(list(target.zones), base=self.zones)
        return resolve_zones(list(self.zones))

    def domain_zones(self) -> list[Zone]:
        """The domain lists: the deployment's (a domain's record is shared by all its targets)."""
        return resolve_domain_zones(list(self.zones))

    def session(self) -> DnsSession:
        return DnsSession(self)


class DnsSession:
    """One resolver for a whole message, however many slices it takes."""

    def __init__(self, checks: DnsInvocation):
        self.checks = checks
        self.resolver = Resolver(list(checks.nameservers) or None, timeout=checks.timeout)
        self.dnsbl = DnsblChecker(self.resolver, [], checks.dqs_key, checks.probes)

    async def __aenter__(self) -> DnsSession:
        await self.resolver.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.resolver.close()

    async def probe(self, targets: Sequence[Target]) -> dict[tuple[str, int], dict | None]:
        """Probe every list these targets use, for the address families they have; what failed,
        by (list, family) - None: it works. A list is judged per family: one that fails only for
        IPv6 is reported, however many messages hold only IPv4 addresses.

        Raises ResolverUnusable when the resolver itself is the problem.
        """
        zones: dict[str, Zone] = {}
        families: set[int] = set()
        for target in targets:
            zones.update({z.zone: z for z in self.checks.zones_for(target)})
            families |= target.name.families
        known = self.dnsbl.probes.lists_only
        await self.dnsbl.probe(families, list(zones.values()))
        if self.dnsbl.probes.lists_only and not known:  # a DNSBL mirror as the Nameservers parameter
            log.warning("the resolver serves only lists", extra={"detail": self.dnsbl.probes.lists_only})
        failures: dict[tuple[str, int], dict | None] = {
            (zone.zone, family): None for zone in zones.values() for family in families & set(zone.families)
        }
        for (zone, family), verdict in self.dnsbl.failed.items():
            if (zone, family) in failures:
                failures[(zone, family)] = {
                    "error": verdict.error,
                    "codes": list(verdict.codes),
                    "detail": verdict.meaning,
                    "family": family,
                }
        return failures

    async def check(
        self, targets: Sequence[Target], known: dict[str, list[str]] | None = None
    ) -> dict[str, CheckResult | AddressResults]:
        """Each target's results: an address's one result, a host's or a network's list (one per
        address). KNOWN holds the addresses each host had: a family that cannot be resolved this
        run keeps them (and their findings), as an address keeps its verdict through a timeout.
        A host that could not be resolved at all, with nothing known of it, has no result."""
        expanded = await expand_targets(self.resolver, [t.name for t in targets], known)
        for target in targets:
            for problem in expanded[target.ip].problems:
                log.warning("host not fully resolved", extra={"ip": target.ip, "problem": problem.detail})
        groups: dict[tuple, list[Target]] = {}
        for target in targets:
            if expanded[target.ip].learned:
                groups.setdefault((target.senders, target.helo, target.zones or self.checks.zones), []).append(target)
        results: dict[str, CheckResult | AddressResults] = {}
        for (senders, helo, _), members in groups.items():
            checked = await check_addresses(
                self.resolver,
                list(dict.fromkeys(ip for target in members for ip in expanded[target.ip].addresses)),
                self.checks.zones_for(members[0]),
                senders=senders,
                helo=helo,
                dnsbl=self.dnsbl,
            )
            by_address = {r.ip: r for r in checked}
            for target in members:
                found = expanded[target.ip]
                if target.name.kind == ADDRESS:
                    results[target.ip] = by_address[found.addresses[0]]
                else:
                    results[target.ip] = AddressResults(found.results(by_address), found.problems)
        return results

    async def domains(self, wanted: dict[str, tuple[str, ...]]) -> list[DomainReport]:
        return await check_domains(self.resolver, wanted, self.checks.domain_zones(), self.dnsbl)


PROBE = "probe"  # {"senderwatch": "probe"}: an invocation that asks the lists' test entries only


def probe_lists(checks: DnsInvocation) -> dict:
    """Each list the deployment uses, asked for its test entries through the deployment's own
    resolver: what `senderwatch doctor` shows from inside (Spamhaus refusing a resolver without a
    DQS key shows here on day one). Nothing is written; no finding changes."""

    async def probe() -> dict:
        zones = resolve_zones(list(checks.zones)) + resolve_domain_zones(list(checks.zones))
        families = {4, 6, NAMES}  # address lists per family; domain lists ask names
        async with checks.session() as session:
            try:
                await session.dnsbl.probe(families, zones)
            except ResolverUnusable as exc:
                return {"resolver": str(exc), "lists": []}
            failed = session.dnsbl.failed
        lists = []
        for zone in zones:
            for family in sorted(families & set(zone.families)):
                verdict = failed.get((zone.zone, family))
                entry = {"zone": zone.zone, "family": family, "status": "ok" if verdict is None else "failing"}
                if verdict is not None:
                    entry.update(error=str(verdict.error), detail=verdict.meaning or "", codes=list(verdict.codes))
                lists.append(entry)
        return {"resolver": "ok", "dqs_key": bool(checks.dqs_key), "lists": lists}

    return asyncio.run(probe())
