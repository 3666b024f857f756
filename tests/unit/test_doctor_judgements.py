"""The doctor's judgements on what AWS answers, where moto cannot answer it: a subscription still
pending or deleted, the SMS sandbox with an unverified number, a US number without an origination
identity, a first deployment that failed."""

import json
from datetime import UTC, datetime

from senderwatch.commands.diagnosis import FIX, OK, Doctor

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
STACK = {
    "StackStatus": "CREATE_COMPLETE",
    "Outputs": [
        {"OutputKey": "TargetsTableName", "OutputValue": "targets"},
        {"OutputKey": "AlertTopicArn", "OutputValue": "arn:aws:sns:eu-central-1:123456789012:alerts"},
    ],
    "Parameters": [
        {"ParameterKey": "DqsKeyParameter", "ParameterValue": ""},
        {"ParameterKey": "Zones", "ParameterValue": "bl.spamcop.net"},
    ],
}


class Pages:
    def __init__(self, pages):
        self.pages = pages

    def paginate(self, **_):
        return iter(self.pages)


class Fake:
    """A boto3 client answering from canned replies: name -> reply (or a callable)."""

    def __init__(self, **replies):
        self.replies = replies

    def __getattr__(self, name):
        reply = self.replies[name]
        return reply if callable(reply) else (lambda **_: reply)

    def get_paginator(self, name):
        return Pages(self.replies[name])


def doctor(stack=STACK, subscriptions=(), sandbox=None, verified=(), origination=(), limit="10", events=None):
    clients = {
        "cloudformation": Fake(describe_stacks={"Stacks": [stack]}),
        "dynamodb": Fake(scan=[{"Count": 3}]),
        "sns": Fake(
            list_subscriptions_by_topic=[{"Subscriptions": list(subscriptions)}],
            get_sms_sandbox_account_status={"IsInSandbox": sandbox},
            list_sms_sandbox_phone_numbers=[
                {"PhoneNumbers": [{"PhoneNumber": n, "Status": "Verified"} for n in verified]}
            ],
            get_sms_attributes={"attributes": {"MonthlySpendLimit": limit}},
            list_origination_numbers={"PhoneNumbers": list(origination)},
            get_subscription_attributes={
                "Attributes": {"FilterPolicy": json.dumps({"event": events or ["LISTED", "TEST_ALERT"]})}
            },
        ),
    }
    d = Doctor(lambda name: clients[name], "senderwatch", NOW)
    assert d._stack()
    d._subscriptions()
    return d.findings


def by_kind(findings):
    return {(f.what, f.status): f for f in findings}


def sub(protocol, endpoint, arn):
    return {"Protocol": protocol, "Endpoint": endpoint, "SubscriptionArn": arn}


def test_a_pending_and_a_deleted_subscription_reach_no_one():
    found = doctor(
        subscriptions=[
            sub("email", "admin@example.com", "PendingConfirmation"),
            sub("email", "old@example.com", "Deleted"),
            sub("email", "ops@example.com", "arn:aws:sns:eu-central-1:123456789012:alerts:1"),
        ]
    )
    assert sorted(f.said for f in found if f.status == FIX) == [
        "admin@example.com has not confirmed the subscription: no alert reaches it",
        "old@example.com: the subscription is Deleted: no alert reaches it",
    ]
    assert by_kind(found)[("email", OK)].said == "ops@example.com is subscribed and confirmed"


def test_in_the_sandbox_an_unverified_number_gets_no_sms_and_a_us_number_needs_a_sender():
    found = by_kind(
        doctor(
            subscriptions=[sub("sms", "+15555550100", "arn:aws:sns:eu-central-1:123456789012:alerts:2")],
            sandbox=True,
            verified=["+4915112345678"],
            limit="1",
        )
    )
    sandbox = found[("SMS sandbox", FIX)]
    assert "+15555550100 is not verified" in sandbox.said
    assert sandbox.fix.startswith("aws sns create-sms-sandbox-phone-number --phone-number +15555550100")
    assert "$1, the default" in found[("SMS spend", FIX)].said
    assert "origination identity" in found[("SMS sender", FIX)].said


def test_out_of_the_sandbox_with_a_budget_and_a_sender_sms_is_well():
    found = by_kind(
        doctor(
            subscriptions=[sub("sms", "+15555550100", "arn:aws:sns:eu-central-1:123456789012:alerts:2")],
            sandbox=False,
            origination=[{"PhoneNumber": "+18005550199"}],
        )
    )
    assert {what for what, status in found if status == FIX} == set()
    assert found[("SMS spend", OK)].said == "monthly SMS spend limit $10"


def test_a_failed_first_deployment_is_to_be_deleted_and_deployed_again():
    clients = {"cloudformation": Fake(describe_stacks={"Stacks": [{"StackStatus": "ROLLBACK_COMPLETE"}]})}
    d = Doctor(lambda name: clients[name], "senderwatch", NOW)
    assert d.run() == d.findings and len(d.findings) == 1
    (finding,) = d.findings
    assert finding.status == FIX and "sam delete --stack-name senderwatch" in finding.fix


def test_an_sms_subscription_from_before_test_alerts_is_told_to_deploy_again():
    found = by_kind(
        doctor(
            subscriptions=[sub("sms", "+4915112345678", "arn:aws:sns:eu-central-1:123456789012:alerts:3")],
            sandbox=False,
            events=["LISTED", "SPF_FAILING"],
        )
    )
    assert found[("SMS filter", FIX)].said == "+4915112345678 gets LISTED, SPF_FAILING by SMS, but not test alerts"
