"""`make bench-report`: how long the HTML report of a big fleet takes to build, and how big it is.

1,000 targets (most of them addresses, a fifth hosts with an IPv4 and an IPv6 address, a few /28
networks) checked once a day for 90 days, as the history table keeps them: 90,000 items. An
address in four is listed now and then (on one to three lists, one to three times each, for a day
to a few weeks), one in twenty softfails SPF for a while, one in fifty loses its PTR record. The
periods are read from the items as `senderwatch report` reads them (`read_history`, the table in
memory: what DynamoDB takes to send them is not counted), then the page is rendered; both are
timed, and the file's size printed.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from senderwatch.commands.overview import status_rows
from senderwatch.history import read_history, stamp
from senderwatch.report import render

TARGETS, DAYS = 1_000, 90
LISTS = ("dnsbl.justspam.org", "b.barracudacentral.org", "bl.spamcop.net", "psbl.surriel.com", "zen.spamhaus.org")
SENDER = "postmaster@example.com"


class MemoryHistory:
    """The history table in memory: read as History reads it (by key and time, or whole)."""

    def __init__(self, items: list[dict]):
        self.by_key: dict[str, list[dict]] = {}
        for item in items:
            self.by_key.setdefault(item["ip"], []).append(item)

    def query(self, keys: Iterable[str], since: str, until: str) -> Iterator[dict]:
        for key in keys:
            yield from (i for i in self.by_key.get(key, []) if since <= i["checked_at"] <= until)

    def scan(self, since: str, until: str, whole: Sequence[str] = ()) -> Iterator[dict]:
        for key, items in self.by_key.items():
            every = any(key.startswith(prefix) for prefix in whole)
            yield from (i for i in items if i["checked_at"] <= until and (every or i["checked_at"] >= since))


def _fleet(pick: random.Random) -> list[tuple[str, list[str]]]:
    """The targets and their addresses."""
    fleet = []
    for n in range(TARGETS):
        a, b = divmod(n, 250)
        if n % 50 == 0:
            base = f"198.51.{100 + a}.{b // 16 * 16}"
            fleet.append((f"{base}/28", [f"198.51.{100 + a}.{b // 16 * 16 + k}" for k in range(16)]))
        elif n % 5 == 0:
            fleet.append((f"mail{n}.example.com", [f"203.0.{113 + a}.{b}", f"2001:db8::{n:x}"]))
        else:
            fleet.append((f"192.0.{2 + a}.{b}", [f"192.0.{2 + a}.{b}"]))
    return fleet


def _problems(pick: random.Random, addresses: list[str]) -> dict[str, list[tuple[str, str, int, int]]]:
    """Per address: (kind, about, first day, last day) of each problem."""
    out: dict[str, list[tuple[str, str, int, int]]] = {}
    for ip in addresses:
        mine = []
        if pick.random() < 0.25:
            for zone in pick.sample(LISTS, pick.randint(1, 3)):
                for _ in range(pick.randint(1, 3)):  # listed, delisted, listed again
                    first = pick.randrange(DAYS)
                    mine.append(("listing", zone, first, first + pick.randint(1, 21)))
        if pick.random() < 0.05:
            first = pick.randrange(DAYS)
            mine.append(("spf", SENDER, first, first + pick.randint(1, 40)))
        if pick.random() < 0.02:
            first = pick.randrange(DAYS)
            mine.append(("rdns", "", first, first + pick.randint(1, 10)))
        out[ip] = mine
    return out


def _result(ip: str, day: int, problems: list[tuple[str, str, int, int]], brief: bool) -> dict:
    def now(kind: str, about: str = "") -> bool:
        return any(k == kind and a == about and first <= day < last for k, a, first, last in problems)

    listed = [{"zone": z, "status": "listed" if now("listing", z) else "clean"} for z in LISTS]
    return {
        "ip": ip,
        "version": 6 if ":" in ip else 4,
        "dnsbl": [v for v in listed if v["status"] == "listed"] if brief else listed,
        "spf": {"sender": SENDER, "result": "softfail" if now("spf", SENDER) else "pass"},
        "rdns": {"ptr": [] if now("rdns") else ["mail.example.com"], "forward_confirmed": not now("rdns")},
    }


def main() -> int:
    pick = random.Random(17)
    until = datetime.now(UTC).replace(microsecond=0)
    since = until - timedelta(days=DAYS)
    fleet = _fleet(pick)
    problems = {key: _problems(pick, addresses) for key, addresses in fleet}
    items, targets = [], []
    for day in range(DAYS):
        when = since + timedelta(days=day, hours=2)
        run = {"checked_at": stamp(when), "run": f"run-{when:%Y%m%d}", "scheduled": True}
        for key, addresses in fleet:
            results = [_result(ip, day, problems[key][ip], len(addresses) > 1) for ip in addresses]
            record = results[0] if len(addresses) == 1 and "/" not in key else {"results": results}
            items.append({"ip": key, "result": json.dumps(record), **run})
    for key, addresses in fleet:
        last = _result(addresses[0], DAYS - 1, problems[key][addresses[0]], False)
        findings = {
            "dnsbl": {v["zone"]: {"status": v["status"]} for v in last["dnsbl"]},
            "spf": last["spf"],
            "rdns": last["rdns"],
        }
        targets.append({"ip": key, "sender": "example.com", "findings": findings if len(addresses) == 1 else None})
    store = MemoryHistory(items)
    print(f"senderwatch report: {TARGETS:,} targets x {DAYS} days ({len(items):,} history items)")
    started = time.perf_counter()
    history = read_history(store, None, since, until)
    read = time.perf_counter() - started
    started = time.perf_counter()
    page = render(history, status_rows(targets), None, made=f"{until:%Y-%m-%d %H:%M} UTC")
    rendered = time.perf_counter() - started
    size = len(page.encode("utf-8"))
    strips = page.count('<div class="strip">')
    print(f"  {len(history.periods):,} problem periods, {strips:,} strips")
    print(f"  periods read from the items: {read:6.2f} s")
    print(f"  page rendered:               {rendered:6.2f} s")
    print(f"  report: {size / 1e6:.2f} MB ({size / TARGETS / 1024:.1f} kB per target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
