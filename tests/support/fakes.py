"""In-memory stand-ins for the ports (senderwatch/ports.py): the stages' logic in milliseconds.

The receivers' store is in local/memory.py: `make bench-bounces` runs on it too."""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace

from senderwatch.dnsbl import ZoneVerdict
from senderwatch.domainhealth import DomainReport
from senderwatch.errors import ResolverUnusable
from senderwatch.spfresult import SpfResult
from senderwatch.targetcheck import AddressResults, CheckResult, HostProblem
from senderwatch.targets import Target


class MemoryTargets:
    def __init__(self, *items: dict):
        self.items = {item["ip"]: copy.deepcopy(item) for item in items}
        self.saves: list[str] = []

    def scan(self) -> Iterator[dict]:
        yield from copy.deepcopy(list(self.items.values()))

    def get_many(self, ips: Iterable[str]) -> dict[str, dict]:
        return {ip: copy.deepcopy(self.items[ip]) for ip in ips if ip in self.items}

    def save_findings(self, ip: str, findings: dict, now: str, run: str = "", also: list | None = None) -> bool:
        if not self.save_checked(ip, now, run):
            return False
        self.items[ip].update(findings=copy.deepcopy(findings), findings_changed_at=now, findings_changed=now)
        if also:
            self.items[ip]["watched_with"] = copy.deepcopy(also)
        elif also is not None:
            self.items[ip].pop("watched_with", None)
        self.saves.append(ip)
        return True

    def save_checked(self, ip: str, now: str, run: str = "") -> bool:
        if ip not in self.items:
            return False
        self.items[ip].update(checked_at=now, **({"checked_run": run} if run else {}))
        self.items[ip].pop("check_error", None)
        self.items[ip].pop("findings_changed", None)
        return True

    def mark_invalid(self, ip: str, problem: str, now: str) -> None:
        if ip in self.items:
            self.items[ip]["check_error"] = problem


class MemoryHistory:
    def __init__(self):
        self.runs: list[dict] = []

    def record(self, runs: list[dict], expires_at: int) -> None:
        self.runs += runs


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


class FakeInvocation:
    """DNS as a function: VERDICTS(ip) -> the lists' verdicts for it; HOSTS: each host's addresses
    (a host missing there does not resolve this run: it keeps what it had; "NXDOMAIN": it does not
    exist). Records each slice."""

    def __init__(
        self,
        verdicts: Callable[[str], list[ZoneVerdict]],
        *,
        failures=None,
        resolver_dead=False,
        hosts: dict[str, list[str]] | None = None,
        spf: Callable[[str], SpfResult | list[SpfResult] | None] | None = None,
        domains: Callable[[str, tuple[str, ...]], DomainReport] | None = None,
    ):
        self.verdicts = verdicts
        self.failures = failures or {}
        self.resolver_dead = resolver_dead
        self.hosts = hosts if hosts is not None else {}
        self.spf = spf or (lambda ip: None)
        self.domain_report = domains or (lambda name, roles: DomainReport(name, roles))
        self.domains_asked: list[str] = []
        self.domains_checked: set[str] = set()
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

    async def check(self, targets: Sequence[Target], known=None) -> dict[str, CheckResult | AddressResults]:
        self.slices.append([t.ip for t in targets])
        out: dict[str, CheckResult | AddressResults] = {}
        for target in targets:
            name = target.name
            if name.kind == "address":
                out[target.ip] = self._result(str(name.value))
            elif name.kind == "network":
                out[target.ip] = AddressResults(
                    [replace(self._result(str(ip)), network=target.ip) for ip in name.addresses()]
                )
            elif self.hosts.get(target.ip) == "NXDOMAIN":
                problem = HostProblem(target.ip, "no-such-host", None, f"{target.ip} does not exist in DNS (NXDOMAIN)")
                out[target.ip] = AddressResults([], [problem])
            else:
                found = self.hosts.get(target.ip, (known or {}).get(target.ip, []))
                out[target.ip] = AddressResults([replace(self._result(ip), host=target.ip) for ip in found])
        return out

    async def domains(self, wanted):
        self.domains_asked += list(wanted)
        return [self.domain_report(name, roles) for name, roles in wanted.items()]

    def _result(self, ip: str) -> CheckResult:
        spf = self.spf(ip)  # one sender's result, or each sender's
        return CheckResult(
            ipaddress.ip_address(ip), self.verdicts(ip), spf if isinstance(spf, list) else [spf] if spf else []
        )
