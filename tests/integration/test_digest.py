"""The digest function on moto, over a scripted history: what the email and SMS subscriptions get."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3

from senderwatch.history import stamp

EVENTS = Path(__file__).resolve().parents[2] / "events"
DIGEST_EVENT = json.loads((EVENTS / "digest.json").read_text())  # what its schedule sends
NOW = datetime.now(UTC).replace(microsecond=0)


def days_ago(days: float) -> datetime:
    """The scheduled run DAYS ago: the same run for every target."""
    return NOW - timedelta(days=days)


def script(local, ip: str, label: str, runs: list[tuple[float, str]]) -> None:
    """A target watched for a while: one scheduled run a day, each day's verdict of justspam on IP
    ("listed", "clean" or "timeout"), written as the checker writes them; the target's item says
    when it was last checked, in which run."""
    history = boto3.resource("dynamodb").Table(local.history_table_name)
    last = ""
    for ago, status in runs:
        when = days_ago(ago)
        last = when.isoformat(timespec="microseconds")
        verdict = {"zone": "dnsbl.justspam.org", "status": "error" if status == "timeout" else status}
        if status == "timeout":
            verdict["error"] = "timeout"
        result = {"ip": ip, "version": 4, "dnsbl": [verdict], "spf": None, "helo_spf": None, "rdns": None}
        history.put_item(
            Item={"ip": ip, "checked_at": stamp(when), "result": json.dumps(result), "run": last, "scheduled": True}
        )
    checked = days_ago(runs[-1][0])
    local.put_target(
        {"ip": ip, "label": label, "checked_at": checked.isoformat(timespec="seconds"), "checked_run": last}
    )


def test_a_week_with_a_listing_that_cleared_and_one_still_open(local):
    script(
        local,
        "192.0.2.25",
        "postfix-1",
        [(9, "clean"), (6, "listed"), (5, "timeout"), (4, "listed"), (3, "clean"), (1, "clean")],
    )
    script(local, "192.0.2.26", "postfix-2", [(9, "clean"), (6, "clean"), (5, "clean"), (2, "listed"), (1, "listed")])

    reply = local.invoke("digest", DIGEST_EVENT)

    assert reply == {"wrong": True, "targets": 2, "runs": 6, "open": 1, "cleared": 1, "unusable": 0, "stale": 0}
    (email,) = local.inbox("email")
    assert email["event"] == "DIGEST" and email["subject"] == "senderwatch digest: 1 listed"
    assert "Open now (1):\n  192.0.2.26 (postfix-2): listed on dnsbl.justspam.org - since " in email["email"]
    assert "(2 days, 2 scheduled runs, new in this period)" in email["email"]
    # the timeout in between neither ended the listing nor began another: one period, three days
    assert (
        "Cleared in this period (1):\n  192.0.2.25 (postfix-1): listed on dnsbl.justspam.org - cleared "
        in (email["email"])
    )
    assert ", after 3 days\n" in email["email"]
    (sms,) = local.inbox("sms")  # something is open: the SMS subscription's filter lets it through
    assert sms["sms"] == "senderwatch digest: 1 listed; 2 targets, 2 problems began, 1 cleared this period."


def test_a_quiet_week_says_all_is_well_by_email_and_sends_no_sms(local):
    script(local, "192.0.2.25", "postfix-1", [(6, "clean"), (5, "clean"), (4, "clean"), (3, "clean")])

    reply = local.invoke("digest", DIGEST_EVENT)

    assert reply["wrong"] is False and reply["runs"] == 4
    (email,) = local.inbox("email")
    assert email["event"] == "DIGEST_ALL_WELL" and email["subject"] == "senderwatch digest: all is well"
    assert email["email"].startswith("All is well: 1 target checked in 4 scheduled runs, last run ")
    assert local.inbox("sms") == []


def test_a_target_the_last_run_missed_is_stale(local):
    script(local, "192.0.2.25", "postfix-1", [(3, "clean"), (2, "clean"), (1, "clean")])
    script(local, "192.0.2.26", "postfix-2", [(3, "clean")])

    local.invoke("digest", DIGEST_EVENT)

    (email,) = local.inbox("email")
    assert (
        "Not checked in the last scheduled run (1):\n  192.0.2.26 (postfix-2): not checked in the run of "
        in (email["email"])
    )
    assert ", and nothing recorded says why (last checked " in email["email"]
    (sms,) = local.inbox("sms")
    assert sms["sms"].startswith("senderwatch digest: 1 stale;")


def test_a_run_the_schedule_did_not_make_leaves_every_target_stale(local, monkeypatch):
    """The digest knows the checks' schedule (SCHEDULE_EXPRESSION, from the template): a day's run
    that never began is said, as status says it."""
    monkeypatch.setenv("SCHEDULE_EXPRESSION", "rate(1 day)")
    script(local, "192.0.2.25", "postfix-1", [(3, "clean"), (2, "clean")])
    script(local, "192.0.2.26", "postfix-2", [(3, "clean"), (2, "clean")])

    reply = local.invoke("digest", DIGEST_EVENT)

    assert reply["wrong"] is True and reply["stale"] == 2
    (email,) = local.inbox("email")
    due = f"{days_ago(1):%Y-%m-%d %H:%M} UTC"
    assert f"  192.0.2.25 (postfix-1): no scheduled run since {days_ago(2):%Y-%m-%d %H:%M} UTC: " in email["email"]
    assert f"the schedule should have run at {due}" in email["email"]
