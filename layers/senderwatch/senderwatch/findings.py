"""Findings: what senderwatch last concluded about a watched address, and what changed.

The findings live on the target's DynamoDB item and change only when a conclusion
changes, so the table's stream carries exactly the changes worth looking at.

- A zone that answers gives a verdict (listed or clean), kept with the time it began.
- A zone that cannot answer about this address keeps its previous verdict and counts the
  scheduled runs in a row it has failed (a message delivered twice is one run); at
  FAILING_RUNS it is reported once (CHECK_FAILING).
- A zone that cannot be used at all this run (it refuses our resolver, fails its test
  entries) is the deployment's problem, not the address's: the address's findings do not
  change, and the zone's own health record counts the runs (one alert for the deployment).
- SPF keeps its result with the time it began, for the sender it was found for; temperror
  keeps the previous result. A new sender starts afresh; no sender, no SPF finding.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .advice import worse
from .check import CheckResult
from .dnsbl import CLEAN, LISTED

FAILING_RUNS = 3  # scheduled runs in a row a list must fail before it is reported

LISTED_EVENT, DELISTED, SPF_FAILING, SPF_RECOVERED, CHECK_FAILING = (
    "LISTED",
    "DELISTED",
    "SPF_FAILING",
    "SPF_RECOVERED",
    "CHECK_FAILING",
)
CHECK_RECOVERED, RESOLVER_FAILING, RESOLVER_RECOVERED = "CHECK_RECOVERED", "RESOLVER_FAILING", "RESOLVER_RECOVERED"
SEVERITY = {
    LISTED_EVENT: "high",
    SPF_FAILING: "high",
    RESOLVER_FAILING: "high",
    CHECK_FAILING: "warning",
    DELISTED: "info",
    SPF_RECOVERED: "info",
    CHECK_RECOVERED: "info",
    RESOLVER_RECOVERED: "info",
}


@dataclass(frozen=True)
class Run:
    """One run of checks: when it began (the same for every message of it), and whether it
    is a scheduled run (which counts toward CHECK_FAILING) or the first check of new targets."""

    id: str = ""
    scheduled: bool = False


MANUAL = Run()  # a check outside any run (a message sent by hand): it never counts toward CHECK_FAILING


def merge(previous: dict | None, result: CheckResult, now: str, run: Run = MANUAL) -> dict:
    """New findings from the previous ones and one run's result (pure; NOW is ISO 8601)."""
    old = previous or {}
    new: dict = {"dnsbl": {}, "rdns": old.get("rdns"), "reminded_at": old.get("reminded_at")}
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
        elif verdict.zone_failed:  # the deployment's problem this run: the address's finding stands
            if not before:
                continue
            entry = dict(before)
        else:
            entry = {
                key: before[key]
                for key in ("status", "since", "codes", "meaning", "reason", "delist_url")
                if key in before
            }
            entry.setdefault("status", "unknown")
            entry["error"] = verdict.error
            entry["error_since"] = before.get("error_since", now)
            counted = run.scheduled and before.get("error_run") != run.id
            entry["error_runs"] = int(before.get("error_runs", 0)) + counted
            if counted or "error_run" in before:
                entry["error_run"] = run.id if counted else before["error_run"]
        new["dnsbl"][verdict.zone] = entry
    if result.spf is not None:
        before = old.get("spf") or {}
        if before.get("sender") != result.spf.sender:
            before = {}  # found for another sender: this one starts afresh
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
    ip: str  # "" for an alert about the deployment (a list it cannot use, its resolver)
    since: str
    zone: str = ""
    details: dict = field(default_factory=dict)
    reminder: str = ""  # for a reminder: when it was due (each reminder is its own alert)
    label: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        """What the alert is about: the same change always has the same key (for idempotency)."""
        return "|".join((self.event, self.ip, self.zone, self.since, self.reminder))

    @property
    def severity(self) -> str:
        return SEVERITY[self.event]


def decide(old: dict | None, new: dict, ip: str, label: str = "") -> list[Alert]:
    """The alerts a change of findings deserves (pure). Errors never raise or clear one."""
    old = old or {}
    alerts: list[Alert] = []
    old_zones, new_zones = old.get("dnsbl", {}), new.get("dnsbl", {})
    for zone, entry in new_zones.items():
        before = old_zones.get(zone, {})
        was, now_status = before.get("status"), entry.get("status")
        if now_status == LISTED and was != LISTED:
            alerts.append(Alert(LISTED_EVENT, ip, entry.get("since", ""), zone, entry, label=label))
        elif now_status == CLEAN and was == LISTED:
            alerts.append(Alert(DELISTED, ip, entry.get("since", ""), zone, dict(before, **entry), label=label))
        if entry.get("error_runs", 0) >= FAILING_RUNS > before.get("error_runs", 0):
            alerts.append(Alert(CHECK_FAILING, ip, entry.get("error_since", ""), zone, entry, label=label))
    old_spf, new_spf = old.get("spf") or {}, new.get("spf") or {}
    if new_spf and "result" in new_spf:
        was = old_spf.get("result") if old_spf.get("sender") == new_spf.get("sender") else None
        result = new_spf["result"]
        details = dict(new_spf, previous=was)
        if result != "pass" and worse(was, result):
            alerts.append(Alert(SPF_FAILING, ip, new_spf.get("since", ""), details=details, label=label))
        elif result == "pass" and was not in (None, "pass"):
            alerts.append(Alert(SPF_RECOVERED, ip, new_spf.get("since", ""), details=details, label=label))
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


def reminders(findings: dict, ip: str, label: str = "") -> list[Alert]:
    """Alerts for problems still present (sent every N days when reminders are on)."""
    due = str(findings.get("reminded_at") or "due")
    out = [
        Alert(LISTED_EVENT, ip, e.get("since", ""), zone, e, reminder=due, label=label)
        for zone, e in findings.get("dnsbl", {}).items()
        if e.get("status") == LISTED
    ]
    spf = findings.get("spf") or {}
    if spf.get("result") not in (None, "pass"):
        out.append(Alert(SPF_FAILING, ip, spf.get("since", ""), details=spf, reminder=due, label=label))
    return out


# -- the deployment's own health: a list it cannot use, a resolver that does not work ----------------

ZONE, RESOLVER = "zone", "resolver"


def next_health(previous: dict | None, failure: dict | None, run: Run, now: str) -> dict | None:
    """The health record of a list (or the resolver) after RUN, or None when nothing changes.

    FAILURE is what went wrong this run ({"error": ..., "detail": ...}) or None when it worked.
    A run is counted once, however many invocations report it; an older run never counts.
    """
    old = previous or {}
    if old.get("run", "") >= run.id:
        return None
    failing = old.get("status") == "failing"
    if failure:
        return {
            "status": "failing",
            **failure,
            "since": old.get("since", now) if failing else now,
            "runs": int(old.get("runs", 0)) + 1 if failing else 1,
            "run": run.id,
        }
    if failing:
        return {"status": "ok", "since": now, "runs": 0, "failed_runs": int(old.get("runs", 0)), "run": run.id}
    return None


def decide_health(kind: str, name: str, old: dict | None, new: dict) -> list[Alert]:
    """One alert for the deployment when a list has failed FAILING_RUNS runs in a row (the
    resolver: at once), and one when it works again after that."""
    old = old or {}
    threshold = 1 if kind == RESOLVER else FAILING_RUNS
    failing, recovered = (
        (RESOLVER_FAILING, RESOLVER_RECOVERED) if kind == RESOLVER else (CHECK_FAILING, CHECK_RECOVERED)
    )
    zone = name if kind == ZONE else ""
    if new.get("status") == "failing" and int(new.get("runs", 0)) >= threshold > int(old.get("runs", 0)):
        return [Alert(failing, "", new.get("since", ""), zone, new)]
    if new.get("status") == "ok" and int(new.get("failed_runs", 0)) >= threshold:
        return [Alert(recovered, "", new.get("since", ""), zone, dict(new, failed_since=old.get("since", "")))]
    return []
