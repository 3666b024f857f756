"""What the alerts about a receiver's own word say, read from the mail log: it refuses (or
defers) the server's mail, in its words, with its removal steps; and it accepts the mail again.
One receiver's one code for several addresses is one message naming them all.

Each event is worded beside its twin; WORDINGS at the end says which function says which event.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..findings import Alert, Event
from ..refusals import receiver_title
from ..text import clean_text
from .model import AlertText, Block, Code, Facts, Lines, Rows, Step, Steps, Wording, by_address, said
from .phrases import clean, date, few, how_long, lasted

_NO_ADDRESS = "(address not given)"


def _verb(receiver: str, verb: str) -> str:
    """A receiver's verb: "Gmail refuses", "Yahoo and AOL refuse"."""
    return verb[:-1] if " and " in receiver and verb.endswith("s") else verb


def _refusal(receiver: str, details: dict) -> tuple[str, str]:
    """How to say what the receiver does: refuse the mail, or defer it (it is retried)."""
    if details.get("status_of_reply") == "deferred":
        return _verb(receiver, "defers"), _verb(receiver, "defers").upper()
    return _verb(receiver, "refuses"), _verb(receiver, "blocks").upper()


def _said(alerts: Sequence[Alert], title, line, body: Sequence[Block], links: Sequence[str] = ()) -> AlertText:
    """Subscriptions filter on the receiver and its code (not on a list, nor a target)."""
    first = alerts[0]
    return said(
        alerts, title, line, body, about={"receiver": first.target, "code": first.zone}, targets=None, links=links
    )


def _rows(alerts: Sequence[Alert], heading: str = "", gap: bool = True, lasting: bool = False) -> Rows:
    """One row per address; LASTING (a block that is over): how long it lasted."""

    def row(a: Alert) -> str:
        over = f" (blocked for {lasted(a)})" if lasting and lasted(a) else ""
        return f"{a.ip or _NO_ADDRESS:<40} since {date(a.since)}{over}"

    return Rows(*map(row, alerts), heading=heading, gap=gap)


# -- RECEIVER_BLOCKED -------------------------------------------------------------------------------


def _what_to_do(alert: Alert, receiver: str, heading: str, on_server: bool) -> tuple[list[Block], str]:
    """The receiver's removal steps (or those of the list it uses), and what if they fail; its
    removal page. ON_SERVER: with the command to run on the mail server, if there is one."""
    delist = alert.details.get("delist") or {}
    url = clean_text(str(delist.get("url") or ""), 200)
    given = delist.get("steps") or []
    steps = [Step(clean_text(str(s), 300)) for s in given]
    if on_server and delist.get("command"):
        command = ("On the mail server itself: ", Code(delist["command"]))
        steps[-1:] = [Step(*steps[-1].lines, command)] if steps else [Step(command)]
    after = [f"Removal page: {url}"] if url and not any(url in str(s) for s in given) else []
    if delist.get("fallback"):
        after.append(f"If that does not work: {clean_text(str(delist['fallback']), 300)}")
    after.append(f"senderwatch tells you when {receiver} {_verb(receiver, 'accepts')} mail from this server again.")
    return [Steps(*steps, heading=heading, bullet="1"), Lines(*after, gap=False)], url


def _meaning(details: dict) -> tuple[str, ...]:
    meaning = str(details.get("meaning") or "").rstrip(". ")
    return (f"{meaning}.",) if meaning else ()


def _receiver(alert: Alert, details: dict) -> tuple[str, str]:
    return (
        "Receiver",
        f"{clean_text(receiver_title(alert.target), 80)} ({clean_text(str(details.get('relay') or ''), 120)})",
    )


def _blocked(alert: Alert) -> AlertText:
    """A receiver's own refusal of the sender: what it said, what to do."""
    d = clean(alert.details)
    receiver = clean_text(receiver_title(alert.target), 80)
    whom = alert.ip or "this server"
    refuses, blocks = _refusal(receiver, alert.details)
    what_to_do, url = _what_to_do(alert, receiver, "What to do:", on_server=True)
    short = f"senderwatch: {receiver} {blocks} {whom} ({alert.zone})."
    facts = [
        _receiver(alert, d),
        ("Code", alert.zone),
        ("Address", alert.ip or "(the rejection does not name it)"),
        ("Since", f"{date(alert.since)} (first seen in the mail log)"),
    ]
    if d.get("reply"):
        facts.append(("It said", d["reply"]))
    return _said(
        [alert],
        [f"{receiver} {refuses} mail from {whom}: {alert.zone}", f"{receiver} {refuses} mail: {alert.zone}"],
        [f"{short} {url}", short] if url else [short],
        [
            Lines(f"{receiver} {refuses} mail from {whom} ({alert.zone}).", *_meaning(d)),
            Facts(*facts),
            *what_to_do,
        ],
        links=[url],
    )


def _blocked_together(alerts: Sequence[Alert]) -> AlertText:
    """One receiver's one code for several of the server's addresses (a ban of a network's
    addresses, a Yahoo deferral of both of a host's)."""
    first, count = alerts[0], len(alerts)
    d = clean(first.details)
    receiver = clean_text(receiver_title(first.target), 80)
    ips = [a.ip or _NO_ADDRESS for a in alerts]
    refuses, blocks = _refusal(receiver, first.details)
    heading = f"What to do, for each address (shown for {ips[0]}):"
    what_to_do, url = _what_to_do(first, receiver, heading, on_server=False)
    short = f"senderwatch: {receiver} {blocks} {count} addresses ({first.zone}): {few(ips, 2)}."
    return _said(
        alerts,
        [f"{receiver} {refuses} mail from {count} addresses: {first.zone}", f"{receiver} {refuses} mail: {first.zone}"],
        [f"{short} {url}", short, f"senderwatch: {receiver} {blocks} {count} addresses ({first.zone})."],
        [
            Lines(f"{receiver} {refuses} mail from {count} of your addresses ({first.zone}).", *_meaning(d)),
            Facts(_receiver(first, d), ("Code", first.zone)),
            _rows(alerts, heading="Addresses (first seen in the mail log):", gap=False),
            *what_to_do,
        ],
        links=[url],
    )


# -- RECEIVER_UNBLOCKED -----------------------------------------------------------------------------


def _unblocked(alert: Alert) -> AlertText:
    receiver, ip = receiver_title(alert.target), alert.ip
    accepts = _verb(receiver, "accepts")
    again = f"{receiver} {accepts} mail {'from ' + ip + ' ' if ip else ''}again"
    return _said(
        [alert],
        again,
        f"senderwatch: {again} ({alert.zone} is over).",
        [
            Lines(
                f"{receiver} accepted mail from this server again (since {date(alert.since)}): its block {alert.zone}",
                f"of {ip + ' ' if ip else 'the sender '}is over, as far as the mail log shows."
                + how_long(alert, "It was blocked"),
                "Nothing to do.",
            )
        ],
    )


def _unblocked_together(alerts: Sequence[Alert]) -> AlertText:
    first, count = alerts[0], len(alerts)
    receiver = clean_text(receiver_title(first.target), 80)
    accepts = _verb(receiver, "accepts")
    ips = [a.ip or _NO_ADDRESS for a in alerts]
    return _said(
        alerts,
        [f"{receiver} {accepts} mail from {count} addresses again", f"{receiver} {accepts} mail again"],
        [
            f"senderwatch: {receiver} {accepts} mail again from {few(ips, 2)} ({first.zone} is over).",
            f"senderwatch: {receiver} {accepts} mail again ({first.zone} is over).",
        ],
        [
            Lines(
                f"{receiver} accepted mail from this server again: its block {first.zone} of {count} "
                "addresses is over,",
                "as far as the mail log shows.",
            ),
            _rows(alerts, lasting=True),
            Lines("Nothing to do."),
        ],
    )


def _by_receiver(alert: Alert) -> tuple:
    return (alert.event, alert.target, alert.zone)  # one message per receiver and code


WORDINGS = {
    Event.RECEIVER_BLOCKED: Wording(_blocked, by_address(_by_receiver), _blocked_together),
    Event.RECEIVER_UNBLOCKED: Wording(
        _unblocked, by_address(_by_receiver), _unblocked_together, Event.RECEIVER_BLOCKED
    ),
}
