"""What `senderwatch check` prints: a table a person reads, or JSON a program reads.

Everything that came from outside (PTR names, SPF records, senders, zone names) passes
through clean_text before it reaches a terminal; JSON escapes what a terminal would act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..addresses import TEST_ENTRIES, address_text
from ..advice import group_spf_advice, mechanism_for, spf_advice
from ..dnsbl import ZoneVerdict
from ..identities import HELO, PTR, SENDER
from ..rdns import Rdns
from ..targetcheck import INCOMPLETE, OK, PROBLEM, CheckResult, HostProblem, overall
from ..text import clean_text, json_text
from ..verdicts import Rating, Verdict

if TYPE_CHECKING:  # the domains' checks are loaded by a check that has domains to report
    from ..dmarc import DmarcReport
    from ..domainhealth import DomainReport
    from ..spfrecord import SpfRecordReport
    from ..spfresult import SpfResult

_ORDER = {Verdict.LISTED: 0, Verdict.ERROR: 1, Verdict.UNHEALTHY: 2, Verdict.CLEAN: 3}
_COLOURS = {
    Verdict.LISTED: "31;1",
    Verdict.ERROR: "33",
    Verdict.UNHEALTHY: "35",
    Verdict.CLEAN: "32",
    "pass": "32",
    "bad": "31;1",
    "warn": "33",
}
_INDENT = " " * 12
_WHY_UNUSABLE = {
    "timeout": "the list did not answer its test entries: it may be down, or gone",
    "servfail": "the list failed to answer its test entries: it may be down, or gone",
    "refused": "the list refused to answer its test entries",
    "bad-answer": "its answers are outside 127.0.0.0/8: a resolver rewrites them, or the list is gone",
    "lists-everything": "it lists its own 'clean' test entry (127.0.0.1): it lists everything",
    "lists-nothing": "it does not list its own 'listed' test entry (127.0.0.2): it lists nothing",
}


Results = Sequence[CheckResult | HostProblem]


def to_json(
    results: Results,
    *,
    domains: Sequence[DomainReport] | None = None,
    error: str = "",
    ascii_only: bool = False,
    person: bool = True,
) -> str:
    """The JSON document; indented for a PERSON, an entry per line for a program (see json_text)."""
    document: dict = {"results": [r.to_dict() for r in results]}
    if domains is not None:
        document["domains"] = [d.to_dict() for d in domains]
    if error:
        document["error"] = error
    return json_text(document, ascii_only=ascii_only, person=person)


def to_table(results: Results, colour: bool = False, domains: Sequence[DomainReport] = ()) -> str:
    def paint(text: str, kind: str) -> str:
        return f"\x1b[{_COLOURS[kind]}m{text}\x1b[0m" if colour and kind in _COLOURS else text

    lines: list[str] = []
    unusable = _unusable_zones([*results, *domains])
    if unusable:
        lines.append("Lists that could not be used this run (nothing was asked of them):")
        width = max(len(v.zone) for v in unusable)
        for v in unusable:
            status = paint(f"{(v.error if v.error == 'blocked' else v.status).upper():<9}", v.status)
            lines.append(f"  {status} {clean_text(v.zone, 80):<{width}}  {_unusable_detail(v)}".rstrip())
        lines.append("")
    heading = ""
    network: list[CheckResult] = []  # a network's addresses: shown together
    for result in results:
        source = result.host if isinstance(result, HostProblem) else result.host or result.network
        if source != heading:
            lines.extend(_network_lines(network, paint))
            network, heading = [], source
            if source:
                lines.extend(_heading(source, results))
        if isinstance(result, HostProblem):
            lines.extend([f"  {paint('NOT CHECKED', 'warn')} {clean_text(result.detail, 400)}", ""])
        elif result.network:
            network.append(result)
        else:
            lines.extend(_address_lines(result, paint))
    lines.extend(_network_lines(network, paint))
    lines.extend(_domains_lines(domains, paint))
    lines.append(_summary(results, domains))
    return "\n".join(lines)


def _address_lines(result: CheckResult, paint) -> list[str]:
    lines = [f"{address_text(result.ip)}  (IPv{result.ip.version})"]
    if result.ip in TEST_ENTRIES:
        lines.append("  (an RFC 5782 test entry: every working list lists the .2 entry and not the .1 one)")
    verdicts = sorted((v for v in result.dnsbl if not v.zone_failed), key=lambda v: _ORDER[v.status])
    width = max((len(v.zone) for v in verdicts), default=10)
    for v in verdicts:
        status = paint(f"{v.status.upper():<9}", v.status)
        first, *more = _detail(v) or [""]
        lines.append(f"  {status} {clean_text(v.zone, 80):<{width}}  {first}".rstrip())
        lines.extend(f"{_INDENT}{line}" for line in more)
    if result.status == Rating.UNCHECKED:
        lines.append(f"  {paint('NOT CHECKED', 'warn')} {_unchecked_reason(result)}")
    for label, spf, helo in [*(("SPF", s, False) for s in result.spf), ("HELO SPF", result.helo_spf, True)]:
        if spf is not None:  # each sender's line names it
            lines.extend(_spf_lines(label, spf, result, helo, paint))
    if result.rdns is not None:
        lines.append(f"  rDNS      {_rdns(result.rdns, paint)}")
        if result.matches_host is False:
            host = clean_text(result.host, 255)
            lines.append(f"{_INDENT}{paint(f'not {host}', 'warn')}: receivers compare the PTR name with the HELO")
            lines.append(f"{_INDENT}name; if {host} is the HELO name, set the PTR of {address_text(result.ip)} to it")
    lines.append("")
    return lines


def _heading(source: str, results: Results) -> list[str]:
    """The line that opens a host's or a network's addresses."""
    members = [r for r in results if isinstance(r, CheckResult) and source in (r.host, r.network)]
    name = clean_text(source, 255)
    if "/" in source:
        return [f"== network {name}: {len(members)} addresses", ""]
    shown = ", ".join(address_text(r.ip) for r in members[:8]) + (" ..." if len(members) > 8 else "")
    count = f"{len(members)} address{'es' if len(members) != 1 else ''}"
    return [f"== host {name}: {count}{': ' + shown if members else ''}", ""]


def _network_lines(members: list[CheckResult], paint) -> list[str]:
    """A network's addresses in a few lines: each listing or error on its own line, SPF and
    reverse DNS summed up, and the fix for the whole range where it is the same for all."""
    if not members:
        return []
    lines: list[str] = []
    width = max(len(address_text(r.ip)) for r in members)
    for result in members:
        ip = address_text(result.ip)
        for v in sorted((v for v in result.dnsbl if not v.zone_failed), key=lambda v: _ORDER[v.status]):
            if v.status != Verdict.CLEAN:
                first, *_ = _detail(v) or [""]
                lines.append(
                    f"  {ip:<{width}}  {paint(f'{v.status.upper():<9}', v.status)} {clean_text(v.zone, 80)}  {first}"
                )
        if result.status == Rating.UNCHECKED:
            lines.append(f"  {ip:<{width}}  {paint('NOT CHECKED', 'warn')} {_unchecked_reason(result)}")
    clean = sum(1 for r in members if r.status in (Rating.CLEAN, Rating.INCOMPLETE))
    lines.append(f"  {clean} of {len(members)} addresses not listed on any list that answered")
    network = members[0].network
    senders = len(members[0].spf)
    for label, helo, nth in [*(("SPF", False, n) for n in range(senders)), ("HELO SPF", True, 0)]:
        by_result: dict[str, list[tuple[CheckResult, SpfResult]]] = {}
        for r in members:
            found = r.helo_spf if helo else r.spf[nth]
            if found is not None:
                by_result.setdefault(found.result, []).append((r, found))
        for outcome, pairs in by_result.items():
            group, spf = [r for r, _ in pairs], pairs[0][1]
            fine = outcome == "pass" or (helo and outcome == "none")
            kind = "pass" if fine else "warn" if outcome == "temperror" else "bad"
            count = f"{len(group)} address{'es' if len(group) != 1 else ''}"
            who = "all addresses" if len(group) == len(members) else f"{count}: {_few(group)}"
            lines.append(f"  {label:<9} {paint(outcome, kind)} for {clean_text(spf.sender, 120)} from {who}")
            if fine or outcome == "temperror":
                continue
            # Most of the range failing: the range is the fix; a few: each address.
            whole = 2 * len(group) > len(members)
            mechanisms = [mechanism_for(network)] if whole else [mechanism_for(address_text(r.ip)) for r in group]
            domain = clean_text(spf.sender.rpartition("@")[2], 120)
            record = clean_text(spf.record or "", 450)
            if spf.record:
                lines.append(f"{_INDENT}record: {record}")
            advice = group_spf_advice(outcome, domain, record, spf.explanation, mechanisms)
            lines.extend(f"{_INDENT}{line}" for line in advice)
    checked = [r for r in members if r.rdns is not None]
    if checked:
        confirmed = [r for r in checked if r.rdns and r.rdns.forward_confirmed]
        missing = [r for r in checked if r.rdns and not r.rdns.error and not r.rdns.ptr]
        other = [r for r in checked if r not in confirmed and r not in missing]
        parts = [f"{len(confirmed)} forward-confirmed"]
        if missing:
            parts.append(paint(f"{len(missing)} without a PTR record ({_few(missing)})", "bad"))
        if other:
            parts.append(paint(f"{len(other)} not confirmed or not checked ({_few(other)})", "warn"))
        lines.append(f"  rDNS      {', '.join(parts)}")
    return [*lines, ""]


def _few(results: list[CheckResult], limit: int = 6) -> str:
    shown = ", ".join(address_text(r.ip) for r in results[:limit])
    return shown + (f" and {len(results) - limit} more" if len(results) > limit else "")


def _unusable_zones(results: Sequence[CheckResult | HostProblem | DomainReport]) -> list[ZoneVerdict]:
    seen: dict[tuple[str, str], ZoneVerdict] = {}
    for result in results:
        for v in result.dnsbl:
            if v.zone_failed:
                seen.setdefault((v.zone, v.error), v)
    return list(seen.values())


def removal_lines(delist: dict, zone: str) -> list[str]:
    """A list's removal procedure, filled in, as a person follows it."""
    lines = []
    if delist.get("expires"):
        lines.append(f"expires by itself: {clean_text(str(delist['expires']), 200)}")
    if delist.get("clear_first"):
        lines.append(f"clear first: {', '.join(delist['clear_first'])} (this list waits for them)")
    url = clean_text(str(delist.get("url") or ""), 200)
    steps = [f"  {n}. {clean_text(str(step), 300)}" for n, step in enumerate(delist.get("steps") or [], 1)]
    if url or steps:  # a list not in the catalogue: its removal procedure is not known here
        lines.append(f"removal: {url}" if url else "what to do:")
    lines += steps
    if delist.get("command"):
        lines.append(f"  on the server: {delist['command']}")
        if delist.get("command_from_address"):
            lines.append(f"  (several addresses: {delist['command_from_address']})")
    if delist.get("note"):
        lines.append(f"  note: {clean_text(str(delist['note']), 300)}")
    if delist.get("fallback"):  # a receiver's second route (Microsoft's delist mailbox)
        lines.append(f"  if that fails: {clean_text(str(delist['fallback']), 300)}")
    return lines


def _unusable_detail(v: ZoneVerdict) -> str:
    codes = f"{', '.join(v.codes)}: " if v.codes else ""
    said = v.meaning and v.error in ("blocked", "refused")  # a list's own words, or a mirror's refusal
    why = v.meaning if said else _WHY_UNUSABLE.get(v.error, v.error)
    return clean_text(f"{codes}{why}", 200)


def _detail(v: ZoneVerdict) -> list[str]:
    if v.status == Verdict.LISTED:
        lines = [clean_text(f"{', '.join(v.codes)}: {v.meaning}", 200)]
        if v.reason:
            lines.append(f"reason: {clean_text(v.reason)}")
        if v.delist:
            lines += removal_lines(v.delist, v.zone)
        elif v.delist_url:
            lines.append(f"delist: {clean_text(v.delist_url, 200)}")
        return lines
    if v.status == Verdict.ERROR:
        codes = f" {', '.join(v.codes)}" if v.codes else ""
        meaning = f": {v.meaning}" if v.meaning else ""
        return [
            clean_text(f"{v.error}{codes}{meaning}", 200),
            "not a verdict: this list could not say whether it is listed",
        ]
    if v.status == Verdict.UNHEALTHY:
        return [f"{v.error}: the list failed its RFC 5782 test entries; its answers are ignored this run"]
    return []


def _unchecked_reason(result: CheckResult) -> str:
    if not result.dnsbl:
        return f"none of the chosen lists rates IPv{result.ip.version} addresses: no list was asked"
    if all(v.zone_failed for v in result.dnsbl):
        return "no list could be used this run (see the top)"
    return "no list gave a verdict on this address this run (see the errors)"


def _spf_lines(label: str, spf, result: CheckResult, helo: bool, paint) -> list[str]:
    fine = spf.result == "pass" or (helo and spf.result == "none")
    kind = "pass" if fine else "warn" if spf.result == "temperror" else "bad"
    matched = f" (matched {clean_text(spf.mechanism, 80)})" if spf.mechanism else ""
    lines = [f"  {label:<9} {paint(spf.result, kind)} for {clean_text(spf.sender, 120)}{matched}"]
    domain = spf.sender.rpartition("@")[2]
    advice = spf_advice(
        spf.result,
        address_text(result.ip),
        clean_text(domain, 120),
        clean_text(spf.record or "", 450),
        spf.explanation,
        helo,
    )
    if advice is None:
        return lines
    if spf.record:
        lines.append(f"{_INDENT}record: {clean_text(spf.record, 450)}")
    lines.extend(f"{_INDENT}{line}" for line in advice.lines)
    return lines


def _rdns(rdns: Rdns, paint) -> str:
    if rdns.error and rdns.ptr:  # the PTR names were found; whether they resolve back was not
        names = ", ".join(clean_text(name, 255) for name in rdns.ptr)
        return f"{names} {paint(f'(could not check that it resolves back: {rdns.error})', 'warn')}"
    if rdns.error:
        return paint(f"could not check ({rdns.error})", "warn")
    if not rdns.ptr:
        return paint("no PTR record: many receivers (Microsoft, Google) refuse mail without one", "bad")
    names = ", ".join(clean_text(name, 255) for name in rdns.ptr)
    if rdns.forward_confirmed:
        return f"{names} {paint('(forward-confirmed)', 'pass')}"
    return f"{names} {paint('(does not resolve back to this address)', 'bad')}"


def _domains_lines(domains: Sequence[DomainReport], paint) -> list[str]:
    """Each sender domain and HELO name in full; PTR names only where a list says something."""
    lines: list[str] = []
    quiet = []
    for report in domains:
        if report.roles == (PTR,) and report.outcome() == OK:
            if report.dnsbl:  # asked of a domain list (no --zone left them all out)
                quiet.append(report.domain)
            continue
        lines.append(f"== domain {clean_text(report.domain, 255)} ({', '.join(report.roles)})")
        if report.spf_record is not None:
            lines += _spf_record_lines(report.spf_record, HELO in report.roles and SENDER not in report.roles, paint)
        if report.dmarc is not None:
            lines += _dmarc_lines(report.dmarc, paint)
        for v in sorted((v for v in report.dnsbl if not v.zone_failed), key=lambda v: _ORDER[v.status]):
            first, *more = _detail(v) or [""]
            lines.append(f"  {paint(f'{v.status.upper():<9}', v.status)} {clean_text(v.zone, 80)}  {first}".rstrip())
            lines.extend(f"{_INDENT}{line}" for line in more)
        lines.append("")
    if quiet:
        rest = f" and {len(quiet) - 6} more" if len(quiet) > 6 else ""
        lines += [
            f"PTR names not listed on any domain list: {', '.join(clean_text(n, 255) for n in quiet[:6])}{rest}",
            "",
        ]
    return lines


def _spf_record_lines(report: SpfRecordReport, helo: bool, paint) -> list[str]:
    if report.error:
        return [f"  SPF record {paint(f'could not check ({report.error})', 'warn')}"]
    if report.record is None and not report.problems:
        return [f"  SPF record none {'(fine for a HELO name)' if helo else ''}".rstrip()]
    counts = f"({report.lookups} DNS lookups of 10 allowed, {report.void_lookups} void of 2)"
    lines = [f"  SPF record {clean_text(report.record or '(none usable)', 450)}  {counts}"]
    for problem in report.problems:
        lines.append(f"{_INDENT}{paint(problem.code, 'bad')}: {clean_text(problem.detail, 600)}")
    if not report.problems:
        lines.append(f"{_INDENT}{paint('no problem found', 'pass')}: receivers can evaluate it for every sender")
    return lines


def _dmarc_lines(report: DmarcReport, paint) -> list[str]:
    if report.error:
        return [f"  DMARC      {paint(f'could not check ({report.error})', 'warn')}"]
    lines = [f"  DMARC      {clean_text(report.record or '(none)', 450)}"]
    if report.policy:
        lines[0] += f"  policy {report.policy}"
    if report.found_at and report.found_at != f"_dmarc.{report.domain}":
        lines[0] += f"  (found at {clean_text(report.found_at, 260)})"  # a parent's, by the tree walk
    for problem in report.problems:
        kind = "warn" if problem.code == "policy-none" else "bad"
        lines.append(f"{_INDENT}{paint(problem.code, kind)}: {clean_text(problem.detail, 600)}")
    return lines


def _summary(results: Results, domains: Sequence[DomainReport] = ()) -> str:
    unique = {r.ip: r for r in results if isinstance(r, CheckResult)}  # an address two targets share
    results = [*unique.values(), *(r for r in results if isinstance(r, HostProblem))]
    checked = len(unique)
    count = f"{checked} address{'es' if checked != 1 else ''} checked"
    listed = sum(len(r.listed) for r in results)
    spf_bad = sum(len(r.spf_problems) for r in results)
    unchecked = sum(1 for r in results if isinstance(r, CheckResult) and r.status == Rating.UNCHECKED)
    unresolved = sum(1 for r in results if isinstance(r, HostProblem))
    not_rated = f", {unchecked} without a verdict from any list" if unchecked else ""
    not_rated += f", {unresolved} host problem(s)" if unresolved else ""
    state = overall(results, domains)
    if domains:
        bad = sum(1 for d in domains if d.outcome() == PROBLEM)
        count += f", {len(domains)} domain{'s' if len(domains) != 1 else ''}"
        not_rated += f", {bad} domain(s) with a problem" if bad else ""
    if state == PROBLEM:
        return f"{count}: {listed} listing(s), {spf_bad} SPF problem(s){not_rated}."
    if state == INCOMPLETE:
        return f"{count}: no problem found, but some checks could not be completed{not_rated}."
    return f"{count}: nothing wrong found."
