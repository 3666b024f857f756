"""What the digest says (senderwatch.digest builds it): the period's summary as an AlertText, so
the channels show it as they show an alert - the email, the one-line SMS, the subject.

Its event says whether anything is wrong: DIGEST when something is (the SMS subscription lets it
through, as one line), DIGEST_ALL_WELL when nothing is (email only: the SMS filter never names
it), so a phone hears from the digest only when there is something to look at.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ..addresses import family_name
from ..findings import RESOLVER, UNNAMED, Stack
from ..history import (
    CHECK_FAILING,
    DMARC,
    DOMAIN_LISTING,
    HELO_SPF,
    LIST_UNUSABLE,
    LISTING,
    RDNS,
    RECEIVER_BLOCK,
    SPF,
    SPF_RECORD,
    Period,
    is_health_key,
)
from ..text import clean_text, counted, duration
from .model import AlertText, Lines, Rows
from .phrases import capped, date, senderwatch, who

if TYPE_CHECKING:
    from ..digest import Digest, Stale

DIGEST_EVENT, ALL_WELL_EVENT = "DIGEST", "DIGEST_ALL_WELL"  # not a finding's event: the digest's

_SAID = {  # how each kind of problem is said, after who it is about
    LISTING: "listed on {about}",
    SPF: "SPF {state} for {about}",
    HELO_SPF: "HELO SPF {state} for {about}",
    RDNS: "no reverse DNS (PTR)",
    CHECK_FAILING: "{about} could not check it ({state})",
    SPF_RECORD: "SPF record: {state}",
    DMARC: "DMARC record: {state}",
    DOMAIN_LISTING: "listed on {about}",
    RECEIVER_BLOCK: "refuses mail from {ip} ({state})",
    LIST_UNUSABLE: "{about}: {state}",
}
_KIND_NAMES = {  # the SMS's count of open problems, by kind
    LISTING: "listed",
    DOMAIN_LISTING: "listed",
    SPF: "SPF",
    HELO_SPF: "SPF",
    SPF_RECORD: "SPF record",
    DMARC: "DMARC",
    RDNS: "no PTR",
    CHECK_FAILING: "unchecked",
    RECEIVER_BLOCK: "refused",
}


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _lasted(period: Period, now: datetime) -> str:
    return duration(((_when(period.end) if period.end else now) - _when(period.start)).total_seconds())


def _runs(n: int) -> str:
    return counted(n, "scheduled run")


def _things(n: int) -> str:
    """How many things need a look ("1 thing needs", "3 things need")."""
    return f"{counted(n, 'thing')} {'needs' if n == 1 else 'need'}"


def _subject(period: Period, labels: dict[str, str]) -> str:
    """Who a period is about: an address (with its target and label), a domain, a receiver, a list."""
    if not is_health_key(period.target):
        return who(
            period.ip or period.target,
            labels.get(period.target, ""),
            "" if period.ip == period.target else period.target,
        )
    kind, _, name = period.target.partition(":")
    return {"domain": name, "receiver": f"receiver {name}"}.get(kind, "this deployment")


def said(period: Period, labels: dict[str, str]) -> str:
    """One problem as a row: who, what."""
    what = _SAID[period.kind].format(about=period.about, state=period.state, ip=period.ip or "your addresses")
    if period.kind == LIST_UNUSABLE:
        if period.target == RESOLVER:
            return f"the deployment's DNS resolver: {clean_text(period.state, 100)}"
        family = period.target.rpartition(":")[2]  # zone:NAME:FAMILY
        for_family = f" ({family_name(int(family))})" if family in ("4", "6") else ""
        return clean_text(f"{period.about}{for_family}: {period.state}", 300)
    return clean_text(f"{_subject(period, labels)}: {what}", 300)


def _open_row(period: Period, digest: Digest, now: datetime) -> str:
    new = ", new in this period" if period.start >= digest.start else ""
    seen = f", {_runs(period.runs)}" if period.runs else ""
    return f"{said(period, digest.labels)} - since {date(period.start)} ({_lasted(period, now)}{seen}{new})"


def _cleared_row(period: Period, digest: Digest) -> str:
    assert period.end is not None
    return f"{said(period, digest.labels)} - cleared {date(period.end)}, after {_lasted(period, _when(period.end))}"


def _stale_row(stale: Stale) -> str:
    """Who, and why the run missed it (status's words), and when it was last checked."""
    last = f" (last checked {date(stale.checked_at)})" if stale.checked_at else ""
    return clean_text(f"{who(stale.target, stale.label)}: {stale.detail}{last}", 400)


def _rows(heading: str, rows: Sequence[str]) -> Rows:
    return Rows(*capped(rows), heading=f"{heading} ({len(rows)}):")


def _checked(digest: Digest) -> str:
    """How many targets were checked, in how many runs, when the last was."""
    last = f", last run {date(_run_time(digest.last_run))}" if digest.last_run else ""
    disabled = f" ({digest.disabled} disabled)" if digest.disabled else ""
    targets = f"{digest.targets} target{'s' if digest.targets != 1 else ''}"
    return f"{targets} checked{disabled} in {_runs(digest.runs)}{last}"


def _run_time(run: str) -> str:
    """A run's id is the time it started (ISO 8601): as the history's times are shown."""
    try:
        return f"{_when(run):%Y-%m-%dT%H:%M:%SZ}"
    except ValueError:
        return ""


def _sms_counts(digest: Digest) -> str:
    kinds: dict[str, int] = {}
    seen = dict.fromkeys((p.ip or p.target, p.kind, p.about) for p in digest.open)  # an address watched twice: one
    for _, kind, _ in seen:
        name = _KIND_NAMES.get(kind, kind)
        kinds[name] = kinds.get(name, 0) + 1
    parts = [f"{n} {name}" for name, n in kinds.items()]
    if digest.unusable:
        parts.append(f"{len(digest.unusable)} list{'s' if len(digest.unusable) != 1 else ''} unusable")
    if digest.stale:
        parts.append(f"{len(digest.stale)} stale")
    if digest.targets and not digest.runs:
        parts.append("no scheduled run")
    return ", ".join(parts)


def digest_text(digest: Digest, now: datetime, stack: Stack = UNNAMED) -> AlertText:
    """The digest, for every channel: the email in full, the SMS in one line; its command names
    STACK (the deployment that sends it)."""
    period = f"{date(digest.start)} to {date(digest.end)}"
    began, cleared = digest.began, digest.cleared
    changes = f"{counted(len(began), 'problem')} began, {len(cleared)} cleared"
    body: list = []
    if not digest.wrong:
        headline = f"All is well: {_checked(digest)}."
        body.append(Lines(headline, f"Nothing is open; in this period {changes}."))
        title = ("senderwatch digest: all is well", f"senderwatch: all is well ({counted(digest.targets, 'target')})")
    else:
        counts = _sms_counts(digest)
        headline = f"Needs a look: {counts}."
        body.append(Lines(headline, f"{_checked(digest)}; in this period {changes}."))
        title = (f"senderwatch digest: {counts}", "senderwatch digest: something needs a look")
    if digest.targets and not digest.runs:
        doctor: tuple = ("senderwatch doctor, given the stack's name (--stack), says why.",)
        if stack.name:
            doctor = ("senderwatch doctor says why:", senderwatch(stack, "doctor"))
        body.append(
            Lines(
                "No scheduled run checked anything in this period: the schedule may be off, or the scheduler failing.",
                *doctor,
            )
        )
    if digest.open:
        body.append(_rows("Open now", [_open_row(p, digest, now) for p in digest.open]))
    if digest.unusable:
        body.append(_rows("Lists this deployment cannot use", [_open_row(p, digest, now) for p in digest.unusable]))
    if digest.stale:
        body.append(_rows("Not checked in the last scheduled run", [_stale_row(s) for s in digest.stale]))
    if cleared:
        body.append(_rows("Cleared in this period", [_cleared_row(p, digest) for p in cleared]))
    body.append(
        Lines(
            f"This digest covers {period}.",
            "senderwatch status shows every target now; senderwatch history, how long each problem lasted.",
        )
    )
    line: tuple[str, ...]
    if digest.wrong:
        line = (
            f"senderwatch digest: {_sms_counts(digest)}; {counted(digest.targets, 'target')}, {changes} this period.",
            f"senderwatch digest: {_sms_counts(digest)}.",
            f"senderwatch digest: {_things(len(digest.open) + len(digest.unusable) + len(digest.stale))} a look.",
        )
    else:
        line = (f"senderwatch digest: all is well, {_checked(digest)}.", "senderwatch digest: all is well.")
    return AlertText(
        event=DIGEST_EVENT if digest.wrong else ALL_WELL_EVENT,
        severity="warning" if digest.wrong else "info",
        title=title,
        line=line,
        body=tuple(body),
        data={
            "from": digest.start,
            "to": digest.end,
            "runs": digest.runs,
            "targets": digest.targets,
            "open": [p.to_dict() for p in digest.open + digest.unusable][:1000],
            "cleared": [p.to_dict() for p in cleared][:1000],
            "stale": [s.target for s in digest.stale][:1000],
        },
    )
