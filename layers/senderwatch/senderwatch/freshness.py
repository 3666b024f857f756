"""How fresh a target's findings are: which scheduled run every target should have been checked
in by now, and whether a target was, and why not (its item, the schedule, the dead-letter queue),
for `senderwatch status` (and the report built from its rows) and the digest alike.

Each check writes when it checked a target (`checked_at`, and `checked_run`, the id of the
scheduled run it belonged to). A target not checked in the last scheduled run that should be over
by now is stale; what the deployment has (the dead-letter queue, the schedule, the item's
`check_error`) says why, where it can: whoever cannot read one of them leaves it out (the digest
has no dead-letter queue, nor the schedule's state), and the reason is the next one that fits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .errors import InvalidMessage
from .runs import parse_message
from .text import clean_text, visible

# A scheduled run may take this long before a target it has not reached is stale: a message is
# delivered three times, half an hour apart, before it is a dead letter (the doctor's margin too).
GRACE = timedelta(hours=2)
SLACK = timedelta(minutes=1)  # a run begins within a minute of its schedule's time
SCHEDULE_SOURCE = "senderwatch.schedule"  # the schedule's event (template.yaml, Daily's Input)

# -- what the deployment says beside the targets ----------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """The schedule of the checks, as EventBridge Scheduler has it ("": not known)."""

    expression: str = ""
    state: str = ""  # ENABLED or DISABLED
    timezone: str = ""
    name: str = ""


@dataclass
class Deployment:
    """What is known beside the targets: the schedule, the list records of the health table, the
    dead-letter queue (None: not read), and what could not be read. `status` reads them all from
    the stack; the digest has the schedule's expression and the health table, not the queue."""

    now: datetime
    schedule: Schedule = field(default_factory=Schedule)
    lists: Sequence[Mapping] | None = None
    dead_letters: list[dict] | None = None
    dead_letters_waiting: int = 0
    notes: list[str] = field(default_factory=list)
    stack: str = ""


@dataclass(frozen=True)
class Runs:
    """The scheduled runs, as the records and the schedule show them."""

    newest: datetime | None = None  # the newest scheduled run on record (its id is when it began)
    expected: datetime | None = None  # the run every target should have been checked in by now
    settled: datetime | None = None  # the newest run that is over: the lists' records are judged by it
    missed: datetime | None = None  # a time the schedule should have run at, with no run on record since
    recorded: bool = True  # False: no item says when it was checked (a deployment older than that)
    next: datetime | None = None


def scheduled_runs(items: Sequence[Mapping], deployment: Deployment) -> Runs:
    """The last scheduled run that should be over by now, from what the deployment has: the newest
    run id on its records (the targets' `checked_run`, the lists' `run`) and the schedule's
    expression. A run is over GRACE after it began; until then the run before it is the one to
    judge by. A time the schedule should have fired at, with no run begun since, is a missed run."""
    now, expression = deployment.now, _utc_expression(deployment.schedule)
    runs = [str(i.get("checked_run")) for i in items if i.get("checked_run")]
    runs += [str(_mapping(r.get("health")).get("run") or "") for r in deployment.lists or ()]
    newest = max(filter(None, map(as_time, runs)), default=None)
    due = _last_due(expression, now - GRACE)
    every = interval(expression) if expression.startswith("rate(") else None  # a cron's runs are its times
    settled = newest if newest is not None and now - newest >= GRACE else None
    previous = None
    if newest is not None and settled is None:  # the newest run is under way
        if due is not None and due < newest - SLACK:
            previous = due
        elif every is not None:
            previous = newest - every
    missed = None
    if due is not None and (newest is None or newest < due - SLACK):
        missed = due
    elif every is not None and newest is not None and now - newest > every + GRACE:
        missed = newest + every
    expected = max(filter(None, (settled, previous, missed)), default=None)
    recorded = any(i.get("checked_at") for i in items) or not any(i.get("findings") for i in items)
    upcoming = next_run(expression, now) if expression and deployment.schedule.state != "DISABLED" else None
    return Runs(newest, expected, settled or previous, missed, recorded, upcoming)


def _utc_expression(schedule: Schedule) -> str:
    """The expression, when its times are UTC (the template's schedule has no time zone)."""
    return schedule.expression if schedule.timezone in ("", "UTC", "Etc/UTC") else ""


def _last_due(expression: str, before: datetime) -> datetime | None:
    """The last time EXPRESSION fired at or before BEFORE, for a cron at fixed times of every day
    (what next_run can tell); None for anything else (a rate has no fixed times)."""
    if not expression.startswith("cron("):
        return None
    due = next_run(expression, before - timedelta(days=1))
    while due is not None and due <= before:
        following = next_run(expression, due)
        if following is None or following > before:
            return due
        due = following
    return None


def as_time(text: object) -> datetime | None:
    """An ISO 8601 time as the records hold it (UTC when it says no zone); None when it is not one."""
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DeadLetters:
    """What the dead-letter queue holds: each target's failed check (the run and when it failed),
    and the scheduled runs the scheduler itself could not make (when, and Lambda's error)."""

    checks: dict[str, tuple[str, str]]
    schedules: list[tuple[datetime, str]]


def dead_letters(messages: Iterable[dict]) -> DeadLetters:
    checks: dict[str, tuple[str, str]] = {}
    schedules: list[tuple[datetime, str]] = []
    for message in messages:
        body, sent = str(message.get("body", "")), str(message.get("sent_at", ""))
        try:
            run, targets = parse_message(body)
        except InvalidMessage:
            try:
                event = json.loads(body)
            except ValueError:
                continue
            when = as_time(sent)
            if isinstance(event, dict) and event.get("source") == SCHEDULE_SOURCE and when is not None:
                schedules.append((when, str(message.get("error") or "")))
            continue
        for target in targets:
            checks[str(target.get("ip"))] = (run.id, sent)
    return DeadLetters(checks, sorted(schedules))


def why_stale(item: Mapping, runs: Runs, deployment: Deployment, letters: DeadLetters) -> dict | None:
    """Why a target was not checked in the run it should have been (None: it was, or there is no
    such run to judge by), as {"reason": code, "detail": what happened}."""
    checked, expected = as_time(item.get("checked_at") or ""), runs.expected
    key = str(item.get("ip"))
    if checked is None and not item.get("findings") and not item.get("check_error") and key not in letters.checks:
        return None  # not checked yet: a new target's first check follows within a minute
    if not runs.recorded or expected is None or (checked is not None and checked >= expected - SLACK):
        return None
    run = f"the run of {minute(expected)} UTC"
    if item.get("enabled", True) is False:
        return {"reason": "disabled", "detail": f"disabled: not checked in {run}"}
    if item.get("check_error"):
        problem = clean_text(str(item["check_error"]), 200)
        return {"reason": "invalid", "detail": f"not checked in {run}: it cannot be checked as written ({problem})"}
    if key in letters.checks:
        run_id, _ = letters.checks[key]
        when = f" (run of {minute(run_id)} UTC)" if as_time(run_id) else ""
        return {
            "reason": "dead-letter",
            "detail": f"not checked in {run}: its check failed three times{when}; the message waits in the "
            "dead-letter queue (senderwatch doctor says how to move it back)",
        }
    if runs.missed is not None and expected == runs.missed:
        schedule = deployment.schedule
        since = f"since {minute(iso(runs.newest))} UTC" if runs.newest else "on record"
        missed = f"no scheduled run {since}: the schedule should have run at {minute(iso(expected))} UTC"
        failed = [(when, error) for when, error in letters.schedules if when >= runs.missed - SLACK]
        if schedule.state and schedule.state != "ENABLED":
            name = f" {visible(schedule.name, 64)}" if schedule.name else ""
            return {"reason": "schedule-disabled", "detail": f"{missed}, and the schedule{name} is {schedule.state}"}
        if failed:
            began, error = failed[0]
            said = f" ({clean_text(error, 200)})" if error else ""
            detail = f"{missed}; the scheduler failed at {minute(iso(began))} UTC{said}: its event is a dead letter"
            return {"reason": "scheduler-failed", "detail": detail}
        return {"reason": "schedule-missed", "detail": missed}
    where = f" (its log: sam logs --stack-name {deployment.stack} -n CheckerFunction)" if deployment.stack else ""
    return {"reason": "unknown", "detail": f"not checked in {run}, and nothing recorded says why{where}"}


# -- the schedule's times ----------------------------------------------------------------------------

_CRON = re.compile(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+)(?: (\S+))?\)")
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")


def interval(expression: str) -> timedelta | None:
    """How often EXPRESSION fires, where that is plain (a cron at fixed times of every day, a
    rate); None otherwise (a weekly cron: no run is called late)."""
    rate = _RATE.fullmatch(expression.strip())
    if rate:
        return timedelta(**{f"{rate.group(2).rstrip('s')}s": int(rate.group(1))})
    cron = _CRON.fullmatch(expression.strip())
    if cron and cron.group(3) in ("*", "?") and cron.group(4) == "*" and cron.group(5) in ("*", "?"):
        return timedelta(days=1)
    return None


def next_run(expression: str, now: datetime) -> datetime | None:
    """The next time EXPRESSION fires after NOW, for the forms a daily check uses: cron with fixed
    minutes and hours (any day), and rate(). None for anything else (the expression is shown)."""
    rate = _RATE.fullmatch(expression.strip())
    if rate:
        unit = rate.group(2).rstrip("s")
        return now + timedelta(**{f"{unit}s": int(rate.group(1))})
    cron = _CRON.fullmatch(expression.strip())
    if not cron:
        return None
    minutes, hours, day, month, weekday = cron.groups()[:5]
    if day not in ("*", "?") or month != "*" or weekday not in ("*", "?"):
        return None
    try:
        mins = [int(m) for m in minutes.split(",")]
        hrs = list(range(24)) if hours == "*" else [int(h) for h in hours.split(",")]
    except ValueError:
        return None
    start = now.astimezone(UTC).replace(second=0, microsecond=0)
    candidates = [
        (start + timedelta(days=d)).replace(hour=h, minute=m) for d in (0, 1) for h in sorted(hrs) for m in sorted(mins)
    ]
    return next((c for c in candidates if c > now), None)


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def minute(text: object) -> str:
    """An ISO 8601 time to the minute, as the tables show it."""
    return str(text or "")[:16].replace("T", " ")


def iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None
