"""One check of targets: DNSBLs, SPF and reverse DNS for every address, with the verdict a person acts on.

A target is an address, a network (every address of it) or a host name (every address it
resolves to, found at check time); each result says which target it came from.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .addresses import IPAddress, address_text
from .dnsbl import DnsblChecker, ZoneVerdict
from .hosts import MAX_ADDRESSES, HostAddresses, resolve_hosts
from .rdns import Rdns, check_rdns
from .resolver import Resolver
from .targets import HOST, NETWORK, TargetName
from .verdicts import Rating, Spf, Verdict
from .zones import Zone

if TYPE_CHECKING:  # pyspf is loaded by a check that evaluates SPF
    from .spfresult import SpfResult

OK, PROBLEM, INCOMPLETE = 0, 1, 3  # also the command's exit statuses
CHUNK = 1000  # addresses per round: bounds memory and paces the progress bar (each round waits for its slowest answer)
SPF_PARALLEL = 8
SPF_FINE = {Spf.PASS, Spf.TEMPERROR}  # temperror is a fault of DNS, not a verdict
HELO_SPF_FINE = SPF_FINE | {Spf.NONE}  # many HELO names publish no SPF record; that is allowed


@dataclass
class CheckResult:
    ip: IPAddress
    dnsbl: list[ZoneVerdict] = field(default_factory=list)
    spf: list[SpfResult] = field(default_factory=list)  # one per sender, in the target's order
    helo_spf: SpfResult | None = None
    rdns: Rdns | None = None
    host: str = ""  # the host name it was found under
    network: str = ""  # the network it belongs to

    @property
    def listed(self) -> list[ZoneVerdict]:
        return [v for v in self.dnsbl if v.status == Verdict.LISTED]

    @property
    def status(self) -> Rating:
        """What the lists together say of this address."""
        if self.listed:
            return Rating.LISTED
        if not any(v.status == Verdict.CLEAN for v in self.dnsbl):
            return Rating.UNCHECKED
        if any(v.status in (Verdict.ERROR, Verdict.UNHEALTHY) for v in self.dnsbl):
            return Rating.INCOMPLETE
        return Rating.CLEAN

    @property
    def spf_problems(self) -> list[SpfResult]:
        """SPF results that are a problem: mail-from other than pass; HELO other than pass or none."""
        out = [s for s in self.spf if s.result not in SPF_FINE]
        return out + ([self.helo_spf] if self.helo_spf and self.helo_spf.result not in HELO_SPF_FINE else [])

    def outcome(self) -> int:
        """PROBLEM: a listing or an SPF problem; INCOMPLETE: nothing wrong found, but some
        check could not be completed (or no list could rate the address at all)."""
        if self.listed or self.spf_problems:
            return PROBLEM
        if (
            self.status != Rating.CLEAN
            or any(s and s.result == Spf.TEMPERROR for s in (*self.spf, self.helo_spf))
            or (self.rdns is not None and self.rdns.error)
        ):
            return INCOMPLETE
        return OK

    @property
    def matches_host(self) -> bool | None:
        """For an address found under a host name: whether its PTR names that host."""
        if not self.host or self.rdns is None or self.rdns.error:
            return None
        return self.host in self.rdns.ptr

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"ip": address_text(self.ip), "version": self.ip.version}
        if self.host:
            out["host"] = self.host
        if self.network:
            out["network"] = self.network
        rdns = self.rdns.to_dict() if self.rdns else None
        if rdns is not None and self.matches_host is not None:
            rdns["matches_host"] = self.matches_host
        return out | {
            "status": self.status,
            "dnsbl": [v.to_dict() for v in self.dnsbl],
            "spf": spf_json(self.spf),
            "helo_spf": self.helo_spf.to_dict() if self.helo_spf else None,
            "rdns": rdns,
        }


def spf_json(results: Sequence[SpfResult]) -> dict | list[dict] | None:
    """SPF in the JSON of a result: null without a sender, the one sender's object (as it has
    always been), or a list of them with several senders (each names its `sender`)."""
    if len(results) > 1:
        return [s.to_dict() for s in results]
    return results[0].to_dict() if results else None


@dataclass(frozen=True)
class HostProblem:
    """A host name whose addresses (of one family, or of both) could not be found: nothing to check.

    error: no-such-host (NXDOMAIN), no-address (neither A nor AAAA), timeout, servfail, refused,
    bad-answer (that family could not be resolved), not-public (it resolves only to addresses no
    list rates). It is never a verdict on the addresses: the check is incomplete (exit 3).
    """

    host: str
    error: str
    version: int | None = None  # the family that could not be resolved; None: the host as a whole
    detail: str = ""

    @property
    def status(self) -> Rating:
        return Rating.UNCHECKED

    @property
    def listed(self) -> list[ZoneVerdict]:
        return []

    @property
    def dnsbl(self) -> list[ZoneVerdict]:
        return []

    @property
    def spf_problems(self) -> list[SpfResult]:
        return []

    def outcome(self) -> int:
        return INCOMPLETE

    def to_dict(self) -> dict:
        out = {"ip": None, "version": self.version, "host": self.host, "status": self.status, "error": self.error}
        return out | {"detail": self.detail, "dnsbl": [], "spf": None, "helo_spf": None, "rdns": None}


class AddressResults(list[CheckResult]):
    """A host's or a network's run: a result per address, and what its resolution left unchecked."""

    def __init__(self, results: Sequence[CheckResult] = (), problems: Sequence[HostProblem] = ()):
        super().__init__(results)
        self.problems = list(problems)


def host_problems(found: HostAddresses) -> list[HostProblem]:
    """Everything about a host's resolution that leaves something unchecked: it does not exist,
    a family could not be resolved, it resolves to addresses no list rates, or to more than are
    checked. Never silent: each is a result of its own (and the check is incomplete)."""
    host = found.host
    if not found.exists:
        return [HostProblem(host, "no-such-host", None, f"{host} does not exist in DNS (NXDOMAIN)")]
    problems = [
        HostProblem(host, error, family, f"the IPv{family} addresses of {host} could not be found ({error})")
        for family, error in sorted(found.errors.items())
    ]
    for family, count in sorted(found.cut.items()):
        detail = (
            f"{host} has {count} IPv{family} addresses: the first {MAX_ADDRESSES} are checked, "
            f"{count - MAX_ADDRESSES} are not"
        )
        problems.append(HostProblem(host, "too-many-addresses", family, detail))
    if found.set_aside:
        shown = ", ".join(found.set_aside[:4]) + (
            f" and {len(found.set_aside) - 4} more" if len(found.set_aside) > 4 else ""
        )
        only = "only " if not found.all else ""
        problems.append(
            HostProblem(host, "not-public", None, f"{host} resolves {only}to addresses no list rates: {shown}")
        )
    elif not found.all and not found.errors:
        problems.append(HostProblem(host, "no-address", None, f"{host} has no A or AAAA record"))
    return problems


def overall(results: Sequence[CheckResult | HostProblem], domains: Sequence[Any] = ()) -> int:
    """The command's exit status: the worst of every result's and every domain's."""
    outcomes = {r.outcome() for r in [*results, *domains]}
    return PROBLEM if PROBLEM in outcomes else INCOMPLETE if INCOMPLETE in outcomes else OK


async def check_addresses(
    resolver: Resolver,
    addresses: Sequence[IPAddress],
    zones: Sequence[Zone],
    *,
    senders: Sequence[str] = (),
    helo: str | None = None,
    dqs_key: str | None = None,
    rdns: bool = True,
    progress: Callable[[int, int], None] | None = None,
    dnsbl: DnsblChecker | None = None,
) -> list[CheckResult]:
    """Check every address (each once); DNSBL zones are probed once for the whole run.

    Raises ResolverUnusable, before any address is asked, when the resolver itself is the problem.
    DNSBL: a checker to share (and its probes) with other calls of the same run.
    """
    addresses = list(dict.fromkeys(addresses))
    zones = list(zones)
    dnsbl = dnsbl or DnsblChecker(resolver, zones, dqs_key)
    await dnsbl.probe({ip.version for ip in addresses}, zones)
    limit = asyncio.Semaphore(SPF_PARALLEL)

    async def spf_for(ip: IPAddress, s: str, h: str) -> SpfResult:
        from .spfresult import check_spf

        async with limit:
            return await check_spf(resolver, ip, s, h)

    results: list[CheckResult] = []
    for start in range(0, len(addresses), CHUNK):
        chunk = list(addresses[start : start + CHUNK])
        jobs: list[Awaitable[Any]] = [
            dnsbl.check(chunk, zones),
            check_rdns(resolver, chunk) if rdns else _nothing(len(chunk)),
        ]
        # Every sender for every address: a relay sending for two domains is authorised by two records.
        jobs += [asyncio.gather(*(spf_for(ip, sender, helo or "") for ip in chunk)) for sender in senders]
        if helo:
            jobs.append(asyncio.gather(*(spf_for(ip, "", helo) for ip in chunk)))
        done: list[Any] = list(await asyncio.gather(*jobs))
        verdicts, reverse = done[0], done[1]
        mail_spf = done[2 : 2 + len(senders)]
        helo_spf = done[-1] if helo else [None] * len(chunk)
        for i, ip in enumerate(chunk):
            results.append(CheckResult(ip, verdicts[i], [each[i] for each in mail_spf], helo_spf[i], reverse[i]))
        if progress:
            progress(len(results), len(addresses))
    return results


@dataclass(frozen=True)
class Expanded:
    """What one target stands for in a run: the addresses to check, and what its resolution
    left unchecked (HostProblems). LEARNED is False for a host whose families both failed to
    resolve, with nothing known of it: its first addresses are not "added" when they come."""

    name: TargetName
    addresses: list[IPAddress]
    problems: list[HostProblem] = field(default_factory=list)
    learned: bool = True

    def results(self, by_address: dict[IPAddress, CheckResult]) -> list[CheckResult]:
        """Its addresses' results, each saying which host or network it came from: an address two
        targets share (a host in a network) is checked once and given under both."""
        host = self.name.key if self.name.kind == HOST else ""
        network = self.name.key if self.name.kind == NETWORK else ""
        return [replace(by_address[ip], host=host, network=network) for ip in self.addresses]


async def expand_targets(
    resolver: Resolver, names: Sequence[TargetName], known: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Expanded]:
    """The one expansion of targets into addresses, by key: an address is itself, a network every
    address of it, a host what its A and AAAA records give now (both families asked for every host
    at once). KNOWN holds the addresses each host had: a family that cannot be resolved this run
    keeps them (and their findings), as an address keeps its verdict through a timeout."""
    known = known or {}
    hosts = await resolve_hosts(resolver, [name.key for name in names if name.kind == HOST])
    out: dict[str, Expanded] = {}
    for name in names:
        if name.kind != HOST:
            out[name.key] = Expanded(name, name.addresses())
            continue
        found = hosts[name.key]
        kept = [ip for ip in map(ipaddress.ip_address, known.get(name.key, ())) if ip.version in found.errors]
        addresses = sorted(found.all + kept, key=lambda ip: (ip.version, ip))
        learned = bool(kept) or set(found.errors) != {4, 6}
        out[name.key] = Expanded(name, addresses, host_problems(found), learned)
    return out


async def check_targets(
    resolver: Resolver,
    names: Sequence[TargetName],
    zones: Sequence[Zone],
    *,
    senders: Sequence[str] = (),
    helo: str | None = None,
    dqs_key: str | None = None,
    rdns: bool = True,
    progress: Callable[[int, int], None] | None = None,
    dnsbl: DnsblChecker | None = None,
) -> list[CheckResult | HostProblem]:
    """Check every address of NAMES, in the order given: each address once, and given under every
    target that has it; what a host's resolution left unchecked is a HostProblem.

    The lists and the resolver are probed before any host is resolved: a dead resolver is
    named (ResolverUnusable) within its probes' time, not after every host has timed out.
    """
    zones = list(zones)
    dnsbl = dnsbl or DnsblChecker(resolver, zones, dqs_key)
    # A host's families are known once it is resolved: the lists are probed for those then.
    await dnsbl.probe({f for name in names if name.kind != HOST for f in name.families} or {4}, zones)
    expanded = await expand_targets(resolver, names)
    addresses = dict.fromkeys(ip for name in names for ip in expanded[name.key].addresses)
    checked = await check_addresses(
        resolver,
        list(addresses),
        zones,
        senders=senders,
        helo=helo,
        rdns=rdns,
        progress=progress,
        dnsbl=dnsbl,
    )
    by_address = {r.ip: r for r in checked}
    out: list[CheckResult | HostProblem] = []
    for name in names:
        out += expanded[name.key].results(by_address)
        out += expanded[name.key].problems
    return out


async def _nothing(n: int) -> list[None]:
    return [None] * n
