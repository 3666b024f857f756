"""`senderwatch doctor` and `senderwatch test-alert` against the local stack on moto: every silent
first-deploy failure named with its fix; what moto cannot say is "could not check", never "well"."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from local.world import DQS_KEY
from senderwatch.aws import client
from senderwatch.commands.diagnosis import FIX, OK, UNKNOWN, Doctor, exit_status, next_run
from senderwatch.dnssession import DnsInvocation, probe_lists


@pytest.fixture
def deployed(local):
    """The local stack as `sam deploy` leaves it, with the DQS key in SSM and one target checked."""
    local.register_stack("senderwatch-local", {"DqsKeyParameter": "/senderwatch/dqs-key"})
    local.put_target({"ip": "192.0.2.25", "sender": "example.com", "enabled": True})
    local.settle()
    local.inbox("email"), local.inbox("sms")  # the target's own alerts: not this test's
    return local


def probe(local, dqs_key=DQS_KEY):
    """The checker's probe, as the deployed function runs it: through the deployment's resolver."""
    return lambda: probe_lists(DnsInvocation([local.dns_server.address], 0.5, (), dqs_key))


def by_what(findings):
    return {f.what: f for f in findings}


def test_a_healthy_local_stack_is_well_in_all_that_can_be_checked(deployed, cli):
    findings = Doctor(client, "senderwatch-local", probe=probe(deployed)).run()
    checks = by_what(findings)
    assert [f for f in findings if f.status == FIX] == []
    assert checks["stack"].said == "senderwatch-local: CREATE_COMPLETE"
    assert checks["targets"].said.startswith("1 target watched")
    assert checks["DQS key"].status == OK and DQS_KEY not in json.dumps([f.said for f in findings])
    assert checks["schedule"].said.startswith("enabled: cron(0 6 * * ? *), next run ")
    assert checks["dead letters"].said == "none waiting" and checks["failed alerts"].said == "none waiting"
    assert checks["alarms"].said == "none of the 1 alarms is firing" and checks["last run"].status == OK
    assert checks["lists"].said == "20 list(s) answer the deployment's resolver"  # 17 address lists, 3 domain lists
    assert checks["dashboard"].said == (
        "https://eu-central-1.console.aws.amazon.com/cloudwatch/home?region=eu-central-1"
        "#dashboards/dashboard/senderwatch-local-Dashboard"
    )
    # The local stack's subscribers are queues: no SMS, so nothing to say of the SMS sandbox.
    assert exit_status(findings) == 0


def test_every_silent_failure_of_a_fresh_deployment_is_named_with_its_fix(local, cli):
    local.register_stack("senderwatch-broken", {"DqsKeyParameter": "/senderwatch/missing"})
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    sns.subscribe(TopicArn=local.topic_arn, Protocol="sms", Endpoint="+15555550100")
    boto3.client("scheduler").update_schedule(
        Name="senderwatch-broken-daily",
        ScheduleExpression="cron(0 6 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:lambda:eu-central-1:123456789012:function:x", "RoleArn": "arn:aws:iam::1:role/r"},
        State="DISABLED",
    )
    sqs.send_message(QueueUrl=local.dead_letter_url, MessageBody="{}")
    findings = Doctor(client, "senderwatch-broken", probe=probe(local, dqs_key=None)).run()
    fixes = {f.what: f for f in findings if f.status == FIX}
    assert (
        fixes["targets"].fix
        == "senderwatch targets add mail.example.com --sender example.com --stack senderwatch-broken"
    )
    assert (
        "does not exist" in fixes["DQS key"].said
        and "aws ssm put-parameter --name /senderwatch/missing" in fixes["DQS key"].fix
    )
    assert fixes["schedule"].said.startswith("the schedule senderwatch-broken-daily is DISABLED: no scheduled run")
    assert (
        fixes["dead letters"].said == "1 message(s) waiting" and "start-message-move-task" in fixes["dead letters"].fix
    )
    assert "$1, the default" in fixes["SMS spend"].said
    zen = next(f for f in findings if f.what == "list" and f.said.startswith("zen.spamhaus.org"))
    assert "(IPv4, IPv6)" in zen.said and "blocked" in zen.said and "DQS key" in zen.fix
    # moto has no SMS sandbox nor origination numbers: said so, not taken for well
    unknown = {f.what for f in findings if f.status == UNKNOWN}
    assert {"SMS sandbox", "SMS sender"} <= unknown
    assert exit_status(findings) == 1


def test_the_command_prints_a_line_per_check_and_exits_by_what_it_found(deployed, cli):
    status, out, err = cli("doctor", "--stack", "senderwatch-local")
    assert err == "" and out.startswith("senderwatch doctor: stack senderwatch-local in eu-central-1\n")
    assert "ok   stack" in out and "??   lists" in out  # the functions are not on moto: the probe cannot run
    assert status == 3 and out.rstrip().endswith("1 could not be checked (see ??).")
    status, out, _ = cli("doctor", "--stack", "senderwatch-local", "--format", "json")
    document = json.loads(out)
    assert status == 3 and document["status"] == "unknown" and {c["status"] for c in document["checks"]} >= {"ok"}
    status, out, err = cli("doctor", "--stack", "no-such-stack")  # as every command says it: exit 4
    assert (status, out) == (4, "") and "no stack no-such-stack in eu-central-1: a typo" in err
    status, _, err = cli("doctor")
    assert status == 2 and "needs the stack" in err
    long = "senderwatch-" + "x" * 100  # a long stack name: the subject and SMS stay in their limits
    deployed.register_stack(long)
    assert cli("test-alert", "--stack", long)[0] == 0
    (alert,) = deployed.inbox("sms")
    assert len(alert["subject"]) < 100 and len(alert["sms"]) <= 160


def test_a_test_alert_reaches_email_and_sms_and_touches_nothing(deployed, cli):
    before = deployed.item("192.0.2.25")
    status, out, err = cli("test-alert", "--stack", "senderwatch-local")
    assert (status, err) == (0, "") and "look for 'senderwatch TEST ALERT'" in out
    assert "Apprise" not in out  # no Apprise URLs in this stack: nothing said of them
    (email,) = deployed.inbox("email")
    (sms,) = deployed.inbox("sms")  # the SMS subscription's filter lets TEST_ALERT through
    assert email["event"] == "TEST_ALERT" and "nothing is wrong" in email["email"]
    assert len(sms["sms"]) <= 160 and sms["sms"].startswith("senderwatch TEST ALERT")
    assert deployed.item("192.0.2.25") == before


def test_doctor_says_when_the_digest_goes_out_or_that_it_is_off(local):
    local.register_stack("senderwatch-weekly", {"DigestSchedule": "cron(0 7 ? * MON *)"})
    local.register_stack("senderwatch-quiet", {"DigestSchedule": ""})
    weekly = by_what(Doctor(client, "senderwatch-weekly", probe=probe(local)).run())["digest"]
    quiet = by_what(Doctor(client, "senderwatch-quiet", probe=probe(local)).run())["digest"]
    assert weekly.said == "sent cron(0 7 ? * MON *) by email (by SMS too when something is wrong)"
    assert quiet.said.startswith("off (DigestSchedule is empty): a quiet week may be a broken monitor")


def test_the_next_run_of_a_daily_schedule():
    now = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
    assert next_run("cron(0 6 * * ? *)", now) == datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    assert next_run("cron(30 9,18 * * ? *)", now) == datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    assert next_run("rate(12 hours)", now) == now + timedelta(hours=12)
    assert next_run("cron(0 6 ? * MON *)", now) is None  # shown as written, not guessed


def test_with_only_the_table_it_counts_the_targets_and_says_what_it_cannot_see(deployed, cli):
    status, out, err = cli("doctor", "--table", deployed.table_name)
    assert status == 3 and err == ""
    assert "ok   targets" in out and "??   stack" in out and "give the stack instead" in out


def test_doctor_says_when_the_zones_leave_the_domain_lists_out_or_cannot_be_read(local):
    local.register_stack("senderwatch-named", {"Zones": "zen.spamhaus.org dnsbl.justspam.org"})
    local.register_stack("senderwatch-changed", {"Zones": "-bl.spamcop.net +bl.example.org"})
    local.register_stack("senderwatch-typo", {"Zones": "-bl.spamcop.nte"})
    local.register_stack("senderwatch-no-spamhaus", {"Zones": "-zen.spamhaus.org -dbl.spamhaus.org"})
    named = by_what(Doctor(client, "senderwatch-named", probe=probe(local)).run())
    assert named["domain lists"].status == "info"
    assert "names no domain list, so no sender domain, HELO or PTR name is rated" in named["domain lists"].said
    changed = by_what(Doctor(client, "senderwatch-changed", probe=probe(local)).run())
    assert "domain lists" not in changed and "zones" not in changed
    typo = by_what(Doctor(client, "senderwatch-typo", probe=probe(local)).run())
    assert typo["zones"].status == FIX and "the checker cannot start" in typo["zones"].said
    assert "bl.spamcop.nte is not one of the default lists" in typo["zones"].said
    # Without Spamhaus in its lists, a deployment needs no DQS key.
    assert "DQS key" not in by_what(Doctor(client, "senderwatch-no-spamhaus", probe=probe(local)).run())
    assert by_what(Doctor(client, "senderwatch-changed", probe=probe(local)).run())["DQS key"].status == FIX
