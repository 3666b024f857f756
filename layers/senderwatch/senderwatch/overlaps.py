"""An address watched twice: directly and through its host, or inside a watched network.

Which targets watch which address, as the targets table knows it (pure): an address target its
address, a host the addresses its last check found (its findings list them), a network every
address in it. `targets add` and `targets import` say so (a note: it may be on purpose), and the
scheduler hands each target the others that watch its addresses, so its alerts name them all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .addresses import IPAddress, address_text
from .errors import InvalidTarget
from .findings import PER_ADDRESS, is_per_address
from .targets import ADDRESS, HOST, NETWORK, Target, TargetName

Watcher = tuple[str, str]  # (the target's key, its label)


@dataclass
class Watchers:
    """Every target of the table that watches an address, by address (networks by containment)."""

    by_address: dict[str, list[Watcher]] = field(default_factory=dict)
    networks: dict[tuple[int, int, int], Watcher] = field(default_factory=dict)  # (family, length, first)
    prefixes: dict[int, set[int]] = field(default_factory=dict)  # the networks' prefix lengths, per family

    @classmethod
    def of(cls, items: Iterable[dict]) -> Watchers:
        """The index of ITEMS (as the table holds them); an item that is not a target is left out."""
        index = cls()
        for item in items:
            try:
                target = Target.from_item(item)
            except InvalidTarget:
                continue
            index.add(target.name, target.label, known_addresses(item))
        return index

    def add(self, name: TargetName, label: str, addresses: Sequence[str] = ()) -> None:
        """NAME watches ADDRESSES (a host's, as last found; an address's and a network's are its own)."""
        if name.kind == NETWORK:
            network = ipaddress.ip_network(name.key)
            self.networks[(network.version, network.prefixlen, int(network.network_address))] = (name.key, label)
            self.prefixes.setdefault(network.version, set()).add(network.prefixlen)
            return
        for address in [name.key] if name.kind == ADDRESS else addresses:
            self.by_address.setdefault(address, []).append((name.key, label))

    def of_address(self, address: IPAddress) -> list[Watcher]:
        """Every target that watches ADDRESS."""
        found = list(self.by_address.get(address_text(address), ()))
        value, bits = int(address), address.max_prefixlen
        for prefix in sorted(self.prefixes.get(address.version, ())):  # only the lengths some network has
            first = value >> (bits - prefix) << (bits - prefix)
            if (watcher := self.networks.get((address.version, prefix, first))) is not None:
                found.append(watcher)
        return found

    def others(self, key: str, addresses: Iterable[IPAddress]) -> dict[str, list[Watcher]]:
        """For each of ADDRESSES that another target than KEY watches too: those others."""
        out: dict[str, list[Watcher]] = {}
        for address in addresses:
            found = [w for w in dict.fromkeys(self.of_address(address)) if w[0] != key]
            if found:
                out[address_text(address)] = found
        return out


def handed(others: dict[str, list[Watcher]]) -> list[list]:
    """OTHERS (Watchers.others) as a queue message and the item carry them, one entry per other
    target: [key, label, the addresses it shares] (a network's left empty: it holds them all), so
    that a /24 inside another is one entry, not 256."""
    shared: dict[Watcher, list[str]] = {}
    for address, watchers in others.items():
        for watcher in watchers:
            shared.setdefault(watcher, []).append(address)
    return [[key, label, [] if "/" in key else found] for (key, label), found in shared.items()]


def watching(entries, address: str) -> tuple[Watcher, ...]:
    """The other targets (key, label) that ENTRIES (as `handed` wrote them, on an item) say watch ADDRESS."""
    out = []
    for entry in entries if isinstance(entries, list) else ():
        if not (isinstance(entry, list) and len(entry) == 3 and all(isinstance(v, str) for v in entry[:2])):
            continue  # written by something else: not ours to read
        key, label, shared = entry
        try:
            holds = address in shared or ("/" in key and ipaddress.ip_address(address) in ipaddress.ip_network(key))
        except (TypeError, ValueError):
            continue
        if holds:
            out.append((key, label))
    return tuple(out)


def known_addresses(item: dict) -> list[str]:
    """A host's addresses as its item's last findings list them (none before its first check)."""
    findings = item.get("findings")
    if not isinstance(item.get("ip"), str) or not isinstance(findings, dict) or not is_per_address(findings):
        return []
    return [str(address) for address in findings[PER_ADDRESS]]


def addresses_of(name: TargetName, host_addresses: Sequence[str] = ()) -> list[IPAddress]:
    """The addresses NAME watches: its own, a network's every one, a host's as given."""
    if name.kind == HOST:
        return [ipaddress.ip_address(a) for a in host_addresses]
    return name.addresses()


def watched_twice(key: str, others: dict[str, list[Watcher]]) -> list[str]:
    """What `targets add` and `import` say of KEY's addresses that other targets watch too: one line
    per other target (which of the addresses, and that the alerts name both)."""
    by_other: dict[Watcher, list[str]] = {}
    for address, watchers in others.items():
        for watcher in watchers:
            by_other.setdefault(watcher, []).append(address)
    lines = []
    for (other, label), shared in by_other.items():
        named = f"{other} ({label})" if label else other
        if shared == [key]:
            what = f"{key} is"
        elif len(shared) == 1:
            what = f"{shared[0]} of {key} is"
        else:
            more = f" +{len(shared) - 3} more" if len(shared) > 3 else ""
            what = f"{len(shared)} addresses of {key} ({', '.join(shared[:3])}{more}) are"
        them = "it" if len(shared) == 1 else "them"
        lines.append(f"{what} watched through {named} too: alerts about {them} name both")
    return lines
