"""What receivers say in a mail server's log: every rejection in which a receiver says the sending
address or domain is blocked, listed or unauthenticated.

A line is read as Postfix, Exim or Sendmail writes a delivery attempt (`parse_line`); its reply
is matched against the receivers' own codes and words (receivers.json: Microsoft, Outlook.com,
Gmail, Yahoo, ...) and against the blocklists of the catalogue ("blocked using
zen.spamhaus.org"). Anything else is skipped. Pure: the caller reads the file (or the log group).
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cache
from importlib import resources

from .addresses import unrateable
from .text import clean_text, visible
from .zones import catalogue, domain_catalogue

BLOCKED, SENT = "blocked", "sent"

# -- lines ---------------------------------------------------------------------------------------------

_SYSLOG_TIME = (
    r"(?P<time>(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)"  # rsyslog, journalctl -o short-iso
    r"|(?:[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: [A-Z]{2,5})?)"  # journalctl -o short-full
    r"|(?:[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?))"  # classic syslog (no year), -o short-precise
)
# A delivery agent's line (smtp, lmtp; error and retry for the mail the queue manager holds back
# from a destination that refused the last attempts): a recipient's result, or - written while
# Postfix goes on to the next host of the destination - one host's refusal.
_POSTFIX = re.compile(
    _SYSLOG_TIME + r" \S+ postfix[\w./-]*/(?:smtp|lmtp|error|retry)\[(?P<pid>\d+)\]: (?P<queue>[0-9A-Za-z]+): "
    r"(?:to=<(?P<to>[^>]*)>,(?: orig_to=<[^>]*>,)? relay=(?P<relay>[^,\s]+),.*?"
    r"(?: dsn=(?P<dsn>\d\.\d{1,3}\.\d{1,3}),)? status=(?P<status>\w+) \((?P<text>.*)\)"
    r"|(?P<said>host \S+ (?:refused to talk to me|said): .*))\s*$"
)
# How Postfix's smtp(8) quotes a receiver: "host NAME[ADDRESS] said: REPLY (in reply to COMMAND
# command)" at any stage of the dialogue, "host NAME[ADDRESS] refused to talk to me: REPLY" for a
# greeting (or HELO) that is not 220; the queue manager holds the destination's next mail back with
# the last of these: "delivery temporarily suspended: host ...".
_HOST_SAID = re.compile(
    r"(?:delivery temporarily suspended: )?host (?P<host>\S+?)(?:\[(?P<ip>[^\]]*)\])? "
    r"(?:said|refused to talk to me): (?P<words>.*?)(?:\s*\(in reply to [^)]*\))?\s*$"
)
_EXIM = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})?) (?:\[(?P<pid>\d+)\] )?"
    r"(?P<id>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}) (?P<flag>\*\*|==|=>|->) (?P<to>\S+)"
    r"(?P<rest>.*)$"
)
_SENDMAIL = re.compile(
    _SYSLOG_TIME + r" \S+ (?:sm-mta|sendmail)\[(?P<pid>\d+)\]: (?P<queue>[0-9A-Za-z]+): "
    r"(?:to=(?P<to>[^,]+),.*?relay=(?P<relay>[^,\s]+)\.?(?: \[(?P<relay_ip>[^\]]*)\])?,.*?"
    r"(?:dsn=(?P<dsn>\d\.\d{1,3}\.\d{1,3}), )?"
    r"stat=(?P<stat>.*)|(?P<reply>.*?(?:reply|<<<|SMTP error).*))\s*$"
)
_DSN = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_SENDMAIL_REPLY = re.compile(r", reply=([245]\d\d\b.*?)(?:, stat=|$)")  # the receiver's reply, where Sendmail logs it
_SMTP_REPLY = re.compile(r"\s*[245]\d\d\b")  # a text that starts with the receiver's reply code
_REPLY_CODE = re.compile(r"\b([245]\d\d)[ -]")
_EXIM_HOST = re.compile(r"\bH=(\S+)(?: \[([0-9A-Fa-f:.]+)\])?")
_EXIM_INTERFACE = re.compile(r"\bI=\[([0-9A-Fa-f:.]+)\]")
_RELAY_IP = re.compile(r"\[([0-9A-Fa-f:.]+)\]")
_MONTHS = {
    m: n for n, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}


@dataclass(frozen=True)
class Reply:
    """One line of a delivery attempt: what became of a recipient, or what one of the receiving
    hosts answered before the MTA went on to the next, in the receiver's words."""

    when: datetime | None
    status: str  # bounced, deferred, sent, expired; deferred too for a host skipped for the next one
    relay: str  # the receiving host's name ("" when the log does not say)
    recipient: str  # the recipient's domain
    dsn: str  # the enhanced status code the receiver gave (or the MTA derived), "" when none
    text: str  # the receiver's reply
    relay_ip: str = ""  # the receiving host's address, where the log gives it
    local_ip: str = ""  # the address the mail left from, where the log gives it (Exim's I=)
    message: str = ""  # the message: its queue ID (Postfix, Sendmail) or message ID (Exim)
    process: str = ""  # the delivery process (its PID, where the log gives it)
    address: str = ""  # the recipient's address; "" on a line about a host, not a recipient
    local: bool = False  # TEXT is the MTA's own word for the result (Sendmail's "User unknown"), not the receiver's

    @property
    def family(self) -> int | None:
        """The address family the delivery used (that of the receiving host's address)."""
        try:
            return ipaddress.ip_address(self.relay_ip).version
        except ValueError:
            return None


def parse_time(text: str, year: int | None = None, zone: tzinfo | None = None) -> datetime | None:
    """A log's timestamp: ISO 8601 (rsyslog, Exim, journalctl -o short-iso), journalctl's
    "Fri 2026-11-27 10:00:01 CET", or syslog's "Nov 27 09:12:01" (no year: YEAR, else the current
    one). A time without an offset is in ZONE: the zone of the machine the log was written on
    (default: this machine's, where `senderwatch bounces` runs on the mail server)."""
    text = text.strip()
    zone = zone or datetime.now().astimezone().tzinfo or UTC
    match = re.fullmatch(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.\d+)?", text)
    if match:
        month = _MONTHS.get(match.group(1))
        if month is None:
            return None
        day, hour, minute, second = (int(g) for g in match.groups()[1:])
        try:
            return datetime(year or datetime.now(UTC).year, month, day, hour, minute, second, tzinfo=zone)
        except ValueError:
            return None
    full = re.fullmatch(r"[A-Z][a-z]{2} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?: ([A-Z]{2,5}))?", text)
    if full:  # a zone's abbreviation is ambiguous (CST): only UTC is taken at its word
        text, zone = full.group(1), (UTC if full.group(2) in ("UTC", "GMT", "Z") else zone)
    try:
        when = datetime.fromisoformat(text.replace(",", ".").replace(" +", "+").replace(" -", "-"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=zone)


def parse_line(line: str, year: int | None = None) -> Reply | None:
    """The delivery attempt a log line tells of (Postfix, Exim or Sendmail), or None."""
    line = line.rstrip("\r\n")
    if "postfix" in line:
        match = _POSTFIX.search(line)
        if match:
            return _postfix(match, year)
    if " ** " in line or " == " in line or " => " in line or " -> " in line:
        match = _EXIM.search(line)
        if match:
            return _exim(match)
    if "sm-mta" in line or "sendmail[" in line:
        match = _SENDMAIL.search(line)
        if match and match.group("stat"):
            return _sendmail(match, year)
    return None


def _domain(address: str) -> str:
    return address.strip("<>").rpartition("@")[2].lower()


def _host(relay: str) -> str:
    return relay.split("[", 1)[0].rstrip(".").lower() if relay and relay != "none" else ""


def _relay_ip(relay: str) -> str:
    found = _RELAY_IP.search(relay or "")
    return found.group(1) if found else ""


def _postfix(match: re.Match, year: int | None) -> Reply:
    when = parse_time(match.group("time"), year)
    message, process = match.group("queue"), match.group("pid")
    said = match.group("said")
    text = said if said is not None else match.group("text")
    quoted = _HOST_SAID.match(text)
    # The host that said it, as the reply's text names it: the relay of a line held back by the
    # queue manager is "none", and the hosts Postfix tried before the last are named only there.
    host = _host(quoted.group("host")) if quoted else _host(match.group("relay") or "")
    host_ip = (quoted.group("ip") or "") if quoted else _relay_ip(match.group("relay") or "")
    words = quoted.group("words") if quoted else text
    if said is not None:  # a host skipped for the next one: Postfix writes this for soft errors only
        return Reply(when, "deferred", host, "", _enhanced_code(words), words, host_ip, "", message, process)
    to, dsn = match.group("to"), match.group("dsn") or ""
    return Reply(when, match.group("status"), host, _domain(to), dsn, words, host_ip, "", message, process, to)


def _exim(match: re.Match) -> Reply:
    flag, rest = match.group("flag"), match.group("rest")
    host = _EXIM_HOST.search(rest)
    status = {"**": "bounced", "==": "deferred"}.get(flag, "sent")
    text = ""
    if status != "sent":
        # "R=... T=... H=host [ip]: SMTP error from remote mail server after RCPT TO:<...>: 550 ..."
        _, _, text = rest.partition(": ")
        text = re.sub(r"^SMTP error from remote mail server after [^:]*(?::[^:]*>)?: ", "", text)
    dsn = _DSN.search(text)
    interface = _EXIM_INTERFACE.search(rest)
    return Reply(
        parse_time(match.group("time")),
        status,
        _host(host.group(1)) if host else "",
        _domain(match.group("to")),
        dsn.group(1) if dsn else "",
        text,
        (host.group(2) or "") if host else "",
        interface.group(1) if interface else "",
        match.group("id"),
        match.group("pid") or "",
        match.group("to"),
    )


def _sendmail(match: re.Match, year: int | None) -> Reply:
    """A Sendmail recipient line. Its `stat=` quotes the receiver only for mail sent ("Sent (OK ...)")
    or deferred ("Deferred: 421 4.7.0 ..."); for a refusal it is Sendmail's own word for the kind of
    failure ("User unknown", "Service unavailable"), whatever the receiver said: the receiver's words
    are then in `reply=` (where Sendmail logs it), else only its code is (`dsn=`)."""
    stat = match.group("stat")
    status = "sent" if stat.startswith("Sent") else "deferred" if stat.startswith("Deferred") else "bounced"
    dsn = match.group("dsn") or ""
    when = parse_time(match.group("time"), year)
    relay_ip, to = match.group("relay_ip") or "", match.group("to")
    queue, pid = match.group("queue"), match.group("pid")
    said = _SENDMAIL_REPLY.search(match.group(0))
    text = said.group(1) if said else stat
    local = said is None and not _SMTP_REPLY.match(stat.removeprefix("Deferred:"))
    relay = _host(match.group("relay"))
    return Reply(when, status, relay, _domain(to), dsn, text, relay_ip, "", queue, pid, to, local=local)


# -- receivers -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One way a receiver says the sender is blocked: its code and the words that go with it."""

    receiver: str
    code: str  # as the receiver documents it: 5.7.606-5.7.649, S3150, TSS04, "5.7.1 (Blocklist 1)"
    pattern: re.Pattern
    meaning: str
    kind: str  # ip-ban, listed, unauthenticated, reputation, ptr, rate
    steps: tuple[str, ...] = ()
    delist_url: str = ""
    fallback: str = ""
    ip_pattern: re.Pattern | None = None  # where the reply names the sending address
    scope: str = ""  # "recipient": one organisation's own block, ended only by that organisation

    def code_in(self, text: str) -> str:
        """The code the reply itself gives, never the rule's label in its place: its enhanced
        status code (RFC 3463: 5.7.623 for Microsoft's 5.7.606-5.7.649, 5.7.26 whichever wording
        Gmail used, 4.7.0 for a deferral), the receiver's own tag (TSS04, S3150, OU-002 of
        "DY-001/DY-002/OU-001/OU-002"), or its basic code (554) when it gives neither. A generic
        enhanced code keeps the rule's qualifier: "5.7.1 (Blocklist 1)" and "5.7.1 (Spamhaus via
        EOP)" are two blocks. A rule named, not numbered ("Barracuda Reputation"), keeps its name."""
        labels = [part for part in re.split(r"[\s/]+", self.code.split("(")[0]) if part]
        label = labels[0] if labels else self.code
        own = _enhanced_code(text)
        if label[:1].isdigit():
            qualifier = re.search(r"\(([^)]+)\)", self.code)
            if own:
                return f"{own} ({qualifier.group(1)})" if own in _GENERIC_CODES and qualifier else own
            basic = re.match(r"\s*([245]\d\d)\b", text)
            return basic.group(1) if basic else label.partition("-")[0]
        prefixes = {m.group(0) for part in labels if (m := re.match(r"[A-Za-z]+-?(?=\d)", part))}
        if prefixes:  # TSS04, S3150, BL21, OU-002, CS01: the reply's own number
            pattern = "|".join(re.escape(prefix) for prefix in sorted(prefixes, key=len, reverse=True))
            found = re.search(rf"\b(?:{pattern})\d+\b", text)
            return found.group(0) if found else own or label
        return self.code  # a named rule: "Barracuda Reputation", "Local CT IP Reputation"


def _enhanced_code(text: str) -> str:
    """A reply's own enhanced status code: the one after its basic code ("550-5.7.26 ..."), else
    the first in its text (Sendmail's "Deferred: 421 4.7.0 ..."), else ""."""
    found = re.match(r"\s*[245]\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b", text) or _DSN.search(text)
    return found.group(1) if found else ""


@dataclass(frozen=True)
class Receiver:
    name: str
    title: str
    hosts: tuple[re.Pattern, ...]
    rules: tuple[Rule, ...]
    anywhere: bool = False  # a filtering product customers run on their own hosts (Barracuda)


@cache
def receivers() -> tuple[Receiver, ...]:
    raw = json.loads(resources.files(__package__).joinpath("receivers.json").read_text("utf-8"))
    out = []
    for entry in raw["receivers"]:
        rules = tuple(
            Rule(
                entry["receiver"],
                code["code"],
                re.compile(code["match"], re.IGNORECASE | re.DOTALL),
                code["meaning"],
                code.get("kind", "listed"),
                tuple(code.get("steps", ())),
                code.get("delist_url") or "",
                code.get("fallback") or "",
                re.compile(code["ip_regex"], re.IGNORECASE) if code.get("ip_regex") else None,
                code.get("scope") or "",
            )
            for code in entry["codes"]
        )
        hosts = tuple(re.compile(pattern, re.IGNORECASE) for pattern in entry.get("hosts", ()))
        title = entry.get("name", entry["receiver"])
        out.append(Receiver(entry["receiver"], title, hosts, rules, bool(entry.get("anywhere"))))
    return tuple(out)


def receiver_title(name: str) -> str:
    return next((r.title for r in receivers() if r.name == name), name)


_SECOND_LEVEL = {"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go"}


def receiver_of(relay: str, text: str = "") -> str:
    """Who a receiving host belongs to (microsoft, gmail, ...), or its domain when no rule knows it."""
    for receiver in receivers():
        if any(p.search(relay) for p in receiver.hosts):
            return receiver.name
    if " gsmtp" in text:
        return "gmail"
    labels = relay.split(".")
    # The receiver's domain: example.org of mx.example.org, example.net.au of mx1.example.net.au.
    depth = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-depth:]) if len(labels) >= 2 else relay or "unknown"


@dataclass(frozen=True)
class Rejection:
    """A receiver's rejection of this server's mail, about the sender (not the recipient)."""

    when: datetime | None
    receiver: str
    code: str  # the receiver's own code (5.7.606, S3140, TSS04) or the list that was named
    sending_ip: str | None
    relay: str
    meaning: str
    kind: str
    delist: dict = field(default_factory=dict)
    status: str = ""  # bounced, refused, or deferred: a temporary refusal, the mail is retried
    domain: str = ""  # the domain a domain list lists (dbl.spamhaus.org), when the reply names it
    scope: str = ""  # "recipient": the receiving organisation's own block (see Rule.scope)
    reply: str = ""  # the receiver's own words, as one line (a stranger's text: shown cleaned)
    rule: str = ""  # the receiver's rule it was known by: one code can mean several things

    @property
    def key(self) -> tuple:
        """What makes two rejections the same: receiver, code, meaning, address (or domain)."""
        return (self.receiver, self.code, self.rule, self.sending_ip, self.domain)


# How receivers name the list they refused the sender for: Postfix's reply ("Client host [ip]
# blocked using ZONE", postscreen's "client [ip] blocked using ZONE") and other MTAs' wording.
_LISTED_ON = re.compile(
    r"(?P<how>blocked using|listed (?:by|in|at|on)|is in an RBL on|in a black ?list at|"
    r"listed in the RBL at|blacklisted (?:by|in|at|on))\s+(?P<zone>[a-z0-9-]+(?:\.[a-z0-9-]+)+)",
    re.IGNORECASE,
)
# Spamhaus's parts, as receivers name them: ZEN's removal for that part.
_SPAMHAUS_PARTS = {
    "sbl.spamhaus.org": "127.0.0.2",
    "css.spamhaus.org": "127.0.0.3",
    "xbl.spamhaus.org": "127.0.0.4",
    "cbl.abuseat.org": "127.0.0.4",
    "pbl.spamhaus.org": "127.0.0.10",
    "sbl-xbl.spamhaus.org": "",
}
_SPAMHAUS_WORDS = re.compile(r"blocked using Spamhaus(?: (?P<part>SBL|CSS|XBL|PBL|ZEN))?\b", re.IGNORECASE)
_SENDER_DOMAIN = re.compile(r"[\w.+-]+@((?:[a-z0-9-]+\.)+[a-z]{2,63})\b", re.IGNORECASE)
UNKNOWN_IP = "<your server's IP>"  # in steps, where the reply does not name the address
REPLY_MAX = 400  # of the receiver's own words, kept and shown
# A receiver's own DNS failing at the list (Spamhaus refusing its resolver) is not a listing of ours.
_RECEIVER_DNS_FAULT = re.compile(r"spamhaus\.org/returnc/|open resolver|127\.255\.255\.25[2-5]", re.IGNORECASE)
_IP = re.compile(r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})(?![\w.:])", re.IGNORECASE)
_CONTINUATION = re.compile(r"\s\d{3}[- ](?:\d\.\d{1,3}\.\d{1,3}\s)?")  # "550-5.7.1 " of a joined reply


def normalize(text: str) -> str:
    """A multi-line reply as one sentence: Postfix joins the lines with their "550-5.7.1 " prefixes
    left in mid-sentence, Exim writes them with a literal \\n. The first line's code stays."""
    text = text.replace("\\n", " ")
    first = re.match(r"\s*\d{3}[- ](?:\d\.\d{1,3}\.\d{1,3}\s)?", text)
    # the first line's code as sent: "550-5.7.26 This ...", "554-web.de (mxweb112) ..." (no space added)
    head, rest = (first.group(0).lstrip(), text[first.end() :]) if first else ("", text)
    return re.sub(r"\s+", " ", head + _CONTINUATION.sub(" ", rest if head.endswith("-") else " " + rest)).strip()


def sending_ip(text: str) -> str | None:
    """The first public address a reply quotes: receivers name the address they refuse."""
    for candidate in _IP.findall(text):
        try:
            ip = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not unrateable(ip) and not ip.is_loopback:
            return str(ip)
    return None


def classify(reply: Reply) -> Rejection | None:
    """The rejection REPLY is, when a receiver says the sender is blocked, listed or unauthenticated."""
    if reply.status not in ("bounced", "deferred", "expired") or not reply.text:
        return None
    raw = reply.text
    text = normalize(raw)
    if _RECEIVER_DNS_FAULT.search(text):
        return None
    name = receiver_of(reply.relay, raw)
    # The receiving host's own rules; then the words of filtering products (Barracuda, Proofpoint)
    # that customers run on their own hosts. Another receiver's words on a host not its own are
    # not that receiver speaking ("blocked using Spamhaus" at example.org is not Microsoft).
    speakers = [r for r in sorted(receivers(), key=lambda r: r.name != name) if r.name == name or r.anywhere]
    # A rule whose words are in the reply; only then one known by the reply's code alone (a
    # Sendmail line without the words), so that 5.7.26's DMARC wording is not taken for its SPF one.
    # The MTA's own summary (Sendmail's "User unknown") is no one's words: known by the code alone.
    found = None
    if not reply.local:
        found = next(((rule, True) for r in speakers for rule in r.rules if _says(rule, text, raw)), None)
    if found is None:
        found = next(
            ((rule, False) for r in speakers if r.name == name for rule in r.rules if _by_code(rule, reply)), None
        )
    if found is not None:
        rule, said = found
        # Where the rule says the reply names the address; else the interface the mail left from
        # (Exim's I=); else the first public address in the reply, when the rule says nothing.
        address = _rule_ip(rule, raw) or _local_ip(reply) or (sending_ip(text) if rule.ip_pattern is None else None)
        return Rejection(
            reply.when,
            name,
            rule.code_in(raw) if said else reply.dsn,
            address,
            reply.relay,
            _sentence(rule.meaning.replace("ADDRESS", address or "your server's address")),
            rule.kind,
            _rule_delist(rule, address),
            _status(reply, rule.kind),
            scope=rule.scope,
            reply="" if reply.local else clean_text(text, REPLY_MAX),
            rule=rule.code,
        )
    listed = None if reply.local else _named_list(text)
    if listed is None:
        return None
    zone, said_as, removal, domain_list = listed
    address = None if domain_list else sending_ip(text) or _local_ip(reply)
    domain = ""
    if domain_list:
        named = _SENDER_DOMAIN.search(text)
        domain = named.group(1).lower() if named else ""
    what = domain or address
    subject = what or ("The sending domain" if domain_list else "Your server's address")
    meaning = f"{subject} is listed on {said_as}, which {receiver_title(name)} uses to refuse mail."
    delist = (
        removal.filled(what or ("<your domain>" if domain_list else UNKNOWN_IP), [zone], zone)
        if removal is not None
        else _unknown_list_steps(said_as, what or UNKNOWN_IP)
    )
    words, status = clean_text(text, REPLY_MAX), _status(reply, "listed")
    return Rejection(
        reply.when, name, said_as, address, reply.relay, meaning, "listed", delist, status, domain, reply=words
    )


def _status(reply: Reply, kind: str) -> str:
    """What the receiver did: a deferral it means for good is a refusal - a 5xx reply that the
    MTA deferred all the same (Postfix's smtp_skip_5xx_greeting: the next host may take the mail),
    or a ban whatever its code ("[TSS09] ... permanently deferred; Retrying will NOT succeed")."""
    if reply.status == "deferred" and (re.match(r"\s*5\d\d\b", reply.text) or kind == "ip-ban"):
        return "refused"
    return reply.status


def _says(rule: Rule, text: str, raw: str) -> bool:
    return bool(rule.pattern.search(text) or rule.pattern.search(raw))


def _local_ip(reply: Reply) -> str | None:
    return sending_ip(reply.local_ip) if reply.local_ip else None


def _unknown_list_steps(zone: str, what: str) -> dict:
    """A list senderwatch's catalogue does not describe: what anyone can do about it."""
    return {
        "url": "",
        "steps": [
            f"Find {zone}'s own website (search for its name) and look {what} up there: it says why it is listed.",
            f"Fix the cause, then follow that list's removal procedure; {zone} may also expire listings by itself.",
            *(
                [f"Check {what} against the lists senderwatch knows: senderwatch check {what}"]
                if what != UNKNOWN_IP
                else []
            ),
        ],
    }


_GENERIC_CODES = {"5.7.1", "5.7.0", "4.7.0", "4.7.1", "5.0.0", "4.0.0", "5.5.0", "5.1.1"}


def _by_code(rule: Rule, reply: Reply) -> bool:
    """A reply whose words the log left out (Sendmail logs only "stat=User unknown"), or cut short,
    known by its enhanced code alone, when that code is the receiver's own (not a generic 5.7.1)."""
    dsn = reply.dsn
    if not dsn or dsn in _GENERIC_CODES:
        return False
    for label in re.findall(r"[45]\.\d{1,3}\.\d{1,3}(?:-[45]\.\d{1,3}\.\d{1,3})?", rule.code):
        low, _, high = label.partition("-")
        if dsn == low or (high and _dsn_key(low) <= _dsn_key(dsn) <= _dsn_key(high)):
            return True
    return False


def _dsn_key(code: str) -> tuple[int, ...]:
    return tuple(int(part) for part in code.split("."))


def _rule_ip(rule: Rule, text: str) -> str | None:
    if rule.ip_pattern is None:
        return None
    found = rule.ip_pattern.search(text)
    return sending_ip(found.group(1)) if found else None


def _named_list(text: str):
    """The list a reply names: (the catalogue's zone, the name as said, its removal or None for a
    list the catalogue does not know, whether it lists domains), or None."""
    addresses, domains = catalogue(), domain_catalogue()
    words = _SPAMHAUS_WORDS.search(text)
    if words:  # "blocked using Spamhaus PBL"
        part = (words.group("part") or "zen").lower()
        code = _SPAMHAUS_PARTS.get(f"{part}.spamhaus.org", "")
        zen = addresses.get("zen.spamhaus.org")
        return "zen.spamhaus.org", f"{part}.spamhaus.org", zen.removal([code]) if zen else None, False
    for match in _LISTED_ON.finditer(text):
        zone = match.group("zone").lower().rstrip(".")
        if zone in _SPAMHAUS_PARTS and "zen.spamhaus.org" in addresses:
            return "zen.spamhaus.org", zone, addresses["zen.spamhaus.org"].removal([_SPAMHAUS_PARTS[zone]]), False
        for known, domain_list in ((addresses, False), (domains, True)):
            for name, entry in known.items():
                if zone == name or zone.endswith("." + name) or name.endswith("." + zone):
                    return name, name, entry.removal(), domain_list
        if match.group("how").lower() == "blocked using" and zone.count(".") >= 1:
            return zone, zone, None, False  # Postfix's own words for a list of the receiver's choice
    return None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _rule_delist(rule: Rule, address: str | None) -> dict:
    def fill(text: str) -> str:
        return text.replace("ADDRESS", address or UNKNOWN_IP)

    out: dict = {"url": fill(rule.delist_url), "steps": [fill(s) for s in rule.steps]}
    if rule.fallback:
        out["fallback"] = fill(rule.fallback)
    return out


# -- a whole log -----------------------------------------------------------------------------------------


@dataclass
class Group:
    """Rejections of one receiver, code, meaning and sending address: how many delivery attempts
    were refused (`count`), of how many messages, to how many recipients."""

    first: Rejection
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    messages: set[str] = field(default_factory=set)  # queue IDs
    recipients: set[tuple[str, str]] = field(default_factory=set)  # (queue ID, recipient)

    def seen(self, when: datetime | None) -> None:
        if when is not None:
            self.first_seen = min(filter(None, (self.first_seen, when)))
            self.last_seen = max(filter(None, (self.last_seen, when)))

    def to_dict(self) -> dict:
        r = self.first
        out = {
            "receiver": r.receiver,
            "code": r.code,
            "sending_ip": r.sending_ip,
            "relay": visible(r.relay, 255),
            "first_seen": self.first_seen.astimezone(UTC).isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.astimezone(UTC).isoformat() if self.last_seen else None,
            "count": self.count,
            "messages": len(self.messages),
            "recipients": len(self.recipients),
            "meaning": r.meaning,
            "reply": r.reply,
            "kind": r.kind,
            "delist": r.delist,
        }
        if r.domain:
            out["domain"] = r.domain
        return out


@dataclass(slots=True)
class Attempt:
    """One delivery attempt of one message by one delivery process: Postfix's line for each host
    that refused before the last (smtp_skip_5xx_greeting, soft errors), then one per recipient.
    A refusal counts once per attempt, however many hosts said it or recipients it cost."""

    message: str
    recipients: set[str] = field(default_factory=set)  # whose result is logged
    undelivered: set[str] = field(default_factory=set)  # of them, not delivered (by another host)
    ended: bool = False  # a recipient's result is logged: a host's line after it is the next attempt
    refusals: set[tuple] = field(default_factory=set)  # what it was refused as (Rejection.key)

    def counts(self, rejection: Rejection) -> bool:
        """Whether REJECTION is news in this attempt (and now noted): a second host of the
        destination saying the same is the same refusal."""
        if rejection.key in self.refusals:
            return False
        self.refusals.add(rejection.key)
        return True


class Attempts:
    """Which delivery attempt each line of a log belongs to: lines of one message from one process,
    until a recipient already reported comes again or a host's line follows the recipients' (the
    same process trying the message later). Only attempts that a receiver refused are held, and
    only the latest (the lines of one attempt come within seconds of each other): a log of any
    length is read in bounded memory."""

    HELD = 10_000

    def __init__(self) -> None:
        self._open: OrderedDict[tuple[str, str], Attempt] = OrderedDict()
        self._unnamed = itertools.count(1)

    def place(self, reply: Reply, refused: bool) -> Attempt | None:
        """The attempt REPLY's line belongs to; None for a line of no refused attempt."""
        if not reply.message:  # a log without queue IDs: each line is an attempt of its own
            return Attempt(f"line {next(self._unnamed)}") if refused else None
        key = (reply.message, reply.process)
        attempt = self._open.get(key)
        later = attempt is not None and (
            (attempt.ended and not reply.address) or (reply.address and reply.address in attempt.recipients)
        )
        if attempt is None or later:
            if not refused:
                self._open.pop(key, None)
                return None
            attempt = self._open[key] = Attempt(reply.message)
            if len(self._open) > self.HELD:
                self._open.popitem(last=False)
        self._open.move_to_end(key)
        if reply.address:
            attempt.recipients.add(reply.address)
            if reply.status != SENT:
                attempt.undelivered.add(reply.address)
            attempt.ended = True
        return attempt


class Summary:
    """Rejections grouped by receiver, code, meaning and sending address (or listed domain) as they
    come, counted by delivery attempt, message and recipient: a log of any length is held as its
    groups and the attempts a receiver refused, not its lines."""

    def __init__(self) -> None:
        self._groups: dict[tuple, Group] = {}
        self._attempts = Attempts()

    def add(self, reply: Reply, rejection: Rejection | None) -> None:
        """A line of the log (REJECTION: what it refuses, or None): every line of a refused attempt
        counts its recipients in."""
        attempt = self._attempts.place(reply, rejection is not None)
        if attempt is None:
            return
        if rejection is not None:
            group = self._groups.setdefault(rejection.key, Group(rejection))
            group.seen(rejection.when)
            if attempt.counts(rejection):
                group.count += 1
                group.messages.add(attempt.message)
        for key in attempt.refusals:
            self._groups[key].recipients.update((attempt.message, address) for address in attempt.undelivered)

    def groups(self) -> list[Group]:
        """The most severe first (a ban, a listing), then the most recent."""
        epoch = datetime.min.replace(tzinfo=UTC)
        by_time = sorted(self._groups.values(), key=lambda g: (g.last_seen or epoch, g.count), reverse=True)
        return sorted(by_time, key=lambda g: _SEVERITY.get(g.first.kind, len(_SEVERITY)))


_SEVERITY = {kind: n for n, kind in enumerate(("ip-ban", "listed", "unauthenticated", "ptr", "reputation", "rate"))}


def summarize(lines: Iterable[str], year: int | None = None) -> list[Group]:
    """The rejections in log LINES, grouped and counted, the most severe first."""
    summary = Summary()
    for line in lines:
        reply = parse_line(line, year)
        if reply is not None:
            summary.add(reply, classify(reply))
    return summary.groups()
