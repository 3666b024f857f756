"""Which resolvers to ask: what people type (--nameserver, the Nameservers parameter) and resolv.conf."""

from __future__ import annotations

import ipaddress
import socket

from .addresses import shown
from .errors import InvalidInput

DEFAULT_PORT = 53
# Seconds a DNS query may take, resends included: through a recursive resolver, a cold lookup at
# a list far away takes seconds (referrals, the resolver's own retries, an answer it drops).
DNS_TIMEOUT = 10.0


def parse_nameserver(text: str) -> tuple[str, int]:
    """'IP', 'IP:PORT', '[IPv6]:PORT' or a bare IPv6 address -> (ip, port); InvalidInput otherwise.

    A link-local IPv6 nameserver needs its interface ('[fe80::1%eth0]:53').
    """
    raw = str(text).strip()
    host, port = raw, DEFAULT_PORT
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise InvalidInput(f"invalid nameserver {shown(text)}: expected [IPv6]:PORT")
        if rest:
            port = _port(rest[1:], text)
    elif raw.count(":") == 1:
        host, _, rest = raw.partition(":")
        port = _port(rest, text)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise InvalidInput(f"invalid nameserver {shown(text)}: not an IP address") from None
    if ip.is_multicast or ip.is_unspecified or host == "255.255.255.255":
        raise InvalidInput(f"invalid nameserver {shown(text)}: not the address of one server")
    if ip.version == 6 and ip.is_link_local:
        if not ip.scope_id:
            raise InvalidInput(
                f"invalid nameserver {shown(text)}: a link-local address needs its interface, e.g. [fe80::1%eth0]:53"
            )
        try:
            socket.if_nametoindex(ip.scope_id)
        except OSError:
            raise InvalidInput(
                f"invalid nameserver {shown(text)}: this machine has no interface {shown(ip.scope_id)}"
            ) from None
    return host, port


def server_text(host: str, port: int) -> str:
    """A nameserver as people write it: 192.0.2.53, 192.0.2.53:5300, [2001:db8::53]:5300."""
    shown_host = f"[{host}]" if ":" in host else host
    return shown_host if port == DEFAULT_PORT else f"{shown_host}:{port}"


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidInput(f"invalid nameserver {shown(whole)}: port must be 1-65535")
    return int(text)


def system_nameservers(path: str = "/etc/resolv.conf") -> list[tuple[str, int]]:
    """The nameservers of resolv.conf (what Lambda and most hosts configure)."""
    found = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    try:
                        found.append(parse_nameserver(parts[1]))
                    except InvalidInput:
                        continue
    except OSError:
        pass
    return found or [("127.0.0.1", DEFAULT_PORT)]
