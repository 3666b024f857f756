"""SPF (RFC 7208) with pyspf, asking DNS through senderwatch's own resolver.

pyspf looks names up through its module-level `DNSLookup`; senderwatch installs one
function there that sends each lookup to the resolver of the check that is running
(a context variable, so concurrent checks in threads never share a resolver).
pyspf is synchronous, so a check runs in a worker thread while the resolver keeps
serving the event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import types
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import dns.rdatatype  # noqa: F401 - pyspf reads dns.rdatatype (its SPF type) as it loads

from . import wire
from .addresses import IPAddress
from .resolver import Resolver
from .text import clean_text


def _load_pyspf():
    """Import pyspf without what it does not need here, and without noise.

    pyspf imports dnspython's stub resolver for a DNSLookup that senderwatch replaces: ~20 ms of
    every cold start, for nothing, so it gets a placeholder while it loads. And its source has
    escape sequences newer Pythons warn about when compiling it (SyntaxWarning): not ours to fix,
    and not worth a line in every function's log.
    """
    placeholder = "dns.resolver" not in sys.modules
    if placeholder:
        sys.modules["dns.resolver"] = types.ModuleType("dns.resolver")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            import spf
    finally:
        if placeholder:
            del sys.modules["dns.resolver"]
    return spf


spf = _load_pyspf()
Lookup = Callable[[str, int], wire.Answer]
_current_lookup: contextvars.ContextVar[Lookup] = contextvars.ContextVar("senderwatch_spf_lookup")


@dataclass(frozen=True)
class SpfResult:
    sender: str
    result: str
    mechanism: str | None
    explanation: str
    lookups: int
    record: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _dns_lookup(name, qtype, strict=True, timeout=None):
    """pyspf's DNSLookup contract: [((owner, TYPE), value), ...] or raise spf.TempError."""
    lookup = _current_lookup.get(None)
    if lookup is None:
        raise spf.TempError("senderwatch: no resolver for this SPF check")
    rtype = wire.TYPE_CODES.get(qtype)
    if rtype is None:
        return []
    answer = lookup(name, rtype)
    if answer.rcode == wire.TIMEOUT:
        raise spf.TempError(f"DNS timeout looking up {name} {qtype}")
    if answer.rcode == wire.FORMERR and not answer.records:
        return []  # a name that cannot be asked: no data
    if answer.rcode not in (wire.NOERROR, wire.NXDOMAIN):
        raise spf.TempError(f"DNS error {wire.rcode_text(answer.rcode)} looking up {name} {qtype}")
    # Owners come back in presentation format (\\DDD escapes); pyspf files answers under the
    # name as it asked, so an answer for that name is given back under its spelling.
    asked = wire.name_text(name).lower()
    return [
        ((name if owner.lower() == asked else owner, wire.TYPE_NAMES.get(kind, str(kind))), value)
        for owner, kind, value in answer.records
    ]


spf.DNSLookup = _dns_lookup


def evaluate(lookup: Lookup, ip: IPAddress | str, sender: str = "", helo: str = "") -> SpfResult:
    """Run one SPF check (MAIL FROM identity, or HELO when SENDER is empty); blocking."""
    token = _current_lookup.set(lookup)
    try:
        query = spf.query(i=str(ip), s=sender, h=helo or "unknown", timeout=20)
        result, _code, explanation = query.check()
        record = None
        if result not in ("none", "temperror") and query.d:
            try:
                record = query.dns_spf(query.o)
            except (spf.TempError, spf.PermError):
                record = None
        return SpfResult(
            sender=query.s,
            result={"unknown": "permerror", "error": "temperror"}.get(result, result),
            mechanism=query.mechanism,
            explanation=clean_text(explanation or ""),
            lookups=query.lookups,
            record=record,
        )
    finally:
        _current_lookup.reset(token)


async def check_spf(resolver: Resolver, ip: IPAddress, sender: str = "", helo: str = "") -> SpfResult:
    """Evaluate SPF in a worker thread; its DNS lookups go to RESOLVER on this event loop, each
    name once per run (every address of a network asks the sender's records, as does the lint)."""
    loop = asyncio.get_running_loop()

    def lookup(name: str, rtype: int) -> wire.Answer:
        return asyncio.run_coroutine_threadsafe(resolver.ask_once(name, rtype), loop).result()

    return await asyncio.to_thread(evaluate, lookup, ip, sender, helo)
