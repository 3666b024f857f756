"""The three stages of the daily run, as functions of small objects passed in.

scheduler: watched targets -> queue messages of N targets each, stamped with the run
checker:   one message -> checks -> findings written back (only when they change) + history,
           and the deployment's health (lists it cannot use, its resolver) once per run
notifier:  changes of target items (and of the deployment's health) -> alerts, grouped per
           event and list, each published once
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from .addresses import parse_address
from .check import CheckResult, check_addresses
from .dnsbl import DnsblChecker
from .errors import InvalidInput, ResolverUnusable
from .findings import (
    MANUAL,
    RESOLVER,
    ZONE,
    Alert,
    Run,
    decide,
    decide_health,
    merge,
    readable,
    reminder_due,
    reminders,
    significant,
)
from .messages import Message, group, render_group
from .resolver import Resolver
from .targets import Target
from .zones import Zone, resolve_zones

log = logging.getLogger(__name__)


def now_iso(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds")


# -- scheduler ---------------------------------------------------------------------------


@dataclass
class Plan:
    messages: list[dict] = field(default_factory=list)
    targets: int = 0
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (ip as written, problem)
    disabled: int = 0


def plan_messages(items: Iterable[dict], per_message: int, run: Run = MANUAL) -> Plan:
    """Validate watched items and pack the enabled ones into queue messages (each address once)."""
    plan, batch, seen = Plan(), [], set()

    def message(targets: list[dict]) -> dict:
        return {"run": run.id, "scheduled": run.scheduled, "targets": targets}

    for item in items:
        try:
            target = Target.from_item(item)
        except InvalidInput as exc:
            plan.invalid.append((str(item.get("ip", "?")), str(exc)))
            continue
        if not target.enabled:
            plan.disabled += 1
            continue
        if target.ip in seen:
            continue
        seen.add(target.ip)
        batch.append(target.to_item())
        plan.targets += 1
        if len(batch) == per_message:
            plan.messages.append(message(batch))
            batch = []
    if batch:
        plan.messages.append(message(batch))
    return plan


# -- checker -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """How to check: resolvers, timeout, zones when a target names none, Spamhaus DQS key."""

    nameservers: tuple[tuple[str, int], ...] = ()
    timeout: float = 2.0
    zones: tuple[str, ...] = ()
    dqs_key: str | None = None

    def zones_for(self, target: Target) -> list[Zone]:
        return resolve_zones(list(target.zones or self.zones))

    def session(self) -> Session:
        return Session(self)


class Session:
    """One resolver and one probe of the lists for a whole message, however many slices it takes."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.resolver = Resolver(list(engine.nameservers) or None, timeout=engine.timeout)
        self.dnsbl: DnsblChecker | None = None

    async def __aenter__(self) -> Session:
        await self.resolver.__aenter__()
        self.dnsbl = DnsblChecker(self.resolver, [], self.engine.dqs_key)
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
        families = set()
        for target in targets:
            zones.update({z.zone: z for z in self.engine.zones_for(target)})
            families.add(parse_address(target.ip).version)
        await self.dnsbl.probe(families, list(zones.values()))
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

    async def check(self, targets: Sequence[Target]) -> dict[str, CheckResult]:
        groups: dict[tuple, list[Target]] = {}
        for target in targets:
            groups.setdefault((target.sender, target.helo, target.zones or self.engine.zones), []).append(target)
        results: dict[str, CheckResult] = {}
        for (sender, helo, _), members in groups.items():
            checked = await check_addresses(
                self.resolver,
                [parse_address(t.ip) for t in members],
                self.engine.zones_for(members[0]),
                sender=sender,
                helo=helo,
                dnsbl=self.dnsbl,
            )
            results.update({t.ip: r for t, r in zip(members, checked)})
        return results


@dataclass
class CheckSummary:
    checked: int = 0
    changed: int = 0
    listed: int = 0
    errors: int = 0
    invalid: int = 0
    requeued: int = 0
    unusable_lists: int = 0


def parse_message(body: str) -> tuple[Run, list[dict]]:
    """The run and the targets of one queue message; InvalidInput for anything else."""
    try:
        message = json.loads(body)
    except (TypeError, ValueError):
        raise InvalidInput("the message is not JSON") from None
    targets = message.get("targets") if isinstance(message, dict) else None
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise InvalidInput("the message has no 'targets' list")
    run = message.get("run", "")
    # A message without a run (sent by hand) checks, but never counts toward CHECK_FAILING.
    if not isinstance(run, str) or not run:
        return MANUAL, targets
    return Run(run, message.get("scheduled") is True), targets


SLICE = 10  # targets checked (and saved) at a time
MARGIN = 60.0  # seconds a slice may need, at worst: stop and hand the rest back before that


class HealthLog(Protocol):
    def record(self, run: Run, states: dict[str, dict | None], now: str) -> None: ...


def run_checks(
    items: list[dict],
    store,
    engine: Engine,
    now: datetime,
    *,
    run: Run = MANUAL,
    health: HealthLog | None = None,
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
    checks = _Checks(store, engine, now, run, health, reminder_days, history_days, delivery)
    ips = list(dict.fromkeys(str(item.get("ip")) for item in items))
    current = store.get_many(ips)
    targets: list[Target] = []
    for ip in ips:
        item = current.get(ip)
        if item is None:
            continue  # removed since it was scheduled: not brought back
        try:
            target = Target.from_item(item)
        except InvalidInput as exc:
            checks.summary.invalid += 1
            log.warning("target skipped", extra={"ip": ip, "problem": str(exc)})
            store.mark_invalid(ip, str(exc), checks.stamp)
            continue
        if target.enabled:
            targets.append(target)
    if targets:
        asyncio.run(checks.check(targets, current, time_left, requeue))
    return checks.summary


@dataclass
class _Checks:
    """One message's checks: what it needs to save findings, history and the deployment's health."""

    store: object
    engine: Engine
    now: datetime
    run: Run
    health: HealthLog | None
    reminder_days: int
    history_days: int
    delivery: int = 1
    summary: CheckSummary = field(default_factory=CheckSummary)

    @property
    def stamp(self) -> str:
        return now_iso(self.now)

    async def check(self, targets: list[Target], current: dict, time_left, requeue) -> None:
        async with self.engine.session() as session:
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
            for start in range(0, len(targets), SLICE):
                if start and time_left is not None and requeue is not None and time_left() < MARGIN:
                    rest = targets[start:]
                    requeue(
                        [{"run": self.run.id, "scheduled": self.run.scheduled, "targets": [t.to_item() for t in rest]}]
                    )
                    self.summary.requeued = len(rest)
                    log.info("requeued near the timeout", extra={"targets": len(rest)})
                    return
                chunk = targets[start : start + SLICE]
                self._save(chunk, await session.check(chunk), current)

    def _record_health(self, states: dict[str, dict | None]) -> None:
        """Only scheduled runs count: a first check of a new target at noon is not a run of the list."""
        if self.health is not None and self.run.scheduled:
            self.health.record(self.run, states, self.stamp)

    def _save(self, targets: list[Target], results: dict[str, CheckResult], current: dict) -> None:
        run_key = datetime.now(UTC).isoformat(timespec="microseconds")  # two runs may share a second
        runs = []
        for target in targets:
            result = results[target.ip]
            old = current[target.ip].get("findings")
            if old is not None and readable(old) != old:
                log.warning("findings not readable: starting afresh", extra={"ip": target.ip})
            new = merge(old, result, self.stamp, self.run)
            if reminder_due(new, self.now, self.reminder_days):
                new["reminded_at"] = self.stamp
            self.summary.checked += 1
            self.summary.listed += len(result.listed)
            self.summary.errors += sum(
                1 for v in result.dnsbl if v.status in ("error", "unhealthy") and not v.zone_failed
            )
            if significant(new) != significant(old) and self.store.save_findings(target.ip, new, self.stamp):
                self.summary.changed += 1
            runs.append({"ip": target.ip, "checked_at": run_key, "result": json.dumps(result.to_dict())})
        self.store.record_runs(runs, int((self.now + timedelta(days=self.history_days)).timestamp()))


# -- notifier ----------------------------------------------------------------------------


def alerts_for_change(old_item: dict | None, new_item: dict | None) -> list[Alert]:
    """The alerts one change of an item deserves: a target's findings, or the deployment's health."""
    if not new_item:
        return []
    if "kind" in new_item and "health" in new_item:  # the health table: a list, or the resolver
        old = (old_item or {}).get("health")
        new = dict(new_item["health"], **({"family": new_item["family"]} if new_item.get("family") else {}))
        return decide_health(str(new_item["kind"]), str(new_item.get("name", "")), old, new)
    if "findings" not in new_item:
        return []
    old_findings = readable((old_item or {}).get("findings"))
    new_findings = readable(new_item["findings"])
    ip, label = str(new_item.get("ip", "")), str(new_item.get("label") or "")
    alerts = decide(old_findings, new_findings, ip, label)
    reminded = new_findings.get("reminded_at")
    if reminded and reminded != (old_findings or {}).get("reminded_at"):
        fresh = {(a.event, a.zone) for a in alerts}
        alerts += [a for a in reminders(new_findings, ip, label) if (a.event, a.zone) not in fresh]
    return alerts


@dataclass(frozen=True)
class Change:
    """One stream record: its id (what to report when it fails) and the item before and after."""

    id: str
    old: dict | None
    new: dict | None


class SentLog(Protocol):
    def sent(self, keys: Iterable[str]) -> set[str]: ...
    def mark(self, keys: Iterable[str]) -> None: ...


class Publisher(Protocol):
    def publish(self, message: Message) -> str: ...


@dataclass
class Notified:
    alerts: int = 0  # alerts published
    messages: int = 0  # SNS publishes
    failed: list[str] = field(default_factory=list)  # ids of changes to deliver again


def notify(changes: Sequence[Change], sent_log: SentLog, topic: Publisher) -> Notified:
    """Publish what CHANGES deserve: alerts grouped per event and list, each alert once.

    An alert already in SENT_LOG (published by an earlier delivery of the same change) is
    not sent again; a group that cannot be published fails the changes it came from, and
    only what is missing goes out when they are delivered again.
    """
    outcome = Notified()
    failed: set[str] = set()
    pending: list[tuple[str, Alert]] = []
    for change in changes:
        try:
            pending += [(change.id, a) for a in alerts_for_change(change.old, change.new)]
        except Exception as exc:  # noqa: BLE001 - one bad record fails alone, named in the log
            log.error("change not understood", extra={"change": change.id, "reason": f"{type(exc).__name__}: {exc}"})
            failed.add(change.id)
    if pending:
        done = sent_log.sent(a.key for _, a in pending)
        todo = [(cid, a) for cid, a in pending if a.key not in done]
        origin: dict[str, set[str]] = {}
        for cid, alert in todo:
            origin.setdefault(alert.key, set()).add(cid)
        unique = list({a.key: a for _, a in todo}.values())
        for alerts in group(unique):
            message = render_group(alerts)
            try:
                topic.publish(message)
                sent_log.mark(message.keys)
            except Exception as exc:  # noqa: BLE001 - reported per change, retried by the stream
                log.error(
                    "alert not sent",
                    extra={"event": alerts[0].event, "alerts": len(alerts), "reason": f"{type(exc).__name__}: {exc}"},
                )
                failed.update(cid for a in alerts for cid in origin[a.key])
                continue
            outcome.alerts += len(alerts)
            outcome.messages += 1
            log.info("alert sent", extra={**message.attributes, "alerts": len(alerts)})
    outcome.failed = sorted(failed, key=lambda cid: (len(cid), cid))  # sequence numbers: oldest first
    return outcome
