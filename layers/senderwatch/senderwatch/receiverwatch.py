"""The bounces stage: the mail server's log, line by line as CloudWatch Logs hands it over, becomes
what each receiver thinks of the sender - one record per receiver in the health table - so that a
receiver's ban is an alert within a minute (RECEIVER_BLOCKED), and its end too (RECEIVER_UNBLOCKED,
when the log shows mail to that receiver accepted again).

A receiver's record: {"blocks": {"ADDRESS|CODE": {"status": "blocked" | "accepted", "code",
"sending_ip", "relay", "meaning", "kind", "delist", "since", "accepted_since"}}}. A block is news
once; the same rejection again changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from .bounces import Rejection, Reply, classify, parse_line, receiver_of
from .ports import Receivers

log = logging.getLogger(__name__)

BLOCKED, ACCEPTED = "blocked", "accepted"


def _stamp(when: datetime | None, now: datetime) -> str:
    return (when or now).astimezone(UTC).isoformat(timespec="seconds")


def block(state: dict | None, rejection: Rejection, now: datetime) -> dict | None:
    """A receiver's record after REJECTION, or None when it already says so."""
    blocks = dict((state or {}).get("blocks") or {})
    key = f"{rejection.sending_ip or '-'}|{rejection.code}"
    if (blocks.get(key) or {}).get("status") == BLOCKED:
        return None
    blocks[key] = {
        "status": BLOCKED,
        "code": rejection.code,
        "sending_ip": rejection.sending_ip,
        "relay": rejection.relay,
        "meaning": rejection.meaning,
        "kind": rejection.kind,
        "delist": rejection.delist,
        "since": _stamp(rejection.when, now),
    }
    return {"blocks": blocks}


def accept(state: dict | None, reply: Reply, now: datetime) -> dict | None:
    """A receiver's record after it accepted mail (REPLY), or None when nothing was blocked.

    The log does not say which of the server's addresses the mail left from: mail accepted by a
    receiver ends every block of that receiver that began before it.
    """
    blocks = dict((state or {}).get("blocks") or {})
    when = _stamp(reply.when, now)
    changed = False
    for key, entry in blocks.items():
        if entry.get("status") == BLOCKED and str(entry.get("since", "")) <= when:
            blocks[key] = dict(entry, status=ACCEPTED, accepted_since=when)
            changed = True
    return {"blocks": blocks} if changed else None


@dataclass
class Watched:
    lines: int = 0
    rejections: int = 0
    accepted: int = 0
    changed: int = 0


def watch_log(events: Iterable[tuple[int, str]], store: Receivers, now: datetime) -> Watched:
    """Read log EVENTS ((timestamp in ms, line), in any order) into the receivers' records."""
    seen = Watched()
    states: dict[str, tuple[dict | None, int]] = {}  # receiver -> (record, version), as last read or written
    for stamp, line in sorted(events, key=lambda event: event[0]):
        seen.lines += 1
        year = datetime.fromtimestamp(stamp / 1000, UTC).year if stamp else now.year
        reply = parse_line(line, year)
        if reply is None:
            continue
        rejection = classify(reply)
        if rejection is not None:
            seen.rejections += 1
            name = rejection.receiver
        elif reply.status == "sent" and reply.relay:
            name = receiver_of(reply.relay, reply.text)
        else:
            continue
        if name not in states:
            states[name] = store.read(name)
        for _ in range(3):
            state, version = states[name]
            new = block(state, rejection, now) if rejection is not None else accept(state, reply, now)
            if new is None:
                break
            if store.save(name, new, version):
                states[name] = (new, version + 1)
                seen.changed += 1
                if rejection is None:
                    seen.accepted += 1
                log.info(
                    "receiver block" if rejection is not None else "receiver accepts again",
                    extra={"receiver": name, "code": rejection.code if rejection else "", "relay": reply.relay},
                )
                break
            states[name] = store.read(name)  # another invocation wrote: look again
    return seen
