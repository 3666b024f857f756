"""The origin story through the whole pipeline: table -> scheduler -> queue -> checker ->
findings -> stream -> notifier -> SNS, with moto for AWS and the story's DNS world."""

import json

import boto3
import pytest

from local.world import DOMAIN, IPV4, IPV6, MAIL_HOST, story_world
from senderwatch.commands import main


@pytest.fixture
def cli(capsys):
    """The `senderwatch` command in this process: (exit status, stdout, stderr)."""

    def run(*argv):
        capsys.readouterr()
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def events(inbox):
    return sorted((a["event"], a["ip"], a.get("zone", "")) for a in inbox)


def test_the_story_from_listing_to_recovery(pipeline, story, cli):
    # A user adds the two addresses; their first check comes from the stream, not the schedule.
    pipeline.put_target({"ip": IPV4, "sender": DOMAIN, "label": "postfix-1"})
    pipeline.put_target({"ip": IPV6, "sender": DOMAIN, "label": "postfix-1"})
    pipeline.settle()

    email, sms = pipeline.inbox("email"), pipeline.inbox("sms")
    assert events(email) == [("LISTED", IPV4, "dnsbl.justspam.org"), ("SPF_FAILING", IPV6, "")]
    assert events(sms) == events(email)
    listed = next(a for a in email if a["event"] == "LISTED")
    assert "http://www.justspam.org/check-an-ip" in listed["email"]
    assert len(listed["sms"]) < 160 and len(listed["subject"]) < 100
    spf = next(a for a in email if a["event"] == "SPF_FAILING")
    assert "ip6:2001:db8::25" in spf["email"] and "v=spf1 ip4:192.0.2.25 ~all" in spf["email"]

    item = pipeline.item(IPV4)
    assert item["label"] == "postfix-1" and item["sender"] == DOMAIN  # what the user set is kept
    assert item["findings"]["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"
    assert item["findings"]["dnsbl"]["zen.spamhaus.org"]["status"] == "clean"  # asked through DQS

    # The admin delists the address and adds the IPv6 address to the SPF record.
    story.load(story_world(listed=False, spf_has_ipv6=True))
    pipeline.run()
    email = pipeline.inbox("email")
    assert events(email) == [("DELISTED", IPV4, "dnsbl.justspam.org"), ("SPF_RECOVERED", IPV6, "")]
    assert pipeline.inbox("sms") == []  # SMS subscribers get listings and failures only

    # Nothing changed since: nothing is sent.
    pipeline.run()
    assert pipeline.inbox("email") == []

    history = boto3.resource("dynamodb").Table(pipeline.history_table_name)
    runs = history.query(KeyConditionExpression="ip = :ip", ExpressionAttributeValues={":ip": IPV4})["Items"]
    assert len(runs) == 3 and all(run["expires_at"] > 0 for run in runs)

    # What the history says of it: how long each problem lasted, over since the fix.
    tables = ["--table", pipeline.table_name, "--history-table", pipeline.history_table_name]
    status, out, _ = cli("history", *tables, "--health-table", pipeline.health_table_name, "--format", "json")
    assert status == 0
    found = {(p["ip"], p["kind"], p["about"], p["state"]) for p in json.loads(out)["history"] if p["ip"]}
    sender = f"postmaster@{DOMAIN}"
    assert found == {(IPV4, "listing", "dnsbl.justspam.org", "listed"), (IPV6, "spf", sender, "softfail")}
    assert all(p["to"] for p in json.loads(out)["history"] if p["ip"])  # both over


def test_the_story_with_the_host_by_name_ends_in_the_ipv6_softfail_nobody_typed(pipeline, story):
    # The user gives only the mail host's name; its IPv6 address is never typed in.
    pipeline.put_target({"ip": MAIL_HOST, "sender": DOMAIN, "helo": MAIL_HOST, "label": "postfix-1"})
    pipeline.settle()

    email = pipeline.inbox("email")
    assert events(email) == [("LISTED", IPV4, "dnsbl.justspam.org"), ("SPF_FAILING", IPV6, "")]
    spf = next(a for a in email if a["event"] == "SPF_FAILING")
    assert spf["target"] == MAIL_HOST and "Add ip6:2001:db8::25 to the SPF record of example.com" in spf["email"]
    assert events(pipeline.inbox("sms")) == events(email)

    # The fix, then a second AAAA record on the host: the new address is news, with its SPF.
    fixed = story_world(listed=False, spf_has_ipv6=True)
    story.load(fixed)
    pipeline.run()
    assert events(pipeline.inbox("email")) == [("DELISTED", IPV4, "dnsbl.justspam.org"), ("SPF_RECOVERED", IPV6, "")]
    fixed[MAIL_HOST] = [*fixed[MAIL_HOST], {"AAAA": "2001:db8::26"}]
    story.load(fixed)
    pipeline.run()
    assert events(pipeline.inbox("email")) == [
        ("ADDRESS_ADDED", "2001:db8::26", ""),
        ("SPF_FAILING", "2001:db8::26", ""),
    ]
    pipeline.run()
    assert pipeline.inbox("email") == []
