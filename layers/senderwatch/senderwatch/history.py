"""What the history says: the periods each problem lasted, per target, from the history table's items
(each run's results per target, and each change of the deployment's health records), for
`senderwatch history`, the HTML report and the weekly digest.

A period is one problem of one thing, from the first check that saw it to the first that saw it gone
(`end` None while it still holds):
- per address of a target: a listing (per list), SPF other than pass (per sender), HELO SPF other than
  pass or none, reverse DNS without a PTR record (`rdns`, `no-ptr`), and a list that could not answer
  about the address for FAILING_RUNS scheduled runs in a row (`check-failing`, as CHECK_FAILING counts
  them, from its first error);
- from the health records: a domain's SPF-record and DMARC problems (a period per problem code, as the
  alerts judge them) and its listings, a receiver's block (in the mail log's times), and a list the
  deployment could not use for FAILING_RUNS scheduled runs in a row (`list-unusable`; its resolver
  failing, which leaves every list unusable, at once: target and about `resolver`).

An error (a timeout, SERVFAIL, a list refusing this deployment) neither starts nor ends a period: the
state before it stands, as it does for the alerts. What a check no longer covers ends one: a list no
longer among an address's verdicts (a host's history leaves out the lists that said clean), a sender
no longer checked, an address the host no longer resolves to.

`runs` counts the scheduled runs that saw it: a run delivered twice is one run; a target's first check
and a check by hand are not scheduled runs. Items written before runs were recorded in them say
nothing of their run: they start and end periods, but are not counted. A domain's record is written
only when it changes, so its periods count the scheduled runs read from when it began to when it
ended; a list's record counts its own runs; a receiver's block, read from the mail log, none.

A period that began before the time asked about is followed back through the history for its start
(an address target's items, every run) or read whole (the health records, written on change); with
the health table's items, a health problem older than the history table keeps is still found.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .addresses import sort_key
from .findings import DOMAIN, FAILING_RUNS, HELO_FINE, MAIL_FINE, RECEIVER, RESOLVER, SPF_ALERTED, ZONE, spf_entries
from .identities import watched_domains
from .ports import HistoryReader
from .records import count
from .verdicts import Verdict

KINDS = (
    "listing",
    "spf",
    "helo-spf",
    "rdns",
    "check-failing",
    "spf-record",
    "dmarc",
    "domain-listing",
    "receiver",
    "list-unusable",
)
LISTING, SPF, HELO_SPF, RDNS, CHECK_FAILING, SPF_RECORD, DMARC, DOMAIN_LISTING, RECEIVER_BLOCK, LIST_UNUSABLE = KINDS
HEALTH_KEYS = (f"{ZONE}:", f"{DOMAIN}:", f"{RECEIVER}:", RESOLVER)  # the history's keys of the health records
_IGNORED = {SPF_RECORD: (SPF_ALERTED,), DMARC: ("policy-none",)}  # not a broken record (decide_domain's view)
_HEALTH_ORDER = {DOMAIN: 1, ZONE: 2, RESOLVER: 2, RECEIVER: 3}  # after the watched targets


@dataclass(frozen=True)
class Period:
    """One problem of one thing, from START to END (ISO 8601, UTC; END None while it still holds)."""

    target: str  # the history's key: the watched target, or a health record's id (domain:NAME, ...)
    ip: str | None  # the address, for a target's period and a receiver's block (when the log names it)
    kind: str  # one of KINDS
    about: str  # the list, the sender, the HELO name, the domain or the receiver
    state: str  # the result that is not good: listed, softfail, no-ptr, timeout, too-many-lookups, 5.7.606...
    start: str
    end: str | None
    runs: int  # the scheduled runs that saw it

    @property
    def problem(self) -> bool:
        """Whether it is something wrong, as `check`, `status` and the alerts judge: an address
        without a PTR record is kept and drawn, but is not (many senders' networks have none)."""
        return self.kind != RDNS

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "ip": self.ip,
            "kind": self.kind,
            "about": self.about,
            "state": self.state,
            "from": self.start,
            "to": self.end,
            "runs": self.runs,
        }


@dataclass
class History:
    """The periods that overlap START..END (ISO 8601, UTC), and the scheduled runs in that time."""

    periods: list[Period]
    start: str
    end: str
    runs: int
    unheard: list[str] = field(default_factory=list)  # targets asked about that no item names in that time

    def to_dict(self) -> dict:
        return {"history": [p.to_dict() for p in self.periods], "from": self.start, "to": self.end, "runs": self.runs}


def is_health_key(key: str) -> bool:
    return key == RESOLVER or key.startswith(HEALTH_KEYS[:3])


def stamp(when: datetime) -> str:
    """A time as the items' `checked_at` are written (UTC, microseconds): they compare as text."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def shown_time(when: datetime) -> str:
    """A time as the history's JSON gives it: 2026-11-28T09:21:00Z."""
    return f"{when.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


# -- reading --------------------------------------------------------------------------------------


def read_history(
    store: HistoryReader,
    targets: Sequence[str] | None,
    since: datetime,
    until: datetime | None = None,
    *,
    health: Iterable[Mapping] = (),
) -> History:
    """The periods of TARGETS (keys as `parse_target` writes them; None: every target and the whole
    deployment) that overlap SINCE..UNTIL (default: now).

    Every target: one scan of the table (the window, and the health records' whole history). Some
    targets: a query per target, and one per health record that concerns them - the lists and the
    resolver, their domains (sender, HELO name, PTR names), the receivers' blocks of their
    addresses. HEALTH: the health table's items (HealthStore.items()), the deployment's health as it
    is now, for a problem that began before the history table's oldest item; with them, only the
    health records the table holds are queried (a list that never failed has none).
    """
    from .targets import parse_target  # (the stages that write history need none of it)

    until = until or datetime.now(UTC)
    low, high = stamp(since), stamp(until)
    health = list(health)
    current = [item for item in map(_current_item, health) if item is not None and item["checked_at"] <= high]
    if targets is None:
        items = list(store.scan(low, high, HEALTH_KEYS))
        return _followed_back(store, items + current, since, until)
    named = {t: parse_target(t).key for t in targets}
    keys = list(dict.fromkeys(named.values()))
    items = list(store.query(keys, low, high))
    heard = {str(item.get("ip")) for item in items}
    ids = _health_ids(items) | {
        i["ip"] for i in current if is_health_key(i["ip"]) and not str(i["ip"]).startswith(f"{DOMAIN}:")
    }
    if health:  # a health record is never deleted: one the table does not hold has no history either
        ids &= {str(item.get("id")) for item in health}
    items += [*store.query(sorted(ids), "", high), *(i for i in current if i["ip"] in ids)]
    found = _followed_back(store, items, since, until)
    addresses = {p.ip for p in found.periods if not is_health_key(p.target)} | _addresses(items)
    found.periods = [p for p in found.periods if p.kind != RECEIVER_BLOCK or p.ip in addresses]
    found.unheard = [target for target, key in named.items() if key not in heard]
    return found


def _followed_back(store: HistoryReader, items: Sequence[Mapping], since: datetime, until: datetime) -> History:
    """The history of ITEMS, each target's period that was already there at its first item in the
    window followed back through the items before it."""
    by_key = _by_key(items)
    known = {key: _Key(key).periods(theirs) for key, theirs in by_key.items() if not is_health_key(key)}
    earlier = [key for key, periods in known.items() if _began_at_first(by_key[key], periods)]
    if earlier:
        before = stamp(since - timedelta(microseconds=1))
        for item in store.query(earlier, "", before):
            by_key[str(item["ip"])].append(item)
        for key in earlier:
            del known[key]  # its periods are read again, with the items before
    return build_history(by_key, since, until, known)


def _began_at_first(items: list[Mapping], periods: list[Period]) -> bool:
    first = min(_when(i.get("checked_at")) or datetime.max.replace(tzinfo=UTC) for i in items)
    return any(_when(p.start) == first.replace(microsecond=0) for p in periods)


# -- what the items say -----------------------------------------------------------------------------


def build_history(
    items: Mapping[str, list[Mapping]] | Iterable[Mapping],
    since: datetime,
    until: datetime,
    known: Mapping[str, list[Period]] | None = None,
) -> History:
    """The periods that ITEMS (history items of any keys, in any order; or by key) show overlapping
    SINCE..UNTIL, and the scheduled runs in that time. KNOWN: a target's periods already read from
    the same items (a target's, unlike a domain's, do not depend on the runs of the others)."""
    known = known or {}
    by_key = items if isinstance(items, Mapping) else _by_key(items)
    runs: set[str] = set()
    in_window: set[str] = set()
    for theirs in by_key.values():
        for item in theirs:
            run = _run(item)
            if run:
                runs.add(run)
                when = _when(item.get("checked_at"))
                if when is not None and since <= when <= until:
                    in_window.add(run)
    low, high = shown_time(since), shown_time(until)  # as the periods' times are written, they compare as text
    scheduled = sorted(runs)
    periods = [
        period
        for key, theirs in by_key.items()
        for period in (known[key] if key in known else _Key(key).periods(theirs, scheduled))
        if period.start <= high and (period.end is None or period.end > low)
    ]
    return History(sorted(periods, key=_order), low, high, len(in_window))


def _order(period: Period) -> tuple:
    group = _HEALTH_ORDER.get(period.target.partition(":")[0], 0) if is_health_key(period.target) else 0
    return (
        group,
        sort_key(period.target),
        sort_key(period.ip or ""),
        KINDS.index(period.kind),
        period.about,
        period.start,
    )


def _by_key(items: Iterable[Mapping]) -> dict[str, list[Mapping]]:
    by_key: dict[str, list[Mapping]] = {}
    for item in items:
        by_key.setdefault(str(item.get("ip", "")), []).append(item)
    return by_key


def _when(value: object) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _run(item: Mapping) -> str:
    """The scheduled run an item belongs to ("" for any other check, and for an item that does not say)."""
    return str(item.get("run") or "") if item.get("scheduled") is True else ""


def _results(item: Mapping) -> list[dict] | None:
    """A target's results in one item: one per address (None when the item cannot be read)."""
    try:
        record = json.loads(str(item.get("result")))
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    results = record.get("results") if "results" in record else [record]
    if not isinstance(results, list):
        return None
    return [r for r in results if isinstance(r, dict) and r.get("ip")]


def _health_ids(items: Iterable[Mapping]) -> set[str]:
    """The health records that concern the targets of ITEMS: the lists their addresses were asked
    on (per family), the resolver, and the domains their checks look at."""
    ids = {RESOLVER}
    for item in items:
        for result in _results(item) or []:
            ids.update(f"{ZONE}:{v.get('zone')}:{result.get('version')}" for v in _list(result.get("dnsbl")))
            spf, helo = spf_entries(result.get("spf")), _mapping(result.get("helo_spf"))
            if not (spf or helo):
                continue  # a target without a sender or a HELO name has no domain checked
            ptrs = [str(n) for n in _list(_mapping(result.get("rdns")).get("ptr"))]
            helo_name = str(helo.get("sender", "")).rpartition("@")[2] or None
            senders = [str(e["sender"]) for e in spf if e.get("sender")]
            ids.update(f"{DOMAIN}:{name}" for name in watched_domains(senders, helo_name, ptrs))
    return ids


def _addresses(items: Iterable[Mapping]) -> set[str | None]:
    return {str(r["ip"]) for item in items for r in _results(item) or []}


def _current_item(item: Mapping) -> dict | None:
    """A health table item (its record as it is now) as the history's latest item of its id."""
    record = item.get("health")
    if not isinstance(record, dict) or not item.get("id") or not item.get("changed_at"):
        return None  # the receivers' index, or an item written by hand
    return {
        "ip": str(item["id"]),
        "checked_at": stamp(_when(item["changed_at"]) or datetime.now(UTC)),
        "health": record,
    }


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


# -- one key's periods ------------------------------------------------------------------------------


@dataclass
class _Open:
    """A period going on: its state, since when, and the runs that saw it."""

    state: str
    start: datetime
    runs: set[str] = field(default_factory=set)
    counted: int = 0  # the runs as its record counts them (a list's health)
    first_run: str = ""  # the run that began it (a domain's: its record is written only on change)


Slot = tuple[str | None, str, str, str]  # (ip, kind, about, what tells it apart: a code, a block)


class _Key:
    """The periods of one key (a target, or a health record's id), from its items in time order."""

    def __init__(self, key: str):
        self.key = key
        self.open: dict[Slot, _Open] = {}
        self.closed: list[tuple[Slot, _Open, datetime, str]] = []  # and when it ended, in which run
        self.failing: dict[tuple[str, str], _Open] = {}  # (ip, list): errors of the address in a row
        self.over: set[tuple[Slot, datetime]] = set()  # receivers' blocks seen ended (a record says it again)

    def periods(self, items: Iterable[Mapping], runs: Sequence[str] = ()) -> list[Period]:
        """The periods of ITEMS; RUNS: the scheduled runs known (a domain's periods count them)."""
        timed = sorted(
            ((when, item) for item in items if (when := _when(item.get("checked_at"))) is not None),
            key=lambda pair: pair[0],
        )
        read: Callable[[datetime, Mapping], None]
        if self.key == RESOLVER or self.key.startswith(f"{ZONE}:"):
            read = self._list
        elif self.key.startswith(f"{DOMAIN}:"):
            read = self._domain
        elif self.key.startswith(f"{RECEIVER}:"):
            read = self._receiver
        else:
            read = self._target
        for when, item in timed:
            read(when, item)
        for (ip, zone), streak in self.failing.items():
            if len(streak.runs) >= FAILING_RUNS:
                self.open[(ip, CHECK_FAILING, zone, "")] = streak
        out = [self._period(slot, o, end, run, runs) for slot, o, end, run in self.closed]
        return out + [self._period(slot, o, None, "", runs) for slot, o in self.open.items()]

    def _period(self, slot: Slot, o: _Open, end: datetime | None, end_run: str, runs: Sequence[str]) -> Period:
        ip, kind, about, _ = slot
        if kind == LIST_UNUSABLE:
            seen = o.counted
        elif kind in (SPF_RECORD, DMARC, DOMAIN_LISTING):
            seen = sum(1 for r in runs if r >= o.first_run and (not end_run or r < end_run)) if o.first_run else 0
        else:
            seen = len(o.runs)
        return Period(self.key, ip, kind, about, o.state, shown_time(o.start), shown_time(end) if end else None, seen)

    # -- the states, as the items say them

    def see(self, slot: Slot, state: str | None, when: datetime, run: str = "") -> _Open | None:
        """SLOT is in STATE at WHEN (None: it is fine): a period begins, goes on, or ends."""
        going = self.open.get(slot)
        if going is not None and going.state != state:
            self.end(slot, when, run)
            going = None
        if state is None:
            return None
        if going is None:
            going = self.open[slot] = _Open(state, when, first_run=run)
        if run:
            going.runs.add(run)
        return going

    def end(self, slot: Slot, when: datetime, run: str = "") -> None:
        going = self.open.pop(slot, None)
        if going is not None:
            self.closed.append((slot, going, max(when, going.start), run))

    def end_all(self, slots: Iterable[Slot], when: datetime, run: str = "") -> None:
        for slot in list(slots):
            self.end(slot, when, run)

    # -- a watched target: each run's results per address

    def _target(self, when: datetime, item: Mapping) -> None:
        results = _results(item)
        if results is None:
            return  # an item that cannot be read says nothing
        run = _run(item)
        addresses = {str(r["ip"]) for r in results}
        for result in results:
            self._address(str(result["ip"]), result, when, run)
        self.end_all([s for s in self.open if s[0] not in addresses], when)  # an address the host no longer has
        for ip, zone in [k for k in self.failing if k[0] not in addresses]:
            self._verdict(ip, zone, when)

    def _address(self, ip: str, result: dict, when: datetime, run: str) -> None:
        asked: set[str] = set()
        for verdict in map(_mapping, _list(result.get("dnsbl"))):
            zone, status = str(verdict.get("zone", "")), verdict.get("status")
            asked.add(zone)
            if status in (Verdict.LISTED, Verdict.CLEAN):
                self.see((ip, LISTING, zone, ""), "listed" if status == Verdict.LISTED else None, when, run)
                self._verdict(ip, zone, when)
            elif status == Verdict.ERROR and not verdict.get("zone_failed"):
                streak = self.failing.get((ip, zone))
                if streak is None:
                    streak = self.failing[(ip, zone)] = _Open(str(verdict.get("error") or "error"), when)
                if run:
                    streak.runs.add(run)
        # A list not among the verdicts: clean (a host's history leaves those out), or no longer asked.
        self.end_all([s for s in self.open if s[0] == ip and s[1] == LISTING and s[2] not in asked], when)
        for zone in [z for i, z in self.failing if i == ip and z not in asked]:
            self._verdict(ip, zone, when)
        for key, kind, fine in (("spf", SPF, MAIL_FINE), ("helo_spf", HELO_SPF, HELO_FINE)):
            entries = spf_entries(result.get(key))  # one per sender; `about` names the sender
            abouts = {}
            for spf in entries:
                sender = str(spf.get("sender", ""))
                abouts[sender.rpartition("@")[2] if kind == HELO_SPF else sender] = spf
            self.end_all([s for s in self.open if s[0] == ip and s[1] == kind and s[2] not in abouts], when)
            for about, spf in abouts.items():
                if spf.get("result") != "temperror":  # temperror: DNS failed, the result stands
                    said = str(spf.get("result"))
                    self.see((ip, kind, about, ""), None if said in fine else said, when, run)
        rdns = _mapping(result.get("rdns"))
        if rdns and not rdns.get("error"):  # not checked, or failed: the last state stands
            self.see((ip, RDNS, "", ""), None if _list(rdns.get("ptr")) else "no-ptr", when, run)

    def _verdict(self, ip: str, zone: str, when: datetime) -> None:
        """The list gave a verdict on the address again (or no longer asked): its errors in a row end."""
        streak = self.failing.pop((ip, zone), None)
        if streak is not None and len(streak.runs) >= FAILING_RUNS:
            self.closed.append(((ip, CHECK_FAILING, zone, ""), streak, when, ""))

    # -- the health records: written when they change

    def _list(self, when: datetime, item: Mapping) -> None:
        """A list's health for one family (zone:NAME:FAMILY), or the resolver's: unusable for the
        deployment once it failed FAILING_RUNS scheduled runs in a row (the resolver: at once)."""
        record = _mapping(item.get("health"))
        zone = self.key.split(":")[1] if self.key.startswith(f"{ZONE}:") else RESOLVER
        slot: Slot = (None, LIST_UNUSABLE, zone, "")
        since = _when(record.get("since")) or when
        going = self.open.get(slot)
        if record.get("status") == "failing":
            if going is not None and going.start != since:
                self.end(slot, since)  # it worked in between (the record that said so is gone)
                going = None
            if count(record.get("runs")) >= (1 if zone == RESOLVER else FAILING_RUNS):
                going = going or self.see(slot, str(record.get("error") or "failing"), since)
                if going is not None:
                    going.counted = max(going.counted, count(record.get("runs")))
        elif record.get("status") == "ok":
            self.end(slot, since)

    def _domain(self, when: datetime, item: Mapping) -> None:
        """A domain's SPF and DMARC records (a period per problem) and its listings (domain:NAME)."""
        record = _mapping(item.get("health"))
        name = self.key.partition(":")[2]
        run = str(item.get("run") or record.get("run") or "")
        for key, kind in (("spf_record", SPF_RECORD), ("dmarc", DMARC)):
            part = _mapping(record.get(key))
            if not part or part.get("error"):
                continue  # not looked at, or not looked up this time: the last judgement stands
            at = _when(part.get("since")) or when
            codes = {str(_mapping(p).get("code")) for p in _list(part.get("problems"))} - set(_IGNORED[kind])
            self.end_all([s for s in self.open if s[1] == kind and s[3] not in codes], at, run)
            for code in sorted(codes):
                self.see((None, kind, name, code), code, at, run)
        for zone, entry in _mapping(record.get("dnsbl")).items():
            entry = _mapping(entry)
            at = _when(entry.get("since")) or when
            if entry.get("status") in (Verdict.LISTED, Verdict.CLEAN):
                listed = "listed" if entry["status"] == Verdict.LISTED else None
                self.see((None, DOMAIN_LISTING, str(zone), ""), listed, at, run)

    def _receiver(self, when: datetime, item: Mapping) -> None:
        """A receiver's blocks (receiver:NAME), as the mail log dated them: each from its first
        rejection to the acceptance that ended it."""
        name = self.key.partition(":")[2]
        for key, block in _mapping(_mapping(item.get("health")).get("blocks")).items():
            block = _mapping(block)
            since = _when(block.get("since"))
            if since is None:
                continue
            slot: Slot = (str(block.get("sending_ip") or "") or None, RECEIVER_BLOCK, name, str(key))
            going = self.open.get(slot)
            if going is not None and going.start != since:
                self.end(slot, since)  # another block of the same address and code since
            if (slot, since) in self.over:
                continue
            if slot not in self.open:
                self.see(slot, str(block.get("code") or "blocked"), since)
            if block.get("status") == "accepted":
                self.end(slot, _when(block.get("accepted_since")) or when)
                self.over.add((slot, since))
