"""Alerts on an EventBridge bus (AlertEventBus), on in-process moto: a rule on the bus matching
source senderwatch, with a queue as its target, receives each alert once, as the topic does, even
when one of them fails and the stream delivers the change again."""

import json
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from local.pipeline import LocalPipeline, create_table
from senderwatch.alerttext import render
from senderwatch.aws import AlertBus, AlertLog, AlertTopic, event_entry
from senderwatch.findings import Alert
from senderwatch.notifier import Change, notify

SINCE, LATER = "2026-11-27T06:00:00+00:00", "2026-11-29T06:00:00+00:00"


def listed_item(ip: str, zones: dict[str, bool], when: str = SINCE) -> dict:
    dnsbl = {
        zone: {"status": "listed", "since": when, "codes": ["127.0.0.2"]}
        if listed
        else {"status": "clean", "since": when}
        for zone, listed in zones.items()
    }
    return {"ip": ip, "label": "relay", "findings": {"dnsbl": dnsbl}}


def queue(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def routed_to_a_queue(bus: str) -> str:
    """A rule on BUS matching senderwatch's events, with a queue as its target: the queue's URL."""
    events = boto3.client("events")
    url, arn = queue(boto3.client("sqs"), f"routed-from-{bus}")
    events.put_rule(Name="senderwatch-alerts", EventBusName=bus, EventPattern='{"source": ["senderwatch"]}')
    events.put_targets(Rule="senderwatch-alerts", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def drain(sqs, url: str) -> list[dict]:
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


@pytest.fixture
def aws(fake_aws):
    """The sent log, the topic with a queue subscribed, and a bus whose rule sends senderwatch's
    events to a queue, as a user would route them."""
    with mock_aws():
        sqs, sns, events = boto3.client("sqs"), boto3.client("sns"), boto3.client("events")
        table = create_table("IdempotencyTable", "senderwatch-sent")
        topic = sns.create_topic(Name="senderwatch-alerts")["TopicArn"]
        inbox, inbox_arn = queue(sqs, "subscriber")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
        bus = events.create_event_bus(Name="operations")["EventBusArn"]
        routed = routed_to_a_queue("operations")
        yield SimpleNamespace(
            sqs=sqs,
            log=AlertLog.named(table),
            topic=AlertTopic(sns, topic),
            bus=AlertBus(events, bus),
            topic_arn=topic,
            inbox=inbox,
            routed=routed,
        )


def test_a_rule_on_the_bus_gets_each_alert_once_a_listing_its_delisting_and_a_group(aws):
    listing = Change("1", listed_item("192.0.2.25", {"bl.a": False}), listed_item("192.0.2.25", {"bl.a": True}))
    delisting = Change("2", listing.new, listed_item("192.0.2.25", {"bl.a": False}, LATER))
    group = [
        Change(f"3{n}", listed_item(ip, {"bl.b": False}), listed_item(ip, {"bl.b": True}))
        for n, ip in enumerate(("192.0.2.26", "192.0.2.27", "2001:db8::27"))
    ]
    for delivery in ([listing], [delisting], group):
        for _ in range(2):  # the stream delivers it again (a retry, a batch cut differently): nothing twice
            outcome = notify(delivery, aws.log, aws.topic, aws.bus)
            assert outcome.failed == []

    events = drain(aws.sqs, aws.routed)
    assert [(e["source"], e["detail-type"]) for e in events] == [
        ("senderwatch", "LISTED"),
        ("senderwatch", "DELISTED"),
        ("senderwatch", "LISTED"),
    ]
    published = drain(aws.sqs, aws.inbox)  # the topic's sqs variant: the same documents
    assert [e["detail"] for e in events] == published
    assert events[0]["detail"]["ip"] == "192.0.2.25" and events[0]["detail"]["zone"] == "bl.a"
    assert events[2]["detail"]["ip"] == ["192.0.2.26", "192.0.2.27", "2001:db8::27"]
    assert events[2]["detail"]["count"] == 3 and events[2]["detail"]["subject"].startswith("3 addresses")
    assert {"subject", "email", "sms", "markdown", "severity"} <= set(events[1]["detail"])


@pytest.mark.parametrize("down", ["bus", "topic"])
def test_when_one_destination_fails_the_redelivered_change_reaches_only_that_one(aws, down):
    change = Change("7", listed_item("192.0.2.25", {"bl.a": False}), listed_item("192.0.2.25", {"bl.a": True}))
    missing = {  # a bus or a topic that is not there: AWS refuses the call
        "bus": dict(bus=AlertBus(boto3.client("events"), "no-such-bus")),
        "topic": dict(topic=AlertTopic(boto3.client("sns"), aws.topic_arn + "-gone")),
    }[down]
    destinations = {"topic": aws.topic, "bus": aws.bus, **missing}

    first = notify([change], aws.log, destinations["topic"], destinations["bus"])
    assert first.failed == ["7"]  # the stream delivers it again
    again = notify([change], aws.log, aws.topic, aws.bus)
    third = notify([change], aws.log, aws.topic, aws.bus)

    assert again.failed == [] and (again.messages, again.events) == ((1, 0) if down == "topic" else (0, 1))
    assert (third.messages, third.events) == (0, 0)
    assert len(drain(aws.sqs, aws.inbox)) == 1 and len(drain(aws.sqs, aws.routed)) == 1  # each once, no more


def test_the_notifier_puts_the_sample_listing_on_the_bus_the_parameter_names_once(fake_aws, event):
    with mock_aws():
        boto3.client("events").create_event_bus(Name="operations")
        sqs, routed = boto3.client("sqs"), routed_to_a_queue("operations")
        local = LocalPipeline(env={"ALERT_EVENT_BUS": "operations"}).create()  # AlertEventBus=operations
        variables = local.resource("NotifierFunction")["Environment"]["Variables"]
        assert variables["ALERT_EVENT_BUS"] == "AlertEventBus"  # (short-form tags read as their plain values)

        for _ in range(2):
            assert local.invoke("notifier", event("stream-listed.json")) == {"batchItemFailures": []}

        (routed_event,) = drain(sqs, routed)
        (published,) = local.inbox("email")
        assert routed_event["detail-type"] == "LISTED" and routed_event["detail"] == published


def test_an_alert_too_large_for_an_entry_gives_up_the_texts_for_people_and_says_so():
    text = render(Alert("LISTED", "192.0.2.25", SINCE, "bl.a", {"status": "listed", "codes": ["127.0.0.2"]}))
    whole = event_entry(text, "operations")
    small = event_entry(text, "operations", limit=len(whole["Detail"]) - len(text.email) + 100)

    assert (whole["Source"], whole["DetailType"], whole["EventBusName"]) == ("senderwatch", "LISTED", "operations")
    assert json.loads(whole["Detail"]) == json.loads(json.dumps(text.document()))
    detail = json.loads(small["Detail"])
    assert "email" not in detail and detail["cut"]["email"] == "left out"
    assert (detail["subject"], detail["sms"], detail["ip"]) == (text.subject, text.sms, "192.0.2.25")
