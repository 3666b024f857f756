"""The periods the history shows: from the history table's items as the checker and the mail log
watcher write them, what an operator reads as "listed for two days, over since Monday"."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from senderwatch.findings import next_health
from senderwatch.history import HEALTH_KEYS, KINDS, History, Period, build_history, read_history, stamp
from senderwatch.runs import Run

IP = "192.0.2.25"
ZONE = "dnsbl.justspam.org"
T0 = datetime(2026, 11, 1, 6, tzinfo=UTC)
SENDER = "postmaster@example.com"


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def result(listed: str | None = "clean", spf: str = "pass", ptr: bool = True, error: str = "") -> dict:
    verdict = {"zone": ZONE, "status": listed} if not error else {"zone": ZONE, "status": "error", "error": error}
    return {
        "ip": IP,
        "version": 4,
        "dnsbl": [verdict],
        "spf": {"sender": SENDER, "result": spf},
        "rdns": {"ptr": ["mail.example.com"] if ptr else []},
    }


def item(n: float, key: str = IP, *, run: str | None = None, scheduled: bool = True, **said) -> dict:
    """The history item of a run on day N (its run named after its day unless RUN says)."""
    return {
        "ip": key,
        "checked_at": stamp(day(n)),
        "result": json.dumps(result(**said)),
        "run": run if run is not None else f"run-{n}",
        "scheduled": scheduled,
    }


def health_item(key: str, n: float, record: dict) -> dict:
    return {"ip": key, "checked_at": stamp(day(n)), "health": record, "run": f"run-{n}", "scheduled": True}


def periods(items, since=T0 - timedelta(days=1), until=None) -> list[Period]:
    return build_history(items, since, until or day(30)).periods


def test_a_listing_lasts_from_the_first_run_that_saw_it_to_the_first_that_saw_it_gone():
    items = [item(0), item(1, listed="listed"), item(2, listed="listed"), item(3, listed="listed"), item(4)]

    (listing,) = periods(items)

    assert listing == Period(IP, IP, "listing", ZONE, "listed", "2026-11-02T06:00:00Z", "2026-11-05T06:00:00Z", 3)
    assert listing.to_dict() == {
        "target": IP,
        "ip": IP,
        "kind": "listing",
        "about": ZONE,
        "state": "listed",
        "from": "2026-11-02T06:00:00Z",
        "to": "2026-11-05T06:00:00Z",
        "runs": 3,
    }


def test_to_is_null_while_it_still_holds():
    (listing,) = periods([item(0), item(1, listed="listed"), item(2, listed="listed")])

    assert listing.end is None and listing.to_dict()["to"] is None and listing.runs == 2


@pytest.mark.parametrize("error", ["timeout", "servfail", "refused"])
def test_an_error_neither_starts_nor_ends_a_period(error):
    clean_through = [item(0), item(1, error=error), item(2)]
    listed_through = [item(0, listed="listed"), item(1, error=error), item(2, listed="listed"), item(3)]

    assert periods(clean_through) == []
    (listing,) = periods(listed_through)
    assert (listing.start, listing.end) == ("2026-11-01T06:00:00Z", "2026-11-04T06:00:00Z")  # one period, not two
    assert listing.runs == 2  # the runs that saw it listed: not the one that could not ask


def test_an_error_ending_the_history_leaves_the_period_open():
    (listing,) = periods([item(0, listed="listed"), item(1, error="timeout")])

    assert listing.end is None


def test_runs_are_counted_once_per_scheduled_run():
    items = [
        item(0, listed="listed", scheduled=False, run="first-check"),  # a new target's first check
        item(1, listed="listed", run="run-1"),
        item(1.01, listed="listed", run="run-1"),  # the same run's message delivered again
        item(2, listed="listed", run="run-2"),
    ]

    found = build_history(items, T0 - timedelta(days=1), day(30))

    (listing,) = found.periods
    assert listing.start == "2026-11-01T06:00:00Z"  # the first check still says when it began
    assert listing.runs == 2 and found.runs == 2


def test_the_runs_at_the_top_are_those_in_the_time_shown():
    items = [item(n) for n in range(10)]

    assert build_history(items, day(3), day(6)).runs == 4  # days 3, 4, 5 and 6


def test_spf_helo_and_reverse_dns_have_periods_of_their_own():
    items = [item(0), item(1, spf="softfail"), item(2, spf="fail"), item(3, ptr=False), item(4)]

    found = {(p.kind, p.state, p.start[:10], (p.end or "")[:10]) for p in periods(items)}

    assert found == {
        ("spf", "softfail", "2026-11-02", "2026-11-03"),  # softfail, then fail: another state, another period
        ("spf", "fail", "2026-11-03", "2026-11-04"),
        ("rdns", "no-ptr", "2026-11-04", "2026-11-05"),
    }
    assert {p.about for p in periods(items) if p.kind == "spf"} == {SENDER}


def test_each_sender_of_a_target_has_spf_periods_of_its_own():
    """A relay for two domains: each sender's SPF lasts on its own, `about` naming the sender; a
    sender the target no longer has ends its period."""
    other = "postmaster@example.org"

    def run(n, mine, theirs=None):
        found = item(n)
        spf = [{"sender": SENDER, "result": mine}] + ([{"sender": other, "result": theirs}] if theirs else [])
        found["result"] = json.dumps(dict(result(), spf=spf if theirs else spf[0]))
        return found

    items = [
        run(0, "pass", "softfail"),
        run(1, "fail", "softfail"),
        run(2, "fail", "pass"),
        run(3, "fail", "softfail"),
        run(4, "fail"),  # the target sends as example.com alone again
    ]

    found = {(p.about, p.state, p.start[:10], (p.end or "")[:10]) for p in periods(items) if p.kind == "spf"}

    assert found == {
        (other, "softfail", "2026-11-01", "2026-11-03"),
        (other, "softfail", "2026-11-04", "2026-11-05"),
        (SENDER, "fail", "2026-11-02", ""),  # still failing
    }


def test_a_list_failing_for_the_address_three_runs_in_a_row_is_a_check_failing_period():
    items = [item(0), item(1, error="timeout"), item(2, error="timeout"), item(3, error="timeout"), item(4)]
    twice = [item(0), item(1, error="timeout"), item(2, error="timeout"), item(3)]

    (failing,) = periods(items)

    assert (failing.kind, failing.state, failing.runs) == ("check-failing", "timeout", 3)
    assert (failing.start[:10], failing.end[:10]) == ("2026-11-02", "2026-11-05")
    assert periods(twice) == []  # two are not enough, as for CHECK_FAILING


def test_a_list_the_deployment_cannot_use_is_the_deployments_period_not_the_addresss():
    failing = {"zone": ZONE, "status": "error", "error": "blocked", "zone_failed": True}
    items = [item(0)]
    for n in (1, 2, 3):
        broken = dict(item(n), result=json.dumps(dict(result(), dnsbl=[failing])))
        items.append(broken)
    record, key = None, f"zone:{ZONE}:4"
    for n in (1, 2, 3, 4):
        record = next_health(record, None if n == 4 else {"error": "blocked"}, Run(f"run-{n}", True), stamp(day(n)))
        items.append(health_item(key, n, record))

    found = periods(items)

    assert [(p.target, p.ip, p.kind, p.about, p.state, p.runs) for p in found] == [
        (key, None, "list-unusable", ZONE, "blocked", 3)
    ]
    assert (found[0].start[:10], found[0].end[:10]) == ("2026-11-02", "2026-11-05")


def test_a_domains_record_problem_is_a_period_per_problem():
    broken = {
        "spf_record": {"problems": [{"code": "too-many-lookups"}], "since": stamp(day(1))},
        "dmarc": {"problems": [{"code": "no-record"}], "since": stamp(day(1))},
    }
    fixed = {
        "spf_record": {"problems": [], "since": stamp(day(3))},
        "dmarc": {"problems": [{"code": "no-record"}], "since": stamp(day(1))},
    }
    items = [
        health_item("domain:example.com", 1, broken),
        health_item("domain:example.com", 3, fixed),
        *(item(n) for n in range(6)),  # the runs the domain's record was judged in
    ]

    found = {(p.kind, p.about, p.state, p.end is None, p.runs) for p in periods(items) if p.ip is None}

    assert found == {
        ("spf-record", "example.com", "too-many-lookups", False, 2),  # days 1 and 2
        ("dmarc", "example.com", "no-record", True, 5),  # days 1 to 5, still
    }


def test_a_receivers_block_lasts_from_its_first_rejection_to_the_acceptance_that_ended_it():
    block = {"sending_ip": IP, "code": "5.7.606", "status": "blocked", "since": stamp(day(1))}
    over = dict(block, status="accepted", accepted_since=stamp(day(2.5)))
    items = [health_item("receiver:microsoft", 1, {"blocks": {"k": block}})]
    items.append(health_item("receiver:microsoft", 2.5, {"blocks": {"k": over}}))

    (blocked,) = periods(items)

    assert (blocked.kind, blocked.about, blocked.ip, blocked.state) == ("receiver", "microsoft", IP, "5.7.606")
    assert (blocked.start, blocked.end) == ("2026-11-02T06:00:00Z", "2026-11-03T18:00:00Z")


class MemoryHistory:
    """The history table's reads, as DynamoDB answers them (keys and times compared as text)."""

    def __init__(self, items):
        self.items = list(items)
        self.scans, self.queried = 0, []

    def query(self, keys, since, until):
        keys = list(keys)
        self.queried.append(keys)
        return (i for i in self.items if i["ip"] in keys and since <= i["checked_at"] <= until)

    def scan(self, since, until, whole=()):
        self.scans += 1
        for i in self.items:
            if since <= i["checked_at"] <= until or (i["ip"].startswith(tuple(whole)) and i["checked_at"] <= until):
                yield i


def test_a_period_that_began_before_the_time_asked_is_followed_back_to_its_start():
    items = [item(n, listed="listed" if 2 <= n <= 12 else "clean") for n in range(20)]
    store = MemoryHistory(items)

    one = read_history(store, [IP], day(10), day(19))
    fleet = read_history(store, None, day(10), day(19))

    for found in (one, fleet):
        (listing,) = found.periods
        assert (listing.start[:10], listing.end[:10]) == ("2026-11-03", "2026-11-14")
        assert listing.runs == 11  # every run that saw it, those before the time asked included
        assert found.runs == 10  # the runs in the time asked: days 10 to 19
    assert isinstance(one, History) and one.to_dict()["from"] == "2026-11-11T06:00:00Z"


def test_one_target_is_read_by_key_and_the_whole_fleet_by_one_scan():
    items = [item(n, listed="listed" if n > 5 else "clean") for n in range(10)]
    items += [item(n, "192.0.2.99") for n in range(10)]
    store = MemoryHistory(items)

    one = read_history(store, [IP], day(3), day(9))

    assert store.scans == 0 and [IP] in store.queried
    assert {p.target for p in one.periods} == {IP}
    read_history(store, None, day(3), day(9))
    assert store.scans == 1


def test_a_period_over_before_the_time_asked_is_not_shown():
    items = [item(0), item(1, listed="listed"), item(2)] + [item(n) for n in range(3, 20)]

    assert read_history(MemoryHistory(items), None, day(10), day(19)).periods == []


def test_the_health_tables_records_find_a_problem_older_than_the_history_keeps():
    record = {"status": "failing", "error": "timeout", "since": stamp(day(-40)), "runs": 40, "run": "run-x"}
    health = [{"id": f"zone:{ZONE}:4", "health": record, "changed_at": stamp(day(-1))}]

    found = read_history(MemoryHistory([item(n) for n in range(3)]), None, day(0), day(2), health=health)

    (unusable,) = found.periods
    assert (unusable.kind, unusable.start[:10], unusable.end) == ("list-unusable", "2026-09-22", None)


def test_the_kinds_and_health_keys_are_the_contracts():
    assert KINDS == (
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
    assert HEALTH_KEYS == ("zone:", "domain:", "receiver:", "resolver")


def test_with_the_health_table_only_the_health_records_it_holds_are_queried():
    record = {"status": "failing", "error": "timeout", "since": stamp(day(1)), "runs": 1, "run": "run-1"}
    health = [{"id": f"zone:{ZONE}:4", "health": record, "changed_at": stamp(day(1))}]
    store = MemoryHistory([item(n) for n in range(3)] + [health_item(f"zone:{ZONE}:4", 1, record)])

    read_history(store, [IP], day(0), day(2), health=health)
    with_health = store.queried[1]
    read_history(store, [IP], day(0), day(2))

    assert with_health == [f"zone:{ZONE}:4"]  # not the resolver, nor example.com: the table holds neither
    assert set(store.queried[-1]) >= {f"zone:{ZONE}:4", "resolver", "domain:example.com"}
