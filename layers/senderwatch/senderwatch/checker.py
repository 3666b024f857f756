"""The checker stage: one queue message -> checks -> findings written back (only when they change),
each run kept as history, and the deployment's health (lists it cannot use, its resolver) once per run.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial

from .addresses import IPAddress
from .check import AddressResults, CheckResult, HostProblem, check_addresses, host_problems
from .dnsbl import DnsblChecker, ProbeCache
from .domaincheck import DomainReport, check_domains
from .domains import watched_domains
from .errors import InvalidTarget, ResolverUnusable
from .findings import (
    DOMAIN,
    RESOLVER,
    ZONE,
    is_many,
    merge,
    merge_domain,
    merge_many,
    next_health,
    readable,
    readable_many,
    reminder_due,
    significant,
    significant_domain,
)
from .hosts import resolve_hosts
from .nameservers import DNS_TIMEOUT
from .ports import NOTHING, Checks, Health, History, Targets, update
from .resolver import Resolver
from .runs import MANUAL, Run, message_body
from .scheduler import now_iso
from .targets import ADDRESS, HOST, NETWORK, Target
from .verdicts import Verdict
from .zones import NAMES, Zone, resolve_domain_zones, resolve_zones

log = logging.getLogger(__name__)

SLICE = 10  # addresses checked (and saved) at a time: a network (up to 256) is a slice of its own
MARGIN = 60.0  # seconds a slice may need, at worst: stop and hand the rest back before that


@dataclass(frozen=True)
class DnsChecks:
    """How to check, for one invocation: resolvers, timeout, zones when a target names none,
    the Spamhaus DQS key. Every message of the invocation shares one probe of the lists."""

    nameservers: tuple[tuple[str, int], ...] = ()
    timeout: float = DNS_TIMEOUT
    zones: tuple[str, ...] = ()
    dqs_key: str | None = None
    probes: ProbeCache = field(default_factory=ProbeCache, compare=False)
    domains_checked: set[str] = field(default_factory=set, compare=False)  # this invocation's

    def zones_for(self, target: Target) -> list[Zone]:
        return resolve_zones(list(target.zones or self.zones))

    def domain_zones(self) -> list[Zone]:
        """The domain lists: the deployment's (a domain's record is shared by all its targets)."""
        return resolve_domain_zones(list(self.zones))

    def session(self) -> DnsSession:
        return DnsSession(self)


class DnsSession:
    """One resolver for a whole message, however many slices it takes."""

    def __init__(self, checks: DnsChecks):
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
        run keeps them (and their findings), as an address keeps its verdict through a timeout."""
        known = known or {}
        hosts = await resolve_hosts(self.resolver, [t.ip for t in targets if t.name.kind == HOST])
        groups: dict[tuple, list[Target]] = {}
        for target in targets:
            groups.setdefault((target.sender, target.helo, target.zones or self.checks.zones), []).append(target)
        results: dict[str, CheckResult | AddressResults] = {}
        for (sender, helo, _), members in groups.items():
            addresses: dict[str, list[IPAddress]] = {}
            problems: dict[str, list[HostProblem]] = {}
            for target in members:
                name = target.name
                if name.kind != HOST:
                    addresses[target.ip] = name.addresses()
                    continue
                found = hosts[target.ip]
                problems[target.ip] = host_problems(found)
                for problem in problems[target.ip]:
                    log.warning("host not fully resolved", extra={"ip": target.ip, "problem": problem.detail})
                kept = [ip for ip in map(ipaddress.ip_address, known.get(target.ip, ())) if ip.version in found.errors]
                if set(found.errors) == {4, 6} and not kept:
                    continue  # nothing learned: its first addresses are not "added" when they come
                addresses[target.ip] = sorted(found.all + kept, key=lambda ip: (ip.version, ip))
            checked = await check_addresses(
                self.resolver,
                list(dict.fromkeys(ip for ips in addresses.values() for ip in ips)),
                self.checks.zones_for(members[0]),
                sender=sender,
                helo=helo,
                dnsbl=self.dnsbl,
            )
            by_address = {r.ip: r for r in checked}
            for target in (t for t in members if t.ip in addresses):
                kind = target.name.kind
                if kind == ADDRESS:
                    results[target.ip] = by_address[addresses[target.ip][0]]
                else:
                    results[target.ip] = AddressResults(
                        [
                            replace(
                                by_address[ip],
                                host=target.ip if kind == HOST else "",
                                network=target.ip if kind == NETWORK else "",
                            )
                            for ip in addresses[target.ip]
                        ],
                        problems.get(target.ip, ()),
                    )
        return results

    async def domains(self, wanted: dict[str, tuple[str, ...]]) -> list[DomainReport]:
        return await check_domains(self.resolver, wanted, self.checks.domain_zones(), self.dnsbl)


@dataclass
class CheckSummary:
    checked: int = 0
    changed: int = 0
    listed: int = 0
    errors: int = 0
    invalid: int = 0
    requeued: int = 0
    unusable_lists: int = 0
    domains: int = 0  # domains checked
    domains_changed: int = 0


def run_checks(
    items: list[dict],
    store: Targets,
    checks: Checks,
    now: datetime,
    *,
    run: Run = MANUAL,
    history: History | None = None,
    health: Health | None = None,
    delivery: int = 1,
    reminder_days: int = 0,
    history_days: int = 90,
    time_left: Callable[[], float] | None = None,
    requeue: Callable[[list[dict]], object] | None = None,
) -> CheckSummary:
    """Check targets, write changed findings onto their items, keep each run as history.

    Each target is checked as its item says now (not as the message says: it may have been
    changed since it was scheduled); removed and disabled targets are skipped. Targets are
    checked and saved a slice at a time; when TIME_LEFT (seconds) drops under MARGIN, the
    rest go back to the queue through REQUEUE, so a run near the timeout loses nothing.
    A scheduled run also records the deployment's health in HEALTH. ResolverUnusable is
    raised when no address could be asked at all: the queue tries again; from the second
    DELIVERY of the same message on, the resolver is recorded as failing (a blip is not news).
    """
    work = _Checks(store, checks, now, run, history, health, reminder_days, history_days, delivery)
    ips = list(dict.fromkeys(str(item.get("ip")) for item in items))
    current = store.get_many(ips)
    targets: list[Target] = []
    for ip in ips:
        item = current.get(ip)
        if item is None:
            continue  # removed since it was scheduled: not brought back
        try:
            target = Target.from_item(item)
        except InvalidTarget as exc:
            work.summary.invalid += 1
            log.warning("target skipped", extra={"ip": ip, "problem": str(exc)})
            store.mark_invalid(ip, str(exc), work.stamp)
            continue
        if target.enabled:
            targets.append(target)
    if targets:
        asyncio.run(work.check(targets, current, time_left, requeue))
    return work.summary


@dataclass
class _Checks:
    """One message's checks: what it needs to save findings, history and the deployment's health."""

    store: Targets
    checks: Checks
    now: datetime
    run: Run
    history: History | None
    health: Health | None
    reminder_days: int
    history_days: int
    delivery: int = 1
    summary: CheckSummary = field(default_factory=CheckSummary)

    @property
    def stamp(self) -> str:
        return now_iso(self.now)

    async def check(self, targets: list[Target], current: dict, time_left, requeue) -> None:
        async with self.checks.session() as session:
            try:
                failures = await session.probe(targets)
            except ResolverUnusable as exc:
                log.error(
                    "resolver unusable: nothing checked",
                    extra={"problem": str(exc), "targets": len(targets), "delivery": self.delivery},
                )
                if self.delivery >= 2:  # it did not work half an hour ago either
                    self._record_health({RESOLVER: {"error": exc.kind, "detail": str(exc)}})
                raise
            for (zone, _family), failure in failures.items():
                if failure:
                    self.summary.unusable_lists += 1
                    log.warning("list unusable this run", extra={"zone": zone, **failure})
            states = {f"{ZONE}:{zone}:{family}": failure for (zone, family), failure in failures.items()}
            self._record_health({RESOLVER: None, **states})
            start = 0
            for chunk in _slices(targets):
                if start and time_left is not None and requeue is not None and time_left() < MARGIN:
                    rest = targets[start:]
                    requeue([message_body(self.run, [t.to_item() for t in rest])])
                    self.summary.requeued = len(rest)
                    log.info("requeued near the timeout", extra={"targets": len(rest)})
                    return
                start += len(chunk)
                known = {t.ip: list(readable_many(current[t.ip].get("findings"))["addresses"]) for t in chunk}
                results = await session.check(chunk, known)
                self._save(chunk, results, current)
                await self._domains(session, chunk, results)

    async def _domains(self, session, targets: list[Target], results: dict) -> None:
        """The health of the domains these targets send as: sender domains, HELO names, and the
        PTR names of their addresses; each checked once per invocation."""
        wanted: dict[str, tuple[str, ...]] = {}
        for target in (t for t in targets if (t.sender or t.helo) and t.ip in results):
            found = results[target.ip]
            ptrs = [n for r in (found if isinstance(found, list) else [found]) if r.rdns for n in r.rdns.ptr]
            for name, roles in watched_domains(target.sender, target.helo, ptrs).items():
                wanted[name] = tuple(dict.fromkeys(wanted.get(name, ()) + roles))
        checked = self.checks.domains_checked
        wanted = {name: roles for name, roles in wanted.items() if name not in checked}
        if not wanted:
            return
        checked.update(wanted)
        reports = await session.domains(wanted)
        self.summary.domains += len(reports)
        for report in reports:
            if report.listed or report.problems:
                log.info(
                    "domain problem",
                    extra={
                        "domain": report.domain,
                        "listed": [v.zone for v in report.listed],
                        "problems": [p.code for p in report.problems],
                    },
                )
        if self.health is not None:
            self.summary.domains_changed += self._record_domains(self.health, reports)

    def _record_domains(self, health: Health, reports: Sequence[DomainReport]) -> int:
        """Each domain's record after REPORTS (`domain:NAME`), written when it changes, once per
        scheduled run however many invocations check the domain; how many changed."""
        run, now = self.run, self.stamp
        ids = [f"{DOMAIN}:{report.domain}" for report in reports]
        current = health.read(ids)

        def change(report: DomainReport) -> Callable[[dict | None], dict | None]:
            def changed(old: dict | None) -> dict | None:
                if run.scheduled and str((old or {}).get("run", "")) >= run.id:
                    return None  # checked in this run already
                new = merge_domain(old, report, now, run)
                if significant_domain(new) == significant_domain(old):
                    return None
                return dict(new, run=run.id or str((old or {}).get("run", "")))

            return changed

        written = [
            update(health, item_id, change(r), current.get(item_id, NOTHING)) for item_id, r in zip(ids, reports)
        ]
        return sum(record is not None for record in written)

    def _record_health(self, states: dict[str, dict | None]) -> None:
        """Each list's and the resolver's record after this run (STATES: what failed, or None).
        Only scheduled runs count: a first check of a new target at noon is not a run of the list."""
        if self.health is None or not self.run.scheduled:
            return
        run, now, health = self.run, self.stamp, self.health
        current = health.read(states)
        for item_id, failure in states.items():
            change = partial(next_health, failure=failure, run=run, now=now)
            update(health, item_id, change, current.get(item_id, NOTHING))

    def _save(self, targets: list[Target], results: dict[str, CheckResult | AddressResults], current: dict) -> None:
        run_key = datetime.now(UTC).isoformat(timespec="microseconds")  # two runs may share a second
        runs = []
        for target in (t for t in targets if t.ip in results):
            result = results[target.ip]
            old = current[target.ip].get("findings")
            many = isinstance(result, list)
            if old is not None and (readable_many(old) if many else readable(old)) != old:
                log.warning("findings not readable: starting afresh", extra={"ip": target.ip})
            if isinstance(result, list):
                new = merge_many(old if is_many(old) else None, result, self.stamp, self.run)
                record = {"results": [_brief(r.to_dict()) for r in result]}
            else:
                new = merge(old, result, self.stamp, self.run)
                record = result.to_dict()
            if reminder_due(new, self.now, self.reminder_days):
                new["reminded_at"] = self.stamp
            for each in result if isinstance(result, list) else [result]:
                self.summary.checked += 1
                self.summary.listed += len(each.listed)
                self.summary.errors += sum(
                    1 for v in each.dnsbl if v.status in (Verdict.ERROR, Verdict.UNHEALTHY) and not v.zone_failed
                )
            if significant(new) != significant(old) and self.store.save_findings(target.ip, new, self.stamp):
                self.summary.changed += 1
            runs.append({"ip": target.ip, "checked_at": run_key, "result": json.dumps(record)})
        if self.history is not None:
            self.history.record(runs, int((self.now + timedelta(days=self.history_days)).timestamp()))


def _brief(result: dict) -> dict:
    """A host's or a network's address in its history (a /24 is 256 of them in one item): the lists
    that did not answer clean, and SPF without the record and explanation every address shares."""
    brief = dict(result, dnsbl=[v for v in result["dnsbl"] if v.get("status") != Verdict.CLEAN])
    for key in ("spf", "helo_spf"):
        if brief.get(key):
            brief[key] = {k: v for k, v in brief[key].items() if k not in ("record", "explanation")}
    return brief


def _slices(targets: list[Target]) -> list[list[Target]]:
    """Targets in slices of about SLICE addresses (a host counts two); a network is a slice of its own."""
    slices: list[list[Target]] = []
    current: list[Target] = []
    weight = 0
    for target in targets:
        kind = target.name.kind
        size = 2 if kind == HOST else len(target.name.addresses())
        if current and weight + size > SLICE:
            slices.append(current)
            current, weight = [], 0
        current.append(target)
        weight += size
    return [*slices, current] if current else slices


# -- the lists as the deployment sees them (`senderwatch doctor`) ----------------------------------


PROBE = "probe"  # {"senderwatch": "probe"}: an invocation that asks the lists' test entries only


def probe_lists(checks: DnsChecks) -> dict:
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
