"""The health table's versioned stores (senderwatch/ports.py: `Health`, `Receivers`) in memory:
`make bench-bounces` times the bounces function's reading of a log delivery on them, without
DynamoDB, and the unit tests check the stages on them. The other ports' in-memory fakes serve the
tests alone (tests/support/fakes.py)."""

from __future__ import annotations

import copy

from senderwatch.findings import DOMAIN
from senderwatch.ports import Stored


class MemoryHealth:
    """A versioned store, as the health table is: RECORDS by id, each (record, version); WRITES and
    READS in order. Its domain records are also in DOMAINS, by domain."""

    def __init__(self):
        self.records: dict[str, tuple[dict, int]] = {}
        self.writes: list[tuple[str, dict]] = []
        self.reads: list[str] = []

    def read(self, ids):
        out = {}
        for item_id in ids:
            self.reads.append(item_id)
            if item_id in self.records:
                record, version = self.records[item_id]
                out[item_id] = Stored(copy.deepcopy(record), version)
        return out

    def save(self, item_id, record, version):
        if self.records.get(item_id, (None, 0))[1] != version:
            return False
        self.records[item_id] = (copy.deepcopy(record), version + 1)
        self.writes.append((item_id, copy.deepcopy(record)))
        return True

    @property
    def domains(self) -> dict[str, dict]:
        return {i.partition(":")[2]: r for i, (r, _) in self.records.items() if i.startswith(f"{DOMAIN}:")}


class MemoryReceivers(MemoryHealth):
    """The health table's receiver records by the receiver's name, and the index of those with a block."""

    def __init__(self):
        super().__init__()
        self.index: set[str] = set()
        self.index_reads = 0

    def blocking(self):
        self.index_reads += 1
        return set(self.index)

    def mark(self, name, blocking):
        (self.index.add if blocking else self.index.discard)(name)
