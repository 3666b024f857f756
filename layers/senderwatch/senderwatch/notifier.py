"""The notifier stage: changes of target items (and of the deployment's health) -> alerts,
grouped per event and list, each published once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .alerttext import group, render_group
from .findings import (
    DOMAIN,
    RECEIVER,
    Alert,
    decide,
    decide_domain,
    decide_health,
    decide_receiver,
    is_per_address,
    reminders,
    written,
    written_many,
)
from .overlaps import watching
from .ports import Publisher, SentLog

log = logging.getLogger(__name__)


def alerts_for_change(old_item: dict | None, new_item: dict | None) -> list[Alert]:
    """The alerts one change of an item deserves: a target's findings, or the deployment's health."""
    if not new_item:
        return []
    if new_item.get("kind") == RECEIVER and "health" in new_item:  # the health table: a receiver's word
        return decide_receiver(str(new_item.get("name", "")), (old_item or {}).get("health"), new_item["health"])
    if new_item.get("kind") == DOMAIN and "health" in new_item:  # the health table: a domain
        return decide_domain(str(new_item.get("name", "")), (old_item or {}).get("health"), new_item["health"])
    if "kind" in new_item and "health" in new_item:  # the health table: a list, or the resolver
        old = (old_item or {}).get("health")
        new = dict(new_item["health"], **({"family": new_item["family"]} if new_item.get("family") else {}))
        return decide_health(str(new_item["kind"]), str(new_item.get("name", "")), old, new)
    if "findings" not in new_item:
        return []
    ip, label = str(new_item.get("ip", "")), str(new_item.get("label") or "")
    if is_per_address(new_item["findings"]):  # a host or a network: findings per address
        old_findings, new_findings = written_many((old_item or {}).get("findings")), new_item["findings"]
        alerts = decide((old_item or {}).get("findings"), new_findings, ip, label, target=ip)
    else:
        old_findings, new_findings = written((old_item or {}).get("findings")), written(new_item["findings"])
        alerts = decide(old_findings, new_findings, ip, label)
    reminded = new_findings.get("reminded_at")
    if reminded and reminded != old_findings.get("reminded_at"):
        fresh = {(a.event, a.ip, a.zone) for a in alerts}
        alerts += [a for a in reminders(new_findings, ip, label) if (a.event, a.ip, a.zone) not in fresh]
    if others := new_item.get("watched_with"):  # an address other targets watch too: each alert names them
        alerts = [replace(a, also=watching(others, a.ip)) if a.ip else a for a in alerts]
    return alerts


@dataclass(frozen=True)
class Change:
    """One stream record: its id (what to report when it fails) and the item before and after."""

    id: str
    old: dict | None
    new: dict | None


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
        if done:
            log.info("alerts sent before, not again", extra={"alerts": len(done)})
        todo = [(cid, a) for cid, a in pending if a.key not in done]
        origin: dict[str, set[str]] = {}
        for cid, alert in todo:
            origin.setdefault(alert.key, set()).add(cid)
        unique = list({a.key: a for _, a in todo}.values())
        for alerts in group(unique):
            text = render_group(alerts)
            try:
                topic.publish(text)
                sent_log.mark(text.keys)
            except Exception as exc:  # noqa: BLE001 - reported per change, retried by the stream
                log.error(
                    "alert not sent",
                    extra={"event": alerts[0].event, "alerts": len(alerts), "reason": f"{type(exc).__name__}: {exc}"},
                )
                failed.update(cid for a in alerts for cid in origin[a.key])
                continue
            outcome.alerts += len(alerts)
            outcome.messages += 1
            log.info("alert sent", extra={**text.attributes, "alerts": len(alerts)})
    outcome.failed = sorted(failed, key=lambda cid: (len(cid), cid))  # sequence numbers: oldest first
    return outcome
