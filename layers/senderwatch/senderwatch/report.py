"""What `senderwatch check` prints: a table a person reads, or JSON a program reads."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .check import INCOMPLETE, PROBLEM, CheckResult, overall
from .dnsbl import CLEAN, ERROR, LISTED, UNHEALTHY

_ORDER = {LISTED: 0, ERROR: 1, UNHEALTHY: 2, CLEAN: 3}
_COLOURS = {LISTED: "31;1", ERROR: "33", UNHEALTHY: "35", CLEAN: "32", "pass": "32", "bad": "31;1", "warn": "33"}


def to_json(results: Sequence[CheckResult]) -> str:
    return json.dumps({"results": [r.to_dict() for r in results]}, indent=2, ensure_ascii=False)


def to_table(results: Sequence[CheckResult], colour: bool = False) -> str:
    def paint(text: str, kind: str) -> str:
        return f"\x1b[{_COLOURS[kind]}m{text}\x1b[0m" if colour and kind in _COLOURS else text

    lines: list[str] = []
    for result in results:
        lines.append(f"{result.ip}  (IPv{result.ip.version})")
        verdicts = sorted(result.dnsbl, key=lambda v: _ORDER[v.status])
        width = max((len(v.zone) for v in verdicts), default=10)
        for v in verdicts:
            status = paint(f"{v.status.upper():<9}", v.status)
            first, *more = _detail(v) or [""]
            lines.append(f"  {status} {v.zone:<{width}}  {first}".rstrip())
            lines.extend(f"            {line}" for line in more)
        for label, spf in (("SPF", result.spf), ("HELO SPF", result.helo_spf)):
            if spf is None:
                continue
            kind = "pass" if spf.result == "pass" else "warn" if spf.result == "temperror" else "bad"
            matched = f" (matched {spf.mechanism})" if spf.mechanism else ""
            lines.append(f"  {label:<9} {paint(spf.result, kind)} for {spf.sender}{matched}")
            if spf.result not in ("pass", "temperror") and spf.record:
                fix = f"ip{result.ip.version}:{result.ip}"
                lines.append(f"            record: {spf.record}")
                lines.append(f"            to authorise this address, add {fix} before the 'all' mechanism")
        if result.rdns is not None:
            lines.append(f"  rDNS      {_rdns(result, paint)}")
        lines.append("")
    lines.append(_summary(results))
    return "\n".join(lines)


def _detail(v) -> list[str]:
    if v.status == LISTED:
        lines = [f"{', '.join(v.codes)}: {v.meaning}"]
        if v.reason:
            lines.append(f"reason: {v.reason}")
        if v.delist_url:
            lines.append(f"delist: {v.delist_url}")
        return lines
    if v.status == ERROR:
        codes = f" {', '.join(v.codes)}" if v.codes else ""
        meaning = f": {v.meaning}" if v.meaning else ""
        return [f"{v.error}{codes}{meaning}", "not a verdict: this list could not say whether the address is listed"]
    if v.status == UNHEALTHY:
        return [f"{v.error}: the list failed its RFC 5782 test entries; its answers are ignored this run"]
    return []


def _rdns(result: CheckResult, paint) -> str:
    rdns = result.rdns
    if rdns.error:
        return paint(f"could not check ({rdns.error})", "warn")
    if not rdns.ptr:
        return paint("no PTR record: many receivers (Microsoft, Google) refuse mail without one", "bad")
    names = ", ".join(rdns.ptr)
    if rdns.forward_confirmed:
        return f"{names} {paint('(forward-confirmed)', 'pass')}"
    return f"{names} {paint('(does not resolve back to this address)', 'bad')}"


def _summary(results: Sequence[CheckResult]) -> str:
    listed = sum(len(r.listed) for r in results)
    spf_bad = sum(1 for r in results for s in (r.spf, r.helo_spf) if s and s.result not in ("pass", "temperror"))
    state = overall(results)
    if state == PROBLEM:
        return f"{len(results)} address(es) checked: {listed} listing(s), {spf_bad} SPF problem(s)."
    if state == INCOMPLETE:
        return f"{len(results)} address(es) checked: nothing wrong found, but some checks could not be completed."
    return f"{len(results)} address(es) checked: nothing wrong found."
