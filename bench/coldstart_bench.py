"""`make bench-coldstart`: each built function's init against `import boto3` alone, same run.

Init is what a cold start pays before the first event: importing the function's `app`
module from `sam build`'s output, with the layer and the runtime's boto3 on the path, under
Python 3.13 without site-packages (as Lambda runs it). Each is timed in a fresh interpreter,
after one warm-up run (so Python's own bytecode cache is as Lambda's), median of several.
Anything the imports print on stderr (a warning) is shown: there should be none.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from local.pipeline import FUNCTIONS, LAMBDA_RUNTIME, REPO, built_paths, lambda_python

BUILD = REPO / ".aws-sam" / "build"
RUNS = 9
GOAL = 1.5
ENV = {
    "PATH": "/usr/bin:/bin",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "POWERTOOLS_SERVICE_NAME": "senderwatch",
    "POWERTOOLS_METRICS_NAMESPACE": "Senderwatch",
    "TABLE_NAME": "targets",
    "HISTORY_TABLE_NAME": "history",
    "HEALTH_TABLE_NAME": "health",
    "QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/check",
    "TOPIC_ARN": "arn:aws:sns:eu-central-1:123456789012:alerts",
    "IDEMPOTENCY_TABLE_NAME": "alerts-sent",
    "APPRISE_URLS_PARAMETER": "/senderwatch/apprise-urls",
    "APPRISE_DEAD_LETTER_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/apprise-dead-letters",
}
TIMER = """
import sys, time
sys.path[:0] = sys.argv[2:]
start = time.perf_counter()
__import__(sys.argv[1])
print(f"{(time.perf_counter() - start) * 1000:.2f}")
"""


def init_ms(python: str, module: str, paths: list[str]) -> tuple[float, str]:
    """Median milliseconds to import MODULE in a fresh interpreter, and what it printed on stderr."""
    times, noise = [], ""
    for run in range(RUNS + 1):
        proc = subprocess.run(  # noqa: S603 - our own interpreter and files
            [python, "-S", "-B", "-c", TIMER, module, *paths], capture_output=True, text=True, env=ENV, check=True
        )
        if run:  # the first run is a warm-up
            times.append(float(proc.stdout.strip().splitlines()[-1]))
        noise = noise or proc.stderr.strip()
    return statistics.median(times), noise


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def main() -> int:
    if not (BUILD / "SenderwatchLayer" / "python" / "senderwatch").is_dir():
        print("no `sam build` output in .aws-sam/build: run `make build`", file=sys.stderr)
        return 1
    python = lambda_python()
    version = subprocess.run([python, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    baseline, _ = init_ms(python, "boto3", [str(LAMBDA_RUNTIME)])
    layer = BUILD / "SenderwatchLayer" / "python"
    print(f"Init (imports at a cold start), {version}, no site-packages, median of {RUNS}:\n")
    header = f"{'':<18} {'init ms':>8} {'x boto3':>8}  warnings at start"
    print(header)
    print("-" * len(header))
    print(f"{'import boto3':<18} {baseline:>8.1f} {1:>8.2f}  -")
    worst = 0.0
    for function in FUNCTIONS.values():
        ms, noise = init_ms(python, "app", built_paths(BUILD, function))
        worst = max(worst, ms / baseline)
        print(f"{function:<18} {ms:>8.1f} {ms / baseline:>8.2f}  {noise[:60] or 'none'}")
    print(f"\nslowest init: {worst:.2f}x `import boto3` (goal <= {GOAL}x)")
    print(f"layer: {size_mb(layer.parent):.1f} MB unpacked ({size_mb(layer / 'senderwatch'):.1f} MB of it senderwatch)")
    if "3.13" not in version:
        print(f"note: measured with {version}: the Lambda runtime is Python 3.13, which this machine lacks")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    os.chdir(REPO)
    raise SystemExit(main())
