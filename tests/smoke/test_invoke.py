"""`make invoke`: the built functions run on every sample event (and on the events
`sam local generate-event` writes), against the local stack, as `sam local invoke` runs them."""

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.support.localaws import REPO, BuiltFunctions
from tests.support.localstack import BUILD, LocalStack

EVENTS = REPO / "events"
GENERATED = Path(__file__).resolve().parents[1] / "data" / "generate-event"
SAMPLES = {  # every file in events/, with the function that takes it
    "schedule.json": "SchedulerFunction",
    "stream-new-target.json": "SchedulerFunction",
    "sqs-check-batch.json": "CheckerFunction",
    "stream-listed.json": "NotifierFunction",
    "stream-list-unusable.json": "NotifierFunction",
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
    response, logs = BuiltFunctions(BUILD).invoke(function, json.loads((EVENTS / event).read_text()), stack.env())
    assert not [line for line in logs if '"level":"ERROR"' in line]
    if function == "SchedulerFunction":
        assert response["targets"] >= 1 and response["messages"] >= 1
    else:
        assert response == {"batchItemFailures": []}
    if event == "stream-listed.json":
        (message,) = boto3.client("sqs").receive_message(QueueUrl=stack.pipeline.inboxes["email"])["Messages"]
        assert json.loads(json.loads(message["Body"])["Message"])["event"] == "LISTED"


@pytest.mark.parametrize(
    ("event", "function", "expected"),
    [
        ("sqs-receive-message.json", "CheckerFunction", "a failure for that message alone"),
        ("dynamodb-update.json", "SchedulerFunction", "records without an 'ip' key skipped"),
        ("dynamodb-update.json", "NotifierFunction", "no alert"),
        ("cloudwatch-scheduled-event.json", "SchedulerFunction", "a scheduled run"),
    ],
)
def test_the_handlers_take_the_events_sam_local_generate_event_writes(stack, event, function, expected):
    raw = json.loads((GENERATED / event).read_text())
    response, logs = BuiltFunctions(BUILD).invoke(function, raw, stack.env())
    if function == "CheckerFunction":  # "Hello from SQS!" is not a message of ours
        assert response == {"batchItemFailures": [{"itemIdentifier": raw["Records"][0]["messageId"]}]}
        assert any("InvalidMessage: the message is not JSON" in line for line in logs)
    elif event == "dynamodb-update.json" and function == "SchedulerFunction":
        assert response["targets"] == 0 and sum("without an 'ip' key" in line for line in logs) == 3
    elif function == "NotifierFunction":
        assert response == {"batchItemFailures": []}
    else:
        assert response["targets"] == 2  # the local stack's two targets


def test_make_invoke_prints_the_logs_and_the_response():
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.localstack", "invoke", "NotifierFunction", "events/stream-listed.json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index("--- logs") < out.index('"message":"alert sent"') < out.index("--- response")
    assert json.loads(out.split("--- response", 1)[1].split("\n", 1)[1]) == {"batchItemFailures": []}
