"""One measured run of a DNSBL engine, in its own process so CPU and memory are its own.

python -m bench.dnsbl_worker ENGINE HOST:PORT WORKLOAD.json [--concurrency N]
Prints one JSON line: queries, wall time, CPU per query, peak memory, wrong verdicts.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import resource
import time


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_senderwatch(host, port, addresses, zones, concurrency):
    from senderwatch.dnsbl import DnsblChecker
    from senderwatch.resolver import Resolver
    from senderwatch.zones import resolve_zones

    ips = [ipaddress.ip_address(a) for a in addresses]

    async def main():
        async with Resolver([(host, port)], timeout=2.0, concurrency=concurrency) as resolver:
            results = await DnsblChecker(resolver, resolve_zones(zones)).check(ips)
            return results, resolver.sent

    results, sent = asyncio.run(main())
    listed = {(str(ip), v.zone) for ip, verdicts in zip(ips, results) for v in verdicts if v.status == "listed"}
    errors = sum(1 for verdicts in results for v in verdicts if v.status not in ("listed", "clean"))
    return listed, sent, errors


def run_pydnsbl(host, port, addresses, zones, concurrency):
    import aiodns
    from pydnsbl import DNSBLIpChecker
    from pydnsbl.providers import Provider

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    checker = DNSBLIpChecker(
        providers=[Provider(z) for z in zones], timeout=2, tries=2, concurrency=concurrency, loop=loop
    )
    # pydnsbl has no nameserver option: give it the same c-ares resolver, pointed at the server.
    checker._resolver = aiodns.DNSResolver(
        nameservers=[host], timeout=2, tries=2, loop=loop, udp_port=port, tcp_port=port
    )
    results = checker.bulk_check(addresses)
    listed = {(r.addr, provider) for r in results for provider in r.detected_by}
    return listed, len(addresses) * len(zones), 0


def run_targets(host, port, targets, zones, concurrency):
    """senderwatch's check of targets (addresses, or host names resolved first), as `check` runs it."""
    from senderwatch.check import CheckResult, check_targets
    from senderwatch.resolver import Resolver
    from senderwatch.targets import parse_target
    from senderwatch.zones import resolve_zones

    names = [parse_target(t) for t in targets]

    async def main():
        async with Resolver([(host, port)], timeout=2.0, concurrency=concurrency) as resolver:
            results = await check_targets(resolver, names, resolve_zones(zones), rdns=False)
            return results, resolver.sent

    results, sent = asyncio.run(main())
    checked = [r for r in results if isinstance(r, CheckResult)]
    listed = {(str(r.ip), v.zone) for r in checked for v in r.dnsbl if v.status == "listed"}
    errors = sum(1 for r in results if not isinstance(r, CheckResult)) + sum(
        1 for r in checked for v in r.dnsbl if v.status not in ("listed", "clean")
    )
    return listed, sent, errors


def run_addresses(host, port, addresses, zones, concurrency):
    return run_targets(host, port, addresses, zones, concurrency)


ENGINES = {"senderwatch": run_senderwatch, "pydnsbl": run_pydnsbl, "addresses": run_addresses}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=sorted([*ENGINES, "hosts"]))
    parser.add_argument("server")
    parser.add_argument("workload")
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    host, port = args.server.rsplit(":", 1)
    with open(args.workload, encoding="utf-8") as handle:
        work = json.load(handle)
    truth = {(a, z) for a, z in work["listed"]}
    cpu0, wall0 = _cpu(), time.perf_counter()
    if args.engine == "hosts":
        listed, queries, errors = run_targets(host, int(port), work["hosts"], work["zones"], args.concurrency)
    else:
        engine = ENGINES[args.engine]
        listed, queries, errors = engine(host, int(port), work["addresses"], work["zones"], args.concurrency)
    wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
    print(
        json.dumps(
            {
                "engine": args.engine,
                "queries": queries,
                "wall_s": wall,
                "qps": queries / wall,
                "cpu_us_per_query": cpu / queries * 1e6,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "wrong": len(truth ^ listed),
                "errors": errors,
            }
        )
    )


if __name__ == "__main__":
    main()
