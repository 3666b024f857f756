"""A watched target: what the user wrote on the DynamoDB item, validated."""

from __future__ import annotations

from dataclasses import dataclass

from .addresses import parse_address
from .spfcheck import normalize_sender, validate_helo
from .zones import validate_zone_name


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
        """Validate an item a person may have written by hand; ValueError says what is wrong."""
        if not isinstance(item.get("ip"), str):
            raise ValueError("the item has no 'ip' string")
        ip = str(parse_address(item["ip"]))
        if ip != item["ip"].strip():
            raise ValueError(f"write the address in its canonical form: {ip}")
        for name in ("sender", "helo", "label"):
            if item.get(name) is not None and not isinstance(item[name], str):
                raise ValueError(f"'{name}' must be a string")
        sender = normalize_sender(item["sender"]) if item.get("sender") else None
        helo = validate_helo(item["helo"]) if item.get("helo") else None
        zones = item.get("zones") or ()
        if isinstance(zones, str):
            zones = [z for z in zones.replace(",", " ").split() if z]
        if not isinstance(zones, (list, tuple, set)) or not all(isinstance(z, str) for z in zones):
            raise ValueError("'zones' must be a list of DNSBL zone names")
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ValueError("'enabled' must be true or false")
        return cls(
            ip, sender, helo, str(item.get("label") or "")[:100], tuple(validate_zone_name(z) for z in zones), enabled
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
