"""In-memory stand-ins for the ports (senderwatch/ports.py): the stages' logic in milliseconds."""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager

from senderwatch.check import CheckResult
from senderwatch.dnsbl import ZoneVerdict
from senderwatch.errors import ResolverUnusable
from senderwatch.targets import Target


class MemoryTargets:
    def __init__(self, *items: dict):
        self.items = {item["ip"]: copy.deepcopy(item) for item in items}
        self.saves: list[str] = []

    def scan(self) -> Iterator[dict]:
        yield from copy.deepcopy(list(self.items.values()))

    def get_many(self, ips: Iterable[str]) -> dict[str, dict]:
        return {ip: copy.deepcopy(self.items[ip]) for ip in ips if ip in self.items}

    def save_findings(self, ip: str, findings: dict, now: str) -> bool:
        if ip not in self.items:
            return False
        self.items[ip].update(findings=copy.deepcopy(findings), findings_changed_at=now)
        self.items[ip].pop("check_error", None)
        self.saves.append(ip)
        return True

    def mark_invalid(self, ip: str, problem: str, now: str) -> None:
        if ip in self.items:
            self.items[ip]["check_error"] = problem


class MemoryHistory:
    def __init__(self):
        self.runs: list[dict] = []

    def record(self, runs: list[dict], expires_at: int) -> None:
        self.runs += runs


class MemoryHealth:
    def __init__(self):
        self.states: list[dict] = []

    def record(self, run, states: dict, now: str) -> None:
        self.states.append(states)


class MemoryLog:
    def __init__(self):
        self.keys: set[str] = set()

    def sent(self, keys):
        return set(keys) & self.keys

    def mark(self, keys):
        self.keys.update(keys)


class Topic:
    def __init__(self, fail_events=()):
        self.fail_events = set(fail_events)
        self.published = []

    def publish(self, text):
        if text.attributes["event"] in self.fail_events:
            raise ConnectionError("SNS is down")
        self.published.append(text)
        return "id"


class FakeChecks:
    """DNS as a function: VERDICTS(ip) -> the lists' verdicts for it. Records each slice it checks."""

    def __init__(self, verdicts: Callable[[str], list[ZoneVerdict]], *, failures=None, resolver_dead=False):
        self.verdicts = verdicts
        self.failures = failures or {}
        self.resolver_dead = resolver_dead
        self.slices: list[list[str]] = []
        self.probes = 0

    @asynccontextmanager
    async def session(self):
        yield self

    async def probe(self, targets: Sequence[Target]):
        self.probes += 1
        if self.resolver_dead:
            raise ResolverUnusable("the DNS resolver 192.0.2.53 cannot be used: no answer", "no-answer")
        return dict(self.failures)

    async def check(self, targets: Sequence[Target]) -> dict[str, CheckResult]:
        self.slices.append([t.ip for t in targets])
        return {t.ip: CheckResult(ipaddress.ip_address(t.ip), self.verdicts(t.ip)) for t in targets}
