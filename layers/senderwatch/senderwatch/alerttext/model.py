"""What an alert says, built once per alert or group, and how each channel shows it.

An AlertText holds what a person needs, whatever reaches them: the event and its severity, the
title, the one line the SMS needs, the body in pieces (what happened, the facts, the rows of
addresses, the steps with the commands to copy), the addresses it is about and its links. The
channels at the end of this module render it: the email (also SNS's `default` variant), the SMS
line, the subject and the JSON document programs get. Another channel (chat Markdown, a webhook,
an event on a bus) is one more renderer of the same AlertText, beside them.

Everything from outside (list reasons, SPF records, labels) is cleaned (text.clean_text) before
it goes into a piece; the channels keep the subject under 100 characters, the SMS under 160 and
the whole publish under SNS's 256 KB.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..findings import Alert, Event

SUBJECT_MAX, SMS_MAX = 99, 159
DATA_ADDRESSES = 1000  # addresses carried in the JSON document (SNS caps a publish at 256 KB)
ATTRIBUTE_ADDRESSES = 100  # and in the ip attribute


# -- the pieces of a body ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """A command to copy exactly as written."""

    text: str


Piece = str | Code
Line = str | Code | tuple[Piece, ...]  # a Code alone is a command on a line of its own


def _set(piece, **fields) -> None:
    for name, value in fields.items():
        object.__setattr__(piece, name, value)  # frozen: set once, here


@dataclass(frozen=True, init=False)
class Lines:
    """Prose: what happened, what it means, what senderwatch does next."""

    lines: tuple[Line, ...]
    gap: bool  # set apart from what comes before (in plain text, a blank line)

    def __init__(self, *lines: Line, gap: bool = True):
        _set(self, lines=lines, gap=gap)


@dataclass(frozen=True, init=False)
class Facts:
    """One fact a row: Address, List, Since, Reason..."""

    rows: tuple[tuple[str, str], ...]  # (label, value)
    width: int  # in plain text, the column the values start at
    gap: bool

    def __init__(self, *rows: tuple[str, str], width: int = 12, gap: bool = True):
        _set(self, rows=rows, width=width, gap=gap)


@dataclass(frozen=True, init=False)
class Rows:
    """What the alert is about, one row each: the addresses with their notes, a record's problems."""

    rows: tuple[str, ...]
    heading: str
    prefix: str  # in plain text, before each row
    gap: bool

    def __init__(self, *rows: str, heading: str = "", prefix: str = "  ", gap: bool = True):
        _set(self, rows=rows, heading=heading, prefix=prefix, gap=gap)


@dataclass(frozen=True, init=False)
class Step:
    """One thing to do: its first line says it, the others (details, commands) go under it."""

    lines: tuple[Line, ...]

    def __init__(self, *lines: Line):
        _set(self, lines=lines)


@dataclass(frozen=True, init=False)
class Steps:
    """What to do."""

    steps: tuple[Step, ...]
    heading: str
    bullet: str  # "-"; "1" numbers the steps, "" leaves them bare
    gap: bool

    def __init__(self, *steps: Step, heading: str = "What to do:", bullet: str = "-", gap: bool = True):
        _set(self, steps=steps, heading=heading, bullet=bullet, gap=gap)


Block = Lines | Facts | Rows | Steps


# -- an alert as it is said -------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertText:
    """One alert (or a group of alerts of one kind): what it says, for every channel to show."""

    event: str
    severity: str
    title: tuple[str, ...]  # fullest first: a channel shows the first that fits
    line: tuple[str, ...]  # the whole alert in one line (the SMS), fullest first
    body: tuple[Block, ...]
    filters: dict[str, str | list[str]] = field(default_factory=dict)  # ip, zone, target...: what subscriptions match
    addresses: tuple[str, ...] = ()  # every address it is about
    links: tuple[str, ...] = ()  # where the person acts (a list's removal page)
    keys: tuple[str, ...] = ()  # the alerts it carries: each is published once
    data: dict | None = None  # more for programs: every address, counts

    @property
    def attributes(self) -> dict[str, str | list[str]]:
        """What a subscription filters on: event, severity, ip (a list when grouped), zone..."""
        return {"event": self.event, "severity": self.severity, **self.filters}

    @property
    def subject(self) -> str:
        return subject_line(self)

    @property
    def email(self) -> str:
        return email_text(self)

    @property
    def sms(self) -> str:
        return sms_line(self)

    def document(self) -> dict:
        return json_document(self)

    @property
    def commands(self) -> list[str]:
        """The commands to copy, in the order the body gives them."""
        lines = [line for block in self.body for line in _lines_of(block)]
        return [piece.text for line in lines for piece in _pieces(line) if isinstance(piece, Code)]


def _lines_of(block: Block) -> tuple[Line, ...]:
    if isinstance(block, Lines):
        return block.lines
    if isinstance(block, Steps):
        return tuple(line for s in block.steps for line in s.lines)
    return ()


def _pieces(line: Line) -> tuple[Piece, ...]:
    return line if isinstance(line, tuple) else (line,)


def said(
    alerts: Sequence[Alert],
    title: str | Sequence[str],
    line: str | Sequence[str],
    body: Sequence[Block],
    *,
    about: dict[str, str | list[str]] | None = None,
    targets: str | None = "target",
    links: Sequence[str] = (),
    data: dict | None = None,
) -> AlertText:
    """What ALERTS (one, or one group) say. TITLE and LINE may be alternatives, fullest first.

    ABOUT is what the subscriptions may filter on beside the addresses (by default the list);
    the alerts' targets (hosts, networks) are filtered on as TARGETS ("target", "domain", or None).
    """
    first = alerts[0]
    ips = [a.ip for a in alerts if a.ip]
    filters: dict[str, str | list[str]] = {}
    if len(ips) == 1:
        filters["ip"] = ips[0]
    elif ips:
        filters["ip"] = ips[:ATTRIBUTE_ADDRESSES]
        filters["count"] = str(len(ips))
    filters.update(({"zone": first.zone} if first.zone else {}) if about is None else about)
    names = sorted({a.target for a in alerts if a.target})
    if names and targets:
        filters[targets] = names[0] if len(names) == 1 else names[:ATTRIBUTE_ADDRESSES]
    if first.reminder:
        filters["reminder"] = "true"
    return AlertText(
        event=first.event,
        severity=first.severity,
        title=(title,) if isinstance(title, str) else tuple(title),
        line=(line,) if isinstance(line, str) else tuple(line),
        body=tuple(body),
        filters=filters,
        addresses=tuple(ips),
        links=tuple(dict.fromkeys(u for u in links if u)),
        keys=tuple(a.key for a in alerts),
        data=data,
    )


# -- the table: how each event is said --------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    """How one event is said: an alert alone, a group together, and which alerts make a group."""

    alone: Callable[[Alert], AlertText]
    group: Callable[[Alert], tuple]  # alerts with the same key are said in one message
    together: Callable[[Sequence[Alert]], AlertText] | None = None  # None: each is said alone
    clears: Event | None = None  # the problem this event says is over (its twin)
    per_address: bool = False  # an address several targets watch is one row, naming them all


def alone(alert: Alert) -> tuple:
    """The group key of an alert said on its own."""
    return (alert.event, alert.zone, alert.key)


def by_address(key: Callable[[Alert], tuple]) -> Callable[[Alert], tuple]:
    """Alerts about addresses go together by KEY; one that names no address is said alone."""
    return lambda alert: key(alert) if alert.ip else alone(alert)


def by_list(alert: Alert) -> tuple:
    return (alert.event, alert.zone, bool(alert.reminder))


# -- the channels: how each shows an AlertText -----------------------------------------------------
#
# The email (also SNS's `default` variant, for a subscription without a variant of its own), the
# SMS line, the subject and the JSON document programs get (aws.publish_args puts them in one
# publish). A renderer for another channel takes an AlertText the same way.


def _cap(text: str, limit: int, ellipsis: str = "…") -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - len(ellipsis)].rstrip() + ellipsis


def fit(options: Sequence[str], limit: int, ellipsis: str) -> str:
    """The first of OPTIONS (the fullest first) that fits in LIMIT; else the last, cut short.

    Cutting is the last resort: an address or a mechanism cut in half is worse than one left out.
    """
    for option in options:
        text = " ".join(option.split())
        if len(text) <= limit:
            return text
    return _cap(options[-1], limit, ellipsis)


def subject_line(text: AlertText) -> str:
    """The email's subject (SNS's Subject)."""
    return fit(text.title, SUBJECT_MAX, "…")


def sms_line(text: AlertText) -> str:
    return fit(text.line, SMS_MAX, "...")  # GSM has no "…": one would make the SMS three times dearer


def email_text(text: AlertText) -> str:
    """The email, in plain text: each block apart from the one before it by a blank line (unless it
    goes on from it), the steps numbered or bulleted, what goes under a step hanging under it."""
    out: list[str] = []
    for block in text.body:
        if block.gap and out:
            out.append("")
        out += _plain(block)
    return "\n".join(out) + "\n"


def json_document(text: AlertText) -> dict:
    """The whole alert as data: what programs subscribed to the topic receive."""
    return {**text.attributes, **(text.data or {}), "subject": text.subject, "email": text.email, "sms": text.sms}


def _plain(block: Block) -> list[str]:
    if isinstance(block, Lines):
        return [_plain_line(line) for line in block.lines]
    if isinstance(block, Facts):
        return [f"{label + ':':<{block.width}}{value}" for label, value in block.rows]
    if isinstance(block, Rows):
        return [block.heading] * bool(block.heading) + [f"{block.prefix}{row}" for row in block.rows]
    out = [block.heading] * bool(block.heading)
    for n, s in enumerate(block.steps, 1):
        mark = f"{n}. " if block.bullet == "1" else f"{block.bullet} " if block.bullet else ""
        out += [(mark if i == 0 else " " * len(mark)) + _plain_line(line) for i, line in enumerate(s.lines)]
    return out


def _plain_line(line: Line) -> str:
    if isinstance(line, Code):
        return f"  {line.text}"  # a command on its own line, set in
    return "".join(p.text if isinstance(p, Code) else p for p in _pieces(line))
