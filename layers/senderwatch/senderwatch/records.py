"""What senderwatch keeps in DynamoDB, as types: the findings on a target's item, and the health
table's records (each list and address family, the resolver, each domain, each receiver).

Every record is a plain mapping on the item (DynamoDB stores maps), so these are TypedDicts:
the keys and their meanings in one place. `total=False`: records written by earlier versions,
or by hand, may lack keys; the readers (findings.written, ...) keep only what they can use.
"""

from __future__ import annotations

from typing import TypedDict


def count(value: object) -> int:
    """A count as a record holds it (a number, or what a person wrote by hand): 0 when it is not one."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


# -- a target's findings (the targets table's `findings` attribute) --------------------------------


class ZoneEntry(TypedDict, total=False):
    """One list's last verdict on an address (or a domain list's on a domain)."""

    status: str  # listed | clean | unknown (no verdict yet, only errors)
    since: str  # when this verdict began (ISO 8601)
    codes: list[str]  # a listing's return codes
    meaning: str
    reason: str  # the list's TXT
    delist_url: str
    error: str  # the list could not answer about it lately: its verdict stands
    error_since: str
    error_runs: int  # scheduled runs in a row with that error
    error_run: str  # the last run counted


class SpfFinding(TypedDict, total=False):
    """SPF's last result for an address, for one sender (or HELO name)."""

    sender: str
    result: str  # an RFC 7208 result
    mechanism: str | None
    record: str | None  # kept once per identity for a host or a network (spf_records)
    explanation: str
    since: str
    error: str  # temperror lately: the result stands


class RdnsFinding(TypedDict, total=False):
    ptr: list[str]
    forward_confirmed: bool | None


class AddressFindings(TypedDict, total=False):
    """An address target's findings."""

    dnsbl: dict[str, ZoneEntry]  # by list
    spf: SpfFinding | list[SpfFinding]  # the MAIL FROM identity: one sender's, or each of several senders'
    helo_spf: SpfFinding  # the HELO name, when the target has one
    rdns: RdnsFinding
    reminded_at: str


class MemberFindings(AddressFindings, total=False):
    """One address's findings under a host or a network, kept small (a /24 has 256, and an item
    holds at most 400 KB): a list that has said "clean" since the address's first check is left
    out (the target's `zones` names the lists asked), and SPF keeps no record."""

    first: str  # when the address was first checked


class Unresolved(TypedDict, total=False):
    """A host with nothing to check: it does not exist, has no A or AAAA record, or only
    addresses no list rates."""

    error: str
    detail: str
    since: str


class ManyFindings(TypedDict, total=False):
    """A host's or a network's findings: per address, and what holds for the target."""

    addresses: dict[str, MemberFindings]
    zones: dict[str, list[str]]  # the lists asked, per family ("4", "6")
    # per identity: {"sender", "record"}; "spf" the first sender's, "spf:SENDER" each other sender's
    spf_records: dict[str, dict[str, str | None]]
    addresses_since: str  # when the set of addresses last changed
    reminded_at: str
    unresolved: Unresolved
    notes: list[str]  # what is left unchecked: addresses no list rates, addresses past the most a host may have


# -- the health table's records --------------------------------------------------------------------


class ListHealth(TypedDict, total=False):
    """A list's health for one address family (`zone:NAME:FAMILY`), or the resolver's (`resolver`)."""

    status: str  # failing | ok
    error: str  # blocked, timeout, lists-nothing, ... (failing)
    detail: str
    codes: list[str]
    family: int
    since: str
    runs: int  # scheduled runs in a row it has failed
    failed_runs: int  # how many it had failed, once it works again
    run: str  # the last scheduled run counted


class RecordPart(TypedDict, total=False):
    """A domain's SPF or DMARC record, as last judged."""

    record: str | None
    policy: str  # DMARC's
    problems: list[dict[str, str]]  # {"code", "detail"}
    since: str
    error: str  # could not be looked up lately: the last judgement stands
    watched: dict[str, str]  # SPF's: each watched address checked with it, and its SPF result then


class DomainHealth(TypedDict, total=False):
    """A domain's health (`domain:NAME`), shared by every target that sends as it, names it as
    HELO, or has it as a PTR name."""

    roles: list[str]  # sender, helo, ptr
    spf_record: RecordPart
    dmarc: RecordPart
    dnsbl: dict[str, ZoneEntry]  # the domain lists' verdicts
    run: str  # the last scheduled run that checked it


class Block(TypedDict, total=False):
    """What one receiver said of one sending address, with one code."""

    status: str  # blocked | accepted (the block is over)
    code: str
    sending_ip: str | None
    relay: str
    meaning: str
    reply: str  # the receiver's own words
    kind: str
    delist: dict | None
    status_of_reply: str  # bounced, deferred, refused
    scope: str  # recipient: one organisation's own block
    server: str  # the log stream (mail server) it was seen in
    since: str
    last_seen: str
    accepted_since: str


class ReceiverRecord(TypedDict, total=False):
    """What one receiver says of the sender (`receiver:NAME`): its blocks, by "ADDRESS|CODE"
    (and "|RELAY" for one organisation's own)."""

    blocks: dict[str, Block]


class Silenced(TypedDict, total=False):
    """One problem a mute silenced that was still there when it ended (an alert's facts)."""

    event: str
    ip: str
    zone: str
    target: str
    since: str


class MuteRecord(TypedDict, total=False):
    """A mute (`mute:ID` in the health table): alerts it covers are recorded, not sent, from AT
    until UNTIL (or, UNTIL_CLEAR, until nothing it covers is wrong any more)."""

    id: str
    scope: str  # target | zone | event | domain
    value: str  # the target's key, the zone, the event or the domain
    reason: str
    by: str  # who set it: the AWS caller's ARN, or the login name
    at: str  # when it was set (ISO 8601, UTC)
    until: str  # when it ends; "" for one that lasts until the problem clears
    until_clear: bool
    ended: str  # when it ended (absent while it holds)
    ended_by: str  # expired | cleared | who unmuted it
    still: list[Silenced]  # what it silenced that was still wrong when it expired
