"""Faults a monitor meets in the field: each test asserts what the user sees (or does not)."""

import copy
import json
import os
from datetime import UTC, datetime

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from senderwatch.aws import CheckQueue, TargetStore
from senderwatch.findings import FAILING_RUNS
from senderwatch.pipeline import Engine, run_checks
from senderwatch.testing.world import DOMAIN, IPV4, IPV6, story_world


def events(alerts):
    return sorted((a["event"], a["ip"], a.get("zone", "")) for a in alerts)


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def fail_calls(client, operation: str, code: str, *, calls: set[int], status: int = 400):
    """Make the given calls (1-based) of OPERATION on CLIENT answer with an AWS error CODE."""
    seen = {"n": 0}

    def hook(**_):
        seen["n"] += 1
        if seen["n"] in calls:
            body = json.dumps({"__type": code, "message": "injected"}).encode()
            return AWSResponse("https://injected", status, {}, _Raw(body))
        return None

    client.meta.events.register(f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}", hook)
    return seen


def fail_call(client, operation: str, code: str, *, calls: set[int]):
    """Make the given calls of OPERATION raise CODE at once (no retry: like a disabled KMS key)."""
    seen = {"n": 0}

    def hook(**_):
        seen["n"] += 1
        if seen["n"] in calls:
            error = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
            return AWSResponse("https://injected", 400, {}, _Raw(b"")), error
        return None

    client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}", hook)
    return seen


def two_alert_change(event):
    """A stream record whose change deserves two alerts (a listing and an SPF failure)."""
    change = event("stream-listed.json")
    image = change["Records"][0]["dynamodb"]["NewImage"]
    image["findings"]["M"]["spf"] = {
        "M": {
            "result": {"S": "softfail"},
            "sender": {"S": "postmaster@example.com"},
            "since": {"S": "2026-11-27T06:00:04+00:00"},
        }
    }
    return change


def test_sns_outage_then_recovery_sends_each_alert_exactly_once(local, event):
    change = two_alert_change(event)
    sns = local.handler("notifier")._topic().sns
    fail_call(sns, "Publish", "KMS.DisabledException", calls={2})  # the second alert's publish fails

    assert local.invoke("notifier", change) == {"batchItemFailures": [{"itemIdentifier": "111"}]}
    assert events(local.inbox("email")) == [("LISTED", IPV4, "dnsbl.justspam.org")]

    assert local.invoke("notifier", change) == {"batchItemFailures": []}  # the stream retries
    assert events(local.inbox("email")) == [("SPF_FAILING", IPV4, "")]  # only what was missing

    assert local.invoke("notifier", copy.deepcopy(change)) == {"batchItemFailures": []}  # delivered again
    assert local.inbox("email") == []


@pytest.mark.parametrize("fault", ["TIMEOUT", "SERVFAIL", "REFUSED", "blocked"])
def test_a_failing_list_keeps_its_verdict_and_is_reported_once(local, fault):
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    local.settle()
    assert events(local.inbox("email")) == [("LISTED", IPV4, "dnsbl.justspam.org")]

    broken = {name: value for name, value in story_world().items() if not name.endswith("dnsbl.justspam.org")}
    broken["*.dnsbl.justspam.org"] = [{"A": "127.255.255.254"}] if fault == "blocked" else [fault]
    local.dns_server.load(broken)
    sent = []
    for _ in range(FAILING_RUNS + 1):
        local.run()
        sent += local.inbox("email")
    assert events(sent) == [("CHECK_FAILING", IPV4, "dnsbl.justspam.org")]  # never DELISTED
    entry = local.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]
    assert entry["status"] == "listed" and entry["error_runs"] == FAILING_RUNS + 1

    local.dns_server.load(story_world())  # the list answers again, still listing the address
    local.run()
    assert local.inbox("email") == []


def test_throttled_writes_are_retried_and_no_finding_is_lost(local, event):
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    dynamodb = local.handler("checker")._store().table.meta.client
    seen = fail_calls(dynamodb, "UpdateItem", "ThrottlingException", calls={1, 2})
    assert local.invoke("checker", event("sqs-check-batch.json")) == {"batchItemFailures": []}
    assert seen["n"] >= 3  # two throttled attempts, then the write that went through
    assert local.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"


def test_a_poison_message_ends_in_the_dead_letter_queue_and_the_rest_is_checked(local):
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=local.queue_url, MessageBody="{not json")
    sqs.send_message(QueueUrl=local.queue_url, MessageBody=json.dumps({"targets": [{"ip": IPV4, "sender": DOMAIN}]}))
    local.drain_queue()
    dead = sqs.receive_message(QueueUrl=local.dead_letter_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in dead] == ["{not json"]
    assert local.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"


def test_a_garbage_item_is_marked_and_every_other_target_is_checked(local):
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    local.put_target({"ip": IPV6, "sender": "not a domain"})
    local.run()
    assert "invalid sender" in local.item(IPV6)["check_error"]
    assert "findings" not in local.item(IPV6)
    assert local.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"


def test_near_the_timeout_what_was_checked_is_saved_and_the_rest_requeued(local):
    ips = [f"198.51.100.{n}" for n in range(1, 16)]
    for ip in ips:
        local.put_target({"ip": ip})
    store = TargetStore(boto3.resource("dynamodb").Table(local.table_name))
    summary = run_checks(
        [{"ip": ip} for ip in ips],
        store,
        Engine((local.dns,), 0.5),
        datetime.now(UTC),
        time_left=lambda: 20.0,  # once the first slice is done, too little time is left for another
        requeue=CheckQueue(boto3.client("sqs"), local.queue_url).send,
    )
    assert (summary.checked, summary.requeued) == (10, 5)
    assert [ip for ip in ips if "findings" in local.item(ip)] == ips[:10]
    (message,) = boto3.client("sqs").receive_message(QueueUrl=local.queue_url).get("Messages", [])
    assert [t["ip"] for t in json.loads(message["Body"])["targets"]] == ips[10:]


def test_the_dqs_key_is_used_but_never_logged_or_put_in_the_environment(local, event, capsys, caplog, monkeypatch):
    from senderwatch.testing.world import DQS_KEY

    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    caplog.set_level("DEBUG", logger="senderwatch")  # our own logs, at their most talkative
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    assert local.invoke("checker", event("sqs-check-batch.json")) == {"batchItemFailures": []}
    # Spamhaus answered through the DQS zone, so the key was used...
    assert local.item(IPV4)["findings"]["dnsbl"]["zen.spamhaus.org"]["status"] == "clean"
    # ...and appears nowhere a person or a log reader could see it.
    out, err = capsys.readouterr()
    assert DQS_KEY not in out + err + caplog.text
    assert not any(DQS_KEY in value for value in os.environ.values())
