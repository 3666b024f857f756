"""The digest stage: a summary of a period (by default the last week) from the history, sent on a
schedule so that silence never has to be read as "maybe it broke".

What it says (alerttext.digest words it): the problems open now, those that began in the period,
those that cleared and after how long, the targets the last scheduled run did not check (stale),
the lists the deployment could not use; when nothing is wrong, that all is well, with how many
targets were checked and when the last run was. A period without a scheduled run is something
wrong too: the checks did not run.

A target is stale when its item's last check (`checked_at`, `checked_run`: the scheduled run that
checked it) is older than the last scheduled run any target was checked in (and it was not checked since,
by hand or as a new target), or when the scheduler could not read it (`check_error`). Items that
do not say when they were checked (written before they did) say nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .alerttext.digest import digest_text
from .history import LIST_UNUSABLE, History, Period, is_health_key
from .ports import Publisher

log = logging.getLogger(__name__)

DAYS = 7  # the period a digest covers, by default


@dataclass(frozen=True)
class Stale:
    """A watched target the last scheduled run did not check."""

    target: str
    label: str
    checked_at: str  # its last check ("" when never)
    why: str  # the scheduler's reason (check_error), or ""


@dataclass
class Digest:
    """What a period's history and the targets as they are now say, for the digest to tell."""

    start: str  # the period (as the history's times: 2026-11-28T09:21:00Z)
    end: str
    runs: int  # scheduled runs in the period
    targets: int  # watched targets (enabled)
    disabled: int
    last_run: str  # the last scheduled run a target was checked in ("" when none says)
    open: list[Period] = field(default_factory=list)  # problems holding now (lists unusable apart)
    cleared: list[Period] = field(default_factory=list)  # problems that ended in the period
    unusable: list[Period] = field(default_factory=list)  # lists the deployment cannot use now
    stale: list[Stale] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # the targets' labels, by key

    @property
    def began(self) -> list[Period]:
        """The problems that began in the period (open or cleared since)."""
        return [p for p in self.open + self.cleared + self.unusable if p.start >= self.start]

    @property
    def wrong(self) -> bool:
        """Something needs a look: a problem or a list unusable now, a stale target, no run at all."""
        return bool(self.open or self.unusable or self.stale or (self.targets and not self.runs))


def build_digest(history: History, targets: Iterable[Mapping]) -> Digest:
    """The digest of HISTORY (the period's periods and runs) and TARGETS (the targets table's items
    as they are now)."""
    items = list(targets)
    enabled = [i for i in items if i.get("enabled", True) is not False]
    runs = [str(i["checked_run"]) for i in enabled if i.get("checked_run")]
    last_run = max(runs, default="")
    digest = Digest(
        start=history.start,
        end=history.end,
        runs=history.runs,
        targets=len(enabled),
        disabled=len(items) - len(enabled),
        last_run=last_run,
        labels={str(i.get("ip")): str(i.get("label") or "") for i in items if i.get("label")},
    )
    for period in history.periods:
        if not period.problem:
            continue
        if period.end is None:
            (digest.unusable if period.kind == LIST_UNUSABLE else digest.open).append(period)
        elif period.end >= history.start:
            digest.cleared.append(period)
    watched = {str(i.get("ip")) for i in enabled}
    digest.open = [p for p in digest.open if is_health_key(p.target) or p.target in watched]
    digest.stale = [stale for item in enabled if (stale := _stale(item, last_run)) is not None]
    return digest


def _stale(item: Mapping, last_run: str) -> Stale | None:
    key, label = str(item.get("ip")), str(item.get("label") or "")
    checked = str(item.get("checked_at") or "")
    if item.get("check_error"):
        return Stale(key, label, checked, str(item["check_error"]))
    if not last_run or str(item.get("checked_run") or "") >= last_run or not checked:
        return None
    if _time(checked) >= _time(last_run):
        return None  # checked since, by hand or as a new target
    return Stale(key, label, checked, "")


def _time(iso: str) -> datetime:
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def send_digest(history: History, targets: Iterable[Mapping], topic: Publisher, now: datetime) -> Digest:
    """Build the digest and publish it: one message, its email and its one-line SMS variant (the
    subscriptions let the SMS through only when something is wrong: see alerttext.digest)."""
    digest = build_digest(history, targets)
    text = digest_text(digest, now)
    topic.publish(text)
    log.info(
        "digest sent",
        extra={"event": text.event, "open": len(digest.open), "stale": len(digest.stale), "runs": digest.runs},
    )
    return digest
