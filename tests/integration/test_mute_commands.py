"""`senderwatch mute`, `unmute` and `mutes` against the tables on moto, and the notifier and the
scheduler with a mute: a muted LISTED is recorded and not published, the DELISTED is published,
and a mute that ends while the listing is still there is said once."""

import copy
import json
import shlex
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from local.world import IPV4
from senderwatch.aws import HealthStore

LISTED = {"status": "listed", "since": "2026-11-26T06:00:05+00:00", "codes": ["127.0.0.2"]}


@pytest.fixture
def tables(local):
    return ["--table", local.table_name, "--health-table", local.health_table_name]


def mutes(local) -> list[dict]:
    return HealthStore.named(local.health_table_name).mutes()


def test_mute_records_who_why_and_until_when_and_mutes_shows_it(local, tables, cli):
    local.put_target({"ip": IPV4, "label": "postfix-1"})
    status, out, err = cli("mute", IPV4, "--for", "7d", "--reason", "delisting asked at JustSpam", *tables)
    assert (status, err) == (0, "")
    (record,) = mutes(local)
    assert out.startswith(f"muted the target {IPV4} until ") and f"(mute {record['id']})" in out
    assert record["by"].startswith("arn:aws:")  # the caller identity, from STS
    assert record["reason"] == "delisting asked at JustSpam"
    set_at, until = datetime.fromisoformat(record["at"]), datetime.fromisoformat(record["until"])
    assert until - set_at == timedelta(days=7)

    status, out, _ = cli("mutes", *tables)
    header, row = out.splitlines()
    assert header.split()[:3] == ["ID", "SILENCES", "UNTIL"]
    assert row.startswith(record["id"]) and IPV4 in row and "delisting asked" in row and record["by"] in row
    status, out, _ = cli("mutes", "--format", "json", *tables)
    (shown,) = json.loads(out)["mutes"]
    assert (shown["id"], shown["scope"], shown["value"], shown["holds"]) == (record["id"], "target", IPV4, True)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([IPV4, "--for", "7d"], "say why: --reason"),
        ([IPV4, "--until", "2020-01-01", "--reason", "x"], "in the past"),
        (["--event", "LISTING", "--for", "7d", "--reason", "x"], "not an event senderwatch sends"),
        (["--event", "DIGEST", "--for", "7d", "--reason", "x"], "--event DIGEST cannot be muted"),
        ([IPV4, "--for", "7d", "--reason", "x" * 301], "--reason: at most 300 characters"),
        ([IPV4, "--for", "0d", "--reason", "x"], "--for '0d'"),
        ([IPV4, "--for", "7d", "--until", "2030-01-01", "--reason", "x"], "not allowed with argument"),
        ([IPV4, "--reason", "x"], "say how long"),
        ([IPV4, "--zone", "bl.spamcop.net", "--for", "7d", "--reason", "x"], "say what to mute, one of"),
        (["192.0.2.99", "--for", "7d", "--reason", "x"], "is not watched"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_and_nothing_is_written(local, tables, cli, argv, says):
    local.put_target({"ip": IPV4})
    status, out, err = cli("mute", *argv, *tables)
    assert status == 2 and says in err and err.count("\n") == 1 and out == ""
    assert mutes(local) == []


def test_unmute_by_id_or_by_what_it_silences_and_a_name_no_mute_has_is_said(local, tables, cli):
    local.put_target({"ip": IPV4})
    cli("mute", IPV4, "--for", "7d", "--reason", "one", *tables)
    cli("mute", "--zone", "bl.spamcop.net", "--for", "2w", "--reason", "two", *tables)
    by_zone = next(m for m in mutes(local) if m["scope"] == "zone")

    status, out, err = cli("unmute", by_zone["id"], IPV4, "nothing.example", *tables)

    assert status == 2 and "no mute that holds is 'nothing.example'" in err
    assert sorted(out.splitlines()) == sorted(
        [
            f"unmuted the list bl.spamcop.net (mute {by_zone['id']}): its alerts are sent again",
            f"unmuted the target {IPV4} (mute {next(m['id'] for m in mutes(local) if m['scope'] == 'target')}): "
            "its alerts are sent again",
        ]
    )
    assert all(m["ended"] and m["ended_by"].startswith("arn:aws:") for m in mutes(local))
    assert cli("mutes", *tables)[1].startswith("No mutes hold")
    assert len(json.loads(cli("mutes", "--all", "--format", "json", *tables)[1])["mutes"]) == 2
    table = cli("mutes", "--all", *tables)[1].splitlines()[1:]  # how each ended, in the table too
    assert len(table) == 2 and all(" (unmuted by arn:aws:" in row for row in table), table


def test_until_clear_acknowledges_what_is_wrong_now_and_is_refused_for_a_clean_target(local, tables, cli):
    local.put_target({"ip": IPV4, "label": "postfix-1"})  # clean: the daily run would end it before its checks
    status, out, err = cli("mute", IPV4, "--until-clear", "--reason", "x", *tables)
    assert status == 2 and out == "" and mutes(local) == []
    says = f"nothing to acknowledge: nothing the target {IPV4} covers is wrong now; use --for or --until"
    assert err == f"senderwatch: error: {says}\n"

    local.put_target({"ip": IPV4, "label": "postfix-1", "findings": {"dnsbl": {"dnsbl.justspam.org": LISTED}}})
    status, out, err = cli("mute", IPV4, "--until-clear", "--reason", "delisting asked", *tables)
    assert (status, err) == (0, "") and "until it clears" in out
    local.schedule()  # the daily run: the listing is still there, the acknowledgement holds
    (record,) = mutes(local)
    assert "ended" not in record


def delisting(listing: dict) -> dict:
    """The sample listing's change the other way round: the list no longer lists the address."""
    change = copy.deepcopy(listing)
    record = change["Records"][0]
    record["dynamodb"]["OldImage"], record["dynamodb"]["NewImage"] = (
        record["dynamodb"]["NewImage"],
        record["dynamodb"]["OldImage"],
    )
    record["dynamodb"]["SequenceNumber"] = "222"
    return change


def test_a_muted_listing_is_recorded_not_published_and_its_delisting_is_published(local, tables, cli, event):
    local.put_target({"ip": IPV4, "label": "postfix-1"})
    cli("mute", IPV4, "--for", "7d", "--reason", "delisting asked", *tables)
    (record,) = mutes(local)

    assert local.invoke("notifier", event("stream-listed.json")) == {"batchItemFailures": []}
    assert local.inbox("email") == [] and local.inbox("sms") == []
    history = boto3.resource("dynamodb").Table(local.history_table_name).scan()["Items"]
    (kept,) = [i for i in history if i["ip"] == f"mute:{record['id']}"]
    assert [(m["event"], m["ip"], m["zone"]) for m in kept["muted"]] == [("LISTED", IPV4, "dnsbl.justspam.org")]

    assert local.invoke("notifier", delisting(event("stream-listed.json"))) == {"batchItemFailures": []}
    assert [a["event"] for a in local.inbox("email")] == ["DELISTED"]  # the operator wants to know it is over


def test_a_mute_that_ends_with_the_listing_still_there_is_said_once(local, tables, cli):
    local.put_target({"ip": IPV4, "label": "postfix-1", "findings": {"dnsbl": {"dnsbl.justspam.org": LISTED}}})
    cli("mute", IPV4, "--for", "1h", "--reason", "delisting asked", *tables)
    (record,) = mutes(local)
    health = HealthStore.named(local.health_table_name)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    assert health.save(f"mute:{record['id']}", {**record, "until": past}, 1)  # an hour later
    local.stream_records("HealthTable")  # (the mute's own writes: no alert)

    local.schedule()  # the daily run ends it
    local.deliver_stream(local.stream_records("HealthTable"), "notifier", "HealthChanges")

    (alert,) = local.inbox("email")
    assert (
        alert["event"] == "MUTE_ENDED" and alert["subject"] == f"Mute of the target {IPV4} ended: 1 problem still there"
    )
    assert "LISTED 192.0.2.25 dnsbl.justspam.org" in alert["email"] and "delisting asked" in alert["email"]
    (ended,) = mutes(local)
    assert ended["ended_by"] == "expired"
    # its command to mute again runs as written: without a stack, both the tables it needs
    (again,) = [line.strip() for line in alert["email"].splitlines() if line.strip().startswith("senderwatch mute ")]
    assert f"--table {local.table_name} --health-table {local.health_table_name}" in again
    status, out, err = cli(*shlex.split(again)[1:])
    assert (status, err) == (0, "") and out.startswith(f"muted the target {IPV4} until ")
    local.stream_records("HealthTable")  # (the new mute's write: no alert)

    local.schedule()  # the next day: ended once, said once
    local.deliver_stream(local.stream_records("HealthTable"), "notifier", "HealthChanges")
    assert local.inbox("email") == []


def test_status_history_and_the_report_show_what_is_muted_by_whom_why_and_until_when(
    local, tables, cli, event, tmp_path
):
    local.put_target({"ip": IPV4, "label": "postfix-1", "sender": "example.com"})
    cli("mute", IPV4, "--for", "7d", "--reason", "delisting asked", *tables)
    (record,) = mutes(local)
    local.stream_records("HealthTable")
    local.invoke("checker", {"Records": [event("sqs-check-batch.json")["Records"][0]]})  # the story: listed
    local.deliver_stream(local.stream_records(), "notifier", "Changes")
    assert local.inbox("email") == []  # muted

    status, out, _ = cli("status", "--format", "json", *tables)
    document = json.loads(out)
    (row,) = [r for r in document["targets"] if r["ip"] == IPV4]
    assert row["muted"] == [record["id"]] and status == 1  # muted is not fixed: the exit status says so
    (shown,) = document["mutes"]
    assert (shown["by"], shown["reason"], shown["until"]) == (record["by"], "delisting asked", record["until"])
    out = cli("status", *tables)[1]
    assert f"Muted:\n  {record['id']}  the target {IPV4} until " in out and "delisting asked" in out

    history = ["--table", local.table_name, "--history-table", local.history_table_name]
    history += ["--health-table", local.health_table_name]
    document = json.loads(cli("history", "--format", "json", *history)[1])
    (listing,) = [p for p in document["history"] if p["kind"] == "listing" and p["ip"] == IPV4]
    assert listing["muted"] == [record["id"]]
    assert [(m["id"], m["withheld"]) for m in document["mutes"]] == [(record["id"], 1)]
    assert "1 alert recorded, not sent" in cli("history", *history)[1]

    page = tmp_path / "report.html"
    assert cli("report", "--html", str(page), *history)[0] == 0
    html = page.read_text()
    assert '<h2 id="muted">Muted</h2>' in html and "delisting asked" in html and record["id"] in html


def test_without_a_mute_the_history_is_the_document_it_always_was(local, cli, event):
    local.put_target({"ip": IPV4})
    local.invoke("checker", {"Records": [event("sqs-check-batch.json")["Records"][0]]})
    history = ["--table", local.table_name, "--history-table", local.history_table_name]
    document = json.loads(cli("history", "--format", "json", *history, "--health-table", local.health_table_name)[1])
    assert set(document) == {"history", "from", "to", "runs"}
    assert all("muted" not in p for p in document["history"])
