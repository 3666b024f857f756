"""The Apprise function: real Apprise against real HTTP servers on loopback speaking ntfy's,
Mattermost's and a JSON webhook's API; the URLs in an SSM SecureString and the dead-letter queue on
in-process moto."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from senderwatch import relay
from senderwatch.alerttext import marked_test_alert, render
from senderwatch.aws import client, publish_args
from senderwatch.commands.diagnosis import Doctor
from senderwatch.errors import InvalidLines
from senderwatch.findings import Alert, Event

PARAMETER = "/senderwatch/apprise-urls"
SECRETS = ("mmtokensecret42", "hooksecret77", "ntfysecret99")


class Service:
    """An HTTP server on a free loopback port: every request it gets, and the status codes to answer
    with in turn (then 200)."""

    def __init__(self, *answers: int):
        self.requests: list[dict] = []
        self.answers = list(answers)
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                service.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = service.answers.pop(0) if service.answers else 200
                reply = json.dumps({"id": "x1", "time": 1, "event": "message"} if status == 200 else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def json(self, n: int = 0) -> dict:
        return json.loads(self.requests[n]["body"])


@pytest.fixture
def services():
    with Service() as ntfy, Service() as mattermost, Service() as webhook:
        yield ntfy, mattermost, webhook


@pytest.fixture
def stack(local, monkeypatch):
    """The stack on moto with the Apprise function's dead-letter queue and its parameter."""
    monkeypatch.setattr(relay, "BACKOFF", 0.01)
    dlq = boto3.client("sqs").create_queue(QueueName="senderwatch-apprise-dlq")["QueueUrl"]
    monkeypatch.setenv("APPRISE_URLS_PARAMETER", PARAMETER)
    monkeypatch.setenv("APPRISE_DEAD_LETTER_URL", dlq)
    local.apprise_dead_letter_url = dlq
    return local


def put_urls(text: str) -> None:
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value=text, Type="SecureString", Overwrite=True)


def urls(ntfy, mattermost, webhook, mm_events="", hook_events="") -> str:
    return (
        "# senderwatch's channels\n"
        f"ntfy://127.0.0.1:{ntfy.port}/mail-alerts\n"
        "\n"
        f"mmost://127.0.0.1:{mattermost.port}/{SECRETS[0]}   {mm_events}   # the ops channel\n"
        f"json://127.0.0.1:{webhook.port}/hooks/{SECRETS[1]}  {hook_events}\n"
    )


def sns_event(text, message_id="msg-1") -> dict:
    """What SNS delivers to a subscribed function: the publish's `lambda` variant."""
    published = publish_args(text, "arn:aws:sns:eu-central-1:123456789012:alerts")
    message = json.loads(published["Message"])["lambda"]
    attributes = {
        k: {"Type": v["DataType"], "Value": v["StringValue"]} for k, v in published["MessageAttributes"].items()
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "Subject": published["Subject"],
                    "Message": message,
                    "MessageAttributes": attributes,
                },
            }
        ]
    }


LISTED = render(Alert(Event.LISTED, "192.0.2.25", "2026-12-08T06:00:00+00:00", "dnsbl.justspam.org"), "postfix-1")
DELISTED = render(Alert(Event.DELISTED, "192.0.2.25", "2026-12-09T06:00:00+00:00", "dnsbl.justspam.org"), "postfix-1")


def parked(stack) -> list[dict]:
    got = boto3.client("sqs").receive_message(QueueUrl=stack.apprise_dead_letter_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_each_service_gets_the_alert_as_its_api_expects(stack, services):
    ntfy, mattermost, webhook = services
    put_urls(urls(*services))
    reply = stack.invoke("apprise", sns_event(LISTED))
    assert reply == {"delivered": 3, "parked": 0}
    # ntfy: a JSON publish to the server's root, the topic in it, priority and tags as headers
    (sent,) = ntfy.requests
    assert sent["path"] == "/"
    assert ntfy.json()["topic"] == "mail-alerts"
    assert ntfy.json()["title"] == LISTED.subject
    assert "dnsbl.justspam.org" in ntfy.json()["message"]
    assert sent["headers"]["X-Priority"] == "high"
    assert set(sent["headers"]["X-Tags"].split(",")) == {"rotating_light", "LISTED"}
    # Mattermost: an incoming webhook, /hooks/TOKEN, with the text
    (sent,) = mattermost.requests
    assert sent["path"] == f"/hooks/{SECRETS[0]}"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert LISTED.subject in mattermost.json()["text"] and "192.0.2.25" in mattermost.json()["text"]
    # a JSON webhook: Apprise's document, the title, the message and the type from the severity
    (sent,) = webhook.requests
    assert sent["path"] == f"/hooks/{SECRETS[1]}"
    document = webhook.json()
    assert document["title"] == LISTED.subject and document["type"] == "failure"
    assert "What to do" in document["message"] or "delist" in document["message"].lower()
    assert parked(stack) == []
    # the title once: as the title where the service shows one, at the top of the text where it has none
    assert LISTED.subject not in ntfy.json()["message"] and LISTED.subject not in document["message"]
    assert ntfy.json()["message"] == webhook.json()["message"] == LISTED.markdown.partition("\n\n")[2]
    assert mattermost.json()["text"].count(LISTED.subject) == 1


def test_a_clearing_alert_is_good_news_where_it_shows(stack, services):
    ntfy, mattermost, webhook = services
    put_urls(urls(*services))
    stack.invoke("apprise", sns_event(DELISTED))
    assert ntfy.requests[0]["headers"]["X-Priority"] == "low"
    assert set(ntfy.requests[0]["headers"]["X-Tags"].split(",")) == {"white_check_mark", "DELISTED"}
    assert webhook.json()["type"] == "success"


def test_markdown_goes_as_markdown_where_the_service_takes_it(stack, services):
    ntfy, mattermost, webhook = services
    put_urls(urls(*services))
    event = sns_event(LISTED)
    document = json.loads(event["Records"][0]["Sns"]["Message"])
    document["markdown"] = "**192.0.2.25** is listed on `dnsbl.justspam.org`"
    event["Records"][0]["Sns"]["Message"] = json.dumps(document)
    stack.invoke("apprise", event)
    assert ntfy.requests[0]["headers"]["X-Markdown"] == "yes"
    assert ntfy.json()["message"] == document["markdown"]
    assert "**192.0.2.25**" in mattermost.json()["text"]  # Mattermost shows Markdown itself


def test_each_url_gets_only_the_events_it_names(stack, services):
    ntfy, mattermost, webhook = services
    put_urls(urls(*services, mm_events="LISTED DELISTED", hook_events="events=SPF_FAILING,RECEIVER_BLOCKED"))
    reply = stack.invoke("apprise", sns_event(LISTED))
    assert reply == {"delivered": 2, "parked": 0}
    assert len(ntfy.requests) == 1 and len(mattermost.requests) == 1
    assert webhook.requests == []


def test_a_service_that_fails_once_gets_it_once_after_a_retry(stack):
    with Service(500) as flaky, Service() as steady:
        put_urls(f"ntfy://127.0.0.1:{flaky.port}/alerts\njson://127.0.0.1:{steady.port}/hook\n")
        reply = stack.invoke("apprise", sns_event(LISTED))
        assert reply == {"delivered": 2, "parked": 0}
        assert len(flaky.requests) == 2  # the 500, then the 200
        assert len(steady.requests) == 1  # not sent again because the other failed
    assert parked(stack) == []


def test_a_service_that_keeps_failing_is_parked_and_the_others_still_get_theirs(stack, services, logs, capsys):
    ntfy, mattermost, webhook = services
    with Service(500, 500, 500) as broken:
        put_urls(urls(*services) + f"ntfy://127.0.0.1:{broken.port}/{SECRETS[2]}\n")
        reply = stack.invoke("apprise", sns_event(LISTED, "msg-7"))
        assert len(broken.requests) == relay.TRIES
    assert reply == {"delivered": 3, "parked": 1}
    assert [len(s.requests) for s in services] == [1, 1, 1]
    (letter,) = parked(stack)
    assert letter["channel"] == "#6 ntfy" and letter["tries"] == 3 and letter["result"] == "failed"
    assert letter["message_id"] == "msg-7"
    assert letter["alert"]["event"] == "LISTED" and letter["alert"]["subject"] == LISTED.subject
    assert not any(secret in json.dumps(letter) for secret in SECRETS)  # the alert, not the URL
    # and no log line - the function's, the package's, Apprise's - says a URL's secret
    said = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in logs) + "".join(capsys.readouterr())
    assert "alert parked" in said and "#6 ntfy" in said
    assert not any(secret in said for secret in SECRETS)


def test_apprise_says_nothing_of_its_own(stack, services, capsys):
    """Apprise logs URLs (a webhook's path with its token) when it sends: not a line of it is printed,
    nor reaches the root logger Lambda's runtime prints."""
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record)

    root = logging.getLogger()
    keep = Keep(level=logging.DEBUG)
    root.addHandler(keep)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        put_urls(urls(*services))
        with Service(404, 404, 404) as missing:
            put_urls(urls(*services) + f"json://127.0.0.1:{missing.port}/hooks/{SECRETS[2]}\n")
            stack.invoke("apprise", sns_event(LISTED))
    finally:
        root.removeHandler(keep)
        root.setLevel(level)
    assert not [r for r in seen if r.name.startswith("apprise")]
    out, err = capsys.readouterr()
    assert not any(secret in out + err for secret in SECRETS)


def test_a_test_alert_goes_to_every_url_and_each_outcome_is_noted(stack, services):
    ntfy, mattermost, webhook = services
    with Service(500, 500, 500) as broken:
        put_urls(urls(*services, mm_events="LISTED", hook_events="SPF_FAILING") + f"ntfy://127.0.0.1:{broken.port}/x\n")
        stack.invoke("apprise", sns_event(marked_test_alert("senderwatch", "2026-12-08 05:00 UTC"), "test-1"))
    assert [len(s.requests) for s in services] == [1, 1, 1]  # whatever events a URL names
    assert "TEST ALERT" in ntfy.json()["title"]
    notes = boto3.resource("dynamodb").Table(stack.health_table_name).scan()["Items"]
    by_number = {int(n["number"]): n for n in notes if n.get("kind") == "channel"}
    assert {k: (v["scheme"], v["result"]) for k, v in by_number.items()} == {
        2: ("ntfy", "delivered"),
        4: ("mmost", "delivered"),
        5: ("json", "delivered"),
        6: ("ntfy", "failed"),
    }
    assert all(v["message"] == "test-1" for v in by_number.values())
    stack.settle()  # the notes are on the health table's stream too: the notifier makes no alert of them
    assert stack.inbox("email") == []
    assert not any(secret in json.dumps(notes, default=str) for secret in SECRETS)


def test_a_cloudwatch_alarm_on_the_topic_reaches_the_channels_too(stack, services):
    ntfy, mattermost, webhook = services
    put_urls(urls(*services, mm_events="ALARM", hook_events="LISTED"))
    alarm = {
        "AlarmName": "senderwatch-CheckDeadLetterAlarm-X1",
        "AlarmDescription": "Targets could not be checked after 3 tries (see the check dead-letter queue)",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 datapoint [2.0] was greater than the threshold (0.0).",
    }
    event = {
        "Records": [
            {
                "Sns": {
                    "MessageId": "a-1",
                    "Subject": 'ALARM: "senderwatch-CheckDeadLetterAlarm-X1" in EU (Frankfurt)',
                    "Message": json.dumps(alarm),
                }
            }
        ]
    }
    assert stack.invoke("apprise", event) == {"delivered": 2, "parked": 0}
    assert ntfy.json()["title"].startswith("ALARM:") and "could not be checked" in ntfy.json()["message"]
    assert "Threshold Crossed" in mattermost.json()["text"]
    assert webhook.requests == []


def test_a_line_that_cannot_be_used_fails_the_invocation_without_its_url(stack, services, logs):
    put_urls(urls(*services) + f"json://127.0.0.1:1/hooks/{SECRETS[2]} LISTTED\n")
    with pytest.raises(InvalidLines) as failed:
        stack.invoke("apprise", sns_event(LISTED))
    assert "line 6 (json): unknown event LISTTED" in "\n".join(failed.value.lines)
    (said,) = [r for r in logs if r.getMessage() == "Apprise URLs cannot be used"]
    assert said.lines == failed.value.lines  # the log names the line, as doctor does
    assert not any(secret in str(failed.value) + "".join(failed.value.lines) for secret in SECRETS)
    assert [s.requests for s in services] == [[], [], []]


def captured(stack):
    """A queue subscribed to the topic, as the Apprise function is: what SNS delivers to it, as the
    function's event (the envelope is the same; the `sqs` and `lambda` variants are one document)."""
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    url = sqs.create_queue(QueueName="senderwatch-as-the-function")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=stack.topic_arn, Protocol="sqs", Endpoint=arn)

    def events():
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [{"Records": [{"EventSource": "aws:sns", "Sns": json.loads(m["Body"])}]} for m in got]

    return events


def doctor(stack_name):
    """Doctor's findings (the lists' probe is test_doctor's business)."""
    return Doctor(client, stack_name, probe=lambda: {"resolver": "ok", "lists": []}).run()


def doctor_lines(stack_name):
    return {f.what: f for f in doctor(stack_name) if f.what.startswith("Apprise")}


def test_test_alert_says_its_channels_and_doctor_says_what_each_did_with_it(stack, services, cli):
    ntfy, mattermost, webhook = services
    stack.register_stack("senderwatch-local", {"AppriseUrlsParameter": PARAMETER})
    with Service(500, 500, 500) as broken:
        put_urls(urls(*services, mm_events="LISTED") + f"ntfy://127.0.0.1:{broken.port}/{SECRETS[2]}\n")
        before = doctor_lines("senderwatch-local")
        assert before["Apprise URLs"].said == f"4 URLs in {PARAMETER}: JSON webhook, Mattermost, ntfy (2)"
        assert before["Apprise #4 mmost"].said == "Mattermost, gets LISTED; no test alert since it was set up"
        assert before["Apprise #4 mmost"].fix == "senderwatch test-alert --stack senderwatch-local, then ask again"
        to_the_function = captured(stack)
        status, out, err = cli("test-alert", "--stack", "senderwatch-local")
        assert (status, err) == (0, "")
        assert "  Apprise  #2 ntfy, #4 mmost, #5 json, #6 ntfy (every URL, whatever events it names)" in out
        assert "look for 'senderwatch TEST ALERT' there" in out and "what each Apprise URL did with it" in out
        (event,) = to_the_function()
        stack.invoke("apprise", event)  # SNS delivers it to the function like any alert
    assert [len(s.requests) for s in services] == [1, 1, 1]
    after = doctor_lines("senderwatch-local")
    assert after["Apprise #2 ntfy"].status == "ok"
    assert after["Apprise #2 ntfy"].said.startswith("ntfy, gets every alert; the last test alert got through (")
    assert after["Apprise #6 ntfy"].status == "fix"
    assert after["Apprise #6 ntfy"].said.startswith("the last test alert did not get through (failed after 3 tries,")
    assert f"check line 6 of {PARAMETER}" in after["Apprise #6 ntfy"].fix
    said = json.dumps([(f.said, f.fix) for f in after.values()]) + out
    assert not any(secret in said for secret in SECRETS)


def test_doctor_names_the_lines_that_cannot_be_used_and_a_missing_parameter(stack, services):
    stack.register_stack("senderwatch-local", {"AppriseUrlsParameter": PARAMETER})
    missing = doctor_lines("senderwatch-local")["Apprise URLs"]
    assert missing.status == "fix" and missing.said.startswith(f"{PARAMETER}: it does not exist: no alert reaches")
    assert missing.fix.startswith(f"aws ssm put-parameter --name {PARAMETER} --type SecureString")
    put_urls(urls(*services) + f"{SECRETS[2]}\njson://127.0.0.1:1/{SECRETS[1]} LISTED TYPO\n")
    found = [f for f in doctor("senderwatch-local") if f.what == "Apprise URLs"]
    assert [f.said for f in found] == [
        "line 6: not a URL (SCHEME://...): the line's first word must be one",
        f"line 7 (json): unknown event TYPO (the events: {' '.join(relay.EVENTS)})",
        f"{PARAMETER}: the Apprise URLs have 2 line(s) that cannot be used: no alert reaches any Apprise URL",
    ]
    assert not any(secret in json.dumps([f.said for f in found]) for secret in SECRETS)
