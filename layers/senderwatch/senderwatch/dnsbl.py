"""DNSBL verdicts: what one zone's answer about one address means, and the run that asks.

The rules (where most checkers go wrong):
- NXDOMAIN (or an empty answer) is clean.
- An A record in 127.0.0.0/8 is a listing, unless the zone uses that code to say it
  refused the query (Spamhaus's 127.255.255.252/254/255): that is `error: blocked`.
- A timeout, SERVFAIL, REFUSED or an answer outside 127/8 is an error, never clean
  and never listed.
- Each zone's RFC 5782 test entries are asked once per run: a zone that lists
  127.0.0.1 lists everything, one that does not list 127.0.0.2 lists nothing; either
  way it is `unhealthy` and its answers are not asked for that run.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace

from . import wire
from .addresses import IPAddress, reverse_name
from .resolver import Resolver
from .text import clean_text
from .zones import Zone, in_loopback

LISTED, CLEAN, ERROR, UNHEALTHY = "listed", "clean", "error", "unhealthy"
_RCODE_ERRORS = {wire.TIMEOUT: "timeout", wire.SERVFAIL: "servfail", wire.REFUSED: "refused"}


@dataclass(frozen=True)
class ZoneVerdict:
    zone: str
    status: str
    codes: tuple[str, ...] = ()
    error: str = ""
    meaning: str = ""
    reason: str = ""
    delist_url: str = ""

    def to_dict(self) -> dict:
        out: dict = {"zone": self.zone, "status": self.status}
        if self.status == LISTED:
            out.update(codes=list(self.codes), meaning=self.meaning, reason=self.reason, delist_url=self.delist_url)
        elif self.status in (ERROR, UNHEALTHY):
            out["error"] = self.error
            if self.codes:
                out["codes"] = list(self.codes)
            if self.meaning:
                out["meaning"] = self.meaning
        return out


def classify(zone: Zone, answer: wire.Answer) -> ZoneVerdict:
    """The verdict of one A-record answer from ZONE (reason not yet fetched)."""
    rcode = answer.rcode
    if rcode == wire.NXDOMAIN:
        return ZoneVerdict(zone.zone, CLEAN)
    if rcode != wire.NOERROR:
        return ZoneVerdict(zone.zone, ERROR, error=_RCODE_ERRORS.get(rcode, "servfail"))
    codes = tuple(
        sorted({value for _, rtype, value in answer.records if rtype == wire.A}, key=lambda c: ipaddress.IPv4Address(c))
    )
    if not codes:
        return ZoneVerdict(zone.zone, CLEAN)
    parsed = [ipaddress.IPv4Address(code) for code in codes]
    if not all(in_loopback(code) for code in parsed):
        return ZoneVerdict(
            zone.zone,
            ERROR,
            codes,
            error="bad-answer",
            meaning="answer outside 127.0.0.0/8: the resolver rewrote it or the list is gone",
        )
    blocked = [str(code) for code in parsed if zone.is_blocked(code)]
    if blocked:
        meaning = zone.meaning(blocked[0]) or "the list refused to answer this resolver"
        return ZoneVerdict(zone.zone, ERROR, codes, error="blocked", meaning=meaning)
    meanings = []
    for code in codes:
        text = zone.codes.get(code) or (
            f"listed (code {code} is not documented by the list)" if zone.known else "listed"
        )
        if text not in meanings:
            meanings.append(text)
    return ZoneVerdict(zone.zone, LISTED, codes, meaning="; ".join(meanings), delist_url=zone.delist_url)


def health(zone: Zone, listed_probe: wire.Answer | None, clean_probe: wire.Answer | None) -> str:
    """'' when the zone's test entries behave, else 'lists-everything' or 'lists-nothing'.

    A probe that could not be completed says nothing either way.
    """
    if clean_probe is not None and classify(zone, clean_probe).status == LISTED:
        return "lists-everything"
    if listed_probe is not None and classify(zone, listed_probe).status == CLEAN:
        return "lists-nothing"
    return ""


class DnsblChecker:
    """Checks addresses against zones; the zones' test entries are asked once, by `probe`."""

    def __init__(self, resolver: Resolver, zones: Sequence[Zone], dqs_key: str | None = None):
        self.resolver = resolver
        self.zones = list(zones)
        self.dqs_key = dqs_key
        self.unhealthy: dict[tuple[str, int], str] = {}
        self._probed: set[int] = set()

    def _suffix(self, zone: Zone) -> str:
        return zone.query_suffix(self.dqs_key)

    async def probe(self, families: set[int]) -> None:
        """Ask each zone's RFC 5782 test entries for the families not yet probed this run."""
        families = families - self._probed
        self._probed |= families
        plan, questions = [], []
        for zone in self.zones:
            for family in sorted(families & set(zone.families)):
                probes = []
                for entry in (zone.test_listed.get(family), zone.test_clean.get(family)):
                    if entry:
                        name = f"{reverse_name(ipaddress.ip_address(entry))}.{self._suffix(zone)}"
                        probes.append(len(questions))
                        questions.append((name, wire.A))
                    else:
                        probes.append(None)
                plan.append((zone, family, probes))
        answers = await self.resolver.query_many(questions, only=wire.A)
        for zone, family, (listed_at, clean_at) in plan:
            state = health(
                zone,
                answers[listed_at] if listed_at is not None else None,
                answers[clean_at] if clean_at is not None else None,
            )
            if state:
                self.unhealthy[(zone.zone, family)] = state

    async def check(self, addresses: Sequence[IPAddress]) -> list[list[ZoneVerdict]]:
        """The verdict of every zone that serves each address's family, in zone order."""
        await self.probe({ip.version for ip in addresses})
        results: list[list[ZoneVerdict]] = [[] for _ in addresses]
        asked, questions = [], []
        for index, ip in enumerate(addresses):
            label = reverse_name(ip)
            for zone in self.zones:
                if ip.version not in zone.families:
                    continue
                state = self.unhealthy.get((zone.zone, ip.version))
                if state:
                    results[index].append(ZoneVerdict(zone.zone, UNHEALTHY, error=state))
                    continue
                asked.append((index, zone, len(results[index])))
                results[index].append(None)
                questions.append((f"{label}.{self._suffix(zone)}", wire.A))
        answers = await self.resolver.query_many(questions, only=wire.A)
        listed = []
        for (index, zone, slot), (name, _), answer in zip(asked, questions, answers):
            verdict = classify(zone, answer)
            results[index][slot] = verdict
            if verdict.status == LISTED:
                listed.append((index, slot, name))
        await self._add_reasons(results, listed)
        return results

    async def _add_reasons(self, results: list[list[ZoneVerdict]], wanted: list) -> None:
        """Fetch the TXT record of every listing: the list's own words on why."""
        texts = await self.resolver.query_many([(name, wire.TXT) for _, _, name in wanted], only=wire.TXT)
        for (index, slot, _name), answer in zip(wanted, texts):
            reason = " ".join(b"".join(strings).decode("utf-8", "replace") for strings in answer.values(wire.TXT))
            if reason:
                results[index][slot] = replace(results[index][slot], reason=clean_text(reason))
