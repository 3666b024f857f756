"""`make bench-pipeline`: 10, 1,000 and 10,000 targets through the whole chain on moto.

Each size runs in its own process (so its peak memory is its own), with its own rbldnsd
serving four generated lists and empty reverse zones. Targets are put in the table; a first
daily run finds them all clean (every target's first findings are written); then 5% of the
addresses are listed on all four lists and the next daily run is measured: scheduler ->
queue -> checker -> table -> stream -> notifier -> SNS, as Lambda would call them. Cost per
target should stay flat as the count grows, and the alerts of that run should be a handful
of grouped messages, not one per address and list.

Then `senderwatch targets import` of 10,000 rows against a moto server, and its re-run.
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


def child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.pipeline_bench", *args], capture_output=True, text=True, check=True, timeout=3600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int)
    parser.add_argument("--import-rows", type=int)
    args = parser.parse_args()
    if args.targets:
        print(json.dumps(one_size(args.targets)))
        return 0
    if args.import_rows:
        print(json.dumps(import_rows(args.import_rows)))
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
