"""The receivers' store (senderwatch/ports.py, `Receivers`) in memory: `make bench-bounces` times the
bounces function's reading of a log delivery on it, without DynamoDB, and the unit tests watch logs
on it. The other ports' in-memory fakes serve the tests alone (tests/support/fakes.py)."""

from __future__ import annotations

import copy


class MemoryReceivers:
    """The health table's receiver records, with versions as the real store keeps them."""

    def __init__(self):
        self.records: dict[str, tuple[dict, int]] = {}
        self.writes: list[tuple[str, dict]] = []
        self.reads: list[str] = []
        self.index: set[str] = set()
        self.index_reads = 0

    def read(self, name):
        self.reads.append(name)
        record, version = self.records.get(name, (None, 0))
        return copy.deepcopy(record), version

    def save(self, name, record, version):
        if self.records.get(name, (None, 0))[1] != version:
            return False
        self.records[name] = (copy.deepcopy(record), version + 1)
        self.writes.append((name, copy.deepcopy(record)))
        return True

    def blocking(self):
        self.index_reads += 1
        return set(self.index)

    def mark(self, name, blocking):
        (self.index.add if blocking else self.index.discard)(name)
