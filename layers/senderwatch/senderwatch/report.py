"""What `senderwatch check` prints: a table a person reads, or JSON a program reads.

Everything that came from outside (PTR names, SPF records, senders, zone names) passes
through clean_text before it reaches a terminal; JSON escapes what a terminal would act on.
"""

from __future__ import annotations

from collections.abc import Sequence

from .addresses import TEST_ENTRIES, address_text
from .advice import spf_advice
from .check import INCOMPLETE, PROBLEM, CheckResult, overall
from .dnsbl import ZoneVerdict
from .rdns import Rdns
from .text import clean_text, json_text
from .verdicts import Rating, Verdict

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


def to_json(results: Sequence[CheckResult], *, error: str = "", ascii_only: bool = False) -> str:
    document: dict = {"results": [r.to_dict() for r in results]}
    if error:
        document["error"] = error
    return json_text(document, ascii_only=ascii_only)


def to_table(results: Sequence[CheckResult], colour: bool = False) -> str:
    def paint(text: str, kind: str) -> str:
        return f"\x1b[{_COLOURS[kind]}m{text}\x1b[0m" if colour and kind in _COLOURS else text

    lines: list[str] = []
    unusable = _unusable_zones(results)
    if unusable:
        lines.append("Lists that could not be used this run (no address was asked):")
        width = max(len(v.zone) for v in unusable)
        for v in unusable:
            status = paint(f"{(v.error if v.error == 'blocked' else v.status).upper():<9}", v.status)
            lines.append(f"  {status} {clean_text(v.zone, 80):<{width}}  {_unusable_detail(v)}".rstrip())
        lines.append("")
    for result in results:
        lines.append(f"{address_text(result.ip)}  (IPv{result.ip.version})")
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
        for label, spf, helo in (("SPF", result.spf, False), ("HELO SPF", result.helo_spf, True)):
            if spf is not None:
                lines.extend(_spf_lines(label, spf, result, helo, paint))
        if result.rdns is not None:
            lines.append(f"  rDNS      {_rdns(result.rdns, paint)}")
        lines.append("")
    lines.append(_summary(results))
    return "\n".join(lines)


def _unusable_zones(results: Sequence[CheckResult]) -> list[ZoneVerdict]:
    seen: dict[tuple[str, str], ZoneVerdict] = {}
    for result in results:
        for v in result.dnsbl:
            if v.zone_failed:
                seen.setdefault((v.zone, v.error), v)
    return list(seen.values())


def _unusable_detail(v: ZoneVerdict) -> str:
    codes = f"{', '.join(v.codes)}: " if v.codes else ""
    why = v.meaning if v.error == "blocked" and v.meaning else _WHY_UNUSABLE.get(v.error, v.error)
    return clean_text(f"{codes}{why}", 200)


def _detail(v: ZoneVerdict) -> list[str]:
    if v.status == Verdict.LISTED:
        lines = [clean_text(f"{', '.join(v.codes)}: {v.meaning}", 200)]
        if v.reason:
            lines.append(f"reason: {clean_text(v.reason)}")
        if v.delist_url:
            lines.append(f"delist: {clean_text(v.delist_url, 200)}")
        return lines
    if v.status == Verdict.ERROR:
        codes = f" {', '.join(v.codes)}" if v.codes else ""
        meaning = f": {v.meaning}" if v.meaning else ""
        return [
            clean_text(f"{v.error}{codes}{meaning}", 200),
            "not a verdict: this list could not say whether the address is listed",
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
    if rdns.error:
        return paint(f"could not check ({rdns.error})", "warn")
    if not rdns.ptr:
        return paint("no PTR record: many receivers (Microsoft, Google) refuse mail without one", "bad")
    names = ", ".join(clean_text(name, 255) for name in rdns.ptr)
    if rdns.forward_confirmed:
        return f"{names} {paint('(forward-confirmed)', 'pass')}"
    return f"{names} {paint('(does not resolve back to this address)', 'bad')}"


def _summary(results: Sequence[CheckResult]) -> str:
    count = f"{len(results)} address{'es' if len(results) != 1 else ''} checked"
    listed = sum(len(r.listed) for r in results)
    spf_bad = sum(len(r.spf_problems) for r in results)
    unchecked = sum(1 for r in results if r.status == Rating.UNCHECKED)
    state = overall(results)
    not_rated = f", {unchecked} without a verdict from any list" if unchecked else ""
    if state == PROBLEM:
        return f"{count}: {listed} listing(s), {spf_bad} SPF problem(s){not_rated}."
    if state == INCOMPLETE:
        return f"{count}: no problem found, but some checks could not be completed{not_rated}."
    return f"{count}: nothing wrong found."
