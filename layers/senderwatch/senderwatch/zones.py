"""The DNSBL zone catalogue and how each zone's answers are read.

Two kinds of list: address lists (DNSBLs, asked for an address's reversed octets or nibbles)
and domain lists (RHSBLs, asked for a name: a sender domain, a HELO name, a PTR name).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from .addresses import shown
from .errors import InvalidInput

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
NAMES = 0  # the "family" of a domain list: it rates names, not addresses


ANY_OTHER = "*"  # in depends_on: every other list that lists the address


@dataclass(frozen=True)
class Removal:
    """How a list takes an address (or a domain) off: its own procedure, as data.

    Steps and the mail-based removal's recipient and subject say ADDRESS where the listed address
    (or domain) goes. DEPENDS_ON names the lists to clear first (ANY_OTHER: every other list
    that lists it); EXPIRES says when listings go by themselves (None: only on request), and
    ON_REQUEST whether a list whose listings expire also takes one off sooner when asked (PSBL).
    """

    url: str = ""
    steps: tuple[str, ...] = ()
    from_listed_ip: bool = False
    expires: str | None = None
    on_request: bool = False
    self_service: bool = True
    paid_express: str | None = None
    depends_on: tuple[str, ...] = ()
    depends_note: str | None = None
    recipient: str = ""
    subject: str = ""
    source: str = ""

    @classmethod
    def from_entry(cls, entry: dict, url: str = "") -> Removal:
        return cls(
            url=entry.get("url") or url,
            steps=tuple(entry.get("steps", ())),
            from_listed_ip=bool(entry.get("from_listed_ip", False)),
            expires=entry.get("expires"),
            on_request=bool(entry.get("on_request", False)),
            self_service=bool(entry.get("self_service", True)),
            paid_express=entry.get("paid_express"),
            depends_on=tuple(entry.get("depends_on", ())),
            depends_note=entry.get("depends_note"),
            recipient=entry.get("recipient", ""),
            subject=entry.get("subject", ""),
            source=entry.get("source", ""),
        )

    def clear_first(self, listed_on: Sequence[str], zone: str) -> list[str]:
        """Which of the lists that list the address (LISTED_ON) this one waits for."""
        others = [z for z in listed_on if z != zone]
        if ANY_OTHER in self.depends_on:
            return others
        return [z for z in others if z in self.depends_on]

    def command(self, address: str) -> str:
        """For a removal by mail from the listed address: the command, run on the mail server
        itself, that sends it (through the server's own MTA, so from its own address)."""
        if not self.recipient:
            return ""
        recipient = self.recipient.replace("ADDRESS", address)
        return f"printf 'Subject: %s\\n\\n' '{self._subject(address)}' | sendmail {recipient}"

    def bound_command(self, address: str) -> str:
        """The same, sent from ADDRESS explicitly, for a server that has several addresses."""
        if not self.recipient:
            return ""
        recipient = self.recipient.replace("ADDRESS", address)
        return f"swaks --local-interface {address} --to {recipient} --header 'Subject: {self._subject(address)}'"

    def _subject(self, address: str) -> str:
        """The subject to send: the list's own, or (JustSpam's carries a code its page issues for
        each request) a place for the one the removal page gives."""
        return self.subject.replace("ADDRESS", address) if self.subject else "<the subject the removal page gives>"

    def filled(self, address: str, listed_on: Sequence[str] = (), zone: str = "") -> dict:
        """The procedure for ADDRESS, as `check --format json` and the alerts give it."""
        out: dict = {
            "url": self.url.replace("ADDRESS", address),
            "steps": [step.replace("ADDRESS", address) for step in self.steps],
            "from_listed_ip": self.from_listed_ip,
            "expires": self.expires,
            "on_request": self.on_request or not self.expires,
        }
        if self.recipient:
            out["command"] = self.command(address)
            out["command_from_address"] = self.bound_command(address)
        clear = self.clear_first(listed_on, zone)
        if clear:
            out["clear_first"] = clear
        if self.depends_note:
            out["note"] = self.depends_note
        if self.paid_express:
            out["paid_express"] = self.paid_express
        return out


@dataclass(frozen=True)
class Zone:
    """One DNSBL: where to ask, and what its answers mean."""

    zone: str
    name: str = ""
    families: tuple[int, ...] = (4, 6)
    default: bool = False
    codes: dict[str, str] = field(default_factory=dict)
    blocked: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (ipaddress.ip_network("127.255.255.0/24"),)
    blocked_meaning: dict[str, str] = field(default_factory=dict)
    test_listed: dict[int, str | None] = field(default_factory=dict)
    test_clean: dict[int, str | None] = field(default_factory=dict)
    delist_url: str = ""
    terms: str = ""
    source: str = ""
    dqs: str = ""
    known: bool = True
    domains: bool = False  # a domain list: asked for names
    query: str = "name"  # a domain list: "name" as it is, or "registered-domain" (and its parents)
    bitmask: bool = False  # the answer's last octet is a set of sub-lists
    removals: dict[str, Removal] = field(default_factory=dict)  # "" for the list, else by code

    def removal(self, codes: Sequence[str] = ()) -> Removal:
        """The removal procedure for a listing with CODES (a list like ZEN has one per sub-list)."""
        for code in codes:
            if code in self.removals:
                return self.removals[code]
        return self.removals.get("") or Removal(url=self.delist_url)

    def query_suffix(self, dqs_key: str | None = None) -> str:
        """The domain queries go to: the DQS host when a key is configured for this zone."""
        if dqs_key and self.dqs:
            return self.dqs.format(key=dqs_key)
        return self.zone

    def is_blocked(self, code: ipaddress.IPv4Address) -> bool:
        return any(code in net for net in self.blocked)

    def meaning(self, code: str) -> str:
        return self.codes.get(code) or self.blocked_meaning.get(code) or ""

    def listing(self, code: str) -> str:
        """What a listing code says; a bitmask list's code is each of its bits' sub-list."""
        if self.codes.get(code):
            return self.codes[code]
        if self.bitmask:
            last = int(code.rsplit(".", 1)[1])
            bits = [1 << i for i in range(8) if last & (1 << i)]
            return "; ".join(self.codes.get(f"127.0.0.{bit}") or f"bit {bit} (not documented)" for bit in bits)
        return f"listed (code {code} is not documented by the list)" if self.known else "listed"

    def query_names(self, name: str) -> list[str]:
        """The names to ask this domain list about NAME: the name, or for a list of registered
        domains the name and each parent down to two labels (no public-suffix list needed: a
        list never lists a public suffix, so asking one costs a query and says nothing)."""
        if self.query != "registered-domain":
            return [name]
        labels = name.split(".")
        return [".".join(labels[i:]) for i in range(max(0, len(labels) - 4), len(labels) - 1)]


def _zone_from(entry: dict, defaults: dict) -> Zone:
    def tests(key: str) -> dict[int, str | None]:
        merged = {**defaults[key], **entry.get(key, {})}
        return {int(family): value for family, value in merged.items()}

    return Zone(
        zone=entry["zone"].lower().rstrip("."),
        name=entry.get("name", ""),
        families=tuple(entry.get("families", defaults["families"])),
        default=bool(entry.get("default", False)),
        codes=dict(entry.get("codes", {})),
        blocked=tuple(ipaddress.ip_network(n) for n in entry.get("blocked", defaults["blocked"])),
        blocked_meaning=dict(entry.get("blocked_meaning", {})),
        test_listed=tests("test_listed"),
        test_clean=tests("test_clean"),
        delist_url=entry.get("delist_url", ""),
        terms=entry.get("terms", ""),
        source=entry.get("source", ""),
        dqs=entry.get("dqs", ""),
        removals=_removals(entry),
    )


def _removals(entry: dict) -> dict[str, Removal]:
    """The list's removal procedure ("" key) and its sub-lists' by listing code ("127.0.0.4-7"
    is 127.0.0.4 to 127.0.0.7)."""
    url = entry.get("delist_url", "")
    out = {"": Removal.from_entry(entry.get("removal", {}), url)}
    for codes, part in entry.get("removal_by_code", {}).items():
        first, _, last = codes.partition("-")
        base, _, low = first.rpartition(".")
        for octet in range(int(low), int(last or low) + 1):
            out[f"{base}.{octet}"] = Removal.from_entry(part, url)
    return out


@cache
def _raw() -> dict:
    return json.loads(resources.files(__package__).joinpath("catalogue.json").read_text("utf-8"))


def _domain_zone_from(entry: dict) -> Zone:
    return Zone(
        zone=entry["zone"].lower().rstrip("."),
        name=entry.get("name", ""),
        families=(NAMES,),
        default=bool(entry.get("default", False)),
        codes=dict(entry.get("codes", {})),
        blocked=tuple(ipaddress.ip_network(n) for n in entry.get("blocked", ())),
        blocked_meaning=dict(entry.get("blocked_meaning", {})),
        test_listed={NAMES: entry.get("test_listed")},
        test_clean={NAMES: entry.get("test_clean")},
        delist_url=entry.get("delist_url", ""),
        terms=entry.get("terms", ""),
        source=entry.get("source", ""),
        dqs=entry.get("dqs", ""),
        domains=True,
        query=entry.get("query", "name"),
        bitmask=bool(entry.get("bitmask", False)),
        removals=_removals(entry),
    )


@cache
def catalogue() -> dict[str, Zone]:
    """Every address list senderwatch knows, by name, in catalogue order."""
    raw = _raw()
    return {z.zone: z for z in (_zone_from(entry, raw["defaults"]) for entry in raw["zones"])}


@cache
def domain_catalogue() -> dict[str, Zone]:
    """Every domain list senderwatch knows, by name, in catalogue order."""
    return {z.zone: z for z in map(_domain_zone_from, _raw().get("domain_zones", []))}


def default_zones() -> list[Zone]:
    return [zone for zone in catalogue().values() if zone.default]


ADD, LEAVE_OUT = "+", "-"  # +NAME: a list besides the defaults; -NAME: the defaults without it


@dataclass(frozen=True)
class ZoneChoice:
    """Lists as a person names them: the lists themselves (NAMED, which replace the defaults), or
    changes to the defaults (ADDED, written +NAME; LEFT_OUT, written -NAME). Not both at once."""

    named: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        """As it is kept (a target's zones): canonical names, the changes with their signs."""
        return self.named or (*(ADD + n for n in self.added), *(LEAVE_OUT + n for n in self.left_out))

    def applied(self, defaults: Sequence[str]) -> list[str]:
        """The names of the lists chosen, when DEFAULTS are what the changes change."""
        if self.named:
            return list(self.named)
        return [name for name in dict.fromkeys((*defaults, *self.added)) if name not in self.left_out]


def parse_zones(names: Sequence[str] | None) -> ZoneChoice:
    """The words of a Zones parameter, a target's zones or --zone: list names (those lists only),
    or +NAME and -NAME (the defaults with NAME, without NAME); InvalidInput says what is wrong."""
    named: dict[str, None] = {}
    added: dict[str, None] = {}
    left_out: dict[str, None] = {}
    for raw in names or ():
        text = str(raw).strip()
        sign = text[:1] if text[:1] in (ADD, LEAVE_OUT) else ""
        name = validate_zone_name(text[1:] if sign else text, shown_as=text)
        {ADD: added, LEAVE_OUT: left_out, "": named}[sign][name] = None
    if named and (added or left_out):
        change = next(iter(added)) if added else next(iter(left_out))
        sign = ADD if added else LEAVE_OUT
        raise InvalidInput(
            f"zones {next(iter(named))} and {sign}{change}: name the lists to ask (they replace the defaults), "
            "or change the defaults (+NAME adds a list, -NAME leaves one out), not both"
        )
    if both := [name for name in added if name in left_out]:
        raise InvalidInput(f"zone {both[0]} is both added (+{both[0]}) and left out (-{both[0]}): keep one")
    return ZoneChoice(tuple(named), tuple(added), tuple(left_out))


def default_names() -> list[str]:
    """The default lists, address lists and domain lists alike: what +NAME and -NAME change."""
    return [z.zone for z in default_zones()] + [z.zone for z in domain_catalogue().values() if z.default]


def deployment_zones(names: Sequence[str]) -> tuple[str, ...]:
    """The Zones parameter or `check --zone`, checked (both change the default lists): a list left
    out (-NAME) must be one of the defaults, since leaving out one that is not asked anyway is a
    typo that would change nothing."""
    choice = parse_zones(names)
    refuse_left_out(choice, default_names(), "one of the default lists")
    return choice.words


def refuse_left_out(choice: ZoneChoice, among: Sequence[str], what: str) -> None:
    """InvalidInput for a list CHOICE leaves out (-NAME) that is not AMONG those it could leave
    out (WHAT they are, for the message)."""
    for name in choice.left_out:
        if name not in among:
            raise InvalidInput(
                f"zone -{name}: {name} is not {what}, so there is nothing to leave out (senderwatch zones lists them)"
            )


def resolve_zones(names: Sequence[str] | None, base: Sequence[str] = ()) -> list[Zone]:
    """The address lists among the names asked for (catalogue entries where known, a name the
    catalogue does not know is an address list with RFC 5782 defaults), or the default set.
    Changes (+NAME, -NAME) change BASE's address lists (a target's change the deployment's
    Zones), or the catalogue's default set when BASE is empty."""
    choice = parse_zones(names)
    if choice.named:
        chosen = list(choice.named)
    else:
        start = [z.zone for z in (resolve_zones(base) if base else default_zones())]
        chosen = choice.applied(start)
    known, domain_lists = catalogue(), domain_catalogue()
    zones = []
    for name in chosen:
        if name in domain_lists:
            continue
        zone = known.get(name)
        if zone is None:  # not in the catalogue: both families, RFC 5782 defaults
            zone = replace(_zone_from({"zone": name}, _raw()["defaults"]), known=False)
        zones.append(zone)
    return zones


def resolve_domain_zones(names: Sequence[str] | None) -> list[Zone]:
    """The domain lists among the names asked for, or the default set when none were named (and
    when the names only change the defaults: +NAME adds, -NAME leaves out)."""
    known = domain_catalogue()
    defaults = [name for name, zone in known.items() if zone.default]
    return [known[n] for n in parse_zones(names).applied(defaults) if n in known]


def validate_zone_name(text: str, shown_as: str | None = None) -> str:
    """A list's zone, canonical (lower case, no final dot); InvalidInput names SHOWN_AS (what the
    person wrote, +NAME or -NAME included) and what is wrong with it."""
    name = str(text).strip().lower().rstrip(".")
    said = shown(text if shown_as is None else shown_as)
    labels = name.split(".")
    if len(labels) < 2 or any(not label or len(label) > 63 for label in labels) or len(name) > 200:
        raise InvalidInput(f"invalid DNSBL zone {said}: expected a domain such as dnsbl.example.org")
    if any(not (c.isascii() and c.isalnum() or c in "-_") for label in labels for c in label):
        raise InvalidInput(f"invalid DNSBL zone {said}: only letters, digits, '-' and '_' are allowed")
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        raise InvalidInput(
            f"invalid DNSBL zone {said}: a name's labels neither begin nor end with '-' "
            "(-NAME leaves a default list out, +NAME adds one)"
        )
    if labels[-1].isdigit():  # no top-level domain is all digits (RFC 3696 2): an address, not a list
        raise InvalidInput(
            f"invalid DNSBL zone {said}: that is an address; a zone is a domain such as dnsbl.example.org"
        )
    return name


def in_loopback(code: ipaddress.IPv4Address) -> bool:
    return code in _LOOPBACK
