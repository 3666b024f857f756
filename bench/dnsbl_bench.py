"""`make bench`: the DNSBL engine against rbldnsd, beside pydnsbl, on the same workload.

1,000 addresses x 20 generated zones on a local rbldnsd (~5% of addresses listed per
zone). Each engine runs in its own process, timed once it is imported; then each runs as a
whole process, timed from start to exit (start-up, the check, the verdicts written as JSON
to a pipe): `senderwatch check --format json`, and pydnsbl's bulk check printing its
verdicts with json.dumps. Both comparisons take the best of five runs each, taking turns.
Then senderwatch runs again behind a forwarder that adds 50 ms to every query, to compare
with concurrency / latency; then 1,000 host names (rbldnsd serves their A records) against
their addresses typed in.

Every process runs with bytecode, as an installed package has it (pip compiles at install):
written to a directory of its own, whatever PYTHONDONTWRITEBYTECODE says.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

from local.dnsserver import DNSServer
from local.rbldnsd import Rbldnsd

ADDRESSES = 1000
ZONES = 20
LATENCY_MS = 50
LATENCY_CONCURRENCY = 100
LATENCY_ADDRESSES = 250
HOSTS_ZONE = "hosts.bench.test"
ROUNDS = 5  # senderwatch against pydnsbl: the best of so many runs each


def workload(seed: int = 7):
    rng = random.Random(seed)
    base = int(ipaddress.ip_address("198.18.0.0"))  # RFC 2544 benchmarking range
    addresses = [str(ipaddress.ip_address(base + rng.randrange(1, 1 << 17))) for _ in range(ADDRESSES)]
    addresses = list(dict.fromkeys(addresses))
    zones = [f"bl{n:02d}.bench.test" for n in range(ZONES)]
    data, listed = {}, []
    for zone in zones:
        picked = rng.sample(addresses, len(addresses) // 20)
        listed += [(a, zone) for a in picked]
        data[zone] = {"ip4set": [f":127.0.0.2:{zone}: $ listed for the benchmark", "127.0.0.2", *picked]}
    hosts = [f"mx{n:04d}.{HOSTS_ZONE}" for n in range(len(addresses))]
    data[HOSTS_ZONE] = {"generic": [f"mx{n:04d} A {a}" for n, a in enumerate(addresses)]}
    return {"addresses": addresses, "zones": zones, "listed": listed, "hosts": hosts}, data


ENV = dict(os.environ)  # every measured process's: main() gives it bytecode


def measure(engine: str, server: tuple, work_path: str, concurrency: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.dnsbl_worker",
            engine,
            f"{server[0]}:{server[1]}",
            work_path,
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        env=ENV,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def whole_process(command: list[str]) -> dict:
    """One process from start to exit: wall time, its CPU and peak memory, and what it printed."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=ENV)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        errors.seek(0)
        said = errors.read().decode(errors="replace").strip()
    if proc.returncode not in (0, 1) or not out:  # 1: listings found
        raise RuntimeError(f"{command[:4]}... exited {proc.returncode}: {said[-500:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "document": json.loads(out),
    }


def whole_processes(server: tuple, work_path: str, work: dict) -> dict:
    """`senderwatch check` and pydnsbl's bulk check as commands: the same job, start to exit."""
    nameserver = f"{server[0]}:{server[1]}"
    zones = [arg for zone in work["zones"] for arg in ("--zone", zone)]
    commands = {
        "pydnsbl": [sys.executable, "-m", "bench.dnsbl_worker", "pydnsbl", nameserver, work_path, "--verdicts"],
        "senderwatch": [
            sys.executable,
            "-m",
            "senderwatch",
            "check",
            *work["addresses"],
            *zones,
            "--nameserver",
            nameserver,
            "--no-rdns",
            "--format",
            "json",
        ],
    }
    truth = {(a, z) for a, z in work["listed"]}
    best: dict[str, dict] = {}
    for attempt in range(1 + ROUNDS):  # the first run writes the bytecode; then the best, taking turns
        for engine, command in commands.items():
            run = whole_process(command)
            if engine == "pydnsbl":
                listed = {(r["ip"], z) for r in run["document"]["results"] for z in r["listed_by"]}
            else:
                results = run["document"]["results"]
                listed = {(r["ip"], v["zone"]) for r in results for v in r["dnsbl"] if v["status"] == "listed"}
            run["wrong"] = len(truth ^ listed)
            if attempt and (engine not in best or run["wall_s"] < best[engine]["wall_s"]):
                best[engine] = run
    return best


def row(r: dict) -> str:
    return (
        f"{r['engine']:<12} {r['queries']:>8} {r['wall_s']:>8.2f} {r['qps']:>10,.0f} "
        f"{r['cpu_us_per_query']:>12.1f} {r['peak_rss_mb']:>10.1f} {r['wrong']:>6} {r['errors']:>6}"
    )


def main() -> int:
    work, data = workload()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(work, handle)
        work_path = handle.name
    bytecode = tempfile.TemporaryDirectory(prefix="bench-bytecode-")
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = bytecode.name
    try:
        with Rbldnsd(data) as server:
            print(
                f"DNSBL engine: {len(work['addresses'])} addresses x {ZONES} zones against rbldnsd "
                f"on {server.address[0]}:{server.address[1]} ({len(work['listed'])} listings)\n"
            )
            header = (
                f"{'engine':<12} {'queries':>8} {'wall s':>8} {'queries/s':>10} "
                f"{'CPU µs/query':>12} {'peak MB':>10} {'wrong':>6} {'errors':>6}"
            )
            print(header)
            print("-" * len(header))
            results: dict[str, dict] = {}
            for _ in range(ROUNDS):  # the best of each, taking turns: the machine is shared
                for engine in ("pydnsbl", "senderwatch"):
                    run = measure(engine, server.address, work_path, 200)
                    if engine not in results or run["qps"] > results[engine]["qps"]:
                        results[engine] = run
            for engine in ("pydnsbl", "senderwatch"):
                print(row(results[engine]))
            ratio = results["senderwatch"]["qps"] / results["pydnsbl"]["qps"]
            print(
                f"\nsenderwatch / pydnsbl throughput: {ratio:.2f}x; "
                f"CPU per query {results['senderwatch']['cpu_us_per_query']:.1f} µs (goal < 50 µs)"
            )

            whole = whole_processes(server.address, work_path, work)
            print(
                f"\nWhole processes, start to exit (start-up, the check, the verdicts as JSON on a pipe), "
                f"best of {ROUNDS}:"
            )
            print(f"{'command':<34} {'wall s':>8} {'CPU s':>8} {'peak MB':>10} {'wrong':>6}")
            for engine, label in (
                ("pydnsbl", "pydnsbl bulk_check + json.dumps"),
                ("senderwatch", "senderwatch check --format json"),
            ):
                r = whole[engine]
                print(f"{label:<34} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} {r['peak_rss_mb']:>10.1f} {r['wrong']:>6}")
            engine_ratio = results["pydnsbl"]["wall_s"] / results["senderwatch"]["wall_s"]
            whole_ratio = whole["pydnsbl"]["wall_s"] / whole["senderwatch"]["wall_s"]
            print(
                f"senderwatch / pydnsbl, the same {len(work['addresses']):,} addresses x {ZONES} lists (wall time): "
                f"engine alone {engine_ratio:.2f}x, whole process {whole_ratio:.2f}x (goal >= 2x)"
            )

            small = dict(work, addresses=work["addresses"][:LATENCY_ADDRESSES])
            small["listed"] = [p for p in work["listed"] if p[0] in set(small["addresses"])]
            with open(work_path, "w", encoding="utf-8") as handle:
                json.dump(small, handle)
            proxy = subprocess.Popen(
                [sys.executable, "-m", "bench.delayproxy", str(server.address[1]), str(LATENCY_MS)],
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                port = int(proxy.stdout.readline())
                slow = measure("senderwatch", ("127.0.0.1", port), work_path, LATENCY_CONCURRENCY)
            finally:
                proxy.terminate()
                proxy.wait()
            ideal = LATENCY_CONCURRENCY / (LATENCY_MS / 1000)
            print(f"\nWith {LATENCY_MS} ms added to every query, concurrency {LATENCY_CONCURRENCY}:")
            print(header)
            print(row(slow))
            print(
                f"throughput {slow['qps']:,.0f} q/s = {slow['qps'] / ideal:.0%} of the ideal "
                f"concurrency/latency = {ideal:,.0f} q/s (goal >= 80%)"
            )
            hosts_against_addresses(server.address, work_path, work)
        dead_resolvers(work["addresses"])
    finally:
        os.unlink(work_path)
        bytecode.cleanup()
    return 0


def hosts_against_addresses(server: tuple, work_path: str, work: dict) -> None:
    """What a host target costs: its A and AAAA queries, and nothing else."""
    with open(work_path, "w", encoding="utf-8") as handle:
        json.dump(work, handle)
    best = {}
    for engine in ("addresses", "hosts"):
        runs = [measure(engine, server, work_path, 200) for _ in range(3)]
        best[engine] = min(runs, key=lambda r: r["wall_s"])
    addresses, hosts = best["addresses"], best["hosts"]
    print(f"\nHost targets: {len(work['hosts']):,} host names (one A record each) against their addresses typed in,")
    print(f"{ZONES} zones, `check`'s own path (best of 3):")
    print(f"{'targets':<12} {'queries':>8} {'wall s':>8} {'CPU ms':>8} {'wrong':>6} {'errors':>6}")
    for name, r in (("addresses", addresses), ("hosts", hosts)):
        cpu_ms = r["cpu_us_per_query"] * r["queries"] / 1000
        print(f"{name:<12} {r['queries']:>8} {r['wall_s']:>8.2f} {cpu_ms:>8.0f} {r['wrong']:>6} {r['errors']:>6}")
    extra = hosts["queries"] - addresses["queries"]
    cpu_extra = hosts["cpu_us_per_query"] * hosts["queries"] - addresses["cpu_us_per_query"] * addresses["queries"]
    print(
        f"a host costs {extra / len(work['hosts']):.2f} extra queries (goal: 2, one A and one AAAA), "
        f"{cpu_extra / max(extra, 1):.1f} µs of CPU per extra query, "
        f"{hosts['wall_s'] / addresses['wall_s'] - 1:+.0%} wall time"
    )


def dead_resolvers(addresses: list[str], timeout: float = 2.0) -> None:
    """`senderwatch check` of every address with the default lists, through resolvers that do not work."""
    print(f"\nA resolver that does not work: `senderwatch check` of {len(addresses):,} addresses, default lists,")
    print(f"--timeout {timeout:g} (a query gives up {timeout:g} s after it was first sent)")

    def run(label: str, nameserver: str) -> None:
        start = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "senderwatch",
                "check",
                *addresses,
                "--nameserver",
                nameserver,
                "--timeout",
                str(timeout),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=ENV,
        )
        elapsed = time.perf_counter() - start
        said = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "(nothing on stderr)"
        print(f"  {label:<28} named in {elapsed:5.2f} s, exit {proc.returncode}: {said[:110]}")

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        run("answers nothing", f"127.0.0.1:{silent.getsockname()[1]}")
    with DNSServer({}) as liar:
        liar.zone.resolve = lambda name, qtype: ("NXDOMAIN", [])
        run("answers NXDOMAIN to all", "{}:{}".format(*liar.address))
    with DNSServer({}) as refusing:
        refusing.zone.resolve = lambda name, qtype: ("REFUSED", [])
        run("refuses everything", "{}:{}".format(*refusing.address))


if __name__ == "__main__":
    raise SystemExit(main())
