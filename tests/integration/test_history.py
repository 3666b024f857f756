"""`senderwatch history` against the stack on moto: the checker's runs write the history, the
command reads back how long each problem lasted."""

import json
from ipaddress import ip_address

import boto3
import pytest

from local.world import DOMAIN, IPV4, story_world
from senderwatch import aws
from senderwatch.addresses import reverse_name

JUSTSPAM = "dnsbl.justspam.org"


@pytest.fixture
def tables(local):
    return [
        "--table",
        local.table_name,
        "--history-table",
        local.history_table_name,
        "--health-table",
        local.health_table_name,
    ]


@pytest.fixture
def listed_then_delisted(local):
    """A target's first check and four scheduled runs: listed, listed, the list timing out for the
    address, and delisted."""
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    local.settle()  # its first check: not a scheduled run
    local.run()
    local.run()
    local.dns_server.load({**story_world(), f"{reverse_name(ip_address(IPV4))}.{JUSTSPAM}": ["TIMEOUT"]})
    local.run()
    local.dns_server.load(story_world(listed=False))
    local.run()
    return local


def listings(document: dict) -> list[dict]:
    return [p for p in document["history"] if p["kind"] == "listing"]


def test_a_listing_lasts_from_the_check_that_saw_it_to_the_one_that_saw_it_gone(listed_then_delisted, tables, cli):
    status, out, err = cli("history", *tables, "--format", "json")

    assert (status, err) == (0, "")
    document = json.loads(out)
    assert set(document) == {"history", "from", "to", "runs"}
    assert document["runs"] == 4  # the scheduled runs; the first check is not one
    (listing,) = listings(document)
    assert {k: listing[k] for k in ("target", "ip", "kind", "about", "state")} == {
        "target": IPV4,
        "ip": IPV4,
        "kind": "listing",
        "about": JUSTSPAM,
        "state": "listed",
    }
    assert listing["from"] < listing["to"] <= document["to"]  # over: the timeout did not end it, the delisting did
    assert listing["runs"] == 2  # the two runs that saw it listed: not the first check, not the timeout
    assert [p for p in document["history"] if p["kind"] == "check-failing"] == []  # one timeout is no failing list


def test_one_target_is_read_by_key_with_the_same_periods(listed_then_delisted, tables, cli, monkeypatch):
    _, whole, _ = cli("history", *tables, "--format", "json")

    def no_scan(*_, **__):
        raise AssertionError("one target's history is read by key, never by a scan of the table")

    monkeypatch.setattr(aws.History, "scan", no_scan)
    status, out, _ = cli("history", IPV4, *tables, "--format", "json")

    assert status == 0
    assert listings(json.loads(out)) == listings(json.loads(whole))
    status, nothing, err = cli("history", "192.0.2.99", IPV4, *tables, "--format", "json")
    assert listings(json.loads(nothing)) == listings(json.loads(whole))  # the one it has is shown
    assert status == 2 and "no history of '192.0.2.99'" in err and "is it watched?" in err  # the other named


def test_the_table_says_how_long_each_problem_lasted(listed_then_delisted, tables, cli):
    status, out, _ = cli("history", *tables, "--days", "7")

    assert status == 0
    line = next(row for row in out.splitlines() if JUSTSPAM in row and "listing" in row)
    assert IPV4 in line and "listed" in line and "less than a minute" in line
    assert out.splitlines()[-1].endswith("UTC: 4 scheduled runs, 1 problem.")


def test_the_delisting_alert_says_how_long_it_was_listed(listed_then_delisted):
    delisted = [a for a in listed_then_delisted.inbox("email") if a["event"] == "DELISTED"]

    assert delisted and "listed for less than a minute, since" in delisted[-1]["email"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--days", "0"], "--days: expected a whole number of days"),
        (["--days", "ten"], "--days: expected a whole number of days"),
        (["--since", "last week"], "--since: expected a date such as 2026-11-01"),
        (["--since", "2999-01-01"], "is in the future"),
        (["--days", "3", "--since", "2026-11-01"], "not allowed with argument"),
        (["not an address!"], "not an address"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(local, tables, cli, argv, says):
    status, out, err = cli("history", *argv, *tables)

    assert (status, out) == (2, "")
    assert says in err and err.count("\n") == 1


def test_with_the_targets_table_alone_it_asks_for_the_history_table(local, cli, monkeypatch):
    monkeypatch.delenv("SENDERWATCH_HISTORY_TABLE", raising=False)
    status, _, err = cli("history", "--table", local.table_name)

    assert status == 2 and "--history-table" in err


def test_the_stack_names_the_history_table(local, cli):
    stack = local.register_stack()
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    local.settle()

    status, out, _ = cli("history", "--stack", stack, "--format", "json")

    assert status == 0 and listings(json.loads(out))[0]["to"] is None  # listed since its first check


def test_each_run_is_kept_with_its_run_and_the_healths_changes_beside_it(listed_then_delisted):
    table = boto3.resource("dynamodb").Table(listed_then_delisted.history_table_name)
    items = table.scan()["Items"]

    target = sorted((i for i in items if i["ip"] == IPV4), key=lambda i: i["checked_at"])
    assert [i["scheduled"] for i in target] == [False, True, True, True, True]  # its first check, then the runs
    assert len({i["run"] for i in target}) == 5
    domain = [i for i in items if i["ip"] == f"domain:{DOMAIN}"]
    assert domain and all(i["health"]["spf_record"] and i["run"] for i in domain)  # written when it changed
    assert all(int(i["expires_at"]) > 0 for i in items)  # the table's TTL deletes them in time
