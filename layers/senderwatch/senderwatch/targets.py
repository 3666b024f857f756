"""A watched target: what the user wrote on the DynamoDB item, validated."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .addresses import address_text, parse_address, shown
from .domains import normalize_sender, validate_helo
from .errors import InvalidInput, InvalidTarget
from .zones import resolve_zones

LABEL_MAX = 100
_NOT_TEXT = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, format (bidi, zero-width), line breaks
SETTINGS = ("sender", "helo", "label", "zones", "enabled")  # what a user sets on an item


def validate_label(text: str) -> str:
    """A label for people: at most LABEL_MAX characters, one line, no control characters."""
    label = str(text).strip()
    if len(label) > LABEL_MAX:
        raise InvalidInput(f"label {shown(label, 30)} is {len(label)} characters long: at most {LABEL_MAX}")
    if any(unicodedata.category(c) in _NOT_TEXT for c in label):
        raise InvalidInput(f"label {shown(label, 30)} contains control characters, line breaks or invisible ones")
    return label


def validate_zones(zones, version: int) -> tuple[str, ...]:
    """Zone names for an address of VERSION; at least one of them must rate that family."""
    if not zones:
        return ()
    chosen = resolve_zones(list(zones))
    if chosen and not any(version in zone.families for zone in chosen):
        names = ", ".join(zone.zone for zone in chosen)
        raise InvalidInput(
            f"none of the zones {names} rates IPv{version} addresses: the address would never be checked"
        )
    return tuple(zone.zone for zone in chosen)


@dataclass(frozen=True)
class Target:
    ip: str
    sender: str | None = None
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
        address = parse_address(item["ip"])
        ip = address_text(address)
        if ip != item["ip"]:
            raise InvalidInput(f"write the address as {ip}: that is the key senderwatch looks for")
        for name in ("sender", "helo", "label"):
            if item.get(name) is not None and not isinstance(item[name], str):
                raise InvalidInput(f"'{name}' must be a string")
        sender = normalize_sender(item["sender"]) if item.get("sender") else None
        helo = validate_helo(item["helo"]) if item.get("helo") else None
        zones = item.get("zones") or ()
        if isinstance(zones, str):
            zones = [z for z in zones.replace(",", " ").split() if z]
        if not isinstance(zones, (list, tuple, set)) or not all(isinstance(z, str) for z in zones):
            raise InvalidInput("'zones' must be a list of DNSBL zone names")
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise InvalidInput("'enabled' must be true or false")
        # A label is for people: shown cleaned, never a reason not to check the address.
        return cls(
            ip,
            sender,
            helo,
            str(item.get("label") or ""),
            validate_zones(sorted(zones) if isinstance(zones, set) else zones, address.version),
            enabled,
        )

    def to_item(self) -> dict:
        item: dict = {"ip": self.ip, "enabled": self.enabled}
        if self.sender:
            item["sender"] = self.sender
        if self.helo:
            item["helo"] = self.helo
        if self.label:
            item["label"] = self.label
        if self.zones:
            item["zones"] = list(self.zones)
        return item
