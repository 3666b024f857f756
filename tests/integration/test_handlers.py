"""Each Lambda handler with the sample events of events/, against moto and local DNS."""

import json

import boto3

from local.world import DOMAIN, IPV4, IPV6
from senderwatch.alerttext import render
from senderwatch.aws import AlertTopic, client
from senderwatch.findings import decide_domain


def queued(pipeline):
    sqs = boto3.client("sqs")
    bodies = []
    while got := sqs.receive_message(QueueUrl=pipeline.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
        "Messages", []
    ):
        bodies += [json.loads(m["Body"]) for m in got]
    return bodies


def test_schedule_sends_every_enabled_target_in_batches_and_flags_garbage(local, event):
    for n in range(60):
        local.put_target({"ip": f"198.51.100.{n}", "sender": DOMAIN})
    local.put_target({"ip": "198.51.100.200", "enabled": False})
    local.put_target({"ip": "not-an-address", "sender": DOMAIN})
    local.put_target({"ip": "198.51.100.201", "sender": 42})

    result = local.invoke("scheduler", event("schedule.json"))

    assert result == {"targets": 60, "messages": 3, "invalid": 2, "disabled": 1}
    messages = queued(local)
    assert sorted(len(m["targets"]) for m in messages) == [10, 25, 25]
    assert {t["sender"] for m in messages for t in m["targets"]} == {f"postmaster@{DOMAIN}"}
    assert "is not an IPv4 or IPv6 address, a network" in local.item("not-an-address")["check_error"]
    assert "'sender' must be a string" in local.item("198.51.100.201")["check_error"]


def test_new_target_event_queues_that_target_at_once(local, event):
    local.put_target({"ip": IPV6, "sender": DOMAIN, "label": "postfix-1 (IPv6)"})
    result = local.invoke("scheduler", event("stream-new-target.json"))
    assert result["targets"] == 1
    (message,) = queued(local)
    assert message["targets"] == [
        {"ip": IPV6, "enabled": True, "sender": f"postmaster@{DOMAIN}", "label": "postfix-1 (IPv6)"}
    ]
    assert message["scheduled"] is False  # a first check, not a scheduled run: failures do not count toward alerts


def test_a_stream_record_without_an_ip_key_is_skipped_with_a_warning(local, event, logs):
    local.put_target({"ip": IPV6, "sender": DOMAIN})
    records = event("stream-new-target.json")["Records"]
    odd = {**records[0], "eventID": "odd", "dynamodb": {**records[0]["dynamodb"], "Keys": {"id": {"S": "x"}}}}
    result = local.invoke("scheduler", {"Records": [odd, *records]})
    assert result["targets"] == 1  # the good record is scheduled; the odd one does not fail the invocation
    assert [r.getMessage() for r in logs if r.levelname == "WARNING"] == ["stream record without an 'ip' key skipped"]


def test_checker_writes_findings_beside_what_the_user_set(local, event):
    local.put_target({"ip": IPV4, "sender": DOMAIN, "label": "postfix-1", "note": "rack 4"})
    local.put_target({"ip": IPV6, "sender": DOMAIN, "label": "postfix-1 (IPv6)"})

    reply = local.invoke("checker", event("sqs-check-batch.json"))

    assert reply == {"batchItemFailures": []}
    item = local.item(IPV4)
    assert (item["label"], item["note"], item["sender"]) == ("postfix-1", "rack 4", DOMAIN)
    assert item["findings"]["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"
    assert item["findings"]["spf"]["result"] == "pass"
    assert local.item(IPV6)["findings"]["spf"]["result"] == "softfail"


def test_poison_messages_fail_alone(local, event):
    local.put_target({"ip": IPV4, "sender": DOMAIN})
    good = event("sqs-check-batch.json")["Records"][0]
    bad_json = dict(good, messageId="bad-json", body="{not json")
    bad_shape = dict(good, messageId="bad-shape", body=json.dumps({"targets": "192.0.2.25"}))

    reply = local.invoke("checker", {"Records": [bad_json, good, bad_shape]})

    assert sorted(f["itemIdentifier"] for f in reply["batchItemFailures"]) == ["bad-json", "bad-shape"]
    assert local.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"


def test_checker_does_not_bring_back_a_removed_target(local, event):
    reply = local.invoke("checker", event("sqs-check-batch.json"))  # neither address is in the table
    assert reply == {"batchItemFailures": []}
    assert local.item(IPV4) is None and local.item(IPV6) is None


def test_notifier_publishes_the_sample_listing(local, event):
    reply = local.invoke("notifier", event("stream-listed.json"))
    assert reply == {"batchItemFailures": []}
    (alert,) = local.inbox("email")
    assert (alert["event"], alert["severity"], alert["ip"], alert["zone"]) == (
        "LISTED",
        "high",
        IPV4,
        "dnsbl.justspam.org",
    )
    assert alert["subject"] == "192.0.2.25 (postfix-1) is listed on dnsbl.justspam.org"
    assert [a["event"] for a in local.inbox("sms")] == ["LISTED"]


def test_notifier_failure_is_reported_so_the_stream_retries(local, event):
    boto3.client("sns").delete_topic(TopicArn=local.topic_arn)
    reply = local.invoke("notifier", event("stream-listed.json"))
    assert reply == {"batchItemFailures": [{"itemIdentifier": "111"}]}


def test_a_users_edit_sends_nothing(local, event):
    change = event("stream-listed.json")
    record = change["Records"][0]["dynamodb"]
    record["OldImage"] = dict(record["NewImage"], label={"S": "old name"})
    assert local.invoke("notifier", change) == {"batchItemFailures": []}
    assert local.inbox("email") == []


def test_a_failed_record_is_one_error_line_with_its_reason(local, event, logs):
    good = event("sqs-check-batch.json")["Records"][0]
    local.invoke("checker", {"Records": [dict(good, messageId="bad-json", body="{not json")]})
    errors = [r for r in logs if r.levelname == "ERROR"]
    assert [(r.getMessage(), r.record, r.reason) for r in errors] == [
        ("record failed", "bad-json", "InvalidMessage: the message is not JSON")
    ]


def test_notifier_publishes_a_list_unusable_for_the_deployment_once(local, event):
    """The health table's change: Spamhaus refused this deployment for the third run in a row."""
    assert local.invoke("notifier", event("stream-list-unusable.json")) == {"batchItemFailures": []}
    (alert,) = local.inbox("email")
    assert (alert["event"], alert["zone"], "ip" in alert) == ("CHECK_FAILING", "zen.spamhaus.org", False)
    assert alert["subject"] == "senderwatch cannot use the list zen.spamhaus.org for IPv4 addresses: blocked"
    assert "DqsKeyParameter" in alert["email"] and len(alert["sms"]) < 160
    assert local.invoke("notifier", event("stream-list-unusable.json")) == {"batchItemFailures": []}
    assert local.inbox("email") == []  # delivered again: sent once


def test_the_lists_are_probed_once_per_invocation_however_many_senders(local, event):
    """Ten targets with ten senders are checked in ten groups, but each list's test entry is asked once."""
    ips = [f"198.51.100.{n}" for n in range(1, 11)]
    for n, ip in enumerate(ips):
        local.put_target({"ip": ip, "sender": f"bounce{n}@{DOMAIN}"})
    record = dict(event("sqs-check-batch.json")["Records"][0], body=json.dumps({"targets": [{"ip": ip} for ip in ips]}))
    local.dns_server.asked.clear()
    assert local.invoke("checker", {"Records": [record, dict(record, messageId="second")]}) == {"batchItemFailures": []}
    probes = {name: n for name, n in local.dns_server.asked.items() if name.startswith("2.0.0.127.")}
    assert probes and set(probes.values()) == {1}  # two messages, ten groups each: one probe per list


def test_a_broken_spf_record_texts_only_when_it_fails_a_watched_address(local):
    """The SMS subscription's filter, as the template has it: SPF_RECORD_BROKEN goes by SMS when it
    is high (the record fails a watched address), not when it is a warning (it fails none yet)."""
    problem = {"code": "too-many-lookups", "detail": "the record needs 12 DNS lookups"}
    since = "2026-11-20T06:00:00+00:00"
    part = {"record": "v=spf1 ip4:192.0.2.25 include:a.example -all", "problems": [problem], "since": since}
    topic = AlertTopic(client("sns"), local.topic_arn)
    for watched in ({IPV4: "pass", IPV6: "permerror"}, {IPV4: "pass"}):
        (broken,) = decide_domain(
            "example.com", None, {"roles": ["sender"], "spf_record": {**part, "watched": watched}}
        )
        topic.publish(render(broken))
    assert [a["severity"] for a in local.inbox("email")] == ["high", "warning"]
    (sms,) = local.inbox("sms")
    assert (sms["event"], sms["severity"]) == ("SPF_RECORD_BROKEN", "high") and IPV6 in sms["sms"]
