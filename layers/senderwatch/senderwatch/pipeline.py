"""The three stages of the daily run, as functions of small objects passed in.

scheduler: watched targets -> queue messages of N targets each
checker:   one message -> checks -> findings written back (only when they change) + history
notifier:  one change of a target item -> the alert messages it deserves
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .addresses import parse_address
from .check import CheckResult, check_addresses
from .findings import decide, merge, reminder_due, reminders, significant
from .messages import Message, render
from .resolver import Resolver
from .targets import Target
from .zones import resolve_zones


def now_iso(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds")


# -- scheduler ---------------------------------------------------------------------------


@dataclass
class Plan:
    messages: list[dict] = field(default_factory=list)
    targets: int = 0
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (ip as written, problem)
    disabled: int = 0


def plan_messages(items: Iterable[dict], per_message: int) -> Plan:
    """Validate watched items and pack the enabled ones into queue messages (each address once)."""
    plan, batch, seen = Plan(), [], set()
    for item in items:
        try:
            target = Target.from_item(item)
        except ValueError as exc:
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
            plan.messages.append({"targets": batch})
            batch = []
    if batch:
        plan.messages.append({"targets": batch})
    return plan


# -- checker -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """How to check: resolvers, timeout, zones when a target names none, Spamhaus DQS key."""

    nameservers: tuple[tuple[str, int], ...] = ()
    timeout: float = 2.0
    zones: tuple[str, ...] = ()
    dqs_key: str | None = None

    async def check(self, targets: list[Target]) -> dict[str, CheckResult]:
        groups: dict[tuple, list[Target]] = {}
        for target in targets:
            groups.setdefault((target.sender, target.helo, target.zones or self.zones), []).append(target)
        results: dict[str, CheckResult] = {}
        async with Resolver(list(self.nameservers) or None, timeout=self.timeout) as resolver:
            for (sender, helo, zones), members in groups.items():
                checked = await check_addresses(
                    resolver,
                    [parse_address(t.ip) for t in members],
                    resolve_zones(list(zones)),
                    sender=sender,
                    helo=helo,
                    dqs_key=self.dqs_key,
                )
                results.update({str(r.ip): r for r in checked})
        return results


@dataclass
class CheckSummary:
    checked: int = 0
    changed: int = 0
    listed: int = 0
    errors: int = 0
    invalid: int = 0
    requeued: int = 0


def parse_message(body: str) -> list[dict]:
    """The targets of one queue message; ValueError for anything else."""
    try:
        message = json.loads(body)
    except (TypeError, ValueError):
        raise ValueError("the message is not JSON") from None
    targets = message.get("targets") if isinstance(message, dict) else None
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise ValueError("the message has no 'targets' list")
    return targets


SLICE = 10  # targets checked (and saved) at a time
MARGIN = 60.0  # seconds a slice may need, at worst: stop and hand the rest back before that


def run_checks(
    items: list[dict],
    store,
    engine: Engine,
    now: datetime,
    *,
    reminder_days: int = 0,
    history_days: int = 90,
    time_left: Callable[[], float] | None = None,
    requeue: Callable[[list[dict]], object] | None = None,
) -> CheckSummary:
    """Check targets, write changed findings onto their items, keep each run as history.

    Targets are checked and saved a slice at a time; when TIME_LEFT (seconds) drops under
    MARGIN, the targets not yet checked go back to the queue through REQUEUE, so a run near
    the function's timeout keeps what it did and loses nothing.
    """
    summary, targets = CheckSummary(), []
    stamp = now_iso(now)
    for item in {str(item.get("ip")): item for item in items}.values():  # delivered twice: checked once
        try:
            targets.append(Target.from_item(item))
        except ValueError as exc:
            summary.invalid += 1
            if isinstance(item.get("ip"), str):
                store.mark_invalid(item["ip"], str(exc), stamp)
    for start in range(0, len(targets), SLICE):
        if start and time_left is not None and requeue is not None and time_left() < MARGIN:
            rest = targets[start:]
            requeue([{"targets": [t.to_item() for t in rest]}])
            summary.requeued = len(rest)
            break
        _check_slice(targets[start : start + SLICE], store, engine, now, stamp, summary, reminder_days, history_days)
    return summary


def _check_slice(
    targets: list[Target],
    store,
    engine: Engine,
    now: datetime,
    stamp: str,
    summary: CheckSummary,
    reminder_days: int,
    history_days: int,
) -> None:
    current = store.get_many(t.ip for t in targets)
    targets = [t for t in targets if t.ip in current]  # removed since it was scheduled: not brought back
    if not targets:
        return
    results = asyncio.run(engine.check(targets))
    run_key = datetime.now(UTC).isoformat(timespec="microseconds")  # two runs may share a second
    runs = []
    for target in targets:
        result = results[target.ip]
        old = current[target.ip].get("findings")
        new = merge(old, result, stamp)
        if reminder_due(new, now, reminder_days):
            new["reminded_at"] = stamp
        summary.checked += 1
        summary.listed += len(result.listed)
        summary.errors += sum(1 for v in result.dnsbl if v.status in ("error", "unhealthy"))
        if significant(new) != significant(old) and store.save_findings(target.ip, new, stamp):
            summary.changed += 1
        runs.append({"ip": target.ip, "checked_at": run_key, "result": json.dumps(result.to_dict())})
    store.record_runs(runs, int((now + timedelta(days=history_days)).timestamp()))


# -- notifier ----------------------------------------------------------------------------


def alerts_for_change(old_item: dict | None, new_item: dict | None) -> list[Message]:
    """The messages one change of a target item deserves (none for a removal or an edit)."""
    if not new_item or "findings" not in new_item:
        return []
    old_findings = (old_item or {}).get("findings")
    new_findings = new_item["findings"]
    ip, label = str(new_item.get("ip", "")), str(new_item.get("label") or "")
    alerts = decide(old_findings, new_findings, ip)
    reminded = new_findings.get("reminded_at")
    if reminded and reminded != (old_findings or {}).get("reminded_at"):
        fresh = {(a.event, a.zone) for a in alerts}
        alerts += [a for a in reminders(new_findings, ip) if (a.event, a.zone) not in fresh]
    return [render(alert, label) for alert in alerts]
