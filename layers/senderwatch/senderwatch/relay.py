"""The relay stage: each alert on the topic -> every Apprise URL that wants it (Discord, Telegram,
ntfy, Mattermost, Rocket.Chat, Matrix, Pushover, PagerDuty, Opsgenie, a JSON webhook...), in that
service's best form; each URL tried a few times on its own, and parked on the dead-letter queue when
it keeps failing, without sending again to the URLs that had it.

The URLs come from an SSM SecureString, one a line, each optionally followed by the events it wants
(words or `events=A,B`; none: every event); `#` at the start of a line or after a space begins a
comment, so a Matrix room (`matrix://.../#room`) stays in its URL:

    ntfys://ntfy.sh/mail-alerts                   # every alert
    tgram://BOT_TOKEN/CHAT_ID  LISTED DELISTED    # only these
    pagerduty://INTEGRATION_KEY@API_KEY  events=LISTED,SPF_FAILING,RECEIVER_BLOCKED

A test alert (`senderwatch test-alert`) goes to every URL, whatever events it names, and what each
did with it is noted (the health table), for `senderwatch doctor` to say.

A URL is a secret (it holds tokens): it is never logged, noted or parked. A channel is named by its
number (its line among the URLs' lines, from 1) and its scheme: `#2 tgram`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .alerttext import TEST_EVENT, WORDINGS
from .alerttext.digest import ALL_WELL_EVENT, DIGEST_EVENT
from .alerttext.model import untitled
from .errors import InvalidInput, InvalidLines
from .findings import Event
from .ports import ChannelNotes, Parking
from .text import clean_text

log = logging.getLogger(__name__)

ALARM_EVENT = "ALARM"  # a CloudWatch alarm of the stack's (dead letters, failing functions), or its return
EVENTS = (*(e.value for e in Event), DIGEST_EVENT, ALL_WELL_EVENT, ALARM_EVENT, TEST_EVENT)  # what a URL may want
TRIES = 3  # each URL's tries within one invocation
BACKOFF = 1.0  # seconds before the second try, doubled before each one after
PARALLEL = 8  # URLs sent to at once: a slow service does not hold up the others


class Sent(StrEnum):
    """What one try at one URL came to."""

    OK = "delivered"
    FAILED = "failed"  # the service refused or did not answer: try again
    UNUSABLE = "unusable"  # not a URL Apprise can send to: no try will do better


SERVICES = {  # what doctor calls a scheme's service; a scheme not here is said as it is
    **dict.fromkeys(("ntfy", "ntfys"), "ntfy"),
    **dict.fromkeys(("mmost", "mmosts"), "Mattermost"),
    **dict.fromkeys(("json", "jsons"), "JSON webhook"),
    **dict.fromkeys(("rocket", "rockets"), "Rocket.Chat"),
    **dict.fromkeys(("matrix", "matrixs"), "Matrix"),
    **dict.fromkeys(("msteams", "workflows", "workflow"), "Microsoft Teams"),
    "discord": "Discord",
    "tgram": "Telegram",
    "pover": "Pushover",
    "pagerduty": "PagerDuty",
    "opsgenie": "Opsgenie",
    "slack": "Slack",
    "gotify": "Gotify",
    "signal": "Signal",
    "zulip": "Zulip",
}


@dataclass(frozen=True)
class Channel:
    number: int  # its line among the URLs' lines, from 1
    url: str  # a secret: never logged
    events: frozenset[str] = frozenset()  # empty: every event

    @property
    def scheme(self) -> str:
        return self.url.partition("://")[0].lower()

    @property
    def service(self) -> str:
        return SERVICES.get(self.scheme, self.scheme)

    @property
    def name(self) -> str:
        """How the logs, the dead-letter queue and doctor name it: `#2 tgram`."""
        return f"#{self.number} {self.scheme}"

    def wants(self, event: str) -> bool:
        return event == TEST_EVENT or not self.events or event in self.events


@dataclass(frozen=True)
class Message:
    """One alert as Apprise sends it: to one URL (the channel's, with its service's best settings)."""

    url: str
    title: str
    body: str
    body_format: str  # "markdown" or "text"
    notify_type: str  # Apprise's: info, success, warning, failure


Send = Callable[[Message], Sent]


def read_channels(text: str) -> list[Channel]:
    """The channels the parameter's value names. InvalidLines naming each line that is not one
    (by its number and scheme, never its URL); the others are not read either, so a typo is
    said before any alert goes out half delivered."""
    channels, problems = [], []
    for number, raw in enumerate(text.splitlines(), 1):
        words = _uncommented(raw).split()
        if not words:
            continue
        url, wanted = words[0], words[1:]
        scheme, sep, rest = url.partition("://")
        if not sep or not scheme.replace("+", "").isalnum() or not rest:
            problems.append(f"line {number}: not a URL (SCHEME://...): the line's first word must be one")
            continue
        events = [e for word in wanted for e in word.removeprefix("events=").split(",") if e]
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            problems.append(
                f"line {number} ({scheme.lower()}): unknown event {', '.join(unknown)} (the events: {' '.join(EVENTS)})"
            )
            continue
        channels.append(Channel(number, url, frozenset(events)))
    if problems:
        raise InvalidLines(problems + [f"the Apprise URLs have {len(problems)} line(s) that cannot be used"])
    if not channels:
        raise InvalidInput("the Apprise URLs parameter names no URL (one a line; # begins a comment)")
    return channels


def _uncommented(line: str) -> str:
    stripped = line.strip()
    if stripped.startswith("#"):
        return ""
    cut = [i for i in (stripped.find(" #"), stripped.find("\t#")) if i >= 0]
    return stripped[: min(cut)] if cut else stripped


def as_alert(subject: str, document: Mapping) -> Mapping:
    """The alert a topic message is: an alert's own JSON document as it is; a CloudWatch alarm's
    (the stack's alarms publish to the topic too) as an ALARM alert of the alarm's own words."""
    if "event" in document or "AlarmName" not in document:
        return document
    firing = document.get("NewStateValue") == "ALARM"
    name = clean_text(str(document.get("AlarmName", "")), 200)
    why = clean_text(str(document.get("NewStateReason", "")), 500)
    said = clean_text(str(document.get("AlarmDescription") or ""), 300)
    text = "\n\n".join(part for part in (said, f"{name}: {document.get('NewStateValue', '?')}", why) if part)
    return {
        "event": ALARM_EVENT,
        "severity": "warning" if firing else "info",
        "subject": clean_text(subject, 99) or f"senderwatch alarm {name}",
        "email": text,
        "sms": clean_text(said or name, 159),
    }


# -- each service's best form -------------------------------------------------------------------------

NOTIFY_TYPE = {"high": "failure", "warning": "warning"}  # and info: "info", or "success" for a clearing
NTFY_PRIORITY = {"high": "high", "warning": "default", "info": "low"}
NTFY_TAG = {"high": "rotating_light", "warning": "warning", "info": "information_source"}


def message(channel: Channel, document: Mapping) -> Message:
    """What CHANNEL is sent of the alert DOCUMENT (the topic's JSON variant): its subject as the
    title, its Markdown without the title line (Apprise puts the title in the body itself for a
    service that shows none) or, without one, its email text as the body, Apprise's notify
    type from the severity; ntfy also gets its priority, an emoji tag and Markdown, unless the URL
    sets them itself."""
    event, severity = str(document.get("event", "")), str(document.get("severity", "info"))
    markdown = document.get("markdown")
    clears = event in {e.value for e in Event} and WORDINGS[Event(event)].clears is not None
    kind = NOTIFY_TYPE.get(severity) or ("success" if clears else "info")
    url = channel.url
    if channel.scheme in ("ntfy", "ntfys"):
        tag = "white_check_mark" if clears else NTFY_TAG.get(severity, "information_source")
        extra = {"priority": NTFY_PRIORITY.get(severity, "default"), "tags": f"{tag},{event}"}
        if markdown:
            extra["format"] = "markdown"
        url = _with_query(url, extra)
    return Message(
        url=url,
        title=str(document.get("subject", "")),
        # a document cut to fit a publish may have neither text: then its one line, or its title
        body=untitled(str(markdown))
        if markdown
        else str(document.get("email") or document.get("sms") or document.get("subject") or ""),
        body_format="markdown" if markdown else "text",
        notify_type=kind,
    )


def _with_query(url: str, extra: Mapping[str, str]) -> str:
    """URL with the query arguments of EXTRA it does not set itself."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = {key.lower() for key, _ in query}
    query += [(key, value) for key, value in extra.items() if key not in given]
    return urlunsplit(parts._replace(query=urlencode(query)))


# -- delivering -----------------------------------------------------------------------------------------


@dataclass
class Delivered:
    """What one alert came to: the channels that have it, and those parked."""

    event: str
    delivered: list[str] = field(default_factory=list)  # channel names
    parked: list[str] = field(default_factory=list)
    skipped: int = 0  # channels that do not want this event


def relay(
    document: Mapping,
    message_id: str,
    channels: Sequence[Channel],
    send: Send,
    parking: Parking,
    notes: ChannelNotes,
    sleep: Callable[[float], None] = time.sleep,
    tries: int = TRIES,
) -> Delivered:
    """Send the alert DOCUMENT (topic message MESSAGE_ID) to each channel that wants it, each tried
    up to TRIES times with backoff; one that still fails is parked (the alert, its channel's name
    and what happened: never its URL). A test alert's outcome per channel is noted for doctor."""
    event = str(document.get("event", ""))
    outcome = Delivered(event)
    wanted = [c for c in channels if c.wants(event)]
    outcome.skipped = len(channels) - len(wanted)

    def one(channel: Channel) -> tuple[Channel, Sent, int]:
        attempt, result = 0, Sent.FAILED
        while attempt < tries:
            attempt += 1
            try:
                result = send(message(channel, document))
            except Exception as exc:  # noqa: BLE001 - a plugin's bug is this channel's failure, not the others'
                log.warning("channel failed", extra={"channel": channel.name, "reason": type(exc).__name__})
                result = Sent.FAILED
            if result != Sent.FAILED:
                break
            if attempt < tries:
                sleep(BACKOFF * 2 ** (attempt - 1))
        return channel, result, attempt

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = list(pool.map(one, wanted))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for channel, result, attempts in results:
        fields = {"channel": channel.name, "event": event, "tries": attempts, "result": result.value}
        if result == Sent.OK:
            outcome.delivered.append(channel.name)
            log.info("alert relayed", extra=fields)
        else:
            log.error("alert parked", extra=fields)
            parking.park(
                {
                    "channel": channel.name,
                    "number": channel.number,
                    "scheme": channel.scheme,
                    "result": result.value,
                    "tries": attempts,
                    "at": now,
                    "message_id": message_id,
                    "alert": dict(document),
                }
            )
            outcome.parked.append(channel.name)
        if event == TEST_EVENT:
            notes.note_channel(
                channel.number,
                {"scheme": channel.scheme, "result": result.value, "tries": attempts, "at": now, "message": message_id},
            )
    return outcome
