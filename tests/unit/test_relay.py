"""The Apprise URLs as a person writes them, and what each channel is sent of an alert (pure: the
sending itself is tests/integration/test_apprise.py's, against real servers)."""

import json
import logging
import re
from pathlib import Path

import apprise
import pytest
from boto3.dynamodb.types import TypeDeserializer

from senderwatch.alerttext import render, render_group
from senderwatch.aws import publish_args
from senderwatch.errors import InvalidInput, InvalidLines
from senderwatch.findings import Alert, Event
from senderwatch.notifier import alerts_for_change
from senderwatch.relay import Channel, message, read_channels

LISTED = render(Alert(Event.LISTED, "192.0.2.25", "2026-12-08T06:00:00+00:00", "dnsbl.justspam.org")).document()


def test_lines_comments_and_events():
    channels = read_channels(
        "# the team\n"
        "\n"
        "ntfys://ntfy.sh/acme   # every alert\n"
        "  tgram://123:abc/456  LISTED DELISTED\n"
        "matrixs://bot:pw@matrix.example.com/#mail-alerts  events=LISTED,SPF_FAILING\n"
        "pover://user@token events=ALARM DIGEST\n"
    )
    assert [(c.number, c.scheme, sorted(c.events)) for c in channels] == [
        (3, "ntfys", []),
        (4, "tgram", ["DELISTED", "LISTED"]),
        (5, "matrixs", ["LISTED", "SPF_FAILING"]),  # the room's # is the URL's, not a comment
        (6, "pover", ["ALARM", "DIGEST"]),
    ]
    assert channels[2].url == "matrixs://bot:pw@matrix.example.com/#mail-alerts"
    assert channels[1].name == "#4 tgram"
    assert channels[0].wants("SPF_RECORD_BROKEN") and not channels[1].wants("SPF_FAILING")
    assert all(c.wants("TEST_ALERT") for c in channels)  # a test alert goes to every URL


def test_each_line_that_cannot_be_used_is_named_without_its_url():
    with pytest.raises(InvalidLines) as bad:
        read_channels("ntfys://ntfy.sh/ok\nsecret-token-only\njson://hooks.example.com/s3cr3t LISTTED\n")
    assert bad.value.lines[:2] == [
        "line 2: not a URL (SCHEME://...): the line's first word must be one",
        bad.value.lines[1],
    ]
    assert bad.value.lines[1].startswith("line 3 (json): unknown event LISTTED (the events: LISTED DELISTED")
    assert str(bad.value) == "the Apprise URLs have 2 line(s) that cannot be used"
    assert not any("s3cr3t" in line or "secret-token" in line for line in bad.value.lines)
    with pytest.raises(InvalidInput, match="names no URL"):
        read_channels("# nothing yet\n\n")


def test_ntfy_gets_its_priority_tags_and_markdown_unless_the_url_says_otherwise():
    sent = message(Channel(1, "ntfys://ntfy.sh/acme"), {**LISTED, "markdown": "**listed**"})
    assert sent.url == "ntfys://ntfy.sh/acme?priority=high&tags=rotating_light%2CLISTED&format=markdown"
    assert (sent.title, sent.body, sent.body_format, sent.notify_type) == (
        LISTED["subject"],
        "**listed**",
        "markdown",
        "failure",
    )
    text_only = {key: value for key, value in LISTED.items() if key != "markdown"}
    mine = message(Channel(1, "ntfy://ntfy.example.com/acme?priority=max&tags=mail"), text_only)
    assert mine.url == "ntfy://ntfy.example.com/acme?priority=max&tags=mail"  # and no Markdown to say
    assert mine.body == LISTED["email"] and mine.body_format == "text"


def test_the_title_goes_as_the_title_and_not_again_as_the_first_line_of_the_markdown():
    sent = message(Channel(1, "json://hooks.example.com/alerts"), LISTED)
    assert LISTED["markdown"].startswith(f"**{sent.title}**\n\n")
    assert sent.body == LISTED["markdown"].removeprefix(f"**{sent.title}**\n\n") and sent.title not in sent.body
    only_a_title = message(Channel(1, "json://hooks.example.com/alerts"), {**LISTED, "markdown": "**listed**"})
    assert only_a_title.body == "**listed**"  # nothing after it: kept, not sent empty


def test_the_notify_type_follows_the_severity_and_a_clearing_is_a_success():
    def kind(event, severity):
        return message(Channel(1, "json://h/x"), {"event": event, "severity": severity, "subject": "s", "email": "e"})

    assert kind("CHECK_FAILING", "warning").notify_type == "warning"
    assert kind("DELISTED", "info").notify_type == "success"
    assert kind("ADDRESS_ADDED", "info").notify_type == "info"
    assert kind("TEST_ALERT", "info").notify_type == "info"
    assert kind("LISTED", "high").url == "json://h/x"  # only ntfy's URL is added to


def test_every_url_the_docs_show_is_one_apprise_reads():
    """docs/alerts.md's examples, as a person copies them: each is a URL Apprise knows (read only:
    nothing is sent), and each example line of the URLs is a channel."""
    logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)
    docs = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"
    section = docs.read_text("utf-8").split("## Chat, push and paging services (Apprise)")[1]
    urls = list(dict.fromkeys(re.findall(r"`([a-z]+://[^`\s]+)`", section)))
    assert len(urls) >= 12
    assert [u for u in urls if not apprise.Apprise.instantiate(u)] == []
    example = section.split("```text\n", 1)[1].split("```", 1)[0]
    channels = read_channels(example)
    assert [c.service for c in channels] == ["ntfy", "PagerDuty", "Discord"]
    assert all(apprise.Apprise.instantiate(c.url) for c in channels)


def test_a_document_cut_to_fit_a_publish_still_says_its_line():
    cut = {key: value for key, value in LISTED.items() if key not in ("email", "markdown")}  # as the notifier cuts
    assert message(Channel(1, "json://h/x"), cut).body == LISTED["sms"]


def test_the_apprise_functions_sample_event_is_what_the_topic_delivers_of_the_storys_listing():
    """events/sns-alert-listed.json (for `make invoke FUNCTION=AppriseFunction`) is the alert the
    notifier publishes for events/stream-listed.json, as SNS delivers it: it goes stale with the texts."""
    events = Path(__file__).resolve().parents[2] / "events"
    stream = json.loads((events / "stream-listed.json").read_text())["Records"][0]["dynamodb"]
    image = {k: TypeDeserializer().deserialize(v) for k, v in stream["NewImage"].items()}
    old = {k: TypeDeserializer().deserialize(v) for k, v in stream["OldImage"].items()}
    sns = json.loads((events / "sns-alert-listed.json").read_text())["Records"][0]["Sns"]
    published = publish_args(render_group(alerts_for_change(old, image)), sns["TopicArn"])
    assert sns["Subject"] == published["Subject"]
    assert json.loads(sns["Message"]) == json.loads(json.loads(published["Message"])["lambda"]), (
        "events/sns-alert-listed.json is not what the notifier publishes now: regenerate its Message"
    )
    attributes = published["MessageAttributes"].items()
    assert sns["MessageAttributes"] == {k: {"Type": v["DataType"], "Value": v["StringValue"]} for k, v in attributes}
    document = json.loads(sns["Message"])
    assert "Codes:      127.0.0.2" in document["email"] and "spam trap hits" in document["markdown"]
