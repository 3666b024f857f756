"""Reverse DNS: the PTR names of an address, and whether one of them points back to it."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from . import wire
from .addresses import IPAddress
from .resolver import Resolver

MAX_PTR = 10
_ERRORS = {wire.TIMEOUT: "timeout", wire.SERVFAIL: "servfail", wire.REFUSED: "refused"}


@dataclass(frozen=True)
class Rdns:
    ptr: tuple[str, ...]
    forward_confirmed: bool | None  # None: could not be decided (a DNS error)
    error: str = ""

    def to_dict(self) -> dict:
        out: dict[str, object] = {"ptr": list(self.ptr), "forward_confirmed": self.forward_confirmed}
        if self.error:
            out["error"] = self.error
        return out


def _error(answer: wire.Answer) -> str:
    if answer.skipped:
        return "bad-answer"  # records that did not parse: not "no PTR record"
    if answer.rcode in (wire.NOERROR, wire.NXDOMAIN):
        return ""
    return _ERRORS.get(answer.rcode, "servfail")


async def check_rdns(resolver: Resolver, addresses: Sequence[IPAddress]) -> list[Rdns]:
    """Forward-confirmed reverse DNS for each address (PTR, then A/AAAA of each name)."""
    ptr_answers = await resolver.query_many([(ip.reverse_pointer, wire.PTR) for ip in addresses], only=wire.PTR)
    names = [tuple(dict.fromkeys(n.rstrip(".").lower() for n in a.values(wire.PTR)))[:MAX_PTR] for a in ptr_answers]
    forward_q = [
        (name, wire.A if ip.version == 4 else wire.AAAA) for ip, ptrs in zip(addresses, names) for name in ptrs
    ]
    forward = iter(await resolver.query_many(forward_q))
    results = []
    for ip, answer, ptrs in zip(addresses, ptr_answers, names):
        error = _error(answer)
        if error:
            results.append(Rdns((), None, error))
            continue
        confirmed, failed = False, ""
        for _name in ptrs:
            fwd = next(forward)
            failed = failed or _error(fwd)
            if any(ipaddress.ip_address(v) == ip for v in fwd.values(wire.A if ip.version == 4 else wire.AAAA)):
                confirmed = True
        if not confirmed and failed:
            results.append(Rdns(ptrs, None, failed))
        else:
            results.append(Rdns(ptrs, confirmed))
    return results
