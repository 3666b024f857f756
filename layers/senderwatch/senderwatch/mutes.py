"""Mutes: what `senderwatch mute` silences, for how long, and which alerts it covers.

A mute is a record in the health table (`mute:ID`, records.MuteRecord): the deployment's own
state, beside its lists' and domains' health, read once per notifier invocation. An alert a mute
covers is recorded (in the history table and the notifier's log) and not sent. What each covers:

- a target (TARGET, as `targets list` shows it): every problem alert about it - its addresses'
  listings and SPF, a list that cannot check them, its host's name and addresses, a receiver
  refusing one of its addresses - and the reminders of them;
- a list (--zone): the listings on it (of addresses and of domains) and its failures, and reminders;
- a domain (--domain): the domain's own listings, SPF and DMARC records, and SPF failing for mail
  sent as it;
- an event (--event): exactly that event, wherever it happens, a clearing one too.

A target, list or domain mute never covers an alert that says a problem is over (DELISTED,
SPF_RECOVERED, ...): the operator wants to know it is over; `--event DELISTED` silences those.

A mute ends at its time (--for, --until), or, made with --until-clear (an acknowledged problem:
something it covers is wrong when it is made, `acknowledging`), when nothing it covers is wrong any
more; the scheduler's daily run ends it (`ending`), and when what it silenced is still wrong, one
MUTE_ENDED alert says so (findings.decide_mute).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from .addresses import shown
from .alerttext import WORDINGS
from .errors import InvalidInput
from .findings import MUTE, Alert, Event
from .history import (
    CHECK_FAILING,
    DMARC,
    DOMAIN_LISTING,
    HELO_SPF,
    LIST_UNUSABLE,
    LISTING,
    RECEIVER_BLOCK,
    SPF,
    SPF_RECORD,
    Period,
)
from .records import MuteRecord, Silenced

SCOPES = ("target", "zone", "event", "domain")
LONGEST = timedelta(days=366)
EXPIRED, CLEARED = "expired", "cleared"  # how a mute ended by itself (else: who unmuted it)
_ZONE_EVENTS = {Event.LISTED, Event.CHECK_FAILING, Event.DOMAIN_LISTED}
_DOMAIN_EVENTS = {Event.DOMAIN_LISTED, Event.SPF_RECORD_BROKEN, Event.DMARC_RECORD_BROKEN}
_FOR = re.compile(r"([0-9]{1,4})\s*(h|d|w)", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def mute_id(record_id: str) -> str:
    """The health table's id of a mute."""
    return f"{MUTE}:{record_id}"


# -- how long ---------------------------------------------------------------------------------------


def parse_for(text: str) -> timedelta:
    """--for: hours, days or weeks (12h, 7d, 2w), more than none and at most LONGEST."""
    match = _FOR.fullmatch(text.strip())
    if not match:
        raise InvalidInput(f"--for {shown(text)}: expected hours, days or weeks, such as 12h, 7d or 2w")
    length = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if not timedelta(0) < length <= LONGEST:
        raise InvalidInput(f"--for {shown(text)}: a mute lasts more than nothing and at most {LONGEST.days} days")
    return length


def parse_until(text: str, now: datetime) -> datetime:
    """--until: a date (the mute ends as that day begins, 00:00 UTC) or a time (UTC unless it says
    otherwise), after NOW and at most LONGEST from it."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        example = "such as 2026-12-15 or 2026-12-15T09:00"
        raise InvalidInput(f"--until {shown(text)}: expected a date or a time, {example}") from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when <= now:
        raise InvalidInput(f"--until {shown(text)} is in the past: a mute ends later than now")
    if when - now > LONGEST:
        raise InvalidInput(f"--until {shown(text)}: a mute lasts at most {LONGEST.days} days")
    return when


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


# -- a new mute -------------------------------------------------------------------------------------


def scope_value(scope: str, value: str) -> str:
    """VALUE as the mute keeps it (the target's key, a list's or domain's name, the event's name)."""
    from .identities import is_host_name
    from .targets import parse_target
    from .zones import validate_zone_name

    if scope == "target":
        return parse_target(value).key
    if scope == "zone":
        return validate_zone_name(value)
    if scope == "domain":
        name = value.strip().rstrip(".").lower()
        if not is_host_name(name) or "." not in name:
            raise InvalidInput(f"--domain {shown(value)}: expected a domain such as example.com")
        return name
    name = value.strip().upper()
    if name in Event.__members__ and name != Event.MUTE_ENDED:
        return name
    from .relay import EVENTS  # every event an alert is sent as

    if name in EVENTS:  # a mute's end, the digest, a test alert, the stack's alarms: not the fleet's problems
        raise InvalidInput(
            f"--event {name} cannot be muted: a mute silences the fleet's alerts, not the digest, test alerts, "
            "alarms or MUTE_ENDED (the events it takes: 'The events' in docs/alerts.md)"
        )
    raise InvalidInput(
        f"--event {shown(value)} is not an event senderwatch sends (the events: 'The events' in docs/alerts.md)"
    )


def new_mute(
    scope: str,
    value: str,
    reason: str,
    by: str,
    now: datetime,
    *,
    length: timedelta | None = None,
    until: datetime | None = None,
    until_clear: bool = False,
) -> MuteRecord:
    """A mute of SCOPE VALUE set by BY at NOW: for LENGTH, UNTIL a time, or UNTIL_CLEAR (exactly one)."""
    if sum((length is not None, until is not None, until_clear)) != 1:
        raise InvalidInput("say how long: --for (7d), --until (a date), or --until-clear, one of them")
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("say why: --reason TEXT (it is shown beside the mute, to whoever wonders)")
    if len(reason) > 300:
        raise InvalidInput("--reason: at most 300 characters")
    end = now + length if length is not None else until
    return {
        "id": secrets.token_hex(4),
        "scope": scope,
        "value": scope_value(scope, value),
        "reason": reason,
        "by": by,
        "at": iso(now),
        "until": iso(end) if end is not None else "",
        "until_clear": until_clear,
    }


# -- which alerts it covers -------------------------------------------------------------------------


def holds(mute: MuteRecord, now: datetime) -> bool:
    """Whether MUTE silences at NOW: not ended, and not past its end."""
    if mute.get("ended"):
        return False
    until = mute.get("until") or ""
    return bool(mute.get("until_clear")) or (bool(until) and _time(until) > now)


def holding(records: Iterable[MuteRecord], now: datetime) -> list[MuteRecord]:
    return [m for m in records if isinstance(m, dict) and holds(m, now)]


def covers(mute: MuteRecord, alert: Alert) -> bool:
    """Whether MUTE covers ALERT (see the module's first lines)."""
    scope, value, event = mute.get("scope"), str(mute.get("value", "")), Event(alert.event)
    if scope == "event":
        return event == value
    if event == Event.MUTE_ENDED or WORDINGS[event].clears is not None:
        return False  # a problem's end is sent, unless its event is muted
    if scope == "target":
        return value in (alert.target, alert.ip) or _in_network(alert.ip, value)
    if scope == "zone":
        return event in _ZONE_EVENTS and alert.zone == value
    if scope == "domain":
        if event in _DOMAIN_EVENTS:
            return alert.target == value
        sender = str(alert.details.get("sender") or "")
        return event == Event.SPF_FAILING and sender.rpartition("@")[2].lower() == value
    return False


def covering(mutes: Sequence[MuteRecord], alert: Alert) -> MuteRecord | None:
    """The first of MUTES that covers ALERT, or None."""
    return next((m for m in mutes if covers(m, alert)), None)


def _in_network(ip: str, value: str) -> bool:
    if "/" not in value or not ip:
        return False
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(value)
    except ValueError:
        return False


def _time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


# -- its end ----------------------------------------------------------------------------------------


def silenced(alert: Alert) -> Silenced:
    """An alert's facts, as a mute's record and the history keep them."""
    return {"event": str(alert.event), "ip": alert.ip, "zone": alert.zone, "target": alert.target, "since": alert.since}


def wrong_now(alerts: Iterable[Alert]) -> list[Alert]:
    """Of ALERTS (what each item's record says from nothing), the problems: no clearing event."""
    return [a for a in alerts if WORDINGS[Event(a.event)].clears is None and a.event != Event.MUTE_ENDED]


def problems_now(records: Iterable[Mapping[str, Any]]) -> list[Alert]:
    """What is wrong now, as the notifier judges each of RECORDS from nothing: the targets' items
    and the health table's (its lists' and domains'; the mutes among them say nothing)."""
    from .notifier import alerts_for_change  # loaded when a mute is judged: notifier imports this module

    return wrong_now(a for item in records if item.get("kind") != MUTE for a in alerts_for_change(None, dict(item)))


def acknowledging(mute: MuteRecord, problems: Sequence[Alert]) -> MuteRecord:
    """MUTE, checked: one made --until-clear acknowledges a problem, so something it covers must be
    wrong now (PROBLEMS). One of nothing would end at the next daily run, which ends mutes before it
    checks anything: the very problem it was meant for would then be alerted."""
    if mute.get("until_clear") and not any(covers(mute, a) for a in problems):
        raise InvalidInput(
            f"nothing to acknowledge: nothing {described(mute)} covers is wrong now; use --for or --until"
        )
    return mute


def ending(mute: MuteRecord | None, problems: Sequence[Alert], now: datetime) -> MuteRecord | None:
    """MUTE ended at NOW (None: it holds on, or has ended already), PROBLEMS being what is wrong now:
    past its end, it ends and names what it covers that is still wrong; one made --until-clear ends
    when nothing it covers is wrong any more."""
    if not mute or mute.get("ended"):
        return None
    covered = [silenced(a) for a in problems if covers(mute, a)]
    if not mute.get("until_clear") and _time(str(mute.get("until") or "")) <= now:
        return {**mute, "ended": iso(now), "ended_by": EXPIRED, "still": covered[:50]}
    if mute.get("until_clear") and not covered:
        return {**mute, "ended": iso(now), "ended_by": CLEARED, "still": []}
    return None


def unmuted(mute: MuteRecord | None, by: str, now: datetime) -> MuteRecord | None:
    """MUTE ended by hand (`senderwatch unmute`) at NOW; None when it has ended already."""
    if not mute or mute.get("ended"):
        return None
    return {**mute, "ended": iso(now), "ended_by": by}


def described(mute: Mapping[str, Any]) -> str:
    """What a mute silences, as people read it: `the target mail.example.com`, `the event LISTED`."""
    scope = {"target": "the target", "zone": "the list", "event": "the event", "domain": "the domain"}
    return f"{scope.get(str(mute.get('scope')), '?')} {mute.get('value', '')}"


def ends(mute: Mapping[str, Any]) -> str:
    """When it ends, as people read it."""
    if mute.get("ended"):
        return f"ended {str(mute['ended']).replace('T', ' ')[:16]} UTC"
    if mute.get("until_clear"):
        return "until it clears"
    return f"until {str(mute.get('until', '')).replace('T', ' ')[:16]} UTC"


# -- what `status`, `history` and the report show ---------------------------------------------------


def summary(mute: MuteRecord) -> dict:
    """A mute as the commands' JSON gives it beside what it covers: who, why, since and until when."""
    keys = ("id", "scope", "value", "reason", "by", "at", "until", "until_clear", "ended", "ended_by")
    return {key: mute[key] for key in keys if key in mute}  # type: ignore[literal-required]


def period_alert(period: Period) -> Alert | None:
    """The alert a period of the history began with, as the notifier decided it (None: none, as for
    an address without a PTR record)."""
    kind, key, about, ip = period.kind, period.target, period.about, period.ip or ""
    name = key.partition(":")[2]
    if kind == LISTING:
        return Alert(Event.LISTED, ip, period.start, about, target=key)
    if kind in (SPF, HELO_SPF):
        return Alert(
            Event.SPF_FAILING, ip, period.start, "helo" if kind == HELO_SPF else "", {"sender": about}, target=key
        )
    if kind == CHECK_FAILING:
        return Alert(Event.CHECK_FAILING, ip, period.start, about, target=key)
    if kind in (SPF_RECORD, DMARC, DOMAIN_LISTING):
        event = {SPF_RECORD: Event.SPF_RECORD_BROKEN, DMARC: Event.DMARC_RECORD_BROKEN}.get(kind, Event.DOMAIN_LISTED)
        return Alert(event, "", period.start, about if kind == DOMAIN_LISTING else "", target=name)
    if kind == RECEIVER_BLOCK:
        return Alert(Event.RECEIVER_BLOCKED, ip, period.start, "", target=about)
    if kind == LIST_UNUSABLE:
        event = Event.RESOLVER_FAILING if key == "resolver" else Event.CHECK_FAILING
        return Alert(event, "", period.start, "" if key == "resolver" else about)
    return None


def overlaps(mute: MuteRecord, start: datetime, end: datetime) -> bool:
    """Whether MUTE held at some time from START to END."""
    began = _time(str(mute.get("at", "")))
    over = mute.get("ended") or mute.get("until") or ""
    return began < end and (not over or _time(str(over)) > start)


def muting(mutes: Sequence[MuteRecord], period: Period, now: datetime) -> list[str]:
    """The ids of MUTES that silenced PERIOD's problem for some of its time."""
    alert = period_alert(period)
    if alert is None:
        return []
    start, end = _time(period.start), _time(period.end) if period.end else now
    return [str(m.get("id", "")) for m in mutes if overlaps(m, start, end) and covers(m, alert)]
