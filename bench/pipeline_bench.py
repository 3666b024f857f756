"""`make bench-pipeline`: 10, 1,000 and 10,000 targets through the whole chain on moto.

Each size runs in its own process (so its peak memory is its own), with its own rbldnsd
serving four generated lists and empty reverse zones. Targets are put in the table; a first
daily run finds them all clean (every target's first findings are written); then 5% of the
addresses are listed on all four lists and the next daily run is measured: scheduler ->
queue -> checker -> table -> stream -> notifier -> SNS, as Lambda would call them. Cost per
target should stay flat as the count grows, and the alerts of that run should be a handful
of grouped messages, not one per address and list.

Then `senderwatch targets import` of 10,000 rows against a moto server, and its re-run; and
`senderwatch history` against a moto server holding the history of 10,000 targets: one target's
90 days (read by key), and the whole fleet's last 7 days (a parallel scan).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

SIZES = (10, 1_000, 10_000)
ZONES = [f"bl{n}.pipeline.test" for n in range(4)]
IMPORT_ROWS = 10_000
HISTORY_TARGETS = 10_000
HISTORY_DAYS = 90  # one target's history read: as long as HistoryDays keeps by default
HISTORY_RUNS_PER_DAY = 4  # that target's runs: every 6 hours (more than the default daily schedule)
FLEET_DAYS = 7  # the whole fleet's read, one run a day (the default schedule)


def addresses(count: int) -> list[str]:
    base = int(ipaddress.ip_address("198.18.0.0"))
    return [str(ipaddress.ip_address(base + 1 + n)) for n in range(count)]


def zone_data(count: int, listed: bool) -> dict:
    entries = addresses(count)[::20] if listed else []
    data = {zone: {"ip4set": [f":127.0.0.2:{zone} benchmark listing", "127.0.0.2", *entries]} for zone in ZONES}
    data["in-addr.arpa"] = {"ip4set": []}
    return data


def fake_aws() -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        }
    )


def wait_listed(server, ip: str) -> None:
    """Until rbldnsd serves its reloaded data (it rereads its files on SIGHUP)."""
    import asyncio

    from senderwatch import wire
    from senderwatch.addresses import reverse_name
    from senderwatch.resolver import Resolver

    async def listed() -> bool:
        async with Resolver([server.address], timeout=0.5) as resolver:
            answer = await resolver.query(f"{reverse_name(ipaddress.ip_address(ip))}.{ZONES[0]}", wire.A)
            return bool(answer.values(wire.A))

    deadline = time.monotonic() + 30
    while not asyncio.run(listed()):
        if time.monotonic() > deadline:
            raise RuntimeError("rbldnsd did not reload its data")
        time.sleep(0.1)


def one_size(count: int) -> dict:
    import boto3
    from moto import mock_aws

    from local.pipeline import LocalPipeline
    from local.rbldnsd import Rbldnsd

    fake_aws()
    calls: dict[str, int] = {}

    def tally(event_name: str, **_):
        operation = event_name.rsplit(".", 1)[-1]
        calls[operation] = calls.get(operation, 0) + 1

    with Rbldnsd(zone_data(count, listed=False)) as dns, mock_aws():
        boto3.setup_default_session()  # after the mock starts (it resets the default session)
        boto3.DEFAULT_SESSION.events.register("before-call", tally)  # every client inherits it
        # No inbox queues: moto's SQS walks a whole queue on every delivery, which would time
        # moto rather than senderwatch. SNS publishes are counted as they are made instead.
        pipeline = LocalPipeline(dns=dns.address, env={"ZONES": " ".join(ZONES)}, inboxes=False).create()
        with boto3.resource("dynamodb").Table(pipeline.table_name).batch_writer() as batch:
            for ip in addresses(count):
                batch.put_item(Item={"ip": ip, "enabled": True})
        pipeline.stream_records()  # the inserts: measured below are the daily runs
        pipeline.run()  # the first daily run: every address is found clean (and its findings written)

        dns.reload(zone_data(count, listed=True))
        wait_listed(dns, addresses(count)[0])
        calls.clear()
        start = time.perf_counter()
        scheduled = pipeline.schedule()
        pipeline.settle()
        elapsed = time.perf_counter() - start
        sqs = boto3.client("sqs")
        dead = int(
            sqs.get_queue_attributes(QueueUrl=pipeline.dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        alerts = boto3.client("dynamodb").scan(TableName=pipeline.idempotency_table_name, Select="COUNT")["Count"]
    publishes = calls.get("Publish", 0)
    return {
        "targets": count,
        "messages": scheduled["messages"],
        "seconds": elapsed,
        "ms_per_target": elapsed / count * 1000,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "alerts": alerts,
        "publishes": publishes,
        "dead_letters": dead,
        "requests_per_target": (sum(calls.values()) - publishes) / count,
    }


def import_rows(rows: int) -> dict:
    """`senderwatch targets import` of ROWS rows against a moto server, as a user runs it."""
    import logging

    from moto.server import ThreadedMotoServer

    from local.pipeline import create_table

    fake_aws()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://{}:{}".format(*server.get_host_and_port())}
    os.environ.update(env)
    try:
        create_table("TargetsTable", "targets")
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
            handle.write("ip,sender,label\n")
            handle.writelines(f"{ip},example.com,relay {n}\n" for n, ip in enumerate(addresses(rows)))
        command = [sys.executable, "-m", "senderwatch", "targets", "import", handle.name, "--table", "targets"]
        times, outputs = [], []
        for _ in range(2):  # the import, then a re-run (everything already up to date)
            start = time.perf_counter()
            proc = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=600)
            times.append(time.perf_counter() - start)
            outputs.append(proc.stdout.strip())
        os.unlink(handle.name)
    finally:
        server.stop()
    return {"rows": rows, "seconds": times[0], "rerun_seconds": times[1], "outputs": outputs}


def moto_server() -> tuple[subprocess.Popen, str]:
    """A moto server in a process of its own on a free loopback port, and its address."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return server, url
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the moto server did not start") from None
            time.sleep(0.1)


def history_item(ip: str, when, run: str, listed: bool) -> dict:
    """One run's item for one address, as the checker writes it (4 lists, SPF, reverse DNS)."""
    result = {
        "ip": ip,
        "version": 4,
        "status": "listed" if listed else "clean",
        "dnsbl": [{"zone": zone, "status": "listed" if listed and n == 0 else "clean"} for n, zone in enumerate(ZONES)],
        "spf": {"sender": "postmaster@example.com", "result": "pass"},
        "rdns": {"ptr": [f"relay-{ip.replace('.', '-')}.example.com"]},
    }
    return {
        "ip": ip,
        "checked_at": when.isoformat(timespec="microseconds"),
        "result": json.dumps(result),
        "run": run,
        "scheduled": True,
        "expires_at": int(when.timestamp()) + 90 * 86400,
    }


def history_reads(targets: int) -> dict:
    """`senderwatch history` as a user runs it, against a moto server: one target's HISTORY_DAYS
    days (HISTORY_RUNS_PER_DAY runs a day) with only its own items in the table, then with TARGETS
    targets' FLEET_DAYS daily runs beside them (5% listed on one list for two days), and the whole
    fleet's last FLEET_DAYS days. Each as the command (its process, start to end) and as the read
    in this process: its requests, the time AWS (moto) took to answer and the time the periods took."""
    from datetime import UTC, datetime, timedelta

    import boto3

    from local.pipeline import create_table
    from senderwatch.aws import History
    from senderwatch.history import build_history, read_history, stamp

    fake_aws()
    # moto in a process of its own: in this one it would share the interpreter (and its lock) with
    # the reads it serves, and the parallel queries and scan segments would wait for each other.
    server, url = moto_server()
    env = {**os.environ, "AWS_ENDPOINT_URL": url}
    os.environ.update(env)
    now = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0) - timedelta(days=1)
    common = ["--table", "targets", "--history-table", "history", "--health-table", "health", "--format", "json"]
    requests = {"count": 0}
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-call", lambda **_: requests.update(count=requests["count"] + 1))

    def command(*argv: str) -> tuple[float, int, int]:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "senderwatch", "history", *argv, *common],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip())
        document = json.loads(proc.stdout)
        return elapsed, len(document["history"]), document["runs"]

    def one_read(key: str) -> tuple[float, int]:
        requests["count"] = 0
        start = time.perf_counter()
        read_history(History.named("history"), [key], datetime.now(UTC) - timedelta(days=HISTORY_DAYS))
        return time.perf_counter() - start, requests["count"]

    try:
        create_table("HistoryTable", "history")
        create_table("HealthTable", "health")
        ips, items = addresses(targets), 0
        one = ips[0]
        table = boto3.resource("dynamodb").Table("history")
        with table.batch_writer() as batch:
            for step in range(HISTORY_DAYS * HISTORY_RUNS_PER_DAY):
                when = now - timedelta(hours=24 // HISTORY_RUNS_PER_DAY * step)
                batch.put_item(Item=history_item(one, when, when.isoformat(), 40 <= step < 52))
                items += 1
        alone = command(one, "--days", str(HISTORY_DAYS)), one_read(one)
        with table.batch_writer() as batch:
            for day in range(FLEET_DAYS):
                when = now - timedelta(days=FLEET_DAYS - 1 - day)
                for n, ip in enumerate(ips[1:], 1):
                    batch.put_item(Item=history_item(ip, when, when.isoformat(), n % 20 == 0 and day in (2, 3)))
                    items += 1
        among = command(one, "--days", str(HISTORY_DAYS)), one_read(one)
        fleet = command("--days", str(FLEET_DAYS))
        since = datetime.now(UTC) - timedelta(days=FLEET_DAYS)
        start = time.perf_counter()
        scanned = list(History.named("history").scan(stamp(since), stamp(datetime.now(UTC))))
        scan_seconds = time.perf_counter() - start
        start = time.perf_counter()
        build_history(scanned, since, datetime.now(UTC))
        build_seconds = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait()
    return {
        "targets": targets,
        "items": items,
        "alone": alone,
        "among": among,
        "fleet": fleet,
        "scan_seconds": scan_seconds,
        "scanned": len(scanned),
        "build_seconds": build_seconds,
    }


def child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.pipeline_bench", *args], capture_output=True, text=True, check=True, timeout=3600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_history(r: dict) -> None:
    """What `senderwatch history` took to read: one target, and the whole fleet."""
    print(f"\nsenderwatch history on a moto server (its own process), {r['items']:,} history items:")
    print(f"  {'':<60} {'command s':>9} {'read s':>7} {'requests':>9}")
    for key, what in (("alone", "its own items alone"), ("among", f"among {r['targets']:,} targets' items")):
        (seconds, periods, runs), (read, requests) = r[key]
        print(
            f"  {f'one target, {HISTORY_DAYS} days ({runs} runs), {what}':<60} {seconds:>9.2f} {read:>7.2f} "
            f"{requests:>9}  {periods} period(s)"
        )
    seconds, periods, runs = r["fleet"]
    label = f"{r['targets']:,} targets, the last {FLEET_DAYS} days ({runs} runs)"
    print(
        f"  {label:<60} {seconds:>9.2f} {r['scan_seconds'] + r['build_seconds']:>7.2f} {'scan':>9}  {periods:,} periods"
    )
    print(
        f"  the fleet's read: the parallel scan {r['scan_seconds']:.2f} s ({r['scanned']:,} items), "
        f"the periods built from them {r['build_seconds']:.2f} s"
    )
    print("  command: the whole `senderwatch history ... --format json` (Python's start, AWS over HTTP, the JSON).")
    print("  moto answers a query by walking the whole table (DynamoDB reads only the key's items) and scans")
    print("  a segment at a time: past the first line, the times are mostly moto's.")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int)
    parser.add_argument("--import-rows", type=int)
    parser.add_argument("--history", type=int, metavar="TARGETS")
    args = parser.parse_args()
    if args.targets:
        print(json.dumps(one_size(args.targets)))
        return 0
    if args.import_rows:
        print(json.dumps(import_rows(args.import_rows)))
        return 0
    if args.history:
        print(json.dumps(history_reads(args.history)))
        return 0

    print("The whole pipeline on moto (in-process), DNS from rbldnsd: 4 lists. Measured: the daily run")
    print("in which 5% of the addresses become listed on all 4 lists (after a first run found all clean).\n")
    header = (
        f"{'targets':>8} {'SQS messages':>13} {'AWS requests/target':>20} {'total s':>9} {'ms/target':>10} "
        f"{'peak MB':>8} {'alerts':>7} {'publishes':>10} {'DLQ':>4}"
    )
    print(header)
    print("-" * len(header))
    for size in SIZES:
        r = child("--targets", str(size))
        print(
            f"{r['targets']:>8,} {r['messages']:>13,} {r['requests_per_target']:>20.2f} "
            f"{r['seconds']:>9.1f} {r['ms_per_target']:>10.2f} "
            f"{r['peak_mb']:>8.0f} {r['alerts']:>7,} {r['publishes']:>10,} {r['dead_letters']:>4}"
        )
    print("\nalerts: alerts decided (LISTED per address and list); publishes: SNS messages that carried them.")
    r = child("--import-rows", str(IMPORT_ROWS))
    print(f"\nsenderwatch targets import, {r['rows']:,} rows, against a moto server:")
    print(f"  first import  {r['seconds']:6.1f} s  ({r['outputs'][0]})")
    print(f"  re-run        {r['rerun_seconds']:6.1f} s  ({r['outputs'][1]})")
    print_history(child("--history", str(HISTORY_TARGETS)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
