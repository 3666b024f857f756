"""The digest stage: a summary of a period (by default the last week) from the history, sent on a
schedule so that silence never has to be read as "maybe it broke".

What it says (alerttext.digest words it): the problems open now, those that began in the period,
those that cleared and after how long, the targets the last scheduled run did not check (stale),
the lists the deployment could not use; when nothing is wrong, that all is well, with how many
targets were checked and when the last run was. A period without a scheduled run is something
wrong too: the checks did not run.

A target is stale as `senderwatch status` says it is (freshness.why_stale, with its reason and
detail): judged by the scheduled runs the items and the lists' health records name, and by the
checks' schedule expression; the digest does not read the dead-letter queue, nor the schedule's
state, so a reason only they tell is said as the next one that fits. A disabled target counts for
nothing, as in status.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .alerttext.digest import digest_text
from .findings import RESOLVER, UNNAMED, ZONE, Stack
from .freshness import Deployment, Schedule, as_time, dead_letters, scheduled_runs, why_stale
from .history import LIST_UNUSABLE, History, Period, is_health_key
from .ports import Publisher

log = logging.getLogger(__name__)

DAYS = 7  # the period a digest covers, by default


@dataclass(frozen=True)
class Stale:
    """A watched target the last scheduled run did not check, and why (as status says it)."""

    target: str
    label: str
    checked_at: str  # its last check ("" when never)
    reason: str  # freshness.why_stale's code: invalid, schedule-missed, unknown...
    detail: str  # what happened, in words


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


def build_digest(
    history: History,
    targets: Iterable[Mapping],
    *,
    lists: Iterable[Mapping] = (),
    schedule: str = "",
    now: datetime | None = None,
) -> Digest:
    """The digest of HISTORY (the period's periods and runs) and TARGETS (the targets table's items
    as they are now), with the health table's records (LISTS: only the lists' and the resolver's
    are read) and the checks' SCHEDULE expression for how fresh each target is, at NOW (by default
    the period's end)."""
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
    digest.stale = _stale(items, lists, schedule, now or as_time(history.end))
    return digest


def _stale(items: list[Mapping], lists: Iterable[Mapping], schedule: str, now: datetime | None) -> list[Stale]:
    """The enabled targets status would call stale, with its reason and detail."""
    if now is None:
        return []  # a period without an end: nothing to judge by
    deployment = Deployment(now, Schedule(schedule), lists=[r for r in lists if r.get("kind") in (ZONE, RESOLVER)])
    runs, letters = scheduled_runs(items, deployment), dead_letters(())  # the queue is not read
    out = []
    for item in items:
        if item.get("enabled", True) is False:
            continue
        why = why_stale(item, runs, deployment, letters)
        if why is not None:
            checked = str(item.get("checked_at") or "")
            out.append(Stale(str(item.get("ip")), str(item.get("label") or ""), checked, why["reason"], why["detail"]))
    return out


def send_digest(
    history: History,
    targets: Iterable[Mapping],
    topic: Publisher,
    now: datetime,
    *,
    lists: Iterable[Mapping] = (),
    schedule: str = "",
    stack: Stack = UNNAMED,
) -> Digest:
    """Build the digest and publish it: one message, its email and its one-line SMS variant (the
    subscriptions let the SMS through only when something is wrong: see alerttext.digest); the
    command it may suggest names STACK."""
    digest = build_digest(history, targets, lists=lists, schedule=schedule, now=now)
    text = digest_text(digest, now, stack)
    topic.publish(text)
    log.info(
        "digest sent",
        extra={"event": text.event, "open": len(digest.open), "stale": len(digest.stale), "runs": digest.runs},
    )
    return digest
