"""`make bench-pipeline`: 10, 1,000 and 10,000 targets through the whole chain on moto.

Each size runs in its own process (so its peak memory is its own): targets are put in the
table, then scheduler -> queue -> checker -> table -> stream -> notifier run as Lambda
would call them, against rbldnsd serving four generated lists (5% of addresses listed)
and empty reverse zones. Cost per target should stay flat as the count grows.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import resource
import subprocess
import sys
import time

SIZES = (10, 1_000, 10_000)
ZONES = [f"bl{n}.pipeline.test" for n in range(4)]


def addresses(count: int) -> list[str]:
    base = int(ipaddress.ip_address("198.18.0.0"))
    return [str(ipaddress.ip_address(base + 1 + n)) for n in range(count)]


def zone_data(count: int) -> dict:
    listed = addresses(count)[::20]
    data = {zone: {"ip4set": [f":127.0.0.2:{zone} benchmark listing", "127.0.0.2", *listed]} for zone in ZONES}
    data["in-addr.arpa"] = {"ip4set": []}
    return data


def one_size(count: int, dns: str) -> dict:
    import boto3
    from moto import mock_aws

    from senderwatch.testing.localaws import LocalPipeline

    host, port = dns.rsplit(":", 1)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
    )
    calls = {"n": 0}

    def tally(**_):
        calls["n"] += 1

    with mock_aws():
        boto3.setup_default_session()  # after the mock starts (it resets the default session)
        boto3.DEFAULT_SESSION.events.register("before-call", tally)  # every client inherits it
        # No inbox queues: moto's SQS walks a whole queue on every delivery, which would time
        # moto rather than senderwatch. Alerts are counted from the idempotency records instead.
        pipeline = LocalPipeline(dns=(host, int(port)), env={"ZONES": " ".join(ZONES)}, inboxes=False).create()
        with boto3.resource("dynamodb").Table(pipeline.table_name).batch_writer() as batch:
            for ip in addresses(count):
                batch.put_item(Item={"ip": ip, "enabled": True})
        pipeline.stream_records()  # the inserts: measured below is the daily run
        sqs = boto3.client("sqs")
        calls["n"] = 0
        start = time.perf_counter()
        scheduled = pipeline.schedule()
        pipeline.settle()
        elapsed = time.perf_counter() - start
        requests = calls["n"]
        dead = int(
            sqs.get_queue_attributes(QueueUrl=pipeline.dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        alerts = boto3.client("dynamodb").scan(TableName=pipeline.idempotency_table_name, Select="COUNT")["Count"]
    return {
        "targets": count,
        "messages": scheduled["messages"],
        "seconds": elapsed,
        "ms_per_target": elapsed / count * 1000,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "alerts": alerts,
        "dead_letters": dead,
        "requests_per_target": requests / count,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int)
    parser.add_argument("--dns")
    args = parser.parse_args()
    if args.targets:
        print(json.dumps(one_size(args.targets, args.dns)))
        return 0

    from senderwatch.testing.rbldnsd import Rbldnsd

    print("The whole pipeline on moto (in-process), DNS from rbldnsd: 4 lists, 5% of addresses listed.\n")
    header = (
        f"{'targets':>8} {'SQS messages':>13} {'AWS requests/target':>20} {'total s':>9} {'ms/target':>10} "
        f"{'peak MB':>8} {'alerts':>7} {'DLQ':>4}"
    )
    print(header)
    print("-" * len(header))
    with Rbldnsd(zone_data(max(SIZES))) as server:
        for size in SIZES:
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.pipeline_bench",
                    "--targets",
                    str(size),
                    "--dns",
                    f"{server.address[0]}:{server.address[1]}",
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=1800,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{r['targets']:>8,} {r['messages']:>13,} {r['requests_per_target']:>20.2f} "
                f"{r['seconds']:>9.1f} {r['ms_per_target']:>10.2f} "
                f"{r['peak_mb']:>8.0f} {r['alerts']:>7,} {r['dead_letters']:>4}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
