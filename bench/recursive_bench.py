"""`make bench`, through a recursive resolver: what a list far away costs, and what reaches it.

Debian's unbound, with its shipped defaults, iterates from a test root to lists on rbldnsd
behind a delay: one 150 ms away, one 1.5 s away. For each, a /24 (half of it listed) is
checked as `senderwatch check` checks it, unbound's cache cold: the verdicts, the time, the
packets senderwatch sent, and the queries that reached the list's own servers per verdict
(every one counts against the list's quota; the A queries for the addresses are the verdicts'
own, the TXT queries fetch the listed ones' reasons).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import Counter

from local.recursive import List, RecursiveWorld, ResolverMissing
from senderwatch.dnsbl import DnsblChecker
from senderwatch.resolver import Resolver
from senderwatch.zones import resolve_zones

NETWORK = ipaddress.ip_network("192.0.2.0/24")
LISTS = {"near.lists.example": 0.15, "far.lists.example": 1.5}


async def check(resolver_address: tuple[str, int], zone: str) -> tuple[Counter, float, int]:
    async with Resolver([resolver_address]) as resolver:
        started = time.monotonic()
        rows = await DnsblChecker(resolver, resolve_zones([zone])).check(list(NETWORK))
        elapsed = time.monotonic() - started
    return Counter(v.error or v.status.value for row in rows for v in row), elapsed, resolver.sent


def main() -> int:
    lists = {zone: List({"ip4set": ["192.0.2.0/25 :127.0.0.2:listed $"]}, delay=delay) for zone, delay in LISTS.items()}
    print(f"\nThrough a recursive resolver (Debian's, its defaults, cold cache): a /24 ({NETWORK}) on a list,")
    print("half of it listed. Queries at the list: what reached its own servers, per verdict.")
    header = (
        f"{'resolver':<9} {'list':<5} {'away':>6} {'verdicts':>22} {'wall s':>7} {'sent':>5} "
        f"{'A/verdict':>10} {'all/verdict':>12}"
    )
    print(header)
    print("-" * len(header))
    for kind in ("unbound", "bind"):
        try:
            for zone, delay in LISTS.items():
                with RecursiveWorld({}, lists={zone: lists[zone]}, kind=kind) as world:
                    verdicts, elapsed, sent = asyncio.run(check(world.resolver, zone))
                    asked = world.asked(zone)
                a_queries = sum(n for (_, rtype), n in asked.items() if rtype == "A")
                count = sum(verdicts.values())
                said = ", ".join(f"{n} {what}" for what, n in sorted(verdicts.items()))
                print(
                    f"{kind:<9} {zone.split('.')[0]:<5} {delay * 1000:>4.0f}ms {said:>22} {elapsed:>7.1f} {sent:>5} "
                    f"{a_queries / count:>10.2f} {sum(asked.values()) / count:>12.2f}"
                )
        except (ResolverMissing, PermissionError) as exc:
            print(f"{kind:<9} not measured: {exc}")
    print(
        "  A/verdict counts every A query at the list, its test entries and the resolver's own retries and qname\n"
        "  minimisation included; all/verdict adds the TXT queries for the listed addresses' reasons. Through\n"
        "  unbound the far list's verdicts take seconds: it drops an answer it took over 1.9 s to find, and\n"
        "  senderwatch asks again only once the list has had the time it showed it needs, so the answer comes\n"
        "  from unbound's cache. BIND retries a server it does not know yet after 800 ms, several times, by\n"
        "  itself: its far-list count is the same when senderwatch sends each query only once."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
