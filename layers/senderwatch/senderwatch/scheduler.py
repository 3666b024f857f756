"""The scheduler stage: watched targets -> queue messages of N targets each, stamped with the run;
and, in the daily run, the mutes whose time is over (or whose problem cleared) ended."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .errors import InvalidTarget
from .findings import MUTE
from .overlaps import Watchers, addresses_of, handed, known_addresses
from .ports import Health, update
from .records import MuteRecord
from .runs import MANUAL, Run, message_body
from .targets import Target


def now_iso(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds")


def start_run(now: datetime, *, scheduled: bool) -> Run:
    """A run that begins NOW: the daily one (SCHEDULED), or checks outside it (new targets, changed
    settings, `senderwatch check-now`), which never count toward CHECK_FAILING. Its id is the time
    to the microsecond: it orders runs, and two runs never share one."""
    return Run(now.astimezone(UTC).isoformat(timespec="microseconds"), scheduled)


@dataclass
class Plan:
    messages: list[dict] = field(default_factory=list)
    targets: int = 0
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (ip as written, problem)
    disabled: int = 0


def plan_messages(items: Iterable[dict], per_message: int, run: Run = MANUAL, *, whole: bool = False) -> Plan:
    """Validate watched items and pack the enabled ones into queue messages (each address once).

    WHOLE: ITEMS are the whole table (the daily run), so each target is also handed the other
    targets that watch its addresses (`also`: overlaps.handed), for its alerts to name them all;
    without it a message says nothing of them (the item keeps what it had)."""
    plan, batch, seen = Plan(), [], set()
    index, batched = Watchers(), []
    for item in items:
        try:
            target = Target.from_item(item)
        except InvalidTarget as exc:
            plan.invalid.append((str(item.get("ip", "?")), str(exc)))  # the caller logs or says them
            continue
        if not target.enabled:
            plan.disabled += 1
            continue
        if target.ip in seen:
            continue
        seen.add(target.ip)
        batch.append(target.to_item())
        if whole:
            name, addresses = target.name, known_addresses(item)
            index.add(name, target.label, addresses)
            batched.append((batch[-1], name, addresses))
        plan.targets += 1
        if len(batch) == per_message:
            plan.messages.append(message_body(run, batch))
            batch = []
    if batch:
        plan.messages.append(message_body(run, batch))
    for body, name, addresses in batched:
        body["also"] = handed(index.others(name.key, addresses_of(name, addresses)))
    return plan


def end_mutes(store: Health, items: Sequence[dict], health_items: Sequence[dict], now: datetime) -> list[MuteRecord]:
    """End the mutes of HEALTH_ITEMS (the health table's items) that are over at NOW: past their
    end, or, made --until-clear, with nothing they cover wrong any more, ITEMS (the targets) and
    the health records saying what is wrong now. Each is written if unchanged (the notifier says
    MUTE_ENDED from the stream when what it silenced is still there). The mutes ended."""
    # Loaded when a mute holds: the daily run of a deployment without mutes (and a new target's) needs none.
    from .mutes import ending, mute_id, problems_now

    mutes = [i for i in health_items if i.get("kind") == MUTE and isinstance(i.get("health"), dict)]
    if not any(not m["health"].get("ended") for m in mutes):
        return []
    problems = problems_now([*items, *health_items])
    ended = []
    for item in mutes:
        if item["health"].get("ended"):
            continue
        written = update(store, mute_id(str(item["health"].get("id", ""))), lambda m: ending(m, problems, now))
        if written is not None:
            ended.append(written)
    return ended
