"""One check of addresses: DNSBLs, SPF and reverse DNS, with the verdict a person acts on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .addresses import IPAddress, address_text
from .dnsbl import DnsblChecker, ZoneVerdict
from .rdns import Rdns, check_rdns
from .resolver import Resolver
from .spfcheck import SpfResult, check_spf
from .verdicts import Rating, Spf, Verdict
from .zones import Zone

OK, PROBLEM, INCOMPLETE = 0, 1, 3  # also the command's exit statuses
CHUNK = 250  # addresses per round: bounds memory and paces the progress bar
SPF_PARALLEL = 8
SPF_FINE = {Spf.PASS, Spf.TEMPERROR}  # temperror is a fault of DNS, not a verdict
HELO_SPF_FINE = SPF_FINE | {Spf.NONE}  # many HELO names publish no SPF record; that is allowed


@dataclass
class CheckResult:
    ip: IPAddress
    dnsbl: list[ZoneVerdict] = field(default_factory=list)
    spf: SpfResult | None = None
    helo_spf: SpfResult | None = None
    rdns: Rdns | None = None

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
        out = [self.spf] if self.spf and self.spf.result not in SPF_FINE else []
        return out + ([self.helo_spf] if self.helo_spf and self.helo_spf.result not in HELO_SPF_FINE else [])

    def outcome(self) -> int:
        """PROBLEM: a listing or an SPF problem; INCOMPLETE: nothing wrong found, but some
        check could not be completed (or no list could rate the address at all)."""
        if self.listed or self.spf_problems:
            return PROBLEM
        if (
            self.status != Rating.CLEAN
            or any(s and s.result == Spf.TEMPERROR for s in (self.spf, self.helo_spf))
            or (self.rdns is not None and self.rdns.error)
        ):
            return INCOMPLETE
        return OK

    def to_dict(self) -> dict:
        return {
            "ip": address_text(self.ip),
            "version": self.ip.version,
            "status": self.status,
            "dnsbl": [v.to_dict() for v in self.dnsbl],
            "spf": self.spf.to_dict() if self.spf else None,
            "helo_spf": self.helo_spf.to_dict() if self.helo_spf else None,
            "rdns": self.rdns.to_dict() if self.rdns else None,
        }


def overall(results: Sequence[CheckResult]) -> int:
    outcomes = {r.outcome() for r in results}
    return PROBLEM if PROBLEM in outcomes else INCOMPLETE if INCOMPLETE in outcomes else OK


async def check_addresses(
    resolver: Resolver,
    addresses: Sequence[IPAddress],
    zones: Sequence[Zone],
    *,
    sender: str | None = None,
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
        async with limit:
            return await check_spf(resolver, ip, s, h)

    results: list[CheckResult] = []
    for start in range(0, len(addresses), CHUNK):
        chunk = list(addresses[start : start + CHUNK])
        jobs: list[Awaitable[Any]] = [
            dnsbl.check(chunk, zones),
            check_rdns(resolver, chunk) if rdns else _nothing(len(chunk)),
        ]
        if sender:
            jobs.append(asyncio.gather(*(spf_for(ip, sender, helo or "") for ip in chunk)))
        if helo:
            jobs.append(asyncio.gather(*(spf_for(ip, "", helo) for ip in chunk)))
        done: list[Any] = list(await asyncio.gather(*jobs))
        verdicts, reverse = done[0], done[1]
        mail_spf = done[2] if sender else [None] * len(chunk)
        helo_spf = done[-1] if helo else [None] * len(chunk)
        for i, ip in enumerate(chunk):
            results.append(CheckResult(ip, verdicts[i], mail_spf[i], helo_spf[i], reverse[i]))
        if progress:
            progress(len(results), len(addresses))
    return results


async def _nothing(n: int) -> list[None]:
    return [None] * n
