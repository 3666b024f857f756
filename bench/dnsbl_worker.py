"""One measured run of a DNSBL engine, in its own process so CPU and memory are its own.

python -m bench.dnsbl_worker ENGINE HOST:PORT WORKLOAD.json [--concurrency N] [--verdicts]
Prints one JSON line: queries, wall time, CPU per query, peak memory, wrong verdicts. The clock
starts once the engine is imported (start-up is what the whole-process runs measure). With
--verdicts (pydnsbl) it prints what a program built on the engine prints instead: every
address's listings, one JSON document, the counterpart of `senderwatch check --format json`.
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


# Each engine imports what it needs and returns the run itself, so that the clock leaves imports out.


def senderwatch_engine(host, port, addresses, zones, concurrency):
    from senderwatch.dnsbl import DnsblChecker
    from senderwatch.resolver import Resolver
    from senderwatch.zones import resolve_zones

    def run():
        ips = [ipaddress.ip_address(a) for a in addresses]

        async def main():
            async with Resolver([(host, port)], timeout=2.0, concurrency=concurrency) as resolver:
                results = await DnsblChecker(resolver, resolve_zones(zones)).check(ips)
                return results, resolver.sent

        results, sent = asyncio.run(main())
        listed = {(str(ip), v.zone) for ip, verdicts in zip(ips, results) for v in verdicts if v.status == "listed"}
        errors = sum(1 for verdicts in results for v in verdicts if v.status not in ("listed", "clean"))
        return listed, sent, errors

    return run


def pydnsbl_engine(host, port, addresses, zones, concurrency, verdicts=False):
    import aiodns
    from pydnsbl import DNSBLIpChecker
    from pydnsbl.providers import Provider

    def run():
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
        if verdicts:
            print(json.dumps({"results": [{"ip": r.addr, "listed_by": sorted(r.detected_by)} for r in results]}))
        listed = {(r.addr, provider) for r in results for provider in r.detected_by}
        return listed, len(addresses) * len(zones), 0

    return run


def targets_engine(host, port, targets, zones, concurrency):
    """senderwatch's check of targets (addresses, or host names resolved first), as `check` runs it."""
    from senderwatch.resolver import Resolver
    from senderwatch.targetcheck import CheckResult, check_targets
    from senderwatch.targets import parse_target
    from senderwatch.zones import resolve_zones

    def run():
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

    return run


ENGINES = {"senderwatch": senderwatch_engine, "pydnsbl": pydnsbl_engine, "addresses": targets_engine}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=sorted([*ENGINES, "hosts"]))
    parser.add_argument("server")
    parser.add_argument("workload")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--verdicts", action="store_true", help="pydnsbl: print the verdicts, not the figures")
    args = parser.parse_args()
    host, port = args.server.rsplit(":", 1)
    with open(args.workload, encoding="utf-8") as handle:
        work = json.load(handle)
    truth = {(a, z) for a, z in work["listed"]}
    where = (host, int(port))
    if args.verdicts:
        if args.engine != "pydnsbl":
            parser.error("--verdicts is pydnsbl's: senderwatch's are `senderwatch check --format json`")
        pydnsbl_engine(*where, work["addresses"], work["zones"], args.concurrency, verdicts=True)()
        return
    if args.engine == "hosts":
        run = targets_engine(*where, work["hosts"], work["zones"], args.concurrency)
    else:
        run = ENGINES[args.engine](*where, work["addresses"], work["zones"], args.concurrency)
    cpu0, wall0 = _cpu(), time.perf_counter()
    listed, queries, errors = run()
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
