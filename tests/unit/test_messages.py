"""Alert texts: what a person reads in the email and on the phone."""

import json

from senderwatch.findings import Alert
from senderwatch.messages import render

SINCE = "2026-11-20T06:00:00+00:00"
LISTING = {
    "status": "listed",
    "codes": ["127.0.0.2"],
    "meaning": "spam trap hits",
    "since": SINCE,
    "reason": "Listed by JustSpam, see http://www.justspam.org/check-an-ip",
    "delist_url": "http://www.justspam.org/check-an-ip",
}
SPF = {
    "sender": "postmaster@example.com",
    "result": "softfail",
    "mechanism": "~all",
    "record": "v=spf1 ip4:192.0.2.25 ~all",
    "since": SINCE,
    "previous": None,
}


def test_listed_email_says_what_where_since_why_and_how_to_get_off():
    message = render(Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING), label="postfix-1")
    assert message.subject == "192.0.2.25 (postfix-1) is listed on dnsbl.justspam.org"
    for needle in (
        "dnsbl.justspam.org",
        "2026-11-20 06:00 UTC",
        "Listed by JustSpam",
        "http://www.justspam.org/check-an-ip",
        "What to do",
    ):
        assert needle in message.email
    assert message.sms.startswith("senderwatch: 192.0.2.25 LISTED on dnsbl.justspam.org.")
    assert message.attributes == {
        "event": "LISTED",
        "severity": "high",
        "ip": "192.0.2.25",
        "zone": "dnsbl.justspam.org",
    }


def test_spf_email_shows_the_record_and_the_mechanism_to_add():
    message = render(Alert("SPF_FAILING", "2001:db8::25", SINCE, details=SPF))
    assert "v=spf1 ip4:192.0.2.25 ~all" in message.email
    assert "v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 ~all" in message.email
    assert "ip6:2001:db8::25" in message.sms
    assert message.subject == "SPF softfail for 2001:db8::25"


def test_sns_publish_carries_email_and_sms_variants_and_filterable_attributes():
    args = render(Alert("DELISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING)).sns_publish_args("arn:t")
    assert args["MessageStructure"] == "json"
    variants = json.loads(args["Message"])
    assert set(variants) == {"default", "email", "sms", "sqs", "lambda"}
    assert json.loads(variants["sqs"])["sms"] == variants["sms"]
    assert args["MessageAttributes"]["event"] == {"DataType": "String", "StringValue": "DELISTED"}
    assert args["MessageAttributes"]["severity"]["StringValue"] == "info"


def test_hostile_and_huge_input_keeps_limits_and_loses_escapes():
    hostile = dict(LISTING, reason="\x1b[2J" + "A" * 5000, delist_url="http://x/" + "y" * 300)
    for event, zone, details in (
        ("LISTED", "z" * 60 + ".example", hostile),
        (
            "SPF_FAILING",
            "",
            dict(SPF, record="v=spf1 " + "ip4:1.2.3.4 " * 200 + "~all", sender="a" * 200 + "@example.com"),
        ),
    ):
        message = render(
            Alert(event, "2001:db8:1234:5678:9abc:def0:1234:5678", SINCE, zone, details),
            label="\x1b]0;evil\x07" + "L" * 300,
        )
        assert len(message.subject) < 100
        assert len(message.sms) < 160
        assert "\x1b" not in message.email + message.sms + message.subject


def test_every_event_renders():
    for event in ("LISTED", "DELISTED", "SPF_FAILING", "SPF_RECOVERED", "CHECK_FAILING"):
        details = dict(LISTING, **SPF, error="blocked", error_runs=3)
        message = render(Alert(event, "192.0.2.25", SINCE, "zen.spamhaus.org", details))
        assert message.attributes["event"] == event and message.email and message.sms
