"""The small objects the stages are given: what each needs of AWS and of DNS, as Protocols.

`aws.py` implements them over boto3; the tests give in-memory fakes (tests/support/fakes.py, the
receivers' store in local/memory.py), so the stages' logic runs in unit tests without a socket.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .alerttext import AlertText
    from .check import AddressResults, CheckResult
    from .domaincheck import DomainReport
    from .runs import Run
    from .targets import Target


class Targets(Protocol):
    """The watched targets and their findings (the targets table)."""

    def scan(self) -> Iterator[dict]: ...
    def get_many(self, ips: Iterable[str]) -> dict[str, dict]: ...
    def save_findings(self, ip: str, findings: dict, now: str) -> bool: ...
    def mark_invalid(self, ip: str, problem: str, now: str) -> None: ...


class History(Protocol):
    def record(self, runs: list[dict], expires_at: int) -> None: ...


class Health(Protocol):
    """The deployment's own health: one record per list and address family, one for the resolver."""

    def record(self, run: Run, states: dict[str, dict | None], now: str) -> None: ...
    def record_domains(self, run: Run, reports: Sequence[DomainReport], now: str) -> int: ...


class Receivers(Protocol):
    """What each receiver says of the sender (the health table's `receiver:NAME` records)."""

    def read(self, name: str) -> tuple[dict | None, int]:
        """The record and its version (0: none yet)."""
        ...

    def save(self, name: str, record: dict, version: int) -> bool:
        """Write RECORD if the record is still at VERSION; False when another writer came first."""
        ...

    def blocking(self) -> set[str]:
        """The receivers with a block not yet over (so that mail accepted by any other receiver
        costs no read)."""
        ...

    def mark(self, name: str, blocking: bool) -> None:
        """Note whether NAME has a block not yet over."""
        ...


class SentLog(Protocol):
    """Which alerts were published already."""

    def sent(self, keys: Iterable[str]) -> set[str]: ...
    def mark(self, keys: Iterable[str]) -> None: ...


class Publisher(Protocol):
    def publish(self, text: AlertText) -> str: ...


class CheckSession(Protocol):
    """The DNS side of one message: probe the lists once, then check targets slice by slice."""

    async def probe(self, targets: Sequence[Target]) -> dict[tuple[str, int], dict | None]: ...
    async def check(
        self, targets: Sequence[Target], known: dict[str, list[str]]
    ) -> dict[str, CheckResult | AddressResults]:
        """An address's result, or a host's or a network's (one per address); KNOWN: the
        addresses each host had, kept for a family that cannot be resolved this run."""
        ...

    async def domains(self, wanted: dict[str, tuple[str, ...]]) -> list[DomainReport]:
        """The health of these domains (each with why it is watched)."""
        ...


class Checks(Protocol):
    domains_checked: set[str]  # the domains this invocation has checked: each once

    def session(self) -> AbstractAsyncContextManager[CheckSession]: ...
