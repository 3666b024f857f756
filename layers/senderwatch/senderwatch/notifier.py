"""The notifier stage: changes of target items (and of the deployment's health) -> alerts,
grouped per event and list, each published once; an alert a mute covers (mutes.py) is recorded
in the history and the log, not sent."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from .alerttext import AlertText, group, render_group
from .findings import (
    DOMAIN,
    MUTE,
    RECEIVER,
    UNNAMED,
    Alert,
    Stack,
    decide,
    decide_domain,
    decide_health,
    decide_mute,
    decide_receiver,
    is_per_address,
    reminders,
    written,
    written_many,
)
from .mutes import covering, holding, mute_id, silenced
from .overlaps import watching
from .ports import History, Mutes, Publisher, SentLog

log = logging.getLogger(__name__)


def alerts_for_change(old_item: dict | None, new_item: dict | None) -> list[Alert]:
    """The alerts one change of an item deserves: a target's findings, or the deployment's health."""
    if not new_item:
        return []
    if new_item.get("kind") == MUTE:  # the health table: a mute, ended by the scheduler's run
        return decide_mute((old_item or {}).get("health"), new_item.get("health"))
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
    events: int = 0  # alerts put on the event bus (when there is one), as the same messages
    muted: int = 0  # alerts a mute covered: recorded, not sent


@dataclass
class Silencing:
    """What the notifier needs of the mutes: the mutes (read once per invocation), the history
    table that records what they silenced, for DAYS days, and the time it is."""

    mutes: Mutes
    history: History
    days: int = 90
    now: datetime | None = None

    def withhold(self, pending: list[tuple[str, Alert]]) -> tuple[list[tuple[str, Alert]], int]:
        """PENDING without what a mute covers (recorded in the history and the log), and how many."""
        now = self.now or datetime.now(UTC)
        mutes = holding(self.mutes.mutes(), now)
        if not mutes:
            return pending, 0
        kept: list[tuple[str, Alert]] = []
        by_mute: dict[str, list[Alert]] = {}
        for cid, alert in pending:
            mute = covering(mutes, alert)
            if mute is None:
                kept.append((cid, alert))
            else:
                by_mute.setdefault(str(mute.get("id", "")), []).append(alert)
        stamp = now.astimezone(UTC).isoformat(timespec="microseconds")
        items = []
        for mid, alerts in by_mute.items():  # one history item per mute: its key is the mute's id
            unique = list({a.key: a for a in alerts}.values())
            log.info("alerts muted, not sent", extra={"mute": mid, "alerts": len(unique), "events": _events(unique)})
            items.append({"ip": mute_id(mid), "checked_at": stamp, "muted": [silenced(a) for a in unique[:200]]})
        self.history.record(items, int((now + timedelta(days=self.days)).timestamp()))
        return kept, len(pending) - len(kept)


def _events(alerts: Sequence[Alert]) -> list[str]:
    return sorted({str(a.event) for a in alerts})


BUS = "bus:"  # the sent log's mark of an alert put on the event bus (the topic's is the key itself)


def notify(
    changes: Sequence[Change],
    sent_log: SentLog,
    topic: Publisher,
    bus: Publisher | None = None,
    *,
    stack: Stack = UNNAMED,
    silencing: Silencing | None = None,
) -> Notified:
    """Publish what CHANGES deserve: alerts grouped per event and list, each alert once to the
    topic, and once to the event BUS when there is one; the commands they suggest name STACK
    (the deployment they come from).

    An alert already in SENT_LOG (published by an earlier delivery of the same change) is not sent
    again; the log marks each destination apart, so when one of them fails, the changes the group
    came from fail, and only what that destination misses goes out when they are delivered again.
    An alert a mute covers (SILENCING) is recorded and not sent.
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
    if pending and silencing is not None:
        pending, outcome.muted = silencing.withhold(pending)
    if pending:
        destinations: list[tuple[str, str, Publisher]] = [("topic", "", topic)]
        if bus is not None:
            destinations.append(("bus", BUS, bus))
        done = sent_log.sent(mark + a.key for _, mark, _ in destinations for _, a in pending)
        if done:
            log.info("alerts sent before, not again", extra={"alerts": len(done)})
        origin: dict[str, set[str]] = {}
        for cid, alert in pending:
            origin.setdefault(alert.key, set()).add(cid)
        unique = [replace(a, stack=stack) for a in {a.key: a for _, a in pending}.values()]
        said: dict[tuple[str, ...], AlertText] = {}  # a group both destinations miss is rendered once
        for name, mark, publisher in destinations:
            for alerts in group([a for a in unique if mark + a.key not in done]):
                keys = tuple(a.key for a in alerts)
                text = said[keys] if keys in said else said.setdefault(keys, render_group(alerts))
                try:
                    publisher.publish(text)
                    sent_log.mark(mark + key for key in text.keys)
                except Exception as exc:  # noqa: BLE001 - reported per change, retried by the stream
                    log.error(
                        "alert not sent",
                        extra={
                            "event": alerts[0].event,
                            "alerts": len(alerts),
                            "to": name,
                            "reason": f"{type(exc).__name__}: {exc}",
                        },
                    )
                    failed.update(cid for a in alerts for cid in origin[a.key])
                    continue
                if name == "bus":
                    outcome.events += len(alerts)
                    continue
                outcome.alerts += len(alerts)
                outcome.messages += 1
                log.info("alert sent", extra={**text.attributes, "alerts": len(alerts)})
    outcome.failed = sorted(failed, key=lambda cid: (len(cid), cid))  # sequence numbers: oldest first
    return outcome
