"""The small objects the stages are given: what each needs of AWS and of DNS, as Protocols.

`aws.py` implements them over boto3; the tests give in-memory fakes (tests/support/fakes.py, the
receivers' store in local/memory.py), so the stages' logic runs in unit tests without a socket.
The stores only store: they read, and write if nothing changed since (`update` is the one loop
that uses that); what a record becomes is the stages' logic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    from .alerttext import AlertText
    from .domainhealth import DomainReport
    from .records import MuteRecord
    from .targetcheck import AddressResults, CheckResult
    from .targets import Target


class Targets(Protocol):
    """The watched targets and their findings (the targets table)."""

    def scan(self) -> Iterator[dict]: ...
    def get_many(self, ips: Iterable[str]) -> dict[str, dict]: ...
    def save_findings(self, ip: str, findings: dict, now: str, run: str = "", also: list | None = None) -> bool:
        """New findings, checked at NOW (RUN: the scheduled run's id), and the other targets that
        watch its addresses when known (ALSO: overlaps.handed); False: the target is gone."""
        ...

    def save_checked(self, ip: str, now: str, run: str = "") -> bool:
        """Checked at NOW (in RUN), findings unchanged: a write no alert comes of."""
        ...

    def mark_invalid(self, ip: str, problem: str, now: str) -> None: ...


class History(Protocol):
    """The history table, written: each run's results per target (`ip` the target's key), and each
    change of a health record under its id (`ip` e.g. `domain:example.com`), at `checked_at`; the
    table's TTL deletes an item after its EXPIRES_AT (seconds since the epoch)."""

    def record(self, items: list[dict], expires_at: int) -> None: ...


class HistoryReader(Protocol):
    """The history table, read back (`senderwatch history`, the report, the digest). Times are
    ISO 8601 as the items' `checked_at` are written (UTC, microseconds), so they compare as text."""

    def query(self, keys: Iterable[str], since: str, until: str) -> Iterator[dict]:
        """The items of each of KEYS checked from SINCE ("": from the first) to UNTIL, both included:
        a query per key, on the table's key and time."""
        ...

    def scan(self, since: str, until: str, whole: Sequence[str] = ()) -> Iterator[dict]:
        """Every item checked from SINCE to UNTIL, and every item up to UNTIL of the keys beginning
        with one of WHOLE (records written only when they change), in no order: the whole table."""
        ...


class Stored(NamedTuple):
    record: Any  # one of records' types; None: none yet
    version: int  # 0: none yet; every write adds one


NOTHING = Stored(None, 0)


class Health(Protocol):
    """The deployment's own health table: a versioned record per id - each list and address family
    (`zone:NAME:FAMILY`), the resolver (`resolver`), each domain (`domain:NAME`), each receiver
    (`receiver:NAME`) - written by many invocations at once, so only if unchanged."""

    def read(self, ids: Iterable[str]) -> dict[str, Stored]:
        """The records there are, by id (an id without one is left out)."""
        ...

    def save(self, item_id: str, record: Mapping[str, Any], version: int) -> bool:
        """Write RECORD if the record is still at VERSION; False when another writer came first."""
        ...


R = TypeVar("R", bound=Mapping[str, Any])


def update(store: Health, item_id: str, change: Callable[[Any], R | None], stored: Stored | None = None) -> R | None:
    """ITEM_ID's record after CHANGE (None from CHANGE: nothing to write), written if no other
    invocation wrote it in between, else read again and changed again (three times at most).
    STORED: what was read already. The record written, or None."""
    current = stored if stored is not None else store.read([item_id]).get(item_id, NOTHING)
    for _ in range(3):
        new = change(current.record)
        if new is None:
            return None
        if store.save(item_id, new, current.version):
            return new
        current = store.read([item_id]).get(item_id, NOTHING)  # someone else wrote: look again
    return None


class Receivers(Health, Protocol):
    """The receivers' records by the receiver's name (`receiver:NAME` in the health table), and
    which have a block."""

    def blocking(self) -> set[str]:
        """The receivers with a block not yet over (so that mail accepted by any other receiver
        costs no read)."""
        ...

    def mark(self, name: str, blocking: bool) -> None:
        """Note whether NAME has a block not yet over."""
        ...


class Mutes(Protocol):
    """The mutes (`mute:ID` in the health table), as `senderwatch mute` wrote them."""

    def mutes(self) -> list[MuteRecord]: ...


class Caller(Protocol):
    """Who is calling AWS (ServiceError when it cannot say)."""

    def arn(self) -> str: ...


class SentLog(Protocol):
    """Which alerts were published already."""

    def sent(self, keys: Iterable[str]) -> set[str]: ...
    def mark(self, keys: Iterable[str]) -> None: ...


class Publisher(Protocol):
    def publish(self, text: AlertText) -> str: ...


class Parking(Protocol):
    """Where an alert a channel would not take is kept (the Apprise function's dead-letter queue)."""

    def park(self, body: Mapping[str, Any]) -> None: ...


class ChannelNotes(Protocol):
    """What each Apprise channel did with the last test alert (by its number), for doctor to read."""

    def note_channel(self, number: int, record: Mapping[str, Any]) -> None: ...


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


class Invocation(Protocol):
    """What one checker invocation's messages share: a DNS session per message, the lists probed
    once, and the domains checked (each once)."""

    domains_checked: set[str]  # the domains this invocation has checked: each once

    def session(self) -> AbstractAsyncContextManager[CheckSession]: ...
