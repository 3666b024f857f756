"""The checker stage: one queue message -> checks -> findings written back (only when they change;
otherwise only when each target was checked), each run kept as history, and the deployment's health
(lists it cannot use, its resolver) once per run.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial

from .addresses import address_text
from .domainhealth import DomainReport
from .errors import InvalidTarget, ResolverUnusable
from .findings import (
    DOMAIN,
    RESOLVER,
    SPF_IDENTITIES,
    ZONE,
    domain_worth_writing,
    is_per_address,
    merge,
    merge_domain,
    merge_many,
    next_health,
    reminder_due,
    spf_entries,
    spf_shape,
    worth_writing,
    written,
    written_many,
)
from .history import stamp
from .identities import watched_domains
from .ports import NOTHING, Health, History, Invocation, Targets, update
from .records import DomainHealth
from .runs import MANUAL, Run, message_body
from .scheduler import now_iso
from .targetcheck import AddressResults, CheckResult
from .targets import HOST, Target
from .verdicts import Verdict

log = logging.getLogger(__name__)

SLICE = 10  # addresses checked (and saved) at a time: a network (up to 256) is a slice of its own
MARGIN = 60.0  # seconds a slice may need, at worst: stop and hand the rest back before that


@dataclass
class CheckSummary:
    checked: int = 0
    changed: int = 0
    listed: int = 0
    listed_on: dict[str, int] = field(default_factory=dict)  # listed addresses, per list
    spf_failing: int = 0  # addresses whose SPF (or HELO SPF) is a problem
    errors: int = 0
    invalid: int = 0
    requeued: int = 0
    unusable_lists: int = 0
    domains: int = 0  # domains checked
    domains_changed: int = 0


def run_checks(
    items: list[dict],
    store: Targets,
    invocation: Invocation,
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
    """Check targets, write changed findings (or only when it was checked) onto their items, keep
    each run as history.

    Each target is checked as its item says now (not as the message says: it may have been
    changed since it was scheduled); removed and disabled targets are skipped. Targets are
    checked and saved a slice at a time; when TIME_LEFT (seconds) drops under MARGIN, the
    rest go back to the queue through REQUEUE, so a run near the timeout loses nothing.
    A scheduled run also records the deployment's health in HEALTH. ResolverUnusable is
    raised when no address could be asked at all: the queue tries again; from the second
    DELIVERY of the same message on, the resolver is recorded as failing (a blip is not news).
    """
    work = _Message(store, invocation, now, run, history, health, reminder_days, history_days, delivery)
    work.also = {str(item.get("ip")): item["also"] for item in items if isinstance(item.get("also"), list)}
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
class _Message:
    """One message's checks: what it needs to save findings, history and the deployment's health."""

    store: Targets
    invocation: Invocation
    now: datetime
    run: Run
    history: History | None
    health: Health | None
    reminder_days: int
    history_days: int
    delivery: int = 1
    summary: CheckSummary = field(default_factory=CheckSummary)
    also: dict[str, list] = field(default_factory=dict)  # the scheduler's word: other targets watching each's addresses

    @property
    def stamp(self) -> str:
        return now_iso(self.now)

    async def check(self, targets: list[Target], current: dict, time_left, requeue) -> None:
        async with self.invocation.session() as session:
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
                    requeue([message_body(self.run, [self._handed_on(t) for t in rest])])
                    self.summary.requeued = len(rest)
                    log.info("requeued near the timeout", extra={"targets": len(rest)})
                    return
                start += len(chunk)
                known = {t.ip: list(written_many(current[t.ip].get("findings"))["addresses"]) for t in chunk}
                results = await session.check(chunk, known)
                self._save(chunk, results, current)
                await self._domains(session, chunk, results)

    def _handed_on(self, target: Target) -> dict:
        """A target as a message hands it on, with what the scheduler said of its addresses."""
        return {**target.to_item(), **({"also": self.also[target.ip]} if target.ip in self.also else {})}

    async def _domains(self, session, targets: list[Target], results: dict) -> None:
        """The health of the domains these targets send as: sender domains, HELO names, and the
        PTR names of their addresses; each checked once per invocation."""
        wanted: dict[str, tuple[str, ...]] = {}
        for target in (t for t in targets if (t.senders or t.helo) and t.ip in results):
            found = results[target.ip]
            ptrs = [n for r in (found if isinstance(found, list) else [found]) if r.rdns for n in r.rdns.ptr]
            for name, roles in watched_domains(target.senders, target.helo, ptrs).items():
                wanted[name] = tuple(dict.fromkeys(wanted.get(name, ()) + roles))
        checked = self.invocation.domains_checked
        wanted = {name: roles for name, roles in wanted.items() if name not in checked}
        if not wanted:
            return
        checked.update(wanted)
        spf = _spf_by_domain(results[t.ip] for t in targets if t.ip in results)
        reports = [replace(r, watched=spf.get(r.domain, {})) for r in await session.domains(wanted)]
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

        def change(report: DomainReport) -> Callable[[DomainHealth | None], DomainHealth | None]:
            def changed(old: DomainHealth | None) -> DomainHealth | None:
                last = str((old or {}).get("run", ""))
                if run.scheduled and last >= run.id:
                    return None  # checked in this run already
                new = merge_domain(old, report, now, run)
                if domain_worth_writing(new) == domain_worth_writing(old):
                    return None
                return {**new, "run": run.id or last}

            return changed

        written = [
            update(health, item_id, change(r), current.get(item_id, NOTHING)) for item_id, r in zip(ids, reports)
        ]
        self._keep_changes(dict(zip(ids, written)))
        return sum(record is not None for record in written)

    def _record_health(self, states: dict[str, dict | None]) -> None:
        """Each list's and the resolver's record after this run (STATES: what failed, or None).
        Only scheduled runs count: a first check of a new target at noon is not a run of the list."""
        if self.health is None or not self.run.scheduled:
            return
        run, now, health = self.run, self.stamp, self.health
        current = health.read(states)
        changed = {}
        for item_id, failure in states.items():
            change = partial(next_health, failure=failure, run=run, now=now)
            changed[item_id] = update(health, item_id, change, current.get(item_id, NOTHING))
        self._keep_changes(changed)

    def _keep_changes(self, written: Mapping[str, Mapping | None]) -> None:
        """The health records this message changed, each kept in the history under its id."""
        changed = [
            {"ip": item_id, "checked_at": stamp(datetime.now(UTC)), "health": record, **self._run_of_item}
            for item_id, record in written.items()
            if record is not None
        ]
        if changed and self.history is not None:
            self.history.record(changed, self._expires_at)

    @property
    def _run_of_item(self) -> dict:
        """What a history item says of its run: which, and whether it was a scheduled run (which
        `senderwatch history` counts)."""
        return {"run": self.run.id, "scheduled": self.run.scheduled}

    @property
    def _expires_at(self) -> int:
        return int((self.now + timedelta(days=self.history_days)).timestamp())

    def _save(self, targets: list[Target], results: dict[str, CheckResult | AddressResults], current: dict) -> None:
        run_key = stamp(datetime.now(UTC))
        runs = []
        for target in (t for t in targets if t.ip in results):
            result = results[target.ip]
            old = current[target.ip].get("findings")
            many = isinstance(result, list)
            if old is not None and (written_many(old) if many else written(old)) != old:
                log.warning("findings not readable: starting afresh", extra={"ip": target.ip})
            if isinstance(result, list):
                new = merge_many(old if is_per_address(old) else None, result, self.stamp, self.run)
                record = {"results": [_brief(_kept(r)) for r in result]}
            else:
                new = merge(old, result, self.stamp, self.run)
                record = _kept(result)
            if reminder_due(new, self.now, self.reminder_days):
                new["reminded_at"] = self.stamp
            for each in result if isinstance(result, list) else [result]:
                self.summary.checked += 1
                self.summary.listed += len(each.listed)
                for verdict in each.listed:
                    self.summary.listed_on[verdict.zone] = self.summary.listed_on.get(verdict.zone, 0) + 1
                self.summary.spf_failing += bool(each.spf_problems)
                self.summary.errors += sum(
                    1 for v in each.dnsbl if v.status in (Verdict.ERROR, Verdict.UNHEALTHY) and not v.zone_failed
                )
            # One write per target and run: the findings when they changed, else only when it was checked.
            scheduled = self.run.id if self.run.scheduled else ""
            if worth_writing(new) == worth_writing(old):
                self.store.save_checked(target.ip, self.stamp, scheduled)
            elif self.store.save_findings(target.ip, new, self.stamp, scheduled, self.also.get(target.ip)):
                self.summary.changed += 1
            runs.append({"ip": target.ip, "checked_at": run_key, "result": json.dumps(record), **self._run_of_item})
        if self.history is not None:
            self.history.record(runs, self._expires_at)


def _spf_by_domain(results: Iterable[CheckResult | AddressResults]) -> dict[str, dict[str, str]]:
    """Each domain's watched addresses and the SPF result each got sending as it (or naming it as
    HELO) in this run: what a problem of the domain's record does to them."""
    out: dict[str, dict[str, str]] = {}
    for found in results:
        for result in found if isinstance(found, list) else [found]:
            for spf in (*result.spf, result.helo_spf):
                if spf is not None:
                    domain = spf.sender.rpartition("@")[2].lower()
                    out.setdefault(domain, {})[address_text(result.ip)] = spf.result
    return out


def _kept(result: CheckResult) -> dict:
    """An address's result as its history keeps it: as `check` gives it, and each list that could not
    be used at all this run marked (`zone_failed`: the deployment's problem, not the address's)."""
    out = result.to_dict()
    out["dnsbl"] = [dict(d, zone_failed=True) if v.zone_failed else d for v, d in zip(result.dnsbl, out["dnsbl"])]
    return out


def _brief(result: dict) -> dict:
    """A host's or a network's address in its history (a /24 is 256 of them in one item): the lists
    that did not answer clean, and SPF without the record and explanation every address shares."""
    brief = dict(result, dnsbl=[v for v in result["dnsbl"] if v.get("status") != Verdict.CLEAN])
    for key in SPF_IDENTITIES:
        if brief.get(key):
            brief[key] = spf_shape(
                [{k: v for k, v in e.items() if k not in ("record", "explanation")} for e in spf_entries(brief[key])]
            )
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
