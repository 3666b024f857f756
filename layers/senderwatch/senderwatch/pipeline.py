"""The three stages of the daily run, as functions of small objects passed in.

scheduler: watched targets -> queue messages of N targets each
checker:   one message -> checks -> findings written back (only when they change) + history
notifier:  one change of a target item -> the alert messages it deserves
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
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


def run_checks(
    items: list[dict], store, engine: Engine, now: datetime, *, reminder_days: int = 0, history_days: int = 90
) -> CheckSummary:
    """Check targets, write changed findings onto their items, keep each run as history."""
    summary, targets = CheckSummary(), []
    stamp = now_iso(now)
    run_key = now.astimezone(UTC).isoformat(timespec="microseconds")  # two runs may share a second
    for item in {str(item.get("ip")): item for item in items}.values():  # delivered twice: checked once
        try:
            targets.append(Target.from_item(item))
        except ValueError as exc:
            summary.invalid += 1
            if isinstance(item.get("ip"), str):
                store.mark_invalid(item["ip"], str(exc), stamp)
    if not targets:
        return summary
    current = store.get_many(t.ip for t in targets)
    results = asyncio.run(engine.check(targets))
    runs = []
    for target in targets:
        if target.ip not in current:
            continue  # removed since it was scheduled
        result = results[target.ip]
        old = current[target.ip].get("findings")
        new = merge(old, result, stamp)
        if old and old.get("reminded_at"):
            new["reminded_at"] = old["reminded_at"]
        if reminder_due(new, now, reminder_days):
            new["reminded_at"] = stamp
        summary.checked += 1
        summary.listed += len(result.listed)
        summary.errors += sum(1 for v in result.dnsbl if v.status in ("error", "unhealthy"))
        if significant(new) != significant(old) and store.save_findings(target.ip, new, stamp):
            summary.changed += 1
        runs.append({"ip": target.ip, "checked_at": run_key, "result": json.dumps(result.to_dict())})
    store.record_runs(runs, int((now + timedelta(days=history_days)).timestamp()))
    return summary


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
