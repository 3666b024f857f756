"""DNSBL verdicts: what one zone's answer about one address means, and the run that asks.

The rules (where most checkers go wrong):
- NXDOMAIN (or an empty answer) is clean.
- An A record in 127.0.0.0/8 is a listing, unless the zone uses that code to say it
  refused the query (Spamhaus's 127.255.255.252/254/255): that is `error: blocked`.
- A timeout, SERVFAIL, REFUSED or an answer outside 127/8 is an error, never clean
  and never listed.
- Each zone's RFC 5782 test entries are asked once per run: a zone that lists
  127.0.0.1 lists everything, one that does not list 127.0.0.2 lists nothing; either
  way it is `unhealthy` and its answers are not asked for that run. A zone whose test
  entries get no verdict at all (it refuses this resolver, times out, fails) is not asked
  either: every address gets that error, marked as the zone's (`zone_failed`), not the address's.
- The resolver itself is checked with those same first queries and one for the DNS root:
  a resolver that answers nothing, refuses everything or says that nothing exists is named
  as the problem (ResolverUnusable) before any address is asked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from . import wire
from .addresses import IPAddress, address_text, reverse_name
from .errors import ResolverUnusable
from .nameservers import server_text
from .resolver import Question, Resolver
from .text import clean_text
from .verdicts import Verdict
from .zones import NAMES, Zone, in_loopback

_RCODE_ERRORS = {wire.TIMEOUT: "timeout", wire.SERVFAIL: "servfail", wire.REFUSED: "refused"}
MAX_NAME = 253  # characters of a DNS name (255 octets on the wire)


@dataclass(frozen=True)
class ZoneVerdict:
    zone: str
    status: Verdict
    codes: tuple[str, ...] = ()
    error: str = ""
    meaning: str = ""
    reason: str = ""
    delist_url: str = ""
    zone_failed: bool = False  # the zone failed its own test entries this run: the address was not asked
    delist: dict | None = field(default=None, compare=False)  # a listing's removal procedure, filled in

    def to_dict(self) -> dict:
        out: dict = {"zone": self.zone, "status": self.status}
        if self.status == Verdict.LISTED:
            out.update(codes=list(self.codes), meaning=self.meaning, reason=self.reason, delist_url=self.delist_url)
            if self.delist is not None:
                out["delist"] = self.delist
        elif self.status in (Verdict.ERROR, Verdict.UNHEALTHY):
            out["error"] = self.error
            if self.codes:
                out["codes"] = list(self.codes)
            if self.meaning:
                out["meaning"] = self.meaning
        return out


def classify(zone: Zone, answer: wire.Answer) -> ZoneVerdict:
    """The verdict of one A-record answer from ZONE (reason not yet fetched)."""
    rcode = answer.rcode
    if answer.skipped:  # an answer with a record that does not parse is not trusted, either way
        return ZoneVerdict(zone.zone, Verdict.ERROR, error="bad-answer", meaning="the list's answer could not be read")
    if rcode == wire.NXDOMAIN:
        return ZoneVerdict(zone.zone, Verdict.CLEAN)
    if rcode != wire.NOERROR:
        return ZoneVerdict(zone.zone, Verdict.ERROR, error=_RCODE_ERRORS.get(rcode, "servfail"))
    codes = tuple(
        sorted({value for _, rtype, value in answer.records if rtype == wire.A}, key=lambda c: ipaddress.IPv4Address(c))
    )
    if not codes:
        return ZoneVerdict(zone.zone, Verdict.CLEAN)
    parsed = [ipaddress.IPv4Address(code) for code in codes]
    if not all(in_loopback(code) for code in parsed):
        return ZoneVerdict(
            zone.zone,
            Verdict.ERROR,
            codes,
            error="bad-answer",
            meaning="answer outside 127.0.0.0/8: the resolver rewrote it or the list is gone",
        )
    blocked = [str(code) for code in parsed if zone.is_blocked(code)]
    if blocked:
        meaning = zone.meaning(blocked[0]) or "the list refused to answer this resolver"
        return ZoneVerdict(zone.zone, Verdict.ERROR, codes, error="blocked", meaning=meaning)
    meanings = []
    for code in codes:
        text = zone.listing(code)
        if text not in meanings:
            meanings.append(text)
    return ZoneVerdict(zone.zone, Verdict.LISTED, codes, meaning="; ".join(meanings), delist_url=zone.delist_url)


def zone_failure(zone: Zone, listed_probe: wire.Answer | None, clean_probe: wire.Answer | None) -> ZoneVerdict | None:
    """None when the zone's test entries behave; else the verdict every address gets this run.

    unhealthy: the zone lists its clean test entry (lists-everything) or not its listed one
    (lists-nothing). error: no probe got a verdict (blocked, timeout, servfail, ...).
    """
    if clean_probe is not None and classify(zone, clean_probe).status == Verdict.LISTED:
        return ZoneVerdict(zone.zone, Verdict.UNHEALTHY, error="lists-everything", zone_failed=True)
    verdicts = [classify(zone, a) for a in (listed_probe, clean_probe) if a is not None]
    if listed_probe is not None and verdicts[0].status == Verdict.CLEAN:
        return ZoneVerdict(zone.zone, Verdict.UNHEALTHY, error="lists-nothing", zone_failed=True)
    if verdicts and all(v.status == Verdict.ERROR for v in verdicts):
        return replace(verdicts[0], zone_failed=True)
    return None


def resolver_problem(
    canary: wire.Answer, probes: Sequence[wire.Answer], lists_nothing: int, probed: int, working: int
) -> tuple[str, str]:
    """Why the resolver itself cannot be trusted, from the first queries of a run; '' when it can.

    CANARY is the answer for the DNS root's NS records, which every working resolver has;
    PROBES the answers for the zones' test entries; LISTS_NOTHING how many of the PROBED
    zones said their listed test entry (127.0.0.2) is not listed; WORKING how many zones
    answered their test entries right. Returns (kind, what) or ("", "").

    The canary alone never condemns a resolver whose lists work: a DNSBL mirror (rbldnsd fed
    by rsync, a list's own server) knows only its lists, and says so of the root.
    """
    answers = [canary, *probes]
    if all(a.rcode == wire.TIMEOUT for a in answers):
        return "no-answer", f"no answer to any of {len(answers)} queries"
    if canary.rcode in (wire.REFUSED, wire.SERVFAIL) and all(
        a.rcode in (wire.REFUSED, wire.SERVFAIL, wire.TIMEOUT) for a in answers
    ):
        if canary.rcode == wire.REFUSED:
            return "refuses", "it answers REFUSED to every query: it does not resolve names for this machine"
        return "refuses", "it answers SERVFAIL to every query: it cannot resolve names: its own upstream fails"
    if canary.rcode == wire.NXDOMAIN and not working:
        return "nothing-exists", "it says the root of the DNS does not exist: it is not a working resolver"
    if probed >= 2 and lists_nothing == probed:
        return "hides-lists", (
            f"all {probed} lists say their test entry 127.0.0.2 is not listed: "
            "the resolver (or a filter on the way) hides DNSBL answers"
        )
    return "", ""


def lists_only(canary: wire.Answer) -> str:
    """Why a resolver whose lists work cannot be asked anything else ('' when it can): it says
    the root does not exist, so its NXDOMAIN for a PTR or an SPF name would be no verdict. (One
    that refuses the root, as rbldnsd does, refuses what it does not serve: its faults speak.)"""
    return "says the root of the DNS does not exist" if canary.rcode == wire.NXDOMAIN else ""


def fill_removals(verdicts: list[ZoneVerdict], zones: dict[str, Zone], listed: str) -> None:
    """Give each listing of LISTED (an address or a domain) its list's removal procedure, filled
    in, with the other lists found listing it that this one waits for."""
    listed_on = [v.zone for v in verdicts if v.status == Verdict.LISTED]
    for index, verdict in enumerate(verdicts):
        zone = zones.get(verdict.zone)
        if verdict.status == Verdict.LISTED and zone is not None:
            removal = zone.removal(verdict.codes).filled(listed, listed_on, verdict.zone)
            verdicts[index] = replace(verdict, delist=removal)


@dataclass
class ProbeCache:
    """What a run's probes found: kept for every check of the run (in the pipeline: of one
    invocation), so that each list's test entries and the resolver are asked once."""

    failed: dict[tuple[str, int], ZoneVerdict] = field(default_factory=dict)  # lists unusable this run
    probed: set[tuple[str, int]] = field(default_factory=set)
    resolver_checked: bool = False
    # A resolver that serves only lists (a DNSBL mirror): why, and the zones it answers right.
    lists_only: str = ""
    scope: set[str] = field(default_factory=set)
    mirror: bool = False  # the root not resolved, some lists answered: a list it refuses is one it does not serve


class DnsblChecker:
    """Checks addresses against zones; the zones' test entries are asked once, by `probe`."""

    def __init__(
        self,
        resolver: Resolver,
        zones: Sequence[Zone],
        dqs_key: str | None = None,
        probes: ProbeCache | None = None,
    ):
        self.resolver = resolver
        self.zones = list(zones)
        self.dqs_key = dqs_key
        self.probes = probes if probes is not None else ProbeCache()
        if self.probes.lists_only:
            resolver.scope = self.probes.scope

    @property
    def failed(self) -> dict[tuple[str, int], ZoneVerdict]:
        return self.probes.failed

    def _suffix(self, zone: Zone) -> str:
        return zone.query_suffix(self.dqs_key)

    async def probe(self, families: set[int], zones: Sequence[Zone] | None = None) -> None:
        """Ask each zone's RFC 5782 test entries for the families not yet probed this run.

        The first probe also asks for the DNS root: ResolverUnusable when the resolver
        itself is the problem, so that no address is asked through it.
        """
        plan: list[tuple[Zone, int, list[int | None]]] = []
        questions: list[Question] = []
        for zone in self.zones if zones is None else zones:
            for family in sorted(families & set(zone.families)):
                if (zone.zone, family) in self.probes.probed:
                    continue
                self.probes.probed.add((zone.zone, family))
                probes: list[int | None] = []
                for entry in (zone.test_listed.get(family), zone.test_clean.get(family)):
                    if entry:
                        label = entry if zone.domains else reverse_name(ipaddress.ip_address(entry))
                        suffix = self._suffix(zone)
                        probes.append(len(questions))
                        questions.append((f"{label}.{suffix}", wire.A, suffix))
                    else:
                        probes.append(None)
                plan.append((zone, family, probes))
        canary = not self.probes.resolver_checked
        if canary:
            questions.append((".", wire.NS))
        if not questions:
            return
        scope = self.probes.scope
        if self.probes.lists_only:  # a mirror: its new lists are asked, and kept if they answer right
            scope.update(self._suffix(zone) for zone, _, _ in plan)
        answers = await self.resolver.query_many(questions, only=wire.A)
        lists_nothing = probed = 0
        failures: dict[tuple[str, int], ZoneVerdict] = {}
        for zone, family, (listed_at, clean_at) in plan:
            failure = zone_failure(
                zone,
                answers[listed_at] if listed_at is not None else None,
                answers[clean_at] if clean_at is not None else None,
            )
            if failure:
                failures[(zone.zone, family)] = failure
            if listed_at is not None:
                probed += 1
                lists_nothing += failure is not None and failure.error == "lists-nothing"
        working = {self._suffix(zone) for zone, family, _ in plan if (zone.zone, family) not in failures}
        if canary:
            kind, problem = resolver_problem(answers[-1], answers[:-1], lists_nothing, probed, len(working))
            if kind == "refuses" and 0 < len(plan) <= 3:  # a DNSBL mirror, and a list it does not carry?
                asked = ", ".join(dict.fromkeys(zone.zone for zone, _, _ in plan))
                problem += f" (nor answers for the lists asked: {asked})"
            if problem:
                self.probes.probed.clear()
                raise ResolverUnusable(self._describe(problem), kind)
            self.probes.resolver_checked = True
            if why := lists_only(answers[-1]):
                self.probes.lists_only = f"{self._servers()} {why}: it serves only lists"
                self.resolver.scope = scope
        if canary and answers[-1].rcode != wire.NOERROR:
            self.probes.mirror = True  # it does not resolve the root, yet some of its lists work
        if self.probes.lists_only:
            scope.difference_update({self._suffix(zone) for zone, _, _ in plan} - working)
            scope.update(working)
        if self.probes.mirror:
            for key, failure in failures.items():  # a list the mirror does not carry is not the list's fault
                if failure.error == "refused":
                    failures[key] = replace(failure, meaning=f"{self._servers()} refused: it does not serve this list")
        self.probes.failed.update(failures)

    def _servers(self) -> str:
        return ", ".join(server_text(host, port) for host, port in self.resolver.nameservers)

    def _describe(self, problem: str) -> str:
        unreachable = " (nothing listens there: ICMP port unreachable)" if self.resolver.unreachable else ""
        return f"the DNS resolver {self._servers()} cannot be used{unreachable}: {problem}"

    async def check(
        self, addresses: Sequence[IPAddress], zones: Sequence[Zone] | None = None
    ) -> list[list[ZoneVerdict]]:
        """The verdict of every zone that serves each address's family, in zone order."""
        zones = self.zones if zones is None else list(zones)
        await self.probe({ip.version for ip in addresses}, zones)
        results: list[list[ZoneVerdict]] = [[] for _ in addresses]
        unanswered = ZoneVerdict("", Verdict.ERROR, error="timeout")  # a place kept for an answer
        asked: list[tuple[int, Zone, int]] = []
        questions: list[Question] = []
        for index, ip in enumerate(addresses):
            label = reverse_name(ip)
            for zone in zones:
                if ip.version not in zone.families:
                    continue
                failure = self.failed.get((zone.zone, ip.version))
                if failure:
                    results[index].append(failure)
                    continue
                asked.append((index, zone, len(results[index])))
                results[index].append(unanswered)
                suffix = self._suffix(zone)
                questions.append((f"{label}.{suffix}", wire.A, suffix))
        answers = await self.resolver.query_many(questions, only=wire.A)
        listed = []
        for (index, zone, slot), question, answer in zip(asked, questions, answers):
            verdict = classify(zone, answer)
            results[index][slot] = verdict
            if verdict.status == Verdict.LISTED:
                listed.append((index, slot, question))
        await self._add_reasons(results, listed)
        by_zone = {zone.zone: zone for zone in zones}
        for ip, verdicts in zip(addresses, results):
            fill_removals(verdicts, by_zone, address_text(ip))
        return results

    async def check_names(self, names: Sequence[str], zones: Sequence[Zone]) -> dict[str, list[ZoneVerdict]]:
        """The verdict of each domain list on each name (a sender domain, a HELO or PTR name).

        A list of registered domains is asked for the name and its parents: any of them listed is
        a listing of the name (its meaning says as which); an error on any, and none listed, is an error.
        """
        names = list(dict.fromkeys(names))
        zones = [zone for zone in zones if zone.domains]
        await self.probe({NAMES}, zones)
        rows: list[list[ZoneVerdict]] = []
        plan: list[tuple[int, int, Zone, str, list[str]]] = []
        questions: list[Question] = []
        for index, name in enumerate(names):
            row: list[ZoneVerdict] = []
            for zone in zones:
                failure = self.failed.get((zone.zone, NAMES))
                if failure:
                    row.append(failure)
                    continue
                # A name too long to go under the list's zone cannot be listed there (nor asked).
                asked = [n for n in zone.query_names(name) if len(f"{n}.{self._suffix(zone)}") <= MAX_NAME]
                if not asked:
                    row.append(ZoneVerdict(zone.zone, Verdict.CLEAN))
                    continue
                plan.append((index, len(row), zone, name, asked))
                row.append(ZoneVerdict(zone.zone, Verdict.ERROR, error="timeout"))  # its place
                suffix = self._suffix(zone)
                questions += [(f"{each}.{suffix}", wire.A, suffix) for each in asked]
            rows.append(row)
        answers = iter(await self.resolver.query_many(questions, only=wire.A))
        listed = []
        for index, slot, zone, name, asked in plan:
            verdicts = [(each, classify(zone, next(answers))) for each in asked]
            hits = [(each, v) for each, v in verdicts if v.status == Verdict.LISTED]
            if hits:
                each, verdict = hits[0]
                if each != name:
                    verdict = replace(verdict, meaning=f"{verdict.meaning} (listed as {each})")
                suffix = self._suffix(zone)
                listed.append((index, slot, (f"{each}.{suffix}", wire.A, suffix)))
            else:
                errors = [v for _, v in verdicts if v.status != Verdict.CLEAN]
                verdict = errors[0] if errors else ZoneVerdict(zone.zone, Verdict.CLEAN)
            rows[index][slot] = verdict
        await self._add_reasons(rows, listed)
        by_zone = {zone.zone: zone for zone in zones}
        for name, row in zip(names, rows):
            fill_removals(row, by_zone, name)
        return dict(zip(names, rows))

    async def _add_reasons(self, results: list[list[ZoneVerdict]], wanted: list) -> None:
        """Fetch the TXT record of every listing (WANTED: index, slot, its A question): the list's
        own words on why."""
        questions = [(name, wire.TXT, suffix) for _, _, (name, _, suffix) in wanted]
        texts = await self.resolver.query_many(questions, only=wire.TXT)
        for (index, slot, _), answer in zip(wanted, texts):
            reason = " ".join(b"".join(strings).decode("utf-8", "replace") for strings in answer.values(wire.TXT))
            if reason:
                results[index][slot] = replace(results[index][slot], reason=clean_text(reason))
