"""Faults a monitor meets in the field: each test asserts what the user sees (or does not)."""

import copy
import json
import os
import socket
from datetime import UTC, datetime
from ipaddress import ip_address

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from local.memory import MemoryHealth
from local.world import DOMAIN, IPV4, IPV6, story_world
from senderwatch.addresses import reverse_name
from senderwatch.aws import CheckQueue, TargetStore
from senderwatch.checker import run_checks
from senderwatch.dnssession import DnsInvocation
from senderwatch.errors import ResolverUnusable
from senderwatch.findings import FAILING_RUNS
from senderwatch.runs import Run


def events(alerts):
    return sorted((a["event"], a.get("ip", ""), a.get("zone", "")) for a in alerts)


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


def without(zone: str) -> dict:
    return {name: value for name, value in story_world().items() if not name.endswith(zone)}


@pytest.mark.parametrize("fault", ["TIMEOUT", "SERVFAIL", "REFUSED", "blocked"])
def test_a_list_that_fails_for_everyone_is_one_alert_for_the_deployment(local, fault):
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    local.put_target({"ip": IPV6, "sender": DOMAIN})
    local.settle()
    assert ("LISTED", IPV4, "dnsbl.justspam.org") in events(local.inbox("email"))

    broken = without("dnsbl.justspam.org")
    broken["*.dnsbl.justspam.org"] = [{"A": "127.255.255.254"}] if fault == "blocked" else [fault]
    local.dns_server.load(broken)
    sent = []
    for _ in range(FAILING_RUNS + 1):
        local.run()
        sent += local.inbox("email")
    assert events(sent) == [("CHECK_FAILING", "", "dnsbl.justspam.org")]  # once, naming no address
    assert "you get this once, not once per address" in sent[0]["email"]
    entry = local.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]
    assert entry["status"] == "listed" and "error_runs" not in entry  # never DELISTED, the address untouched

    local.dns_server.load(story_world())  # the list answers again, still listing the address
    local.run()
    assert events(local.inbox("email")) == [("CHECK_RECOVERED", "", "dnsbl.justspam.org")]


def test_a_list_failing_for_one_address_counts_scheduled_runs_not_deliveries(local):
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    local.settle()
    local.inbox("email")
    name = f"{reverse_name(ip_address(IPV4))}.dnsbl.justspam.org"
    local.dns_server.load({**story_world(), name: ["TIMEOUT"]})  # the list works, but not for this address
    local.schedule()
    (message,) = boto3.client("sqs").receive_message(QueueUrl=local.queue_url, VisibilityTimeout=0)["Messages"]
    for _ in range(FAILING_RUNS + 1):  # one scheduled run, its message delivered again and again
        local.drain_queue()
        boto3.client("sqs").send_message(QueueUrl=local.queue_url, MessageBody=message["Body"])
    local.settle()
    assert local.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]["error_runs"] == 1
    assert local.inbox("email") == []
    for _ in range(FAILING_RUNS - 1):
        local.run()
    assert events(local.inbox("email")) == [("CHECK_FAILING", IPV4, "dnsbl.justspam.org")]


def test_spamhaus_refusing_the_resolver_is_one_email_however_many_addresses(local):
    """No DQS key: Spamhaus answers 'blocked' to the deployment. 60 addresses, one CHECK_FAILING."""
    os.environ.pop("DQS_KEY_PARAMETER")
    local._handlers.clear()  # a cold start without the key
    for n in range(60):
        local.put_target({"ip": f"198.51.100.{n + 1}"})
    sent = []
    for _ in range(FAILING_RUNS + 1):
        local.run()
        sent += local.inbox("email")
    assert events(sent) == [("CHECK_FAILING", "", "zen.spamhaus.org")]
    assert "DQS" in sent[0]["email"] and len(sent[0]["sms"]) < 160


def test_a_run_that_lists_many_addresses_sends_one_message_per_list(local):
    ips = [f"198.51.100.{n + 1}" for n in range(30)]
    for ip in ips:
        local.put_target({"ip": ip, "label": f"relay {ip.rsplit('.', 1)[1]}"})
    local.settle()
    assert local.inbox("email") == []
    world = story_world()
    for ip in ips[::3]:
        for zone in ("dnsbl.justspam.org", "bl.spamcop.net"):
            world[f"{reverse_name(ip_address(ip))}.{zone}"] = [{"A": "127.0.0.2"}, {"TXT": f"{zone} listed {ip}"}]
    local.dns_server.load(world)
    local.run()
    email, sms = local.inbox("email"), local.inbox("sms")
    assert sorted((a["event"], a["zone"], a["count"]) for a in email) == [
        ("LISTED", "bl.spamcop.net", 10),
        ("LISTED", "dnsbl.justspam.org", 10),
    ]
    justspam = next(a for a in email if a["zone"] == "dnsbl.justspam.org")
    assert justspam["subject"] == "10 addresses are listed on dnsbl.justspam.org"
    assert sorted(justspam["ip"]) == sorted(ips[::3]) == sorted(justspam["ips"])
    assert all(f"{ip} (relay {ip.rsplit('.', 1)[1]})" in justspam["email"] for ip in ips[::3])
    assert len(sms) == 2 and all(len(a["sms"]) < 160 for a in sms)
    local.run()
    assert local.inbox("email") == []  # exactly once


def test_a_dead_resolver_is_one_alert_and_changes_no_finding(local):
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    local.settle()
    local.inbox("email")
    before = local.item(IPV4)["findings"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # a resolver that never answers
        silent.bind(("127.0.0.1", 0))
        os.environ["NAMESERVERS"] = f"127.0.0.1:{silent.getsockname()[1]}"
        local._handlers.clear()
        for _ in range(2):
            local.run()
    assert events(local.inbox("email")) == [("RESOLVER_FAILING", "", "")]
    assert local.item(IPV4)["findings"] == before  # nothing cleared, nothing listed
    dead = boto3.client("sqs").receive_message(QueueUrl=local.dead_letter_url, MaxNumberOfMessages=10)
    assert dead.get("Messages")  # the checks were retried, then parked (an alarm says so)

    os.environ["NAMESERVERS"] = "{}:{}".format(*local.dns)
    local._handlers.clear()
    local.run()
    assert events(local.inbox("email")) == [("RESOLVER_RECOVERED", "", "")]


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
        DnsInvocation((local.dns,), 0.5),
        datetime.now(UTC),
        time_left=lambda: 20.0,  # once the first slice is done, too little time is left for another
        requeue=CheckQueue(boto3.client("sqs"), local.queue_url).send,
    )
    assert (summary.checked, summary.requeued) == (10, 5)
    assert [ip for ip in ips if "findings" in local.item(ip)] == ips[:10]
    (message,) = boto3.client("sqs").receive_message(QueueUrl=local.queue_url).get("Messages", [])
    assert [t["ip"] for t in json.loads(message["Body"])["targets"]] == ips[10:]


def test_the_dqs_key_is_used_but_never_logged_or_put_in_the_environment(local, event, capsys, caplog, monkeypatch):
    from local.world import DQS_KEY

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


def test_a_list_that_fails_only_for_ipv6_is_reported_for_ipv6(local):
    """Messages with only IPv4 addresses must not clear what the IPv6 ones found."""
    os.environ["TARGETS_PER_MESSAGE"] = "1"
    local._handlers.clear()
    for n in range(3):
        local.put_target({"ip": f"198.51.100.{n + 1}"})
    for n in range(2):
        local.put_target({"ip": f"2001:db8::{n + 1}"})
    ipv6_entry = reverse_name(ip_address("::ffff:7f00:2"))
    world = {k: v for k, v in story_world().items() if k != f"{ipv6_entry}.dnsbl.dronebl.org"}
    local.dns_server.load(world)  # dronebl lists nothing for IPv6 now; IPv4 works
    sent = []
    for _ in range(FAILING_RUNS + 1):
        local.run()
        sent += local.inbox("email")
    alerts = [(a["event"], a.get("zone"), a["subject"]) for a in sent]
    assert alerts == [
        (
            "CHECK_FAILING",
            "dnsbl.dronebl.org",
            "senderwatch cannot use the list dnsbl.dronebl.org for IPv6 addresses: lists-nothing",
        )
    ]


def test_a_resolver_blip_is_tried_again_before_it_is_news(local):
    """The first delivery that meets a dead resolver fails quietly; the second one is recorded."""
    local.put_target({"ip": IPV4})
    health = MemoryHealth()
    store = TargetStore(boto3.resource("dynamodb").Table(local.table_name))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        checks = DnsInvocation((silent.getsockname(),), 0.2)
        scheduled = Run("2026-11-28T06:00:00.000000+00:00", scheduled=True)
        for delivery in (1, 2):
            with pytest.raises(ResolverUnusable):
                run_checks(
                    [{"ip": IPV4}], store, checks, datetime.now(UTC), run=scheduled, health=health, delivery=delivery
                )
            assert len(health.writes) == delivery - 1  # only the second delivery
    ((item_id, record),) = health.writes
    assert (item_id, record["status"], record["error"]) == ("resolver", "failing", "no-answer")
    assert "findings" not in local.item(IPV4)


def test_findings_written_by_hand_do_not_stop_the_checks(local):
    local.put_target({"ip": IPV4, "findings": "garbage"})
    local.put_target({"ip": "198.51.100.7", "findings": {"dnsbl": "x", "spf": "pass"}})
    local.put_target({"ip": "198.51.100.8"})
    local.run()
    assert local.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"
    assert all("dnsbl" in local.item(ip)["findings"] for ip in ("198.51.100.7", "198.51.100.8"))
    assert events(local.inbox("email")) == [("LISTED", IPV4, "dnsbl.justspam.org")]
    dead = boto3.client("sqs").receive_message(QueueUrl=local.dead_letter_url).get("Messages", [])
    assert dead == []


def test_a_helo_name_whose_spf_fails_is_an_alert(local):
    world = story_world(listed=False) | {"relay.example.net": [{"TXT": "v=spf1 ip4:203.0.113.9 -all"}]}
    local.dns_server.load(world)
    local.put_target({"ip": IPV4, "sender": DOMAIN, "helo": "relay.example.net"})
    local.put_target({"ip": "198.51.100.9", "helo": "mail.example.com"})  # no SPF for this HELO name: fine
    local.settle()
    (alert,) = local.inbox("email")
    assert (alert["event"], alert["identity"]) == ("SPF_FAILING", "helo")
    assert alert["subject"] == f"HELO SPF fail for {IPV4}"
    assert f"Add ip4:{IPV4} to the SPF record of relay.example.net" in alert["email"]
