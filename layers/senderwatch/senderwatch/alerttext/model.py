"""What an alert says, built once per alert or group, and how each channel shows it.

An AlertText holds what a person needs, whatever reaches them: the event and its severity, the
title, the one line the SMS needs, the body in pieces (what happened, the facts, the rows of
addresses, the steps with the commands to copy), the addresses it is about and its links. The
channels at the end of this module render it: the email (also SNS's `default` variant), the SMS
line, the subject, chat Markdown (Slack, Teams, Mattermost, Discord...), the custom notification
AWS Chatbot shows in Slack and Teams, and the JSON document programs get. Another channel is one
more renderer of the same AlertText, beside them.

Everything from outside (list reasons, SPF records, labels) is cleaned (text.clean_text) before
it goes into a piece, and Markdown escapes what it would misread in it; the channels keep the
subject under 100 characters, the SMS under 160, the Chatbot notification within its limits and
the whole publish under SNS's 256 KB.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..findings import Alert, Event

SUBJECT_MAX, SMS_MAX = 99, 159
DATA_ADDRESSES = 1000  # addresses carried in the JSON document (SNS caps a publish at 256 KB)
ATTRIBUTE_ADDRESSES = 100  # and in the ip attribute
MARKDOWN_MAX = 40_000  # Slack's most for a message's text (Apprise splits or cuts for the chats that take less)
# AWS Chatbot's custom notification: its title and description limits; the rest is ours, to stay readable
CHATBOT_TITLE_MAX, CHATBOT_TEXT_MAX = 250, 8000
CHATBOT_STEPS, CHATBOT_KEYWORDS, CHATBOT_KEYWORD_MAX, CHATBOT_RESOURCES = 10, 5, 75, 10


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
    thread: str = ""  # what a chat threads it under: its target, so a problem and its end share one

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

    @property
    def markdown(self) -> str:
        return markdown_text(self)

    def chatbot(self) -> dict:
        return chatbot_notification(self)

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
# SMS line, the subject, chat Markdown, AWS Chatbot's custom notification and the JSON document
# programs get (aws.publish_args puts them in one publish). A renderer for another channel takes an
# AlertText the same way.


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
    return {
        **text.attributes,
        **(text.data or {}),
        "subject": text.subject,
        "email": text.email,
        "sms": text.sms,
        "markdown": text.markdown,
    }


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


# -- chat Markdown ---------------------------------------------------------------------------------
#
# What Slack, Teams, Mattermost and Discord all show well: a bold title line, the facts and rows as
# lists, the steps numbered, commands as inline code or fenced blocks, links as <links>. A blank line
# sets every block apart (a line right after a list would join its last item).

# Escaped wherever they are: code spans, links, HTML, table cells. `\` only before what it would
# escape; `#` and `>` only where a line begins; `*` wherever it could open or
# close emphasis (ours is `**`); `_` and `~` only where they could close it or a strikethrough
# (CommonMark's flanking rules, which Slack's and Teams' are stricter than): with no closer, no
# opener pairs, and a lone `~all`, `include:_spf.example.net` or `relay_1` stay as copied.
_ALWAYS = re.compile(r"([`\[\]<|])")
_DELIMITERS = re.compile(r"\*+|_+|~+")
_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)")
_LINE_START = re.compile(r"^(\s*)([#>])")
_URL = re.compile(r"https?://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)]")
_COUNTED = re.compile(r"\.\.\. and ([\d,]+) more: senderwatch status shows them all")
_COLUMNS = re.compile(r" {2,}")  # plain text's columns: one separator in Markdown
_MARK = {"high": "\N{POLICE CARS REVOLVING LIGHT}", "warning": "\N{WARNING SIGN}\N{VARIATION SELECTOR-16}"}


def markdown_text(text: AlertText, limit: int = MARKDOWN_MAX) -> str:
    """The alert in chat Markdown: its title in bold, then the body; within LIMIT characters."""
    return _fit(lambda rows: "\n\n".join([f"**{_escape(text.subject)}**", *_markdown(text.body, rows)]), limit)


def untitled(markdown: str) -> str:
    """MARKDOWN (markdown_text's) without its title line, for a service that shows the title on its
    own; a text with nothing after its title stays whole."""
    title, _, rest = markdown.partition("\n\n")
    return rest if rest and title.startswith("**") and title.endswith("**") and "\n" not in title else markdown


def _escape(text: str) -> str:
    """Prose for Markdown: what it would read as markup escaped (and nothing else, so that a record
    or a name is copied as it was), web addresses as links."""
    out, at = [], 0
    for url in _URL.finditer(text):
        out += [_escaped(text[at : url.start()]), f"<{url.group()}>"]
        at = url.end()
    return _LINE_START.sub(r"\1\\\2", "".join(out) + _escaped(text[at:]))


def _escaped(text: str) -> str:
    """TEXT with its backslashes before punctuation, its code, link and HTML marks, and the `*`,
    `_` and `~` runs that could be read as emphasis escaped (what is around TEXT is taken for the
    worst: punctuation before it, a space after)."""
    text = _ALWAYS.sub(r"\\\1", _BACKSLASH.sub(r"\\\\", text))
    out, at = [], 0
    for run in _DELIMITERS.finditer(text):
        before = text[run.start() - 1] if run.start() else "!"
        after = text[run.end()] if run.end() < len(text) else " "
        if _delimits(run.group()[0], before, after):
            out += [text[at : run.start()], "".join("\\" + c for c in run.group())]
            at = run.end()
    return "".join(out) + text[at:]


def _delimits(mark: str, before: str, after: str) -> bool:
    """Whether a run of MARK between BEFORE and AFTER could be read as markup (CommonMark 6.2): a
    `*` that could open or close emphasis, a `~` that could close (right-flanking), an `_` that
    could close (right-flanking, and not also left-flanking unless punctuation follows)."""
    space_before, space_after = before.isspace(), after.isspace()
    punct_before, punct_after = _punctuation(before), _punctuation(after)
    right = not space_before and (not punct_before or space_after or punct_after)
    left = not space_after and (not punct_after or space_before or punct_before)
    if mark == "*":
        return left or right
    return right and (mark != "_" or not left or punct_after)


def _punctuation(c: str) -> bool:
    return unicodedata.category(c)[0] in "PS"


def _code(command: str) -> str:
    ticks = "`" * (max(map(len, re.findall("`+", command)), default=0) + 1)
    pad = " " if command.startswith("`") or command.endswith("`") else ""
    return f"{ticks}{pad}{command}{pad}{ticks}"


def _md_line(line: Line, indent: str = "") -> list[str]:
    """A line as Markdown lines: a command alone is a fenced block, to copy as it is."""
    if isinstance(line, Code):
        fence = "`" * max(3, max(map(len, re.findall("`+", line.text)), default=0) + 1)
        return [indent + fence, indent + line.text, indent + fence]
    return [indent + "".join(_code(p.text) if isinstance(p, Code) else _escape(p) for p in _pieces(line))]


def _md_step(step: Step, mark: str = "") -> str:
    lines = [out for i, line in enumerate(step.lines) for out in _md_line(line, " " * len(mark) if i else "")]
    return mark + "\n".join(lines)


def _markdown(body: Sequence[Block], rows: int | None, steps: bool = True) -> list[str]:
    """The blocks of BODY as Markdown paragraphs; ROWS rows of each list of rows at most (None: all).
    Without STEPS, a list of steps leaves only its heading, when it says more than "What to do:"."""
    out: list[str] = []
    for block in body:
        if isinstance(block, Lines):
            out.append("\n".join(md for line in block.lines for md in _md_line(line)))
        elif isinstance(block, Facts):
            out.append("\n".join(f"- **{_escape(label)}:** {_escape(value)}" for label, value in block.rows))
        elif isinstance(block, Rows):
            every, more = block.rows, 0
            counted = _COUNTED.fullmatch(every[-1]) if every else None
            if counted:  # the rows the email leaves out (phrases.capped), counted in its last row
                every, more = every[:-1], int(counted[1].replace(",", ""))
            shown = every if rows is None else every[:rows]
            lines = [f"**{_escape(block.heading)}**"] * bool(block.heading)
            lines += [f"- {_escape(_COLUMNS.sub(' · ', row.strip()))}" for row in shown]
            if more or len(shown) < len(every):
                more += len(every) - len(shown)
                lines.append(f"- ... and {more:,} more: {_code('senderwatch status')} shows them all")
            out.append("\n".join(lines))
        elif steps:
            lines = [f"**{_escape(block.heading)}**"] * bool(block.heading)
            for n, step in enumerate(block.steps, 1):
                lines.append(_md_step(step, f"{n}. " if block.bullet == "1" else "- "))
            out.append("\n".join(lines))
        elif block.heading and block.heading != "What to do:":
            out.append(f"**{_escape(block.heading)}**")
    return [paragraph for paragraph in out if paragraph]


def _fit(render: Callable[[int | None], str], limit: int) -> str:
    """RENDER(rows) within LIMIT: the lists of rows give way first (as many rows as fit, and how many
    more there are); a text still too long is cut at a line, said so."""
    whole = render(None)
    if len(whole) <= limit:
        return whole
    fewest, most = 0, whole.count("\n")
    while fewest < most:  # the most rows that fit
        middle = (fewest + most + 1) // 2
        fewest, most = (middle, most) if len(render(middle)) <= limit else (fewest, middle - 1)
    text = render(fewest)
    if len(text) <= limit:
        return text
    cut = "\n\n(cut short: the email has the whole alert)"
    lines, size, fenced = [], len(cut) + 4, False
    for line in text.split("\n"):
        if size + len(line) + 1 > limit:
            break
        lines.append(line)
        size += len(line) + 1
        fenced ^= line.lstrip().startswith("```")
    return "\n".join(lines) + ("\n```" if fenced else "") + cut


# -- AWS Chatbot (Amazon Q Developer in chat applications) -----------------------------------------


def chatbot_notification(text: AlertText) -> dict:
    """The custom notification AWS Chatbot shows in Slack and Teams (SNS's `https` variant): the
    title, the body as the description, the steps as its next steps, a thread per target."""
    steps = [s for block in text.body if isinstance(block, Steps) for s in block.steps]
    next_steps = [_md_step(s) for s in steps]
    if len(next_steps) > CHATBOT_STEPS:
        next_steps[CHATBOT_STEPS - 1 :] = ["\n".join(next_steps[CHATBOT_STEPS - 1 :])]
    room = CHATBOT_TEXT_MAX - sum(map(len, next_steps))
    body = _fit(lambda rows: "\n\n".join(_markdown(text.body, rows, steps=False)), max(room, 1000))
    description = body or _escape(text.sms)  # (an alert that is all steps: its one line)
    mark = _MARK.get(text.severity, "\N{INFORMATION SOURCE}\N{VARIATION SELECTOR-16}")
    about = [v for k in ("zone", "domain", "target") for v in [text.filters.get(k)] if isinstance(v, str)]
    keywords = list(dict.fromkeys(k for k in [text.event, text.severity, *about] if len(k) <= CHATBOT_KEYWORD_MAX))
    resources = list(dict.fromkeys([*text.addresses, *about]))[:CHATBOT_RESOURCES]
    keys = "\n".join(sorted(text.keys)) or f"{text.event}\n{text.subject}"
    return {
        "version": "1.0",
        "source": "custom",
        "id": "senderwatch-" + hashlib.sha256(keys.encode("utf-8", "surrogateescape")).hexdigest()[:32],
        "content": {
            "textType": "client-markdown",
            "title": _cap(f"{mark} {_escape(text.subject)}", CHATBOT_TITLE_MAX),
            "description": description,
            "nextSteps": next_steps,
            "keywords": keywords[:CHATBOT_KEYWORDS],
        },
        "metadata": {
            "threadId": text.thread or f"senderwatch:{text.event}",
            "summary": text.sms,
            "eventType": text.event,
            "relatedResources": resources,
            "enableCustomActions": False,
        },
    }
