"""Watched addresses: parsing what people type, which addresses a blocklist can rate, and query names."""

from __future__ import annotations

import ipaddress
import re

from .errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SMALLEST_PREFIX = {4: 24, 6: 120}  # a network target holds at most 256 addresses
_HOSTNAME = re.compile(r"[A-Za-z0-9_.-]+")

# Addresses no blocklist rates: they never appear as the source of mail on the internet.
# Written out rather than taken from ipaddress's is_private & co., whose ranges changed
# between Python patch releases; checked in order (the narrower range first).
_MEANINGLESS = [
    (ipaddress.ip_network(net), what)
    for net, what in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("10.0.0.0/8", "a private address (RFC 1918)"),
        ("100.64.0.0/10", "a shared address behind carrier-grade NAT (RFC 6598)"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address (RFC 1918)"),
        ("192.168.0.0/16", "a private address (RFC 1918)"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address (240.0.0.0/4)"),
        ("::/128", "the unspecified address"),
        ("::1/128", "the loopback address"),
        ("::/8", "a reserved address (::/8)"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address (private)"),
        ("fc00::/7", "a unique local address (private, RFC 4193)"),
        ("ff00::/8", "a multicast address"),
    )
]
# What stays allowed among those: the lists' own test entries (RFC 5782), which is how
# people test a list (`senderwatch check 127.0.0.2`). The documentation ranges (192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and the benchmarking range (198.18.0.0/15)
# are not in the table above: the demo, the tests and the benchmarks use them.
TEST_ENTRIES = frozenset(ipaddress.ip_address(a) for a in ("127.0.0.2", "127.0.0.1", "::ffff:7f00:2", "::ffff:7f00:1"))


def family_of(text: object) -> int | None:
    """4 or 6 for an address written as text (an item's key, a log's sending IP); None for anything else."""
    try:
        return ipaddress.ip_address(str(text or "")).version
    except ValueError:
        return None


def family_name(family: object) -> str:
    """How people call a family: IPv4, IPv6, or names (the domain lists)."""
    return {4: "IPv4", 6: "IPv6", 0: "names"}.get(family, str(family))  # type: ignore[call-overload]


def shown(text: object, limit: int = 60) -> str:
    """Input echoed in an error message: quoted, escapes visible, never longer than LIMIT."""
    raw = str(text)
    return repr(raw if len(raw) <= limit else raw[:limit] + "…")


def parse_address(text: str) -> IPAddress:
    """One address a blocklist can rate, or InvalidInput whose message can be shown as is.

    An IPv4-mapped IPv6 address (::ffff:192.0.2.25) is the IPv4 address it carries.
    """
    raw = str(text).strip()
    if not raw:
        raise InvalidInput("empty address: give an IPv4 or IPv6 address such as 192.0.2.25")
    if "/" in raw:
        raise InvalidInput(f"{shown(raw)} is a network, not an address: give each sending address on its own")
    try:
        ip = ipaddress.ip_address(raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw)
    except ValueError:
        if _HOSTNAME.fullmatch(raw) and any(c.isalpha() for c in raw):
            raise InvalidInput(
                f"{shown(raw)} is a hostname, not an address: give the IP address the server sends from"
            ) from None
        raise InvalidInput(f"{shown(raw)} is not a valid IPv4 or IPv6 address") from None
    if ip.version == 6 and ip.scope_id:
        raise InvalidInput(f"{shown(raw)} has a zone index (%…), which only means something on this machine")
    if ip.version == 6 and ip.ipv4_mapped and ip not in TEST_ENTRIES:
        ip = ip.ipv4_mapped
    problem = unrateable(ip)
    if problem:
        raise InvalidInput(
            f"{address_text(ip)} is {problem}: blocklists only rate public addresses; "
            "give the public address your server sends mail from"
        )
    return ip


def parse_network(text: str) -> IPNetwork | IPAddress:
    """A small network a blocklist can rate (IPv4 /24 or longer, IPv6 /120 or longer), or
    InvalidInput. A /32 (/128) is its one address; ::ffff:192.0.2.0/120 is 192.0.2.0/24."""
    raw = str(text).strip()
    try:
        network = ipaddress.ip_network(raw)
    except ValueError:
        try:
            loose = ipaddress.ip_network(raw, strict=False)
        except ValueError:
            raise InvalidInput(f"{shown(raw)} is not a valid network: expected one such as 192.0.2.0/28") from None
        address = raw.partition("/")[0]
        raise InvalidInput(
            f"{shown(raw)} is an address with its prefix length: give {address} to watch that address, "
            f"or {loose} to watch the network"
        ) from None
    if network.version == 6 and network.prefixlen >= 96 and network.network_address.ipv4_mapped:
        network = ipaddress.ip_network(f"{network.network_address.ipv4_mapped}/{network.prefixlen - 96}")
    if network.num_addresses == 1:
        return parse_address(str(network.network_address))
    smallest = SMALLEST_PREFIX[network.version]
    if network.prefixlen < smallest:
        raise InvalidInput(
            f"{network} holds {network.num_addresses:,} addresses: a network target is a /{smallest} or "
            f"longer (at most 256 addresses); give a larger network as several /{smallest}s"
        )
    for edge in (network.network_address, network.broadcast_address):
        problem = unrateable(edge)  # every range refused is larger than a /24: its edges tell
        if problem:
            raise InvalidInput(f"{network} holds {problem}: blocklists only rate public addresses")
    return network


def unrateable(ip: IPAddress) -> str:
    """What kind of address no list rates ('a private address ...'), or '' for one that can be checked."""
    if ip in TEST_ENTRIES:
        return ""
    for network, what in _MEANINGLESS:
        if ip.version == network.version and ip in network:
            return what
    return ""


def address_text(ip: IPAddress) -> str:
    """The canonical text of an address, the same on every Python (3.13 writes ::ffff:a.b.c.d)."""
    if ip.version == 6 and ip.ipv4_mapped:
        packed = ip.packed
        return f"::ffff:{int.from_bytes(packed[12:14], 'big'):x}:{int.from_bytes(packed[14:16], 'big'):x}"
    return str(ip)


def sort_key(text: str) -> tuple:
    """Order addresses by value (IPv4 before IPv6, 192.0.2.9 before 192.0.2.10); anything else last."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return (9, 0, text)
    return (ip.version, int(ip), "")


def reverse_name(ip: IPAddress) -> str:
    """The DNSBL query label: octets reversed (IPv4) or all 32 nibbles reversed (IPv6, RFC 5782)."""
    if ip.version == 4:
        a, b, c, d = ip.packed
        return f"{d}.{c}.{b}.{a}"
    return ".".join(reversed(ip.packed.hex()))
