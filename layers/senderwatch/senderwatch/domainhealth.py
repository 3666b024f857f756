"""The health of the domains a mail server sends as: its sender domain's SPF record (will it work
at all, for every address?) and DMARC record, and the domain lists' verdict on the sender domain,
the HELO name and the PTR names of its addresses.

A domain that could not be looked up (a timeout, SERVFAIL) is incomplete, never clean: the caller
keeps what it knew, as for an address.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .dmarc import DmarcReport, check_dmarc
from .dnsbl import DnsblChecker, ZoneVerdict
from .identities import HELO, SENDER
from .resolver import Resolver
from .spfrecord import Problem, SpfRecordReport, lint_spf
from .verdicts import Verdict
from .zones import Zone

OK, PROBLEM, INCOMPLETE = 0, 1, 3


@dataclass(frozen=True)
class DomainReport:
    domain: str
    roles: tuple[str, ...]  # sender, helo, ptr
    spf_record: SpfRecordReport | None = None  # a sender domain's or a HELO name's SPF record
    dmarc: DmarcReport | None = None  # a sender domain's
    dnsbl: list[ZoneVerdict] = field(default_factory=list)
    # The SPF result of each watched address sending as it (or naming it as HELO), checked with it:
    # which addresses a problem of the record fails (the checker says; `check` does not need it).
    watched: dict[str, str] = field(default_factory=dict)

    @property
    def listed(self) -> list[ZoneVerdict]:
        return [v for v in self.dnsbl if v.status == Verdict.LISTED]

    @property
    def problems(self) -> list[Problem]:
        """What needs fixing in the domain's records (DMARC p=none is a choice, not a fault)."""
        spf = list(self.spf_record.problems) if self.spf_record else []
        dmarc = [p for p in self.dmarc.problems if p.code != "policy-none"] if self.dmarc else []
        return spf + dmarc

    @property
    def errors(self) -> list[str]:
        """What could not be looked up this time (the last state stands)."""
        out = [f"SPF record: {self.spf_record.error}"] if self.spf_record and self.spf_record.error else []
        out += [f"DMARC record: {self.dmarc.error}"] if self.dmarc and self.dmarc.error else []
        return out + [f"{v.zone}: {v.error}" for v in self.dnsbl if v.status in (Verdict.ERROR, Verdict.UNHEALTHY)]

    def outcome(self) -> int:
        if self.listed or self.problems:
            return PROBLEM
        return INCOMPLETE if self.errors else OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "roles": list(self.roles),
            "spf_record": self.spf_record.to_dict() if self.spf_record else None,
            "dmarc": self.dmarc.to_dict() if self.dmarc else None,
            "dnsbl": [v.to_dict() for v in self.dnsbl],
        }


async def check_domains(
    resolver: Resolver,
    wanted: dict[str, tuple[str, ...]],
    zones: Sequence[Zone],
    dnsbl: DnsblChecker,
) -> list[DomainReport]:
    """Each domain's report: SPF record lint for sender domains and HELO names, DMARC for sender
    domains, and the domain lists ZONES for all of them."""
    names = list(wanted)
    spf_names = [n for n in names if SENDER in wanted[n] or HELO in wanted[n]]
    dmarc_names = [n for n in names if SENDER in wanted[n]]
    lists = [zone for zone in zones if zone.domains]
    spf_reports, dmarc_reports, verdicts = await asyncio.gather(
        asyncio.gather(*(lint_spf(resolver.ask_once, n, helo=SENDER not in wanted[n]) for n in spf_names)),
        asyncio.gather(*(check_dmarc(resolver.ask_once, n) for n in dmarc_names)),
        dnsbl.check_names(names, lists) if lists and names else _no_verdicts(),
    )
    spf_by_name = dict(zip(spf_names, spf_reports))
    dmarc_by_name = dict(zip(dmarc_names, dmarc_reports))
    return [
        DomainReport(name, wanted[name], spf_by_name.get(name), dmarc_by_name.get(name), verdicts.get(name, []))
        for name in names
    ]


async def _no_verdicts() -> dict[str, list[ZoneVerdict]]:
    return {}
