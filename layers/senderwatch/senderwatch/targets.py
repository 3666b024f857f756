"""A watched target: what the user wrote on the DynamoDB item, validated.

A target is an address, a host name (its A and AAAA records, resolved every run) or a small
network (expanded every run); its key, the item's `ip`, is written the one way `parse_target` does.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from .addresses import IPAddress, IPNetwork, address_text, parse_address, parse_network, shown
from .errors import InvalidInput, InvalidTarget
from .identities import normalize_sender, parse_host, validate_helo
from .text import words
from .zones import catalogue, domain_catalogue, parse_zones, refuse_left_out, resolve_zones

ADDRESS, HOST, NETWORK = "address", "host", "network"


@dataclass(frozen=True)
class TargetName:
    """What a target names: KEY is its canonical text (the item's key), KIND says how to read it."""

    key: str
    kind: str
    value: IPAddress | IPNetwork | str

    @property
    def families(self) -> frozenset[int]:
        """The address families it may hold: a host may have both."""
        if isinstance(self.value, str):
            return frozenset((4, 6))
        return frozenset((self.value.version,))

    def addresses(self) -> list[IPAddress]:
        """An address's one address, a network's every address; a host's are found in DNS."""
        if isinstance(self.value, str):
            return []
        if isinstance(self.value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            return list(self.value)
        return [self.value]


def parse_target(text: str) -> TargetName:
    """An address, a network (192.0.2.0/28) or a host name (mail.example.com); InvalidInput else."""
    raw = str(text).strip()
    if "/" in raw:
        network = parse_network(raw)
        if isinstance(network, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            return TargetName(str(network), NETWORK, network)
        return TargetName(address_text(network), ADDRESS, network)
    try:
        address = parse_address(raw)
    except InvalidInput:
        if not _maybe_host(raw):
            raise
        name = parse_host(raw)
        return TargetName(name, HOST, name)
    return TargetName(address_text(address), ADDRESS, address)


def _maybe_host(raw: str) -> bool:
    """A name rather than a mistyped address (192.0.2.256, 2001:db8::zz)."""
    return ":" not in raw and not all(c.isdigit() or c == "." for c in raw)


LABEL_MAX = 100
_NOT_TEXT = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, format (bidi, zero-width), line breaks
SETTINGS = ("sender", "senders", "helo", "label", "zones", "enabled")  # what a user sets on an item


def parse_senders(values) -> tuple[str, ...]:
    """The MAIL FROM identities a target sends as, each normalized, once each, in the order given:
    a list, or one text naming them separated by spaces, commas or semicolons (none of which an
    address can hold). InvalidInput for one that is not a sender."""
    if isinstance(values, str):
        values = [values]
    names = [name for value in values for name in words(str(value).replace(";", " "))]
    return tuple(dict.fromkeys(normalize_sender(name) for name in names))


def item_senders(item: dict) -> tuple[str, ...]:
    """The senders an item names: its `sender` (as earlier versions and the README's put-item line
    write it), then its `senders` list; InvalidInput when one cannot be read."""
    more = item.get("senders") or []
    if isinstance(more, set):
        more = sorted(more)  # a string set written by hand has no order
    if not isinstance(more, (list, tuple)) or not all(isinstance(s, str) for s in more):
        raise InvalidInput("'senders' must be a list of senders (user@domain or a domain)")
    if item.get("sender") is not None and not isinstance(item["sender"], str):
        raise InvalidInput("'sender' must be a string")
    return parse_senders([item.get("sender") or "", *more])


def sender_settings(senders: tuple[str, ...] | list[str]) -> dict[str, str | list[str] | None]:
    """SENDERS as an item holds them: one as `sender` (as the README's put-item line writes it),
    several as the `senders` list; the other attribute removed (None)."""
    if len(senders) == 1:
        return {"sender": senders[0], "senders": None}
    return {"sender": None, "senders": list(senders) or None}


def validate_label(text: str) -> str:
    """A label for people: at most LABEL_MAX characters, one line, no control characters."""
    label = str(text).strip()
    if len(label) > LABEL_MAX:
        raise InvalidInput(f"label {shown(label, 30)} is {len(label)} characters long: at most {LABEL_MAX}")
    if any(unicodedata.category(c) in _NOT_TEXT for c in label):
        raise InvalidInput(f"label {shown(label, 30)} contains control characters, line breaks or invisible ones")
    return label


def validate_zones(zones, families: frozenset[int] | int) -> tuple[str, ...]:
    """A target's own address lists (for addresses of FAMILIES): the lists themselves, or changes
    to the deployment's (+NAME, -NAME: see zones.parse_zones); at least one must rate one of those
    families. Domain lists are refused here: a domain's findings are shared by every target that
    sends as it, so the deployment chooses them (the Zones parameter)."""
    if not zones:
        return ()
    families = frozenset((families,)) if isinstance(families, int) else families
    choice = parse_zones(list(zones))
    domain_lists = [n for n in (*choice.named, *choice.added, *choice.left_out) if n in domain_catalogue()]
    if domain_lists:
        raise InvalidInput(
            f"{domain_lists[0]} is a domain list: a target's zones are address lists; the domain lists "
            "are the deployment's (the Zones parameter), shared by every target that sends as a domain"
        )
    refuse_left_out(choice, list(catalogue()), "a list senderwatch knows")
    chosen = resolve_zones(choice.words)  # changes: judged against the catalogue's default set
    if not chosen:
        raise InvalidInput("those zones leave out every default list: the target would never be checked")
    if not any(families & set(zone.families) for zone in chosen):
        family = "/".join(f"IPv{f}" for f in sorted(families))
        raise InvalidInput(
            f"none of the zones {', '.join(z.zone for z in chosen)} rates {family} addresses: "
            "the target would never be checked"
        )
    return choice.words if not choice.named else tuple(zone.zone for zone in chosen)


@dataclass(frozen=True)
class Target:
    ip: str
    senders: tuple[str, ...] = ()  # MAIL FROM identities, each evaluated for every address
    helo: str | None = None
    label: str = ""
    zones: tuple[str, ...] = ()
    enabled: bool = True

    @classmethod
    def from_item(cls, item: dict) -> Target:
        """Validate an item a person may have written by hand; InvalidTarget says what is wrong."""
        try:
            return cls._from_item(item)
        except InvalidTarget:
            raise
        except InvalidInput as exc:
            raise InvalidTarget(str(exc)) from None

    @classmethod
    def _from_item(cls, item: dict) -> Target:
        if not isinstance(item.get("ip"), str):
            raise InvalidTarget("the item has no 'ip' string")
        what = parse_target(item["ip"])
        ip = what.key
        if ip != item["ip"]:
            raise InvalidInput(f"write the {what.kind} as {ip}: that is the key senderwatch looks for")
        for name in ("sender", "helo", "label"):
            if item.get(name) is not None and not isinstance(item[name], str):
                raise InvalidInput(f"'{name}' must be a string")
        senders = item_senders(item)
        helo = validate_helo(item["helo"]) if item.get("helo") else None
        zones = item.get("zones") or ()
        if isinstance(zones, str):
            zones = words(zones)
        if not isinstance(zones, (list, tuple, set)) or not all(isinstance(z, str) for z in zones):
            raise InvalidInput("'zones' must be a list of DNSBL zone names")
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise InvalidInput("'enabled' must be true or false")
        # A label is for people: shown cleaned, never a reason not to check the address.
        target = cls(
            ip,
            senders,
            helo,
            str(item.get("label") or ""),
            validate_zones(sorted(zones) if isinstance(zones, set) else zones, what.families),
            enabled,
        )
        target.__dict__["name"] = what  # read already: `name` need not read it again
        return target

    @cached_property
    def name(self) -> TargetName:
        """What the key names, read once (the scheduler and the checker ask it of every target)."""
        return parse_target(self.ip)

    def to_item(self) -> dict:
        item: dict = {"ip": self.ip, "enabled": self.enabled}
        item.update({k: v for k, v in sender_settings(self.senders).items() if v is not None})
        if self.helo:
            item["helo"] = self.helo
        if self.label:
            item["label"] = self.label
        if self.zones:
            item["zones"] = list(self.zones)
        return item
