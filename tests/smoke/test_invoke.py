"""`make invoke`: the built functions run on every sample event (and on the events
`sam local generate-event` writes), against the local stack, as `sam local invoke` runs them."""

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from local.pipeline import REPO, BuiltFunctions
from local.stack import BUILD, CREDENTIALS, LocalStack, declared

EVENTS = REPO / "events"
GENERATED = Path(__file__).resolve().parents[1] / "data" / "generate-event"
SAMPLES = {  # every file in events/, with the function that takes it
    "schedule.json": "SchedulerFunction",
    "stream-new-target.json": "SchedulerFunction",
    "sqs-check-batch.json": "CheckerFunction",
    "sqs-check-host.json": "CheckerFunction",
    "stream-listed.json": "NotifierFunction",
    "stream-list-unusable.json": "NotifierFunction",
    "stream-address-added.json": "NotifierFunction",
    "stream-spf-record-broken.json": "NotifierFunction",
    "stream-receiver-blocked.json": "NotifierFunction",
    "cloudwatch-logs-bounce.json": "BouncesFunction",
    "digest.json": "DigestFunction",
    "sns-alert-listed.json": "AppriseFunction",
}


def test_every_sample_event_has_its_function():
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted(SAMPLES)


@pytest.fixture(scope="module")
def stack():
    if not (BUILD / "SenderwatchLayer" / "python" / "senderwatch").is_dir():
        pytest.fail("no `sam build` output in .aws-sam/build: run `make build` (make test does)")
    with LocalStack() as running:
        yield running


@pytest.mark.parametrize(("event", "function"), SAMPLES.items())
def test_each_sample_event_runs_on_the_built_function(stack, event, function):
    env = {**stack.env(), **CREDENTIALS}  # the env file, and what sam takes from --region and your profile
    response, logs = BuiltFunctions(BUILD).invoke(function, json.loads((EVENTS / event).read_text()), env)
    assert not [line for line in logs if '"level":"ERROR"' in line]
    if function == "SchedulerFunction":
        assert response["targets"] >= 1 and response["messages"] >= 1
    elif function == "BouncesFunction":  # the story's ban among the log's other lines
        assert (response["lines"], response["rejections"]) == (4, 1)
        blocks = stack.pipeline.health_item("receiver:microsoft")["health"]["blocks"]
        assert blocks["192.0.2.25|5.7.606"]["status"] == "blocked"
    elif function == "DigestFunction":  # the week's summary of the stack's targets, by email
        assert response["targets"] >= 1
    elif function == "AppriseFunction":  # to the stack's one Apprise URL, its JSON webhook
        assert response == {"delivered": 1, "parked": 0}
        (sent,) = stack.webhook.received
        stack.webhook.received.clear()
        assert (sent["title"], sent["type"]) == ("192.0.2.25 (postfix-1) is listed on dnsbl.justspam.org", "failure")
    else:
        assert response == {"batchItemFailures": []}
    expected = {
        "stream-listed.json": ["LISTED"],
        "stream-list-unusable.json": ["CHECK_FAILING"],
        "stream-address-added.json": ["ADDRESS_ADDED", "SPF_FAILING"],
        "stream-spf-record-broken.json": ["SPF_RECORD_BROKEN"],
        "stream-receiver-blocked.json": ["RECEIVER_BLOCKED"],
        "digest.json": ["DIGEST"],  # the story's targets have problems open
    }
    if event in expected:
        sqs = boto3.client("sqs")
        got = sqs.receive_message(QueueUrl=stack.pipeline.inboxes["email"], MaxNumberOfMessages=10)["Messages"]
        assert sorted(json.loads(json.loads(m["Body"])["Message"])["event"] for m in got) == expected[event]
        for message in got:
            sqs.delete_message(QueueUrl=stack.pipeline.inboxes["email"], ReceiptHandle=message["ReceiptHandle"])
    if event == "sqs-check-host.json":
        item = stack.pipeline.item("mail.example.com")
        assert sorted(item["findings"]["addresses"]) == ["192.0.2.25", "2001:db8::25"]


@pytest.mark.parametrize(
    ("event", "function", "expected"),
    [
        ("sqs-receive-message.json", "CheckerFunction", "a failure for that message alone"),
        ("dynamodb-update.json", "SchedulerFunction", "records without an 'ip' key skipped"),
        ("dynamodb-update.json", "NotifierFunction", "no alert"),
        ("cloudwatch-scheduled-event.json", "SchedulerFunction", "a scheduled run"),
        ("cloudwatch-logs.json", "BouncesFunction", "someone else's log lines read, nothing found"),
    ],
)
def test_the_handlers_take_the_events_sam_local_generate_event_writes(stack, event, function, expected):
    raw = json.loads((GENERATED / event).read_text())
    response, logs = BuiltFunctions(BUILD).invoke(function, raw, {**stack.env(), **CREDENTIALS})
    if function == "CheckerFunction":  # "Hello from SQS!" is not a message of ours
        assert response == {"batchItemFailures": [{"itemIdentifier": raw["Records"][0]["messageId"]}]}
        assert any("InvalidMessage: the message is not JSON" in line for line in logs)
    elif event == "dynamodb-update.json" and function == "SchedulerFunction":
        assert response["targets"] == 0
        assert sum("without an 'ip' key" in line for line in logs) == 1  # the INSERT
        assert sum("not an INSERT" in line for line in logs) == 2  # the MODIFY and the REMOVE
    elif function == "NotifierFunction":
        assert response == {"batchItemFailures": []}
    elif function == "BouncesFunction":
        assert (response["lines"], response["rejections"]) == (2, 0)
    else:
        assert response["targets"] == 3  # the local stack's targets: two addresses and a host


def test_make_invoke_prints_the_logs_and_the_response():
    proc = subprocess.run(
        [sys.executable, "-m", "local.stack", "invoke", "NotifierFunction", "events/stream-listed.json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index("--- logs") < out.index('"message":"alert sent"') < out.index("--- response")
    response = out.split("--- response", 1)[1].split("\n", 1)[1].split("--- published", 1)[0]
    assert json.loads(response) == {"batchItemFailures": []}
    assert "subject: 192.0.2.25 (postfix-1) is listed on dnsbl.justspam.org" in out  # what reached the topic


def test_the_env_file_sets_only_what_sam_local_invoke_passes_on(stack, tmp_path):
    """SAM applies --env-vars only to the variables the template declares; the rest would be lost.
    (Written aside: a `make local-stack` running beside the tests keeps its own files.)"""
    stack.write_files(tmp_path)
    container = json.loads((tmp_path / "env.json").read_text())["Parameters"]
    local = json.loads((tmp_path / "env-local.json").read_text())["Parameters"]
    assert list(container) == list(local) == declared()
    assert container["LOCAL_AWS_ENDPOINT"].startswith("http://172.17.0.1:")
    assert container["NAMESERVERS"].startswith("172.17.0.1:") and "127.0.0.1" not in json.dumps(container)


@pytest.mark.parametrize(
    ("function", "event", "says"),
    [
        ("NoSuchFunction", "events/schedule.json", "the functions are SchedulerFunction"),
        ("CheckerFunction", "events/no-such-event.json", "cannot read the event"),
        ("CheckerFunction", "README.md", "cannot read the event"),
    ],
)
def test_make_invoke_refuses_bad_input_in_one_line(function, event, says):
    proc = subprocess.run(
        [sys.executable, "-m", "local.stack", "invoke", function, event],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and says in proc.stderr and proc.stderr.count("\n") == 1


def test_an_event_for_another_function_is_an_error_lambda_would_report(stack):
    response, logs = BuiltFunctions(BUILD).invoke(
        "CheckerFunction", json.loads((EVENTS / "stream-listed.json").read_text()), {**stack.env(), **CREDENTIALS}
    )
    assert response == {
        "errorType": "InvalidMessage",  # senderwatch's own: an event that is not one of ours
        "errorMessage": "not an SQS event: every record needs a 'messageId'",
    }


def test_doctor_and_test_alert_answer_for_the_local_stack_over_its_endpoint(stack):
    """As a user runs them against `make local-stack`: the moto server at AWS_ENDPOINT_URL."""
    env = {**CREDENTIALS, "PATH": "/usr/bin:/bin", "AWS_ENDPOINT_URL": stack.env()["LOCAL_AWS_ENDPOINT"]}
    env["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"

    def run(*argv):
        return subprocess.run(  # noqa: S603 - our own command
            [str(REPO / ".venv" / "bin" / "senderwatch"), *argv], capture_output=True, text=True, env=env, timeout=120
        )

    doctor = run("doctor", "--stack", "senderwatch-local")
    assert doctor.returncode == 3, doctor.stdout + doctor.stderr  # the functions are not on moto: the probe cannot run
    assert "ok   stack" in doctor.stdout and "ok   DQS key" in doctor.stdout and "Traceback" not in doctor.stderr
    stack.pipeline.inbox("sms")  # what the other samples sent
    alert = run("test-alert", "--stack", "senderwatch-local")
    assert alert.returncode == 0 and "TEST ALERT" in alert.stdout
    assert [a["event"] for a in stack.pipeline.inbox("sms")] == ["TEST_ALERT"]
