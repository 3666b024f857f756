"""The work of `senderwatch mute`, `unmute` and `mutes`, with boto3: a mute written to the health
table (`mute:ID`, beside the lists' and domains' records the notifier already reads), with who set
it (the AWS caller's ARN, else the login name); mutes ended (written if unchanged); the table of them."""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..addresses import shown
from ..aws import CallerIdentity, HealthStore, TargetStore, aws_errors, client
from ..errors import InvalidInput, ServiceError
from ..findings import MUTE
from ..history import History, stamp
from ..mutes import (
    CLEARED,
    EXPIRED,
    acknowledging,
    covers,
    described,
    ends,
    holds,
    mute_id,
    muting,
    new_mute,
    overlaps,
    parse_for,
    parse_until,
    problems_now,
    scope_value,
    summary,
    unmuted,
    wrong_now,
)
from ..ports import Caller, HistoryReader, update
from ..records import MuteRecord
from ..text import clean_text, json_text, visible
from .common import json_options, write
from .fleet import find_deployment, refusal


@dataclass(frozen=True)
class Where:
    targets: TargetStore
    health: HealthStore


def where(args) -> Where:
    """The deployment's tables: the targets (to know a target is watched) and the health table."""
    deployment = find_deployment(args.stack, args.table, args.health_table)
    if not deployment.health_table:
        raise InvalidInput("mutes are kept in the health table: with --table, say --health-table NAME (or use --stack)")
    return Where(TargetStore.named(deployment.table), HealthStore.named(deployment.health_table))


def parse_mute(
    scope: str, value: str, reason: str, length: str | None, until: str | None, until_clear: bool
) -> MuteRecord:
    """The mute the command line asks for, checked before AWS is asked anything (who set it: `mute`)."""
    now = datetime.now(UTC)
    return new_mute(
        scope,
        value,
        reason,
        "",
        now,
        length=parse_for(length) if length is not None else None,
        until=parse_until(until, now) if until is not None else None,
        until_clear=until_clear,
    )


def who(caller: Caller) -> str:
    """Who is setting or ending a mute: the AWS caller identity's ARN, else the login name."""
    try:
        return caller.arn()
    except ServiceError:
        try:
            return getpass.getuser()
        except (OSError, KeyError):
            return "unknown"


def mute(place: Where, record: MuteRecord) -> int:
    if record["scope"] == "target":
        with aws_errors("cannot read the watched targets"):
            watched = place.targets.get_many([record["value"]])
        if not watched:
            raise InvalidInput(f"{visible(record['value'])} is not watched: see senderwatch targets list")
    if record["until_clear"]:  # an acknowledgement: of something wrong now, as the daily run will judge it
        with aws_errors("cannot read what is wrong now"):
            acknowledging(record, problems_now([*place.targets.scan(), *place.health.items()]))
    record = {**record, "by": who(CallerIdentity(client("sts")))}
    with aws_errors("cannot write the mute"):
        place.health.save(mute_id(record["id"]), record, 0)
    kept = "" if record["scope"] == "event" else "; an alert saying a problem is over still is"
    write(f"muted {described(record)} {ends(record)} (mute {record['id']}): its alerts are recorded, not sent{kept}")
    return 0


def _records(place: Where) -> list[MuteRecord]:
    with aws_errors("cannot read the mutes"):
        return sorted(place.health.mutes(), key=lambda m: (str(m.get("at", "")), str(m.get("id", ""))))


def unmute(place: Where, names: list[str]) -> int:
    """End each mute NAMES names (its id, or what it silences); those no mute has are said (exit 2)."""
    now = datetime.now(UTC)
    holding = [m for m in _records(place) if holds(m, now)]
    by = who(CallerIdentity(client("sts")))
    ended: dict[str, MuteRecord] = {}
    missing = []
    for name in names:
        found = [m for m in holding if name == m.get("id") or m.get("value") in _as_values(name)]
        if not found:
            missing.append(name)
        for record in found:
            with aws_errors("cannot end the mute"):
                written = update(place.health, mute_id(str(record["id"])), lambda m: unmuted(m, by, now))
            if written is not None:
                ended[str(record["id"])] = written
    if ended:
        write("\n".join(f"unmuted {described(m)} (mute {m['id']}): its alerts are sent again" for m in ended.values()))
    if missing:
        raise refusal([f"no mute that holds is {shown(name)}: see senderwatch mutes" for name in missing])
    return 0


def _as_values(name: str) -> set[str]:
    """What a mute of NAME keeps as its value, whichever it silences."""
    values = {name}
    for scope in ("target", "zone", "event", "domain"):
        try:
            values.add(scope_value(scope, name))
        except InvalidInput:
            pass
    return values


_COLUMNS = ("ID", "SILENCES", "UNTIL", "SET BY", "AT", "REASON")


def show(place: Where, form: str, *, every: bool = False) -> int:
    now = datetime.now(UTC)
    records = [m for m in _records(place) if every or holds(m, now)]
    if form == "json":
        write(json_text({"mutes": [dict(m, holds=holds(m, now)) for m in records]}, **json_options()))
        return 0
    if not records:
        write("No mutes hold: every alert is sent. (senderwatch mute TARGET --for 7d --reason TEXT)")
        return 0
    rows = [_COLUMNS] + [
        (
            str(m.get("id", "")),
            clean_text(described(m), 80),
            ends(m) + (f" ({_how_ended(m)})" if m.get("ended") else ""),
            clean_text(str(m.get("by", "")), 80),
            str(m.get("at", "")).replace("T", " ")[:16],
            clean_text(str(m.get("reason", "")), 120),
        )
        for m in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    write("\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows))
    return 0


def _how_ended(mute: MuteRecord) -> str:
    """How an ended mute ended, for the table: `expired`, `cleared`, or who unmuted it."""
    by = str(mute.get("ended_by", ""))
    return by if by in (EXPIRED, CLEARED) else f"unmuted by {clean_text(by, 80)}"


# -- what status, history and the report show of the mutes -------------------------------------------


def mute_records(health_items: Iterable[dict]) -> list[MuteRecord]:
    """The mutes among the health table's items (HealthStore.items()), oldest first."""
    found = [i["health"] for i in health_items if i.get("kind") == MUTE and isinstance(i.get("health"), dict)]
    return sorted(found, key=lambda m: (str(m.get("at", "")), str(m.get("id", ""))))


def history_mutes(
    document: dict,
    found: History,
    mutes: list[MuteRecord],
    store: HistoryReader,
    now: datetime,
    about: set[str] | None = None,
) -> None:
    """DOCUMENT (FOUND's) with the `mutes` that held in its time, each with how many alerts it kept
    from being sent (`withheld`), and on each period one silenced, `muted` (their ids); without a
    mute in its time, DOCUMENT is left as it is. ABOUT (the keys of the targets a history of some
    targets names): only the mutes of those targets, and those that silenced one of its periods."""
    since = _time(document["from"])
    until = max(_time(document["to"]), now)  # `to` is to the second: a mute set within it held too
    shown = [m for m in mutes if overlaps(m, since, until)]
    if about is not None:
        used = {i for period in found.periods for i in muting(shown, period, now)}
        shown = [m for m in shown if m.get("id") in used or (m.get("scope") == "target" and m.get("value") in about)]
    if not shown:
        return  # the document as it always was
    for period, row in zip(found.periods, document["history"]):
        if ids := muting(shown, period, now):
            row["muted"] = ids
    withheld: dict[str, int] = {}
    if shown:
        keys = [mute_id(str(m.get("id", ""))) for m in shown]
        for item in store.query(keys, stamp(since), stamp(until)):
            mid = str(item.get("ip", "")).partition(":")[2]
            withheld[mid] = withheld.get(mid, 0) + len(item.get("muted") or [])
    document["mutes"] = [dict(summary(m), withheld=withheld.get(str(m.get("id")), 0)) for m in shown]


def mutes_text(mutes: list[dict], heading: str = "Muted") -> str:
    """The mutes for people: what each silences, until when, who set it and why (and, in the
    history, how many alerts it kept from being sent)."""
    if not mutes:
        return ""
    lines = [f"{heading}:"]
    for m in mutes:
        kept = (
            f"; {m['withheld']} alert{'s' if m['withheld'] != 1 else ''} recorded, not sent" if "withheld" in m else ""
        )
        lines.append(
            f"  {m.get('id')}  {clean_text(described(m), 80)} {ends(m)}, by {clean_text(str(m.get('by', '')), 80)}: "
            f"{clean_text(str(m.get('reason', '')), 120)}{kept}"
        )
    return "\n".join(lines)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def status_mutes(
    rows: list[dict], items: list[dict], domains: list[dict] | None, domain_items: list[dict], mutes: list[MuteRecord]
) -> None:
    """Each row of ROWS (the targets, from ITEMS) and DOMAINS (from DOMAIN_ITEMS) that one of MUTES
    (those that hold) silences - a mute of the target itself, or one covering a problem it has now -
    with `muted`: their ids."""
    from ..notifier import alerts_for_change  # what is wrong now, as the notifier judges it

    def ids(item: dict | None, scope: str, key: str) -> list[str]:
        problems = wrong_now(alerts_for_change(None, item)) if item else []
        return [
            str(m.get("id", ""))
            for m in mutes
            if (m.get("scope") == scope and m.get("value") == key) or any(covers(m, a) for a in problems)
        ]

    by_key = {str(i.get("ip", "")): i for i in items}
    for row in rows:
        if muted := ids(by_key.get(str(row.get("ip", ""))), "target", str(row.get("ip", ""))):
            row["muted"] = muted
    by_domain = {str(i.get("name", "")): i for i in domain_items}
    for row in domains or []:  # a domain's own mute marks its row, as a target's marks the target's
        if muted := ids(by_domain.get(str(row.get("domain", ""))), "domain", str(row.get("domain", ""))):
            row["muted"] = muted
