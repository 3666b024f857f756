"""template.yaml: the digest's schedule and its switch, the dashboard of what the functions measure,
and its address among the outputs."""

import json
import re
from pathlib import Path

import pytest

from local.pipeline import load_template

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template():
    return load_template()


def test_the_digest_is_weekly_by_default_and_off_when_its_schedule_is_empty(template):
    parameter = template["Parameters"]["DigestSchedule"]
    assert parameter["Default"] == "cron(0 9 ? * MON *)"  # Mondays, once the daily check of 06:00 is over
    # (short-form tags read as their plain values: !Not [!Equals [!Ref DigestSchedule, ""]])
    assert template["Conditions"]["HasDigest"] == [["DigestSchedule", ""]]
    function = template["Resources"]["DigestFunction"]
    assert function["Condition"] == "HasDigest"
    assert template["Resources"]["DigestLogs"]["Condition"] == "HasDigest"
    assert template["Resources"]["DigestErrorsAlarm"]["Condition"] == "HasDigest"
    (event,) = function["Properties"]["Events"].values()
    assert event["Type"] == "ScheduleV2" and event["Properties"]["ScheduleExpression"] == "DigestSchedule"
    assert (REPO / function["Properties"]["CodeUri"] / "app.py").is_file()
    assert json.loads(event["Properties"]["Input"]) == json.loads((REPO / "events" / "digest.json").read_text())


def test_the_digest_reads_the_tables_and_publishes_to_the_topic_only(template):
    policies = template["Resources"]["DigestFunction"]["Properties"]["Policies"]
    reads = [p["DynamoDBReadPolicy"]["TableName"] for p in policies if "DynamoDBReadPolicy" in p]
    assert sorted(reads) == ["HealthTable", "HistoryTable", "TargetsTable"]  # read, never write
    assert {"SNSPublishMessagePolicy": {"TopicName": "AlertTopic.TopicName"}} in policies
    (statement,) = next(p for p in policies if "Statement" in p)["Statement"]
    assert statement["Resource"] == "AlertKey.Arn"


def test_the_sms_gets_the_digest_only_when_something_is_wrong(template):
    from senderwatch.alerttext.digest import ALL_WELL_EVENT, DIGEST_EVENT

    sms = template["Parameters"]["SmsEvents"]["Default"].split(",")
    assert DIGEST_EVENT in sms and ALL_WELL_EVENT not in sms


def _dashboard(template) -> dict:
    body, _values = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    return json.loads(re.sub(r"\$\{[^}]+\}", "x", body))


def _emitted() -> set[str]:
    """The metrics the functions emit (Powertools' add_metric, and add_counts with a dimension)."""
    names = set()
    for app in (REPO / "functions").glob("*/app.py"):
        text = app.read_text("utf-8")
        names |= set(re.findall(r'add_metric\(name="(\w+)"', text)) | set(re.findall(r'add_counts\("(\w+)"', text))
    return names


def test_the_dashboard_shows_what_an_operator_asks_from_metrics_that_exist(template):
    widgets = _dashboard(template)["widgets"]
    titles = " / ".join(w["properties"]["title"] for w in widgets)
    for wanted in (
        "Listed addresses per list",
        "SPF failing",
        "Lists unusable",
        "Checks run and failed",
        "Alerts sent",
        "Dead letters",
        "Run duration",
    ):
        assert wanted in titles
    ours = [m[1] for w in widgets for m in w["properties"]["metrics"] if m[0] == "Senderwatch"]
    searched = [
        re.search(r'MetricName="(\w+)"', m[0]["expression"]).group(1)
        for w in widgets
        for m in w["properties"]["metrics"]
        if isinstance(m[0], dict)
    ]
    assert searched == ["ListedAddresses"]
    assert set(ours + searched) <= _emitted()  # a renamed metric would leave a graph empty
    namespace = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    assert namespace == "Senderwatch"


def test_the_dashboards_address_is_an_output(template):
    url = template["Outputs"]["DashboardUrl"]["Value"]
    assert url.startswith("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home")
    assert url.endswith("#dashboards/dashboard/${Dashboard}")


def test_no_policy_of_ours_allows_every_resource(template):
    for name, resource in template["Resources"].items():
        for policy in resource.get("Properties", {}).get("Policies", []) or []:
            for statement in (policy.get("Statement", []) if isinstance(policy, dict) else []) or []:
                assert statement.get("Resource") != "*", name


def test_the_notifier_may_put_events_on_the_alert_bus_only_and_only_when_one_is_set(template):
    parameter = template["Parameters"]["AlertEventBus"]
    assert parameter["Default"] == ""  # off unless asked for
    pattern = re.compile(parameter["AllowedPattern"])
    for bus in ("", "default", "operations", "arn:aws:events:eu-central-1:123456789012:event-bus/operations"):
        assert pattern.fullmatch(bus), bus
    for bus in ("*", "arn:aws:events:eu-central-1:123456789012:*", "a bus"):
        assert not pattern.fullmatch(bus), bus
    function = template["Resources"]["NotifierFunction"]["Properties"]
    assert function["Environment"]["Variables"]["ALERT_EVENT_BUS"] == "AlertEventBus"
    # (short-form tags read as their plain values: !If [HasAlertEventBus, {Statement}, !Ref AWS::NoValue])
    (condition, policy, otherwise) = next(p for p in function["Policies"] if isinstance(p, list))
    assert (condition, otherwise) == ("HasAlertEventBus", "AWS::NoValue")
    (statement,) = policy["Statement"]
    assert statement["Action"] == "events:PutEvents"
    is_arn, given, named = statement["Resource"]
    assert (is_arn, given) == ("AlertEventBusIsArn", "AlertEventBus")
    assert named == "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${AlertEventBus}"
    assert template["Conditions"]["HasAlertEventBus"] == [["AlertEventBus", ""]]
