"""What the alerts of every subject say the same way: an address as people know it, a date, the
rows of a group's addresses, what strangers wrote made safe to show."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from ..findings import Alert, Stack
from ..text import clean_text, duration
from ..zones import catalogue, domain_catalogue
from .model import DATA_ADDRESSES, Code

EMAIL_ADDRESSES = 200  # addresses listed in one grouped email; the rest are counted
WATCHING = "senderwatch checks again every run and will tell you when the listing is gone."


def who(ip: str, label: str, target: str = "", also: Sequence[tuple[str, str]] = ()) -> str:
    """An address as people know it: with the host or network it belongs to, and its label; an
    address other targets watch too (ALSO: their keys and labels) names each of them, with its label
    ("watched alone" for the address itself, when it has none)."""
    targets = target.split(", ") if target else [""]
    watchers = {"" if t == ip else t: lab for t, lab in ((targets[0], label), *((t, "") for t in targets[1:]))}
    for other, other_label in also:
        key = "" if other == ip else other
        if not watchers.get(key):
            watchers[key] = other_label
    said = [", ".join(filter(None, (clean_text(t, 120), clean_text(lab, 40)))) for t, lab in watchers.items()]
    if len(said) > 1:
        said = [part or "watched alone" for part in said]
    about = "; ".join(filter(None, said))
    return f"{ip} ({about})" if about else ip


def reminded(alert: Alert) -> tuple[str, str]:
    """How a reminder says so: in the subject and the email, and in the SMS."""
    return ("Reminder: ", "senderwatch reminder:") if alert.reminder else ("", "senderwatch:")


def date(iso: str) -> str:
    return iso.replace("T", " ")[:16] + " UTC" if iso else "unknown"


def lasted(alert: Alert) -> str:
    """How long the problem an alert clears lasted, from its `began` detail to the alert's time
    (2 days 21 hours); "" when the alert does not say when it began."""
    began, ended = _time(alert.details.get("began")), _time(alert.since)
    if began is None or ended is None or ended < began:
        return ""
    return duration((ended - began).total_seconds())


def how_long(alert: Alert, was: str) -> str:
    """The sentence saying how long it lasted, to follow another (with its space before it):
    " It was listed for 2 days 21 hours, since 2026-11-28 09:21 UTC." ("" when it cannot say)."""
    said = lasted(alert)
    return f" {was} for {said}, since {date(str(alert.details['began']))}." if said else ""


def _time(value) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def clean(details: dict) -> dict:
    """Everything but our own fields came from strangers (DNS, SPF records) or a table row."""
    d = {k: clean_text(v, 450 if k == "record" else 300) if isinstance(v, str) else v for k, v in details.items()}
    d["codes"] = [clean_text(str(c), 40) for c in d.get("codes", [])]
    return d


def few(names: Sequence[str], count: int) -> str:
    """The first COUNT of NAMES, and how many more there are."""
    more = len(names) - count
    return ", ".join(names[:count]) + (f" +{more} more" if more > 0 else "")


def address_row(alert: Alert, note: str) -> str:
    return f"{who(alert.ip, alert.label, alert.target, alert.also)}  {note}".rstrip()


def capped(rows: Sequence[str]) -> tuple[str, ...]:
    """A group's rows, the first EMAIL_ADDRESSES of them: the rest are counted."""
    if len(rows) <= EMAIL_ADDRESSES:
        return tuple(rows)
    rest = len(rows) - EMAIL_ADDRESSES
    return (*rows[:EMAIL_ADDRESSES], f"... and {rest:,} more: senderwatch status shows them all")


def every_address(ips: Sequence[str]) -> dict:
    """A group's addresses for programs (the JSON document), as many as a publish can carry."""
    return {"ips": list(ips[:DATA_ADDRESSES]), "count": len(ips)}


def one_per_address(alerts: Sequence[Alert]) -> list[Alert]:
    """Alerts of one group, one per address: an address several targets watch (a host, and the
    network it is in, or the address itself) names them all, each with its label."""
    by_address: dict[str, Alert] = {}
    for alert in alerts:
        seen = by_address.get(alert.ip)
        if seen is None:
            by_address[alert.ip] = alert
        else:  # each target that watches it named, with its label (a host's or network's first)
            first, other = (alert, seen) if alert.target and not seen.target else (seen, alert)
            also = (*first.also, (other.target or other.ip, other.label), *other.also)
            if other.target and other.target not in first.target.split(", "):
                first = replace(first, target=", ".join(filter(None, (first.target, other.target))))
            by_address[alert.ip] = replace(first, also=also)
    return list(by_address.values())


def catalogue_zone(name: str):
    """An address list or a domain list of the catalogue, or None."""
    return catalogue().get(name) or domain_catalogue().get(name)


HEALTH_COMMANDS = ("status", "history", "report", "mute", "unmute", "mutes")  # those with --health-table


def senderwatch(stack: Stack, *words: str) -> Code:
    """A senderwatch command about the deployment STACK (an alert's), to copy as it is: WORDS
    (quoted for the shell), then the deployment it is about (--stack, or --table, with the
    --health-table of a command that reads it) and its --region."""
    where = ["--stack", stack.name] if stack.name else ["--table", stack.table] if stack.table else []
    if where[:1] == ["--table"] and stack.health_table and words[:1] and words[0] in HEALTH_COMMANDS:
        where += ["--health-table", stack.health_table]
    if where and stack.region:
        where += ["--region", stack.region]
    return Code(shlex.join(["senderwatch", *words, *where]))


def dead_letters_back(alert: Alert) -> Code | None:
    """The command that moves the check dead-letter queue's messages back to the check queue (None
    when the alert does not know the queue)."""
    arn = alert.stack.dead_letters
    region = arn.split(":")[3] if arn.count(":") >= 5 else ""
    if not region:
        return None
    return Code(shlex.join(["aws", "sqs", "start-message-move-task", "--source-arn", arn, "--region", region]))
