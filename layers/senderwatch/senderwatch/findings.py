"""Findings: what senderwatch last concluded about a watched address, and what changed.

The findings live on the target's DynamoDB item and change only when a conclusion
changes, so the table's stream carries exactly the changes worth looking at.

- A zone that answers gives a verdict (listed or clean), kept with the time it began.
- A zone that cannot answer (error or unhealthy) keeps its previous verdict and counts
  the runs in a row it has failed; at FAILING_RUNS it is reported once (CHECK_FAILING).
- SPF keeps its result with the time it began; temperror keeps the previous result.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .check import CheckResult
from .dnsbl import CLEAN, LISTED

FAILING_RUNS = 3

LISTED_EVENT, DELISTED, SPF_FAILING, SPF_RECOVERED, CHECK_FAILING = (
    "LISTED",
    "DELISTED",
    "SPF_FAILING",
    "SPF_RECOVERED",
    "CHECK_FAILING",
)
SEVERITY = {
    LISTED_EVENT: "high",
    SPF_FAILING: "high",
    CHECK_FAILING: "warning",
    DELISTED: "info",
    SPF_RECOVERED: "info",
}


def merge(previous: dict | None, result: CheckResult, now: str) -> dict:
    """New findings from the previous ones and one run's result (pure; NOW is ISO 8601)."""
    old = previous or {}
    new: dict = {"dnsbl": {}, "spf": old.get("spf"), "rdns": old.get("rdns"), "reminded_at": old.get("reminded_at")}
    old_zones = old.get("dnsbl", {})
    for verdict in result.dnsbl:
        before = old_zones.get(verdict.zone, {})
        if verdict.status in (LISTED, CLEAN):
            entry = {"status": verdict.status}
            if verdict.status == LISTED:
                entry.update(
                    codes=list(verdict.codes),
                    meaning=verdict.meaning,
                    reason=verdict.reason,
                    delist_url=verdict.delist_url,
                )
            same = before.get("status") == verdict.status
            entry["since"] = before.get("since", now) if same else now
        else:
            entry = {
                key: before[key]
                for key in ("status", "since", "codes", "meaning", "reason", "delist_url")
                if key in before
            }
            entry.setdefault("status", "unknown")
            entry["error"] = verdict.error
            entry["error_runs"] = int(before.get("error_runs", 0)) + 1
            entry.setdefault("error_since", before.get("error_since", now))
        new["dnsbl"][verdict.zone] = entry
    if result.spf is not None:
        before = old.get("spf") or {}
        if result.spf.result == "temperror":
            new["spf"] = dict(before, error="temperror") if before else None
        else:
            same = before.get("result") == result.spf.result
            new["spf"] = {
                "sender": result.spf.sender,
                "result": result.spf.result,
                "mechanism": result.spf.mechanism,
                "record": result.spf.record,
                "explanation": result.spf.explanation,
                "since": before.get("since", now) if same else now,
            }
    if result.rdns is not None and not result.rdns.error:
        new["rdns"] = {"ptr": list(result.rdns.ptr), "forward_confirmed": result.rdns.forward_confirmed}
    return _drop_none(new)


def _drop_none(findings: dict) -> dict:
    return {key: value for key, value in findings.items() if value is not None}


def significant(findings: dict | None) -> dict:
    """The part of findings whose change is worth a write (and so a stream record)."""
    if not findings:
        return {}
    out = copy.deepcopy(findings)
    for entry in out.get("dnsbl", {}).values():
        entry.pop("reason", None)  # a list rewording its TXT is not news
    return out


@dataclass(frozen=True)
class Alert:
    event: str
    ip: str
    since: str
    zone: str = ""
    details: dict = field(default_factory=dict)
    reminder: str = ""  # for a reminder: when it was due (each reminder is its own alert)

    @property
    def key(self) -> str:
        """What the alert is about: the same change always has the same key (for idempotency)."""
        return "|".join((self.event, self.ip, self.zone, self.since, self.reminder))

    @property
    def severity(self) -> str:
        return SEVERITY[self.event]


def decide(old: dict | None, new: dict, ip: str) -> list[Alert]:
    """The alerts a change of findings deserves (pure). Errors never raise or clear one."""
    old = old or {}
    alerts: list[Alert] = []
    old_zones, new_zones = old.get("dnsbl", {}), new.get("dnsbl", {})
    for zone, entry in new_zones.items():
        before = old_zones.get(zone, {})
        was, now_status = before.get("status"), entry.get("status")
        if now_status == LISTED and was != LISTED:
            alerts.append(Alert(LISTED_EVENT, ip, entry.get("since", ""), zone, entry))
        elif now_status == CLEAN and was == LISTED:
            alerts.append(Alert(DELISTED, ip, entry.get("since", ""), zone, dict(before, **entry)))
        if entry.get("error_runs", 0) >= FAILING_RUNS > before.get("error_runs", 0):
            alerts.append(Alert(CHECK_FAILING, ip, entry.get("error_since", ""), zone, entry))
    old_spf, new_spf = old.get("spf") or {}, new.get("spf") or {}
    if new_spf and "result" in new_spf:
        was, result = old_spf.get("result"), new_spf["result"]
        if result != "pass" and was in (None, "pass"):
            alerts.append(Alert(SPF_FAILING, ip, new_spf.get("since", ""), details=dict(new_spf, previous=was)))
        elif result == "pass" and was not in (None, "pass"):
            alerts.append(Alert(SPF_RECOVERED, ip, new_spf.get("since", ""), details=dict(new_spf, previous=was)))
    return alerts


def reminder_due(findings: dict, now: datetime, days: int) -> bool:
    """True when a problem has gone unmentioned for DAYS days (0: reminders are off)."""
    if days <= 0:
        return False
    problems = [e.get("since", "") for e in findings.get("dnsbl", {}).values() if e.get("status") == LISTED]
    spf = findings.get("spf") or {}
    if spf.get("result") not in (None, "pass"):
        problems.append(spf.get("since", ""))
    if not problems:
        return False
    last = max([*problems, findings.get("reminded_at", "")])
    try:
        return now - datetime.fromisoformat(last) >= timedelta(days=days)
    except ValueError:
        return False


def reminders(findings: dict, ip: str) -> list[Alert]:
    """Alerts for problems still present (sent every N days when reminders are on)."""
    due = str(findings.get("reminded_at") or "due")
    out = [
        Alert(LISTED_EVENT, ip, e.get("since", ""), zone, e, reminder=due)
        for zone, e in findings.get("dnsbl", {}).items()
        if e.get("status") == LISTED
    ]
    spf = findings.get("spf") or {}
    if spf.get("result") not in (None, "pass"):
        out.append(Alert(SPF_FAILING, ip, spf.get("since", ""), details=spf, reminder=due))
    return out
