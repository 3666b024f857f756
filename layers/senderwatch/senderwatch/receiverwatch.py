"""The bounces stage: the mail server's log, as CloudWatch Logs hands it over, becomes what each
receiver thinks of the sender - one record per receiver in the health table - so that a
receiver's ban is an alert within a minute (RECEIVER_BLOCKED), and its end too (RECEIVER_UNBLOCKED).

A receiver's record is a records.ReceiverRecord: its blocks, by address and code.

- A block is news once: the same rejection again only moves `last_seen`.
- A block is over when the receiver accepts mail from the same server (log stream) over the same
  address family at least an hour after its last rejection: a receiver that defers some mail and
  takes the rest (Gmail's or Yahoo's rate limits) is still blocking, not flapping. The log does
  not say which of the server's addresses a delivery left from; the family of the receiving
  host's address does. One organisation's own block (a customer block list in Microsoft 365)
  ends only when that organisation's host accepts mail, not any other tenant's.
- Reading the same lines again (a redelivered batch) changes nothing; a rejection older than a
  block's end does not begin it again. One write per receiver per delivery, and each change kept
  in the history under the record's id (`receiver:NAME`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from .addresses import family_of
from .findings import RECEIVER
from .history import stamp as history_stamp
from .ports import History, Receivers, update
from .records import ReceiverRecord
from .refusals import Attempts, Rejection, Reply, classify, parse_line, receiver_of

log = logging.getLogger(__name__)

BLOCKED, ACCEPTED = "blocked", "accepted"
QUIET = timedelta(hours=1)  # how long after its last rejection an acceptance ends a block


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def block(
    state: ReceiverRecord | None, rejection: Rejection, when: datetime, server: str = ""
) -> ReceiverRecord | None:
    """A receiver's record after REJECTION at WHEN (from SERVER's log), or None when that changes nothing."""
    blocks = dict((state or {}).get("blocks") or {})
    key = f"{rejection.sending_ip or '-'}|{rejection.code}"
    if rejection.scope == "recipient":  # each organisation's own block is its own
        key += f"|{rejection.relay}"
    entry, at = blocks.get(key) or {}, _stamp(when)
    if entry.get("status") == BLOCKED:
        if at <= str(entry.get("last_seen") or entry.get("since", "")):
            return None
        blocks[key] = {**entry, "last_seen": at}
        return {"blocks": blocks}
    if entry.get("status") == ACCEPTED and at <= str(entry.get("accepted_since", "")):
        return None  # a line from before the block ended, read again
    blocks[key] = {
        "status": BLOCKED,
        "code": rejection.code,
        "sending_ip": rejection.sending_ip,
        "relay": rejection.relay,
        "meaning": rejection.meaning,
        "reply": rejection.reply,
        "kind": rejection.kind,
        "delist": rejection.delist,
        "status_of_reply": rejection.status,  # bounced, deferred, refused
        "scope": rejection.scope,
        "server": server,
        "since": at,
        "last_seen": at,
    }
    return {"blocks": blocks}


def accept(state: ReceiverRecord | None, reply: Reply, when: datetime, server: str = "") -> ReceiverRecord | None:
    """A receiver's record after it accepted mail (REPLY) at WHEN from SERVER, or None when no
    block ends: that server's blocks of that address family (or of an unknown address) quiet for
    an hour - an organisation's own block only when its own host accepted."""
    blocks = dict((state or {}).get("blocks") or {})
    family, changed = reply.family, False
    for key, entry in blocks.items():
        if entry.get("status") != BLOCKED:
            continue
        if entry.get("server") and server and entry["server"] != server:
            continue  # another mail server's delivery says nothing of this one's addresses
        if entry.get("scope") == "recipient" and entry.get("relay") != reply.relay:
            continue
        last = datetime.fromisoformat(str(entry.get("last_seen") or entry.get("since")))
        ours = family_of(entry.get("sending_ip"))
        if when >= last + QUIET and (family is None or ours is None or ours == family):
            blocks[key] = {**entry, "status": ACCEPTED, "accepted_since": _stamp(when)}
            changed = True
    return {"blocks": blocks} if changed else None


@dataclass
class Watched:
    lines: int = 0
    rejections: int = 0  # refused delivery attempts (a host with two addresses refusing both: one)
    accepted: int = 0
    changed: int = 0  # receivers whose record was written


def _heard(
    state: ReceiverRecord | None, *, said: list[tuple[datetime, Rejection | Reply]], server: str
) -> ReceiverRecord | None:
    """A receiver's record after what a delivery heard of it (in time order), or None when that
    changes nothing."""
    new = state
    for when, what in said:
        changed = block(new, what, when, server) if isinstance(what, Rejection) else accept(new, what, when, server)
        new = changed if changed is not None else new
    return None if new is state else new


def watch_log(
    events: Iterable[tuple[int, str]],
    store: Receivers,
    now: datetime,
    server: str = "",
    *,
    history: History | None = None,
    history_days: int = 90,
) -> Watched:
    """Read log EVENTS ((timestamp in ms, line), in any order) of SERVER (its log stream) into the
    receivers' records: each receiver's record read once and written once, with what the delivery
    says, in time order. A receiver that only accepted mail is read only if it has a block. Each
    record changed is kept in HISTORY for HISTORY_DAYS."""
    seen = Watched()
    attempts = Attempts()
    heard: dict[str, list[tuple[datetime, Rejection | Reply]]] = {}
    for stamp, line in sorted(events, key=lambda event: event[0]):
        seen.lines += 1
        at = datetime.fromtimestamp(stamp / 1000, UTC) if stamp else None
        reply = parse_line(line, (at or now).year)
        if reply is None:
            continue
        when = at or reply.when or now  # CloudWatch's time: a syslog line's own has no zone and no year
        rejection = classify(reply)
        attempt = attempts.place(reply, rejection is not None)
        if rejection is not None:
            seen.rejections += attempt is None or attempt.counts(rejection)
            heard.setdefault(rejection.receiver, []).append((when, rejection))
        elif reply.status == "sent" and reply.relay:
            seen.accepted += 1
            heard.setdefault(receiver_of(reply.relay, reply.text), []).append((when, reply))
    only_accepted = {name for name, said in heard.items() if not any(isinstance(w, Rejection) for _, w in said)}
    blocking = store.blocking() if only_accepted else set()
    changed = []
    for name, said in heard.items():
        if name in only_accepted and name not in blocking:
            continue  # nothing of it to end: no read
        new = update(store, name, partial(_heard, said=said, server=server))
        if new is not None:
            seen.changed += 1
            store.mark(name, any(e.get("status") == BLOCKED for e in new["blocks"].values()))
            log.info("receiver record changed", extra={"receiver": name, "lines": len(said)})
            changed.append({"ip": f"{RECEIVER}:{name}", "checked_at": history_stamp(datetime.now(UTC)), "health": new})
    if changed and history is not None:
        history.record(changed, int((now + timedelta(days=history_days)).timestamp()))
    return seen
