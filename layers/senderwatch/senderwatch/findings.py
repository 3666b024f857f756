"""Findings: what senderwatch last concluded about a watched address, and what changed.

What each record holds is in records.py (AddressFindings, ManyFindings, ListHealth, DomainHealth,
ReceiverRecord); this module says how one run changes them, and which changes are alerts.

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
  keeps the previous result. A new sender starts afresh; no sender, no SPF finding. A target
  with several senders keeps one result per sender (`spf` is then a list, as in `check`'s JSON);
  with one, `spf` is the one result, as earlier versions wrote it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .addresses import address_text, family_of
from .advice import problem_kind, worse
from .records import DomainHealth, ListHealth, RecordPart, count
from .runs import MANUAL, Run
from .verdicts import Verdict

if TYPE_CHECKING:
    from .dnsbl import ZoneVerdict
    from .domainhealth import DomainReport
    from .targetcheck import CheckResult

FAILING_RUNS = 3  # scheduled runs in a row a list must fail before it is reported


class Event(StrEnum):
    """What an alert is about; each problem has its clearing twin."""

    LISTED = "LISTED"
    DELISTED = "DELISTED"
    SPF_FAILING = "SPF_FAILING"
    SPF_RECOVERED = "SPF_RECOVERED"
    CHECK_FAILING = "CHECK_FAILING"
    CHECK_RECOVERED = "CHECK_RECOVERED"
    RESOLVER_FAILING = "RESOLVER_FAILING"
    RESOLVER_RECOVERED = "RESOLVER_RECOVERED"
    ADDRESS_ADDED = "ADDRESS_ADDED"
    ADDRESS_REMOVED = "ADDRESS_REMOVED"
    HOST_UNRESOLVED = "HOST_UNRESOLVED"
    HOST_RESOLVED = "HOST_RESOLVED"
    RECEIVER_BLOCKED = "RECEIVER_BLOCKED"
    RECEIVER_UNBLOCKED = "RECEIVER_UNBLOCKED"
    DOMAIN_LISTED = "DOMAIN_LISTED"
    DOMAIN_DELISTED = "DOMAIN_DELISTED"
    SPF_RECORD_BROKEN = "SPF_RECORD_BROKEN"
    SPF_RECORD_FIXED = "SPF_RECORD_FIXED"
    DMARC_RECORD_BROKEN = "DMARC_RECORD_BROKEN"
    DMARC_RECORD_FIXED = "DMARC_RECORD_FIXED"
    MUTE_ENDED = "MUTE_ENDED"  # a mute (`senderwatch mute`) is over, and what it silenced is still wrong


SEVERITY: dict[str, str] = {
    Event.LISTED: "high",
    Event.SPF_FAILING: "high",
    Event.RESOLVER_FAILING: "high",
    Event.CHECK_FAILING: "warning",
    Event.DELISTED: "info",
    Event.SPF_RECOVERED: "info",
    Event.CHECK_RECOVERED: "info",
    Event.RESOLVER_RECOVERED: "info",
    Event.ADDRESS_ADDED: "info",  # "warning" when the new address is listed or fails SPF
    Event.ADDRESS_REMOVED: "info",
    Event.HOST_UNRESOLVED: "warning",
    Event.HOST_RESOLVED: "info",
    Event.RECEIVER_BLOCKED: "high",
    Event.RECEIVER_UNBLOCKED: "info",
    Event.DOMAIN_LISTED: "high",
    Event.SPF_RECORD_BROKEN: "high",
    Event.DMARC_RECORD_BROKEN: "warning",
    Event.DOMAIN_DELISTED: "info",
    Event.SPF_RECORD_FIXED: "info",
    Event.DMARC_RECORD_FIXED: "info",
    Event.MUTE_ENDED: "warning",
}


SPF_IDENTITIES = ("spf", "helo_spf")  # MAIL FROM, and the HELO name when the target has one


def written(findings) -> dict:
    """Findings as senderwatch writes them (records.AddressFindings); anything else on the item
    (written by hand, say) is left out, so that a check starts afresh instead of failing on it."""
    if not isinstance(findings, dict):
        return {}
    out: dict = {}
    zones = findings.get("dnsbl")
    if isinstance(zones, dict):
        out["dnsbl"] = {
            str(zone): dict(entry)
            for zone, entry in zones.items()
            if isinstance(entry, dict) and isinstance(entry.get("status"), str)
        }
    for key in SPF_IDENTITIES:
        entries = [
            dict(spf)
            for spf in spf_entries(findings.get(key))
            if isinstance(spf.get("result"), str) and isinstance(spf.get("sender"), str)
        ]
        if entries:
            out[key] = spf_shape(entries)
    rdns = findings.get("rdns")
    if isinstance(rdns, dict) and isinstance(rdns.get("ptr"), list):
        out["rdns"] = dict(rdns)
    if isinstance(findings.get("reminded_at"), str):
        out["reminded_at"] = findings["reminded_at"]
    return out


def spf_entries(value) -> list[dict]:
    """An identity's SPF findings, one per sender: `spf` holds one result (one sender, as earlier
    versions wrote it) or a list of them (several senders); anything else holds none."""
    if isinstance(value, dict):
        return [value]
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def spf_shape(entries: list[dict]) -> dict | list[dict] | None:
    """ENTRIES as findings (and `check`'s JSON) hold them: one as itself, several as a list."""
    return entries[0] if len(entries) == 1 else entries or None


def per_sender(results: Sequence[Mapping]) -> str:
    """Each sender's result in words, as status and the report show a target with several senders:
    'softfail for postmaster@example.com, pass for postmaster@example.org'."""
    return ", ".join(f"{r.get('result')} for {r.get('sender')}" for r in results)


def spf_about(entries: Sequence[Mapping], sender: str) -> str:
    """What an SPF alert for mail from SENDER is about (its key's part beside the address): the
    sender when the target has several, each failing and clearing on its own; nothing with one
    sender (the alert's key as earlier versions made it)."""
    return sender if len(entries) > 1 else ""


def merge_verdicts(old_zones: dict, verdicts: Sequence[ZoneVerdict], now: str, run: Run = MANUAL) -> dict:
    """Each list's entry after one run's VERDICTS: a verdict replaces the last one (its 'since'
    kept while it holds); an error keeps it and counts the scheduled runs it has lasted."""
    new: dict = {}
    for verdict in verdicts:
        before = old_zones.get(verdict.zone, {})
        if verdict.status in (Verdict.LISTED, Verdict.CLEAN):
            entry: dict[str, Any] = {"status": verdict.status}
            if verdict.status == Verdict.LISTED:
                entry.update(
                    codes=list(verdict.codes),
                    meaning=verdict.meaning,
                    reason=verdict.reason,
                    delist_url=verdict.delist_url,
                )
            same = before.get("status") == verdict.status
            entry["since"] = before.get("since", now) if same else now
        elif verdict.zone_failed:  # the deployment's problem this run: the last finding stands
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
            entry["error_runs"] = count(before.get("error_runs")) + counted
            if counted or "error_run" in before:
                entry["error_run"] = run.id if counted else before["error_run"]
        new[verdict.zone] = entry
    return new


def merge(previous: dict | None, result: CheckResult, now: str, run: Run = MANUAL) -> dict:
    """New findings from the previous ones and one run's result (pure; NOW is ISO 8601)."""
    old = written(previous)
    new: dict = {"dnsbl": {}, "rdns": old.get("rdns"), "reminded_at": old.get("reminded_at")}
    new["dnsbl"] = merge_verdicts(old.get("dnsbl", {}), result.dnsbl, now, run)
    for key, results in zip(SPF_IDENTITIES, (result.spf, [result.helo_spf] if result.helo_spf else [])):
        # No sender (no HELO name): no finding; one for each sender, found for it (another starts afresh).
        was = {str(entry.get("sender")): entry for entry in spf_entries(old.get(key))}
        entries = []
        for spf in results:
            before = was.get(spf.sender) or {}
            if spf.result == "temperror":
                if before:
                    entries.append(dict(before, error="temperror"))
                continue
            same = before.get("result") == spf.result
            entries.append(
                {
                    "sender": spf.sender,
                    "result": spf.result,
                    "mechanism": spf.mechanism,
                    "record": spf.record,
                    "explanation": spf.explanation,
                    "since": before.get("since", now) if same else now,
                }
            )
        new[key] = spf_shape(entries)
    if result.rdns is not None and not result.rdns.error:
        new["rdns"] = {"ptr": list(result.rdns.ptr), "forward_confirmed": result.rdns.forward_confirmed}
    return _drop_none(new)


def _drop_none(findings: dict) -> dict:
    return {key: value for key, value in findings.items() if value is not None}


def worth_writing(findings: dict | None) -> dict:
    """The part of findings whose change is worth a write (and so a stream record)."""
    if not findings:
        return {}
    if is_per_address(findings):
        out = copy.deepcopy(written_many(findings))
        parts = list(out[PER_ADDRESS].values())
    else:
        out = copy.deepcopy(written(findings))
        parts = [out]
    for part in parts:
        for entry in part.get("dnsbl", {}).values():
            entry.pop("reason", None)  # a list rewording its TXT is not news
    return out


# -- a host or a network: findings per address (records.ManyFindings, records.MemberFindings) -------

PER_ADDRESS = "addresses"
_SPF_KEPT = ("sender", "result", "mechanism", "since", "error")


def is_per_address(findings) -> bool:
    return isinstance(findings, dict) and isinstance(findings.get(PER_ADDRESS), dict)


def compact(findings: dict, first: str) -> dict:
    """An address's findings as a host or network item keeps them: a list that has said "clean"
    since the address's FIRST check is left out (`expand` puts it back), and SPF keeps no record
    (the item keeps it once per identity), and no explanation but a permerror's."""
    out = {key: value for key, value in findings.items() if key not in ("dnsbl", "reminded_at")}
    out["first"] = first
    out["dnsbl"] = {
        zone: entry
        for zone, entry in findings.get("dnsbl", {}).items()
        if entry.get("status") != Verdict.CLEAN or entry.get("since", first) != first or "error_runs" in entry
    }
    for key in SPF_IDENTITIES:
        if out.get(key) is not None:
            # A permerror's explanation says what broke (more than 10 lookups...): the alert's fix.
            out[key] = spf_shape([_kept_spf(e) for e in spf_entries(out[key])])
    return out


def _kept_spf(entry: dict) -> dict:
    kept = (*_SPF_KEPT, "explanation") if entry.get("result") == "permerror" else _SPF_KEPT
    return {k: v for k, v in entry.items() if k in kept}


def expand(findings: dict | None, many: dict, address: str) -> dict:
    """An address's findings from a host or network item (MANY, as written_many gives it), as an
    address target's: each list asked for its family and not named said "clean" since its first check."""
    out = _written_member(findings or {})
    first = out.pop("first", "")
    dnsbl = out.setdefault("dnsbl", {})
    for zone in many.get("zones", {}).get(str(family_of(address)), ()):
        dnsbl.setdefault(zone, {"status": Verdict.CLEAN, "since": first} if first else {"status": Verdict.CLEAN})
    for name, record in many.get("spf_records", {}).items():
        for entry in spf_entries(out.get(name.partition(":")[0])):
            if entry.get("sender") == record.get("sender"):
                entry.setdefault("record", record.get("record"))
    return out


def written_many(findings) -> dict:
    """A host's or a network's findings as senderwatch writes them (records.ManyFindings; see written)."""
    if not is_per_address(findings):
        return {PER_ADDRESS: {}, "zones": {}, "spf_records": {}}
    zones = findings.get("zones")
    records = findings.get("spf_records")
    out: dict = {
        PER_ADDRESS: {str(a): _written_member(f) for a, f in findings[PER_ADDRESS].items() if isinstance(f, dict)},
        "zones": {
            str(family): [str(z) for z in names]
            for family, names in (zones.items() if isinstance(zones, dict) else ())
            if isinstance(names, (list, tuple, set))
        },
        "spf_records": {
            key: dict(value)
            for key, value in (records.items() if isinstance(records, dict) else ())
            if key.partition(":")[0] in SPF_IDENTITIES and isinstance(value, dict)
        },
    }
    for key in ("reminded_at", "addresses_since"):
        if isinstance(findings.get(key), str):
            out[key] = findings[key]
    if isinstance(findings.get("unresolved"), dict):
        out["unresolved"] = dict(findings["unresolved"])
    if isinstance(findings.get("notes"), list):
        out["notes"] = [str(n) for n in findings["notes"]]
    return out


def _written_member(findings: dict) -> dict:
    out = written(findings)
    if isinstance(findings.get("first"), str):
        out["first"] = findings["first"]
    return out


WHOLE_HOST = ("no-such-host", "no-address", "not-public")  # a host with nothing to check
LASTING = ("not-public", "too-many-addresses")  # lasting: said beside the addresses (a timeout is not)


def merge_many(previous: dict | None, results: Sequence[CheckResult], now: str, run: Run = MANUAL) -> dict:
    """New findings of a host or a network from the previous ones and its addresses' results (pure).

    An address no longer among RESULTS is gone from the target (the host no longer resolves to it).
    RESULTS may carry `problems` (check.AddressResults): what the host's resolution left unchecked.
    """
    old = written_many(previous)
    addresses: dict = {}
    zones: dict[str, set[str]] = {}
    records: dict[str, dict] = {}
    for result in results:
        address = address_text(result.ip)
        known = old[PER_ADDRESS].get(address)
        before = expand(known, old, address) if known is not None else None
        first = str(known.get("first") or now) if known is not None else now
        addresses[address] = compact(merge(before, result, now, run), first)
        zones.setdefault(str(result.ip.version), set()).update(v.zone for v in result.dnsbl)
        # Once per identity and sender: "spf" the first sender's (as earlier versions), "spf:SENDER" the others'.
        for key, spf in [
            *((f"spf:{s.sender}" if n else "spf", s) for n, s in enumerate(result.spf)),
            ("helo_spf", result.helo_spf),
        ]:
            if spf is not None and spf.record and key not in records:
                records[key] = {"sender": spf.sender, "record": spf.record}
    out: dict = {PER_ADDRESS: addresses, "zones": {family: sorted(names) for family, names in sorted(zones.items())}}
    out["spf_records"] = {key: records.get(key) or old["spf_records"][key] for key in (*records, *old["spf_records"])}
    same = is_per_address(previous) and set(addresses) == set(old[PER_ADDRESS])
    out["addresses_since"] = old.get("addresses_since", now) if same else now
    if old.get("reminded_at"):
        out["reminded_at"] = old["reminded_at"]
    problems = getattr(results, "problems", [])
    whole = next((p for p in problems if p.error in WHOLE_HOST and not addresses), None)
    if whole is not None:
        before = old.get("unresolved") or {}
        since = before.get("since", now) if before.get("error") == whole.error else now
        out["unresolved"] = {"error": whole.error, "detail": whole.detail, "since": since}
    notes = [p.detail for p in problems if p.error in LASTING and p is not whole]
    if notes:
        out["notes"] = notes
    return out


def decide_many(old: dict | None, new: dict, target: str, label: str = "") -> list[Alert]:
    """The alerts a change of a host's or a network's findings deserves: each address's own (as
    `decide`), and ADDRESS_ADDED / ADDRESS_REMOVED when the host gained or lost one after its
    first check. A new address's alert says whether it is listed and whether SPF passes for it."""
    before, after = written_many(old), written_many(new)
    first = not is_per_address(old)
    alerts: list[Alert] = []
    for address, entry in after[PER_ADDRESS].items():
        now_state = expand(entry, after, address)
        was = expand(before[PER_ADDRESS][address], before, address) if address in before[PER_ADDRESS] else None
        alerts += decide(was, now_state, address, label, target)
        if was is None and not first:
            senders = spf_entries(now_state.get("spf"))
            failing = [e for e in senders if e.get("result") not in MAIL_FINE]
            spf = (failing or senders or [{}])[0]  # the sender whose SPF fails for it, if one does
            details = {
                "host": target,
                "listed": sorted(z for z, e in now_state["dnsbl"].items() if e.get("status") == Verdict.LISTED),
                "lists": len(now_state["dnsbl"]),
                "spf": spf.get("result"),
                "sender": spf.get("sender"),
                "spf_problem": bool(spf.get("result")) and spf.get("result") not in MAIL_FINE,
                # each sender's, when the target has several (the alert says each)
                "senders": [{"sender": e.get("sender"), "result": e.get("result")} for e in senders]
                if len(senders) > 1
                else [],
                "ptr": (now_state.get("rdns") or {}).get("ptr", []),
            }
            since = after.get("addresses_since", "")
            alerts.append(Alert(Event.ADDRESS_ADDED, address, since, "", details, label=label, target=target))
    was_unresolved, unresolved = before.get("unresolved"), after.get("unresolved")
    if unresolved and (not was_unresolved or was_unresolved.get("error") != unresolved.get("error")):
        details = dict(unresolved, host=target, previous=sorted(before[PER_ADDRESS]))
        alerts.append(
            Alert(Event.HOST_UNRESOLVED, "", unresolved.get("since", ""), "", details, label=label, target=target)
        )
    elif was_unresolved and not unresolved and after[PER_ADDRESS]:
        details = dict(
            was_unresolved, host=target, addresses=sorted(after[PER_ADDRESS]), began=was_unresolved.get("since", "")
        )
        since = after.get("addresses_since", "")
        alerts.append(Alert(Event.HOST_RESOLVED, "", since, "", details, label=label, target=target))
    for address, entry in before[PER_ADDRESS].items():
        if address not in after[PER_ADDRESS]:
            was = expand(entry, before, address)
            listed = sorted(z for z, e in was["dnsbl"].items() if e.get("status") == Verdict.LISTED)
            details = {"host": target, "listed": listed}
            if (was.get("spf") or {}).get("sender"):
                details["sender"] = was["spf"]["sender"]  # to watch it alone as it was watched
            since = after.get("addresses_since", "")
            alerts.append(Alert(Event.ADDRESS_REMOVED, address, since, "", details, label=label, target=target))
    return alerts


@dataclass(frozen=True)
class Stack:
    """The deployment an alert comes from, as the commands it suggests must name it to run as
    written: its stack (or, without one, its targets and health tables), its region, its check
    dead-letter queue."""

    name: str = ""
    table: str = ""
    region: str = ""
    dead_letters: str = ""  # the check dead-letter queue's ARN
    health_table: str = ""  # where its mutes are kept: what `mute` and the others need beside --table


UNNAMED = Stack()  # an alert not sent by a deployment (a test's): its commands name none


@dataclass(frozen=True)
class Alert:
    event: str
    ip: str  # "" for an alert about the deployment (a list it cannot use, its resolver)
    since: str
    zone: str = ""
    details: dict = field(default_factory=dict)
    reminder: str = ""  # for a reminder: when it was due (each reminder is its own alert)
    label: str = field(default="", compare=False)
    target: str = ""  # the host or network the address belongs to ("" for an address target)
    stack: Stack = field(default=UNNAMED, compare=False)  # where it is sent from (the notifier says)
    also: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # other targets watching it: (key, label)

    @property
    def key(self) -> str:
        """What the alert is about: the same change always has the same key (for idempotency)."""
        key = "|".join((self.event, self.ip, self.zone, self.since, self.reminder))
        return f"{key}|{self.target}" if self.target else key

    @property
    def severity(self) -> str:
        if self.event == Event.ADDRESS_ADDED and (self.details.get("listed") or self.details.get("spf_problem")):
            return "warning"
        if self.event == Event.RECEIVER_BLOCKED and self.details.get("status_of_reply") == "deferred":
            return "warning"  # mail deferred, not refused: it is retried, and may yet be delivered
        if self.event == Event.SPF_RECORD_BROKEN and spares_every_address(self.details):
            return "warning"  # a record over the limit that still passes every watched address: fix it, not at 3am
        return SEVERITY[self.event]


def decide(old: dict | None, new: dict, ip: str, label: str = "", target: str = "") -> list[Alert]:
    """The alerts a change of findings deserves (pure). Errors never raise or clear one.

    For a host or a network (findings per address), see `decide_many`.
    """
    if is_per_address(new) or is_per_address(old):
        return decide_many(old, new, target or ip, label)
    old, new = written(old), written(new)
    alerts: list[Alert] = []
    old_zones, new_zones = old.get("dnsbl", {}), new.get("dnsbl", {})
    for zone, entry in new_zones.items():
        before = old_zones.get(zone, {})
        was, now_status = before.get("status"), entry.get("status")
        if now_status == Verdict.LISTED and was != Verdict.LISTED:
            # The other lists that list it: some lists' removal waits for them (JustSpam's does).
            others = sorted(z for z, e in new_zones.items() if z != zone and e.get("status") == Verdict.LISTED)
            details = dict(entry, also_listed=others)
            alerts.append(Alert(Event.LISTED, ip, entry.get("since", ""), zone, details, label=label, target=target))
        elif now_status == Verdict.CLEAN and was == Verdict.LISTED:
            details = dict(before, **entry, began=before.get("since", ""))  # when the listing began
            alerts.append(Alert(Event.DELISTED, ip, entry.get("since", ""), zone, details, label=label, target=target))
        if count(entry.get("error_runs")) >= FAILING_RUNS > count(before.get("error_runs")):
            alerts.append(
                Alert(Event.CHECK_FAILING, ip, entry.get("error_since", ""), zone, entry, label=label, target=target)
            )
    for key in SPF_IDENTITIES:
        helo = key == "helo_spf"
        before = {str(e.get("sender")): e for e in spf_entries(old.get(key))}
        current = spf_entries(new.get(key))
        for spf in current:
            alerts += _spf_alerts(spf, before.get(str(spf.get("sender"))) or {}, current, helo, ip, label, target)
    return alerts


def _spf_alerts(
    new_spf: dict, old_spf: dict, senders: list[dict], helo: bool, ip: str, label: str, target: str
) -> list[Alert]:
    """SPF_FAILING or SPF_RECOVERED for one result of an identity (one sender's; OLD_SPF: its last)."""
    fine = HELO_FINE if helo else MAIL_FINE
    was, result = old_spf.get("result"), new_spf["result"]
    # An alert about the HELO identity is its own alert (its key names it), not the sender's;
    # with several senders, each sender's is its own.
    about = "helo" if helo else spf_about(senders, str(new_spf.get("sender")))
    details = dict(new_spf, previous=was, identity="helo" if helo else "mailfrom")
    since = new_spf.get("since", "")
    if result not in fine and news(was, result, fine):
        return [Alert(Event.SPF_FAILING, ip, since, about, details, label=label, target=target)]
    if result in fine and was not in (None, *fine):
        details["began"] = old_spf.get("since", "")  # when it stopped passing
        return [Alert(Event.SPF_RECOVERED, ip, since, about, details, label=label, target=target)]
    return []


MAIL_FINE = ("pass",)
HELO_FINE = ("pass", "none")  # a HELO name without an SPF record is not a problem by itself


def news(before: str | None, after: str, fine=MAIL_FINE) -> bool:
    """Whether a failing SPF result AFTER is worth telling, after BEFORE: it newly fails, it got
    worse (softfail to fail), or it fails in another way that needs another fix (fail to none)."""
    return before is None or before in fine or worse(before, after) or problem_kind(before) != problem_kind(after)


def _problems(findings: dict) -> list[tuple[Event, str, dict]]:
    """(event, zone, details) of every problem present: listings, and failing SPF."""
    found = [(Event.LISTED, z, e) for z, e in findings.get("dnsbl", {}).items() if e.get("status") == Verdict.LISTED]
    for key, fine in zip(SPF_IDENTITIES, (MAIL_FINE, HELO_FINE)):
        entries = spf_entries(findings.get(key))
        for spf in entries:
            if spf.get("result") not in (None, *fine):
                about = "helo" if key == "helo_spf" else spf_about(entries, str(spf.get("sender")))
                found.append((Event.SPF_FAILING, about, spf))
    return found


def reminder_due(findings: dict, now: datetime, days: int) -> bool:
    """True when a problem has lasted DAYS days since it began, or since the last reminder
    (0: reminders are off). A newer problem does not put off the reminder of an older one."""
    if is_per_address(findings):
        many = written_many(findings)
        problems = [d for ip, entry in many["addresses"].items() for _, _, d in _problems(expand(entry, many, ip))]
        findings = {"reminded_at": many.get("reminded_at"), "dnsbl": {}, "_problems": problems}
    else:
        findings = written(findings)
    if days <= 0:
        return False
    try:
        found = findings.get("_problems") or [d for _, _, d in _problems(findings)]
        oldest = min((datetime.fromisoformat(d.get("since", "")) for d in found), default=None)
        last = datetime.fromisoformat(findings["reminded_at"]) if findings.get("reminded_at") else None
    except ValueError:
        return False
    if oldest is None:
        return False
    return now - max(oldest, last or oldest) >= timedelta(days=days)


def reminders(findings: dict, ip: str, label: str = "") -> list[Alert]:
    """Alerts for problems still present (sent every N days when reminders are on); IP is the
    item's key (a host's or a network's: one reminder per address with a problem)."""
    if is_per_address(findings):
        many = written_many(findings)
        due = str(many.get("reminded_at") or "due")
        return [
            Alert(event, address, d.get("since", ""), zone, d, reminder=due, label=label, target=ip)
            for address, entry in many["addresses"].items()
            for event, zone, d in _problems(expand(entry, many, address))
        ]
    findings = written(findings)
    due = str(findings.get("reminded_at") or "due")
    return [
        Alert(event, ip, d.get("since", ""), zone, d, reminder=due, label=label)
        for event, zone, d in _problems(findings)
    ]


# -- the deployment's own health: a list it cannot use, a resolver that does not work ----------------

ZONE, RESOLVER = "zone", "resolver"


def next_health(previous: ListHealth | None, failure: dict | None, run: Run, now: str) -> ListHealth | None:
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
    if kind == RESOLVER:
        failing, recovered = Event.RESOLVER_FAILING, Event.RESOLVER_RECOVERED
    else:
        failing, recovered = Event.CHECK_FAILING, Event.CHECK_RECOVERED
    zone = name if kind == ZONE else ""
    if new.get("status") == "failing" and int(new.get("runs", 0)) >= threshold > int(old.get("runs", 0)):
        return [Alert(failing, "", new.get("since", ""), zone, new)]
    if new.get("status") == "ok" and int(new.get("failed_runs", 0)) >= threshold:
        began = old.get("since", "")  # when it began failing
        return [Alert(recovered, "", new.get("since", ""), zone, dict(new, failed_since=began, began=began))]
    return []


# -- a domain's own health: its SPF and DMARC records, the domain lists (records.DomainHealth) -------
#
# A part that could not be looked up this time keeps its last state; a part a check did not look at
# (a PTR name has no SPF lint) too.

DOMAIN = "domain"
SPF_ALERTED = "no-record"  # the domain's own missing record is SPF_FAILING's news (with the fix), not this


def _record_part(before: RecordPart | None, report, now: str) -> RecordPart | None:
    """An SPF or DMARC record's part of a domain's findings after REPORT (None: not looked at)."""
    if report is None:
        return before
    if report.error:
        return {**before, "error": report.error} if before else None
    problems = [p.to_dict() for p in report.problems]
    codes = sorted({p["code"] for p in problems})
    same = before is not None and sorted({p["code"] for p in before.get("problems", [])}) == codes
    out: RecordPart = {"record": report.record, "problems": problems, "since": now}
    if same and before:
        out["since"] = before.get("since", now)
    if getattr(report, "policy", None) is not None:
        out["policy"] = report.policy
    return out


def merge_domain(previous: DomainHealth | None, report: DomainReport, now: str, run: Run = MANUAL) -> DomainHealth:
    """A domain's findings after one check (pure)."""
    old: DomainHealth = previous if isinstance(previous, dict) else {}
    new: DomainHealth = {"roles": sorted(set(old.get("roles", [])) | set(report.roles))}
    if (spf := _record_part(old.get("spf_record"), report.spf_record, now)) is not None:
        if report.watched and report.spf_record is not None and not report.spf_record.error:
            spf["watched"] = dict(sorted(report.watched.items()))  # what its problems do, as of this check
        new["spf_record"] = spf
    if (dmarc := _record_part(old.get("dmarc"), report.dmarc, now)) is not None:
        new["dmarc"] = dmarc
    zones = old["dnsbl"] if isinstance(old.get("dnsbl"), dict) else {}
    new["dnsbl"] = {**zones, **merge_verdicts(dict(zones), report.dnsbl, now, run)}
    return new


def domain_worth_writing(findings: Mapping[str, Any] | None) -> dict:
    """The part of a domain's findings whose change is worth a write: not a list's TXT wording,
    not a lookup that failed this time (the last state stands, and says so only beside a change)."""
    if not isinstance(findings, dict):
        return {}
    out = copy.deepcopy({k: v for k, v in findings.items() if k not in ("run",)})
    for entry in (out.get("dnsbl") or {}).values():
        for key in ("reason", "error", "error_since", "error_runs", "error_run"):
            entry.pop(key, None)
    for key in ("spf_record", "dmarc"):
        if isinstance(out.get(key), dict):
            out[key].pop("error", None)
            out[key].pop("watched", None)  # which addresses it was checked with: news only beside a problem
    return out


# An SPF record's problems that receivers turn into permerror for the senders they reach (not +all,
# ptr or a record too long for UDP): what each watched address's own SPF result shows of them.
PERMERROR_PROBLEMS = frozenset(
    {"no-record", "multiple-records", "syntax-error", "too-many-lookups", "too-many-void-lookups", "include-loop"}
)


def failed_by_record(part: Mapping[str, Any]) -> list[str] | None:
    """The watched addresses an SPF record's problems fail (their SPF gives permerror), from the
    addresses checked with it (`watched`); None when it was checked with none."""
    watched = part.get("watched")
    if not isinstance(watched, dict) or not watched:
        return None
    return [str(ip) for ip, result in watched.items() if result == "permerror"]


def spares_every_address(part: Mapping[str, Any]) -> bool:
    """True when an SPF record's problems all show as permerror and no watched address gets one
    (each is matched before the record's lookups run out)."""
    failed = failed_by_record(part)
    return failed == [] and _codes(dict(part)) <= PERMERROR_PROBLEMS


def _codes(part: dict | None, ignore: tuple[str, ...] = ()) -> set[str]:
    return {str(p.get("code")) for p in (part or {}).get("problems", []) if isinstance(p, dict)} - set(ignore)


def decide_domain(name: str, old: dict | None, new: dict) -> list[Alert]:
    """The alerts a change of a domain's findings deserves: a listing and its clearing, an SPF or
    DMARC record that breaks (a new kind of problem) and that is fixed (no problem left)."""
    old = old if isinstance(old, dict) else {}
    alerts: list[Alert] = []
    old_zones = old.get("dnsbl") or {}
    for zone, entry in (new.get("dnsbl") or {}).items():
        was = (old_zones.get(zone) or {}).get("status")
        details = dict(entry, domain=name, roles=new.get("roles", []))
        if entry.get("status") == Verdict.LISTED and was != Verdict.LISTED:
            alerts.append(Alert(Event.DOMAIN_LISTED, "", entry.get("since", ""), zone, details, target=name))
        elif entry.get("status") == Verdict.CLEAN and was == Verdict.LISTED:
            details["began"] = old_zones[zone].get("since", "")
            alerts.append(Alert(Event.DOMAIN_DELISTED, "", entry.get("since", ""), zone, details, target=name))
    for key, broken, fixed, ignore in (
        ("spf_record", Event.SPF_RECORD_BROKEN, Event.SPF_RECORD_FIXED, (SPF_ALERTED,)),
        ("dmarc", Event.DMARC_RECORD_BROKEN, Event.DMARC_RECORD_FIXED, ("policy-none",)),
    ):
        before, after = old.get(key), new.get(key)
        if after is None or after.get("error") and before is not None:
            continue
        was, now_codes = _codes(before, ignore), _codes(after, ignore)
        details = dict(after, domain=name, roles=new.get("roles", []), previous=sorted(was))
        if now_codes - was:
            alerts.append(Alert(broken, "", after.get("since", ""), "", details, target=name))
        elif was and not now_codes:
            details["began"] = (before or {}).get("since", "")  # when its problems began
            alerts.append(Alert(fixed, "", after.get("since", ""), "", details, target=name))
    return alerts


# -- what a receiver says of the sender (from the mail log) -----------------------------------------

RECEIVER = "receiver"


def decide_receiver(name: str, old: dict | None, new: dict | None) -> list[Alert]:
    """RECEIVER_BLOCKED for each block that begins, RECEIVER_UNBLOCKED for each that ends (the
    receiver accepted mail again), both for one that began and ended between two records; the
    same rejection seen again (only `last_seen` moves) is no news."""
    before = (old or {}).get("blocks") or {}
    alerts: list[Alert] = []
    for key, entry in ((new or {}).get("blocks") or {}).items():
        was = before.get(key) or {}
        ip, code = str(entry.get("sending_ip") or ""), str(entry.get("code", ""))
        details = dict(entry, receiver=name)
        began = not was or was.get("since") != entry.get("since")
        blocked = Alert(Event.RECEIVER_BLOCKED, ip, str(entry.get("since", "")), code, details, target=name)
        if entry.get("status") == "blocked" and (began or was.get("status") != "blocked"):
            alerts.append(blocked)
        elif entry.get("status") == "accepted" and (began or was.get("status") == "blocked"):
            if began:  # begun and over within one delivery of the log: both are news
                alerts.append(blocked)
            since = str(entry.get("accepted_since", ""))
            details["began"] = str(entry.get("since", ""))  # the block's first rejection
            alerts.append(Alert(Event.RECEIVER_UNBLOCKED, ip, since, code, details, target=name))
    return alerts


# -- a mute that ends while what it silenced is still wrong (records.MuteRecord) --------------------

MUTE = "mute"


def decide_mute(old: dict | None, new: dict | None) -> list[Alert]:
    """MUTE_ENDED once, when a mute's record is newly ended by its end time (not by `unmute`, nor
    by the problem clearing) and names what is still wrong of what it silenced (`still`)."""
    new = new if isinstance(new, dict) else {}
    if not new.get("ended") or (old or {}).get("ended") or new.get("ended_by") != "expired":
        return []
    still = [s for s in new.get("still") or [] if isinstance(s, dict)]
    if not still:
        return []
    value = str(new.get("value", ""))  # what it silenced: a target, a list, an event or a domain
    return [Alert(Event.MUTE_ENDED, "", str(new["ended"]), "", dict(new, still=still), target=value)]
