"""The DNSBL zone catalogue and how each zone's answers are read."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from .addresses import shown
from .errors import InvalidInput

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


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

    def query_suffix(self, dqs_key: str | None = None) -> str:
        """The domain queries go to: the DQS host when a key is configured for this zone."""
        if dqs_key and self.dqs:
            return self.dqs.format(key=dqs_key)
        return self.zone

    def is_blocked(self, code: ipaddress.IPv4Address) -> bool:
        return any(code in net for net in self.blocked)

    def meaning(self, code: str) -> str:
        return self.codes.get(code) or self.blocked_meaning.get(code) or ""


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
    )


@cache
def _raw() -> dict:
    return json.loads(resources.files(__package__).joinpath("catalogue.json").read_text("utf-8"))


@cache
def catalogue() -> dict[str, Zone]:
    """Every zone senderwatch knows, by name, in catalogue order."""
    raw = _raw()
    return {z.zone: z for z in (_zone_from(entry, raw["defaults"]) for entry in raw["zones"])}


def default_zones() -> list[Zone]:
    return [zone for zone in catalogue().values() if zone.default]


def resolve_zones(names: list[str] | None) -> list[Zone]:
    """Zones for the names asked for (catalogue entries where known), or the default set."""
    if not names:
        return default_zones()
    known = catalogue()
    zones, seen = [], set()
    for raw_name in names:
        name = validate_zone_name(raw_name)
        if name in seen:
            continue
        seen.add(name)
        zone = known.get(name)
        if zone is None:  # not in the catalogue: both families, RFC 5782 defaults
            zone = replace(_zone_from({"zone": name}, _raw()["defaults"]), known=False)
        zones.append(zone)
    return zones


def validate_zone_name(text: str) -> str:
    name = str(text).strip().lower().rstrip(".")
    labels = name.split(".")
    if len(labels) < 2 or any(not label or len(label) > 63 for label in labels) or len(name) > 200:
        raise InvalidInput(f"invalid DNSBL zone {shown(text)}: expected a domain such as dnsbl.example.org")
    if any(not (c.isascii() and c.isalnum() or c in "-_") for label in labels for c in label):
        raise InvalidInput(f"invalid DNSBL zone {shown(text)}: only letters, digits, '-' and '_' are allowed")
    return name


def in_loopback(code: ipaddress.IPv4Address) -> bool:
    return code in _LOOPBACK
