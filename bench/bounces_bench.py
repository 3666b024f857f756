"""`make bench-bounces`: how fast the mail log is read, by hand and in the pipeline.

A day of a busy Postfix server is about a million lines, most of them connections, queue
entries and delivered mail; a rejection is rare. Two logs are made from the lines in
tests/data/maillogs: "a day" (1,000,000 lines, 1 in 200 a receiver's refusal) and "a bad day"
(every delivery line a refusal, the worst case). `senderwatch bounces` reads each as a file,
plain and gzip-compressed, in a fresh interpreter (as a user runs it: start-up included), and the
bounces function's reading (`watch_log`, what one CloudWatch Logs delivery costs) is timed in
process on 10,000 lines.
"""

from __future__ import annotations

import gzip
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from local.memory import MemoryReceivers
from senderwatch.receiverwatch import watch_log
from senderwatch.refusals import classify, parse_line

LOGS = Path(__file__).resolve().parents[1] / "tests" / "data" / "maillogs"
LINES = 1_000_000


def _sample_lines() -> tuple[list[str], list[str]]:
    """The Postfix sample's lines, split into receivers' refusals and everything else."""
    now = datetime.now(UTC)
    refusals, other = [], []
    for line in (LOGS / "postfix.log").read_text().splitlines():
        reply = parse_line(line, now.year)
        (refusals if reply is not None and classify(reply) is not None else other).append(line)
    return refusals, other


def _log(refusals: list[str], other: list[str], share: float, count: int, seed: int = 7) -> list[str]:
    """COUNT lines, each its own (a process ID of its own: no two lines alike, as in a real log)."""
    pick = random.Random(seed)
    lines = (pick.choice(refusals) if pick.random() < share else pick.choice(other) for _ in range(count))
    return [_PID.sub(f"[{n}]", line, count=1) for n, line in enumerate(lines)]


_PID = re.compile(r"\[\d+\]")


def _read_by_hand(path: Path) -> tuple[float, float]:
    """Seconds and peak MB of `senderwatch bounces PATH --format json` in its own interpreter."""
    code = (  # VmHWM: this process's own peak (ru_maxrss would count what the forking parent held)
        "import sys; from senderwatch.commands import main; status = main(sys.argv[1:]);"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
        "sys.stderr.write(peak + '\\n'); sys.exit(status)"
    )
    started = time.perf_counter()
    proc = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code, "bounces", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"senderwatch bounces failed: {proc.stderr}")
    return took, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> int:
    refusals, other = _sample_lines()
    print(f"senderwatch bounces: {LINES:,} lines, made of {len(refusals) + len(other)} sample lines")
    print(f"{'log':<28} {'MB':>6} {'seconds':>8} {'lines/s':>10} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for name, share in (("a day (0.5% refusals)", 0.005), ("a bad day (35% refusals)", 0.35)):
            text = "\n".join(_log(refusals, other, share, LINES)) + "\n"
            plain = Path(folder) / "mail.log"
            plain.write_text(text)
            packed = Path(folder) / "mail.log.1.gz"
            packed.write_bytes(gzip.compress(text.encode(), 6))
            for label, path in ((name, plain), (f"{name}, .gz", packed)):
                took, peak = _read_by_hand(path)
                size = path.stat().st_size / 1e6
                print(f"{label:<28} {size:>6.0f} {took:>8.2f} {LINES / took:>10,.0f} {peak:>8.0f}")

    events = [(1_795_000_000_000 + n, line) for n, line in enumerate(_log(refusals, other, 0.35, 10_000))]
    store = MemoryReceivers()
    started = time.process_time()
    seen = watch_log(events, store, datetime.now(UTC))
    cpu = time.process_time() - started
    print(
        f"\nbounces function, one delivery of {seen.lines:,} lines ({seen.rejections:,} refusals, "
        f"{len(store.writes)} record writes): {cpu * 1000:.0f} ms CPU, {cpu / seen.lines * 1e6:.1f} µs per line"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
