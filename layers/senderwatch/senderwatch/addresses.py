"""Watched addresses: parsing what people type, and the DNSBL query name."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> IPAddress:
    """One IPv4 or IPv6 address, or a ValueError whose message can be shown as is."""
    raw = str(text).strip()
    if not raw:
        raise ValueError("empty address: give an IPv4 or IPv6 address such as 192.0.2.25")
    if "/" in raw:
        raise ValueError(f"{raw!r} is a network, not an address: give each sending address on its own")
    try:
        return ipaddress.ip_address(raw.strip("[]"))
    except ValueError:
        pass
    if any(c.isalpha() for c in raw) and ":" not in raw:
        raise ValueError(f"{raw!r} is a hostname, not an address: give the IP address the server sends from")
    raise ValueError(f"{raw!r} is not a valid IPv4 or IPv6 address")


def reverse_name(ip: IPAddress) -> str:
    """The DNSBL query label: octets reversed (IPv4) or all 32 nibbles reversed (IPv6, RFC 5782)."""
    if ip.version == 4:
        a, b, c, d = ip.packed
        return f"{d}.{c}.{b}.{a}"
    return ".".join(reversed(ip.packed.hex()))
