"""Alert texts: what a person reads in the email, on the phone and in a chat, and what programs
get - for every event as the notifier's decisions make it, alone and grouped."""

import argparse
import ipaddress
import json
import re
import shlex
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import cmarkgfm
import pytest

from local.memory import MemoryReceivers
from local.world import STORY_ACCEPTED, STORY_BOUNCE
from senderwatch import alerttext
from senderwatch.alerttext import WORDINGS, AlertText, marked_test_alert, render
from senderwatch.alerttext.model import MARKDOWN_MAX, Code, Steps
from senderwatch.alerttext.phrases import HEALTH_COMMANDS, date
from senderwatch.aws import publish_args
from senderwatch.commands import build_parser
from senderwatch.dnsbl import ZoneVerdict
from senderwatch.findings import (
    RESOLVER,
    ZONE,
    Alert,
    Event,
    Stack,
    decide,
    decide_domain,
    decide_health,
    decide_mute,
    decide_receiver,
    merge,
    merge_many,
    next_health,
)
from senderwatch.mutes import ending, new_mute
from senderwatch.receiverwatch import watch_log
from senderwatch.refusals import receiver_title
from senderwatch.runs import Run
from senderwatch.spfresult import SpfResult
from senderwatch.targetcheck import AddressResults, CheckResult, HostProblem
from senderwatch.verdicts import Verdict

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
    args = publish_args(render(Alert("DELISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING)), "arn:t")
    assert args["MessageStructure"] == "json"
    variants = json.loads(args["Message"])
    assert set(variants) == {"default", "email", "sms", "sqs", "lambda", "https"}
    assert json.loads(variants["sqs"])["sms"] == variants["sms"]
    chatbot = json.loads(variants["https"])  # what AWS Chatbot, subscribed over HTTPS, shows
    assert (chatbot["version"], chatbot["source"], chatbot["content"]["textType"]) == (
        "1.0",
        "custom",
        "client-markdown",
    )
    assert chatbot["metadata"]["threadId"] == "senderwatch:192.0.2.25"
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


def listed(n: int) -> Alert:
    ip = f"198.51.{n // 256}.{n % 256}"
    return Alert("LISTED", ip, SINCE, "bl.spamcop.net", dict(LISTING, reason=f"trap hit {ip}"), label=f"relay {n}")


def test_a_run_that_lists_thousands_is_one_message_within_every_limit():
    alerts = [listed(n) for n in range(10_000)]
    (group,) = groups = alerttext.group(alerts)
    message = alerttext.render_group(group)
    assert message.subject == "10000 addresses are listed on bl.spamcop.net"
    assert message.sms.startswith("senderwatch: 10000 addresses LISTED on bl.spamcop.net: 198.51.0.0, 198.51.0.1 +9998")
    assert len(message.sms) < 160
    assert "198.51.0.1 (relay 1)  127.0.0.2 trap hit 198.51.0.1" in message.email
    assert "... and 9,800 more: senderwatch status shows them all" in message.email
    assert len(message.keys) == 10_000  # every alert is marked sent, listed in the email or not
    args = publish_args(message, "arn:t")
    assert len(json.dumps(args).encode()) < 256 * 1024  # SNS's limit for one publish
    assert json.loads(args["MessageAttributes"]["ip"]["StringValue"])[:2] == ["198.51.0.0", "198.51.0.1"]
    assert args["MessageAttributes"]["ip"]["DataType"] == "String.Array"
    assert len(groups) == 1
    chatbot = message.chatbot()  # in Slack or Teams: within AWS Chatbot's limits, saying how many more
    assert schema_problems(chatbot, CHATBOT_SCHEMA) == []
    shown = chatbot["content"]["description"].count("\n- 198.51.")
    assert (
        f"- ... and {10_000 - shown:,} more: `senderwatch status` shows them all" in chatbot["content"]["description"]
    )
    assert "- ... and 9,800 more: `senderwatch status` shows them all" in message.markdown
    assert "198.51.0.1 (relay 1) · 127.0.0.2 trap hit 198.51.0.1" in message.markdown


def test_chat_markdown_escapes_what_it_would_misread_and_keeps_commands_and_links_as_they_are():
    hostile = dict(LISTING, reason="*bold* _it_ [x](http://evil.example) <b> `tick` # not a heading")
    text = render(Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", hostile), label="relay_*1*")

    assert r"\*bold\* _it\_ \[x\](<http://evil.example>) \<b> \`tick\` # not a heading" in text.markdown
    assert "relay\\_\\*1\\*" in text.markdown
    html = cmarkgfm.github_flavored_markdown_to_html(text.markdown)
    assert "*bold* _it_ [x](" in html and "relay_*1*" in html and "&lt;b&gt; `tick` # not a heading" in html
    assert not re.search("<(em|del|h[1-6]|b)>", html), html
    assert "<http://www.justspam.org/check-an-ip>" in text.markdown
    for command in text.commands:
        assert f"`{command}`" in text.markdown or f"```\n   {command}\n   ```" in text.markdown


def test_records_names_and_labels_reach_chat_as_they_are_copied_and_are_not_read_as_markup():
    record = "v=spf1 include:_spf1.bulk.example.net ip6:2001:db8::25 ~all"
    spf = dict(SPF, record=record, sender="bounce_1@mail_out.example.com")
    odd = dict(LISTING, reason="listed: *spam*, ~trap~ hits_ and _more_ (see snake_case_name)")
    texts = [
        render(Alert("SPF_FAILING", "192.0.2.25", SINCE, details=spf), label="relay_1 *eu*"),
        render(Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", odd), label="mail_*1*"),
    ]
    for text in texts:
        for markdown in (text.markdown, text.chatbot()["content"]["description"]):
            html = cmarkgfm.github_flavored_markdown_to_html(markdown)
            assert not re.search("<(em|del|h[1-6])>", html), html  # no emphasis, strikethrough or heading of theirs
    spf_text, listed_text = (t.markdown for t in texts)
    assert record in spf_text and "**Matched:** ~all" in spf_text and "bounce_1@mail_out.example.com" in spf_text
    assert "relay_1 \\*eu\\*" in spf_text and record in texts[0].chatbot()["content"]["description"]
    assert "snake_case_name" in listed_text and "~trap\\~" in listed_text
    steps = cmarkgfm.github_flavored_markdown_to_html(listed_text)  # the removal's own steps: a list in the list
    assert re.search(r"<ol>.*<li>Ask for removal:\n<ul>\n<li>Open <a href", steps, re.DOTALL), steps
    for text in renderings():  # every alert's chat text: what it says is text, not markup
        assert not re.search("<(em|del|h[1-6])>", cmarkgfm.github_flavored_markdown_to_html(text.markdown))


def test_a_listing_and_its_delisting_share_a_chat_thread_and_a_hosts_alerts_one_per_host():
    listed_alert = Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING)
    delisted = Alert("DELISTED", "192.0.2.25", DAYS[3], "dnsbl.justspam.org", dict(LISTING, began=SINCE))
    spf = Alert("SPF_FAILING", "2001:db8::25", SINCE, details=SPF, target=HOSTNAME)
    host_listed = Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING, target=HOSTNAME)

    one, two = render(listed_alert).chatbot(), render(delisted).chatbot()
    assert one["metadata"]["threadId"] == two["metadata"]["threadId"] == "senderwatch:192.0.2.25"
    assert render(spf).thread == render(host_listed).thread == f"senderwatch:{HOSTNAME}"
    many = [listed(n) for n in range(3)]
    gone = [Alert("DELISTED", a.ip, DAYS[3], a.zone, a.details) for a in many]
    threads = {alerttext.render_group(many).thread, alerttext.render_group(gone).thread}
    assert threads == {"senderwatch:LISTED:bl.spamcop.net"}
    assert one["id"] != two["id"] and one["id"] == render(listed_alert).chatbot()["id"]  # the same alert, the same id


def test_alerts_are_grouped_by_event_and_list_and_one_is_rendered_alone():
    alerts = [listed(1), listed(2), Alert("DELISTED", "192.0.2.9", SINCE, "bl.spamcop.net", LISTING)]
    alerts.append(Alert("LISTED", "192.0.2.9", SINCE, "dnsbl.justspam.org", LISTING))
    groups = alerttext.group(alerts)
    assert [[a.ip for a in g] for g in groups] == [["198.51.0.1", "198.51.0.2"], ["192.0.2.9"], ["192.0.2.9"]]
    assert alerttext.render_group(groups[1]) == render(groups[1][0])


def test_spf_failing_for_many_addresses_suggests_one_record_with_all_of_them():
    alerts = [Alert("SPF_FAILING", ip, SINCE, details=SPF) for ip in ("2001:db8::25", "2001:db8::26", "192.0.2.30")]
    message = alerttext.render_group(alerts)
    assert message.subject == "SPF softfail for 3 addresses sending as postmaster@example.com"
    assert "e.g. v=spf1 ip4:192.0.2.25 ip4:192.0.2.30 ip6:2001:db8::25 ip6:2001:db8::26 ~all" in message.email


def test_the_advice_fits_the_spf_result():
    none = render(Alert("SPF_FAILING", "192.0.2.25", SINCE, details=dict(SPF, result="none", record=None)))
    assert "example.com publishes no SPF record" in none.email and "v=spf1 ip4:192.0.2.25 ~all" in none.email
    assert "before the 'all' mechanism" not in none.email and "publish TXT" in none.sms
    record = "v=spf1 " + " ".join(f"include:s{n}.example" for n in range(12)) + " -all"
    lookups = dict(SPF, result="permerror", record=record, explanation="SPF Permanent Error: Too many DNS lookups")
    permerror = render(Alert("SPF_FAILING", "192.0.2.25", SINCE, details=lookups))
    assert "more than 10 DNS lookups" in permerror.email and "flatten" in permerror.sms
    assert "ip4:192.0.2.25" not in permerror.email.split("What to do:")[1]  # no record with 12 includes plus one
    worse = render(Alert("SPF_FAILING", "192.0.2.25", SINCE, details=dict(SPF, result="fail", previous="softfail")))
    assert "SPF now gives 'fail' (was softfail)" in worse.email


def test_a_hosts_addresses_failing_spf_with_permerror_together_say_what_broke_as_one_does():
    """A host's findings keep each address's SPF without the record; a permerror keeps what broke."""
    record = "v=spf1 " + " ".join(f"include:s{n}.example" for n in range(12)) + " -all"

    def result(ip: str) -> CheckResult:
        spf = SpfResult(SENDER, "permerror", "", "SPF Permanent Error: Too many DNS lookups", 11, record)
        return CheckResult(ipaddress.ip_address(ip), [], [spf])

    findings = merge_many(None, AddressResults([result("192.0.2.25"), result("2001:db8::25")]), DAYS[0])
    alerts = decide(None, findings, HOSTNAME, "relays", target=HOSTNAME)
    (together,) = alerttext.group(alerts)
    for text in (alerttext.render_group(together), render(alerts[0])):
        assert "more than 10 DNS lookups" in text.email and "flatten" in text.sms, text.email
        assert "cannot be parsed" not in text.email


def test_an_sms_too_long_drops_the_advice_rather_than_cutting_an_address():
    details = dict(SPF, sender="bounces-for-newsletters@" + "very-long-subdomain." * 2 + "example.com")
    message = render(Alert("SPF_FAILING", "2a01:4f8:c17:b8f3:1234:5678:9abc:def0", SINCE, details=details))
    assert len(message.sms) < 160 and "…" not in message.sms  # GSM has no "…": it would cost three SMS
    assert "ip6:2a01:4f8:c17:b8f3:1234:5678:9abc:def0" in message.sms or "Add" not in message.sms
    long_label = render(
        Alert("LISTED", "2a01:4f8:c17:b8f3:1234:5678:9abc:def0", SINCE, "dnsbl.justspam.org", LISTING), label="x" * 40
    )
    assert long_label.subject.endswith("is listed on dnsbl.justspam.org")  # the list is never cut off


def test_a_reminder_says_so_on_the_phone_too():
    message = render(Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING, reminder="due"))
    assert message.sms.startswith("senderwatch reminder: 192.0.2.25 LISTED")
    again = [Alert("LISTED", f"198.51.0.{n}", SINCE, "bl.spamcop.net", LISTING, reminder="due") for n in (1, 2)]
    grouped = alerttext.render_group(again)
    assert grouped.sms.startswith("senderwatch reminder: 2 addresses LISTED on bl.spamcop.net")
    assert grouped.email.startswith("Reminder: 2 of your addresses are listed")


def test_grouped_addresses_are_in_address_order():
    alerts = [listed(n) for n in (11, 2, 10, 1)]
    message = alerttext.render_group(alerts)
    assert json.loads(publish_args(message, "t")["MessageAttributes"]["ip"]["StringValue"]) == [
        "198.51.0.1",
        "198.51.0.2",
        "198.51.0.10",
        "198.51.0.11",
    ]


def test_a_blocked_list_gets_the_fix_for_that_list():
    details = {"error": "blocked", "runs": 3, "codes": ["127.255.255.254"]}
    spamhaus = render(Alert("CHECK_FAILING", "", SINCE, "zen.spamhaus.org", details))
    other = render(Alert("CHECK_FAILING", "", SINCE, "dnsbl.justspam.org", details))
    assert "DqsKeyParameter" in spamhaus.email and "DQS" not in other.email and "Register" in other.email


def test_delisted_sms_names_the_event_as_people_read_it():
    one = render(Alert("DELISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING))
    assert one.sms == "senderwatch: 192.0.2.25 DELISTED from dnsbl.justspam.org."
    two = alerttext.render_group(
        [Alert("DELISTED", ip, SINCE, "dnsbl.justspam.org", LISTING) for ip in ("192.0.2.25", "192.0.2.26")]
    )
    assert two.sms.startswith("senderwatch: 2 addresses DELISTED from dnsbl.justspam.org: 192.0.2.25, 192.0.2.26")
    assert "Event." not in one.email + one.sms + two.email + two.sms + two.subject


def test_a_hosts_new_address_says_what_it_is_whether_spf_passes_and_what_to_add():
    details = {
        "host": "mail.example.com",
        "listed": [],
        "lists": 4,
        "spf": "softfail",
        "sender": "postmaster@example.com",
        "spf_problem": True,
        "ptr": ["mail.example.com"],
    }
    added = Alert("ADDRESS_ADDED", "2001:db8::25", SINCE, details=details, target="mail.example.com")
    message = render(added)
    assert message.subject == "mail.example.com has a new address: 2001:db8::25 - SPF does not pass for it"
    assert "add ip6:2001:db8::25 to the SPF record of example.com" in message.email
    assert "not listed on any of the 4 lists asked" in message.email
    assert message.attributes == {
        "event": "ADDRESS_ADDED",
        "severity": "warning",
        "ip": "2001:db8::25",
        "target": "mail.example.com",
    }
    assert len(message.sms) < 160 and "2001:db8::25" in message.sms
    fine = dict(details, spf="pass", spf_problem=False)
    two = alerttext.render_group(
        [
            added,
            Alert("ADDRESS_ADDED", "192.0.2.26", SINCE, details=fine, target="mail.example.com"),
        ]
    )
    assert (
        two.subject
        == "mail.example.com has 2 new addresses: 192.0.2.26, 2001:db8::25 - SPF does not pass for 2001:db8::25"
    )
    assert two.email.count("Address:  ") == 2


def test_a_vanished_address_that_was_listed_says_so_and_how_to_keep_watching_it():
    gone = Alert(
        "ADDRESS_REMOVED",
        "192.0.2.26",
        SINCE,
        details={"host": "mail.example.com", "listed": ["bl.spamcop.net"]},
        target="mail.example.com",
        label="postfix",
    )
    message = render(gone)
    assert message.subject == "mail.example.com no longer resolves to 192.0.2.26"
    assert "it was listed on bl.spamcop.net" in message.email
    assert "senderwatch targets add 192.0.2.26" in message.email
    assert message.attributes["severity"] == "info"


def test_an_alert_about_a_hosts_address_names_the_host():
    message = render(Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING, target="mail.example.com"))
    assert message.subject == "192.0.2.25 (mail.example.com) is listed on dnsbl.justspam.org"
    assert message.attributes["target"] == "mail.example.com"


def test_an_address_watched_by_several_targets_is_one_row_and_counted_once():
    alerts = [
        Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING, target="mail.example.com"),
        Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING, target="192.0.2.16/28"),
        Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING),
        Alert("LISTED", "192.0.2.26", SINCE, "dnsbl.justspam.org", LISTING, target="192.0.2.16/28"),
    ]
    message = alerttext.render_group(alerts)
    assert message.subject == "2 addresses are listed on dnsbl.justspam.org"
    assert "192.0.2.25, 192.0.2.25" not in message.sms
    assert "192.0.2.25 (mail.example.com; 192.0.2.16/28; watched alone)" in message.email
    assert len(message.keys) == 4  # each alert is marked as sent


WATCHED_TWICE = (("mail.example.com", "postfix-1"),)  # the other target of 192.0.2.25, as the item says


@pytest.mark.parametrize("event", ["LISTED", "DELISTED", "CHECK_FAILING"])
def test_an_alert_about_an_address_watched_twice_names_both_targets_with_their_labels(event):
    details = {**LISTING, "error": "timeout", "error_runs": 3}
    alert = Alert(event, "192.0.2.25", SINCE, "dnsbl.justspam.org", details, label="relay-1", also=WATCHED_TWICE)
    said = render(alert)
    assert "192.0.2.25 (relay-1; mail.example.com, postfix-1)" in said.email + said.subject
    reminder = Alert(event, "192.0.2.25", SINCE, "dnsbl.justspam.org", details, reminder=SINCE, also=WATCHED_TWICE)
    said = render(reminder)
    assert "192.0.2.25 (watched alone; mail.example.com, postfix-1)" in said.email + said.subject


def test_spf_alerts_of_an_address_watched_twice_name_both_too():
    spf = dict(SPF, record="v=spf1 -all")
    for event in ("SPF_FAILING", "SPF_RECOVERED"):
        alert = Alert(
            event, "192.0.2.25", SINCE, details=spf, target="192.0.2.16/28", label="net", also=(("192.0.2.25", "a"),)
        )
        said = render(alert)
        assert "192.0.2.25 (192.0.2.16/28, net; a)" in said.email + said.subject, event


def test_a_group_naming_one_address_twice_keeps_each_targets_label():
    alerts = [
        Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING, label="relay-1"),
        Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING, target="mail.example.com", label="mx"),
        Alert("LISTED", "192.0.2.26", SINCE, "dnsbl.justspam.org", LISTING, label="other"),
    ]
    message = alerttext.render_group(alerts)
    assert "192.0.2.25 (mail.example.com, mx; relay-1)" in message.email
    assert "192.0.2.26 (other)" in message.email and len(message.keys) == 3
    alone = alerttext.render_group(alerts[:2])  # one address: said as one alert, naming both
    assert "192.0.2.25 (mail.example.com, mx; relay-1)" in alone.email


def test_a_network_failing_spf_is_told_to_add_its_range():
    alerts = [
        Alert(
            "SPF_FAILING", f"198.51.100.{n}", SINCE, details=dict(SPF, record="v=spf1 -all"), target="198.51.100.0/28"
        )
        for n in range(16)
    ]
    message = alerttext.render_group(alerts)
    assert "Add ip4:198.51.100.0/28 to the SPF record of example.com" in message.email
    assert "ip4:198.51.100.3 " not in message.email


def test_a_listing_alert_gives_the_lists_own_removal_with_the_address_and_the_lists_to_clear_first():
    details = dict(LISTING, also_listed=["bl.spamcop.net"])
    message = render(Alert("LISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", details))
    assert "First clear bl.spamcop.net, which also list it" in message.email
    assert (
        "printf 'Subject: %s\\n\\n' '<the subject the removal page gives>' | sendmail remove+192.0.2.25@db.justspam.org"
        in message.email
    )
    assert "swaks --local-interface 192.0.2.25" in message.email
    assert "within about three hours" in message.email


def test_a_list_that_lets_listings_expire_says_there_is_nothing_to_ask_for():
    spamcop = dict(LISTING, delist_url="https://www.spamcop.net/bl.shtml")
    message = render(Alert("LISTED", "192.0.2.25", SINCE, "bl.spamcop.net", spamcop))
    assert "3. Nothing to ask for: bl.spamcop.net removes listings by itself: about 24 hours" in message.email


def test_a_list_whose_listings_expire_and_that_also_removes_on_request_says_both_without_contradiction():
    psbl = dict(LISTING, delist_url="https://psbl.org/remove")
    message = render(Alert("LISTED", "192.0.2.25", SINCE, "psbl.surriel.com", psbl))
    removal = message.email.split("3. ", 1)[1]
    assert removal.startswith("psbl.surriel.com removes listings by itself (after a few weeks without mail")
    assert "to be off it sooner, ask:" in removal and "https://psbl.org/remove, enter 192.0.2.25" in removal
    assert "Nothing to ask for" not in message.email


# -- every event, alone and grouped, as the notifier's decisions make it ------------------------------

DAYS = [f"2026-11-{day:02d}T06:00:00+00:00" for day in range(20, 26)]
RUNS = [Run(f"2026-11-{day:02d}T06:00:00Z", scheduled=True) for day in range(20, 26)]
SENDER, RECORD = "postmaster@example.com", "v=spf1 ip4:192.0.2.0/28 ~all"
HOSTNAME = "mail.example.com"


def address_result(ip: str, *, listed: bool, answered: bool = True, spf: str = "softfail") -> CheckResult:
    """One run's result for IP: on JustSpam and SpamCop or on neither (SpamCop silent for it when
    not ANSWERED), and SPF for mail sent as SENDER."""

    def verdict(zone: str) -> ZoneVerdict:
        if zone == "bl.spamcop.net" and not answered:
            return ZoneVerdict(zone, Verdict.ERROR, error="timeout")
        if not listed:
            return ZoneVerdict(zone, Verdict.CLEAN)
        url = "http://www.justspam.org/check-an-ip" if zone == "dnsbl.justspam.org" else ""
        return ZoneVerdict(
            zone, Verdict.LISTED, ("127.0.0.2",), meaning="spam trap hits", reason=f"trap {ip}", delist_url=url
        )

    mechanism = f"ip4:{ip}" if spf == "pass" else "~all"
    return CheckResult(
        ipaddress.ip_address(ip),
        [verdict(zone) for zone in ("dnsbl.justspam.org", "bl.spamcop.net")],
        [SpfResult(SENDER, spf, mechanism, "", 1, RECORD)],
    )


def address_story(ip: str, label: str) -> list[list[Alert]]:
    """An address checked in scheduled runs: listed on two lists with SPF failing; SpamCop silent
    for it three runs in a row; then clean, with SPF passing again. The alerts of each run."""
    days = [{"listed": True}] + [{"listed": True, "answered": False}] * 3 + [{"listed": False, "spf": "pass"}]
    findings, runs = None, []
    for day, run, result in zip(DAYS, RUNS, days):
        new = merge(findings, address_result(ip, **result), day, run)
        runs.append(decide(findings, new, ip, label))
        findings = new
    return runs


def host_story() -> list[list[Alert]]:
    """A host: two addresses; two more (SPF failing for them); three gone; its name gone; back."""
    v4, v6, new4, new6 = "192.0.2.25", "2001:db8::25", "192.0.2.27", "2001:db8::27"

    def host(*ips: str) -> AddressResults:
        return AddressResults([address_result(ip, listed=False, spf="pass" if ip == v4 else "softfail") for ip in ips])

    gone = AddressResults([], [HostProblem(HOSTNAME, "no-such-host", None, f"{HOSTNAME} does not exist (NXDOMAIN)")])
    findings, runs = None, []
    for day, results in zip(DAYS, (host(v4, v6), host(v4, v6, new4, new6), host(v4), gone, host(v4))):
        new = merge_many(findings, results, day)
        runs.append(decide(findings, new, HOSTNAME, "relays"))
        findings = new
    return runs


def deployment_story() -> list[list[Alert]]:
    """A list that refuses the deployment's resolver three runs in a row, then answers; the
    resolver that does not answer, then does."""
    runs: list[list[Alert]] = [[] for _ in range(4)]
    for kind, name, failure in (
        (ZONE, "zen.spamhaus.org", {"error": "blocked", "codes": ["127.255.255.254"], "detail": "refused"}),
        (RESOLVER, "", {"error": "timeout", "detail": "no answer from 169.254.169.253 in 10 s"}),
    ):
        health = None
        for n, (day, run) in enumerate(zip(DAYS, RUNS[:4])):
            new = next_health(health, failure if n < 3 else None, run, day)
            runs[n] += decide_health(kind, name, health, new or {})
            health = new
    return runs


def domain_story() -> list[list[Alert]]:
    """Two sender domains on a domain list, over the SPF lookup limit, without DMARC; then fine."""
    too_many = "the record needs 12 DNS lookups; receivers give permerror above 10 (RFC 7208 section 4.6.4)"
    listing = {"status": "listed", "codes": ["127.0.1.2"], "meaning": "spam domain", "since": DAYS[0]}
    broken = {
        "roles": ["sender", "helo"],
        "spf_record": {
            "record": "v=spf1 include:a.example include:b.example -all",
            "problems": [{"code": "too-many-lookups", "detail": too_many}],
            "since": DAYS[0],
            "watched": {"192.0.2.25": "pass", "2001:db8::25": "permerror"},  # the checker's, from the same run
        },
        "dmarc": {"record": None, "problems": [{"code": "no-record", "detail": "no TXT record"}], "since": DAYS[0]},
        "dnsbl": {"dbl.spamhaus.org": dict(listing, delist_url="https://check.spamhaus.org/")},
    }
    fixed = {
        "roles": ["sender", "helo"],
        "spf_record": {"record": "v=spf1 ip4:192.0.2.0/28 -all", "problems": [], "since": DAYS[1]},
        "dmarc": {"record": "v=DMARC1; p=reject", "problems": [], "since": DAYS[1]},
        "dnsbl": {"dbl.spamhaus.org": {"status": "clean", "since": DAYS[1]}},
    }
    names = ("example.com", "example.net")
    return [
        [a for name in names for a in decide_domain(name, None, broken)],
        [a for name in names for a in decide_domain(name, broken, fixed)],
    ]


def receiver_story() -> list[list[Alert]]:
    """Microsoft bans two of the server's addresses (the story's 5.7.606), then takes mail again."""
    store = MemoryReceivers()
    t0, now = int(datetime(2026, 11, 27, 9, 12, tzinfo=UTC).timestamp() * 1000), datetime(2026, 11, 28, tzinfo=UTC)
    second = STORY_BOUNCE.replace("192.0.2.25", "192.0.2.26").replace("[12345]", "[12346]")
    watch_log([(t0, STORY_BOUNCE), (t0 + 1, second)], store, now)
    name, banned = store.writes[-1]
    watch_log([(t0 + 86_400_000, STORY_ACCEPTED)], store, now)
    return [decide_receiver(name, None, banned), decide_receiver(name, banned, store.writes[-1][1])]


def mute_story() -> list[list[Alert]]:
    """A week's mute of a listed target, over while it is still listed; one of a list, until it clears."""
    listed = decide(None, {"dnsbl": {"dnsbl.justspam.org": LISTING}}, "192.0.2.25", "relay 0")
    start = datetime.fromisoformat(DAYS[0])
    week = new_mute(
        "target", "192.0.2.25", "delisting asked", "arn:aws:iam::123456789012:user/ops", start, length=timedelta(days=7)
    )
    cleared = new_mute("zone", "dnsbl.justspam.org", "known", "ops", start, until_clear=True)
    later = start + timedelta(days=8)
    return [[], [a for m in (week, cleared) for a in decide_mute(m, ending(m, listed, later))]]


def test_a_mute_ended_names_an_address_watched_twice_once_with_both_targets():
    listed = decide(None, {"dnsbl": {"dnsbl.justspam.org": LISTING}}, "192.0.2.25", "relay 0")
    by_host = [replace(a, target="mail.example.com") for a in listed]  # the host's item finds it too
    other = decide(None, {"dnsbl": {"dnsbl.justspam.org": LISTING}}, "192.0.2.26", "relay 1")
    start = datetime.fromisoformat(DAYS[0])
    zone = new_mute("zone", "dnsbl.justspam.org", "known", "ops", start, length=timedelta(days=7))
    (alert,) = decide_mute(zone, ending(zone, [*listed, *by_host, *other], start + timedelta(days=8)))

    text = render(alert)

    rows = text.email.partition("Still there:")[2].strip().split("\n\n")[0].splitlines()
    assert [r.strip() for r in rows if "192.0.2.25" in r] == [
        f"LISTED 192.0.2.25 (mail.example.com; watched alone) dnsbl.justspam.org (since {date(LISTING['since'])})"
    ]
    assert len([r for r in rows if r.strip()]) == 2 and text.subject.endswith("2 problems still there")


@cache
def runs() -> list[list[Alert]]:
    """The alerts of each run (what one delivery to the notifier holds), of every story at once."""
    stories = [address_story(ip, f"relay {n}") for n, ip in enumerate(("192.0.2.25", "192.0.2.26", "2001:db8::25"))]
    stories += [host_story(), deployment_story(), domain_story(), receiver_story(), mute_story()]
    return [[a for story in stories if n < len(story) for a in story[n]] for n in range(max(map(len, stories)))]


def alerts_of(event: Event) -> list[Alert]:
    alerts = [a for run in runs() for a in run if a.event == event]
    assert alerts, f"no story here makes {event}: add one, as the notifier would decide it"
    return alerts


def plain(line) -> str:
    return "".join(p.text if isinstance(p, Code) else p for p in (line if isinstance(line, tuple) else (line,)))


def says_what_a_person_needs(text: AlertText, alerts: list[Alert]) -> None:
    """What every alert, alone or grouped, must get right."""
    first, wording = alerts[0], WORDINGS[Event(alerts[0].event)]
    assert text.attributes["event"] == first.event
    assert text.attributes["severity"] == first.severity and {a.severity for a in alerts} == {first.severity}
    assert 0 < len(text.subject) < 100 and "\n" not in text.subject
    assert 0 < len(text.sms) < 160 and text.sms.startswith("senderwatch") and "…" not in text.sms  # GSM has no "…"
    for shown in (text.subject, text.sms, text.email):
        for unrendered in ("None", "{", "}", "Event.", "ADDRESS", "()", "[]", "unknown"):
            assert unrendered not in shown, (unrendered, shown)
    receiver = first.event in (Event.RECEIVER_BLOCKED, Event.RECEIVER_UNBLOCKED)
    for alert in alerts:
        assert alert.ip in text.email
        assert (receiver_title(alert.target) if receiver else alert.target) in text.email
    assert set(text.addresses) == {a.ip for a in alerts if a.ip}
    assert ("ip" in text.attributes) == bool(text.addresses)  # the deployment's alerts are about no address
    steps = [s for block in text.body if isinstance(block, Steps) for s in block.steps]
    for step in steps:
        assert plain(step.lines[0]) in text.email
    if first.severity == "high":
        assert steps, "a problem that matters says what to do"
    for command in text.commands:
        assert command in text.email
    for link in text.links:
        assert link in text.email
    if wording.clears:
        assert first.severity == "info"
        assert any(over in text.subject for over in ("no longer", "again", "any more")), text.subject
    assert sorted(text.keys) == sorted(a.key for a in alerts)  # each is marked sent with this message


def reaches_programs(text: AlertText) -> None:
    """The publish: a variant per protocol, the attributes subscriptions filter on, under SNS's limit."""
    args = publish_args(text, "arn:aws:sns:eu-central-1:123456789012:alerts")
    assert args["Subject"] == text.subject and len(json.dumps(args).encode()) < 256 * 1024
    variants = json.loads(args["Message"])
    assert variants["default"] == variants["email"] == text.email and variants["sms"] == text.sms
    document = json.loads(variants["sqs"])
    assert document == json.loads(json.dumps(text.document())) == json.loads(variants["lambda"])
    assert (document["event"], document["severity"], document["subject"]) == (text.event, text.severity, text.subject)
    assert args["MessageAttributes"]["severity"]["StringValue"] == text.severity
    if text.addresses:
        ip = args["MessageAttributes"]["ip"]
        shown = json.loads(ip["StringValue"]) if ip["DataType"] == "String.Array" else [ip["StringValue"]]
        assert shown == list(text.addresses)


CHATBOT_SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "chatbot-notification.schema.json").read_text())
JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def schema_problems(value, schema: dict, where: str = "") -> list[str]:
    """What of the JSON Schema keywords the Chatbot schema uses VALUE breaks, field by field."""
    problems = []
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "type" in schema and not isinstance(value, JSON_TYPES[schema["type"]]):
        return [*problems, f"{where}: not a {schema['type']}"]
    if isinstance(value, str | list):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            problems.append(f"{where}: {len(value)} characters")
        if len(value) > schema.get("maxItems", len(value)):
            problems.append(f"{where}: {len(value)} items")
    if isinstance(value, list):
        for n, item in enumerate(value):
            problems += schema_problems(item, schema.get("items", {}), f"{where}[{n}]")
    if isinstance(value, dict):
        problems += [f"{where}.{name}: missing" for name in schema.get("required", ()) if name not in value]
        for name, item in value.items():
            if name not in schema.get("properties", {}):
                problems += [f"{where}.{name}: not in the schema"] * (schema.get("additionalProperties") is False)
            else:
                problems += schema_problems(item, schema["properties"][name], f"{where}.{name}")
    return problems


def shows_in_every_channel(text: AlertText) -> None:
    """Each channel within its limits; the full ones (the email, chat Markdown, the Chatbot
    notification, the JSON document) carry every address, command and link the alert has."""
    assert 0 < len(text.subject) < 100 and 0 < len(text.sms) < 160
    markdown, chatbot, document = text.markdown, text.chatbot(), text.document()
    assert len(markdown) <= MARKDOWN_MAX and markdown.startswith(f"**{text.subject.split()[0]}")
    assert schema_problems(chatbot, CHATBOT_SCHEMA) == []
    content = chatbot["content"]
    assert len(content["description"]) + sum(map(len, content["nextSteps"])) <= 8000
    assert chatbot["metadata"]["eventType"] == text.event and chatbot["metadata"]["summary"] == text.sms
    chat = "\n".join([content["description"], *content["nextSteps"]])
    assert (document["subject"], document["markdown"], document["email"]) == (text.subject, markdown, text.email)
    for full in (text.email, markdown, chat, json.loads(json.dumps(document))["markdown"]):
        for carried in (*text.addresses, *text.commands, *text.links):
            assert carried in full, (carried, full)
    for unrendered in ("None", "Event.", "()", "[]"):
        assert unrendered not in markdown + content["title"], unrendered
    assert "\x1b" not in json.dumps(chatbot) + markdown


def test_every_event_has_its_wording_and_its_twin_beside_it():
    assert set(WORDINGS) == set(Event)  # a new event without a wording fails here
    for event, wording in WORDINGS.items():
        if wording.clears is not None:
            problem = WORDINGS[wording.clears]
            assert problem.clears is None, (event, wording.clears)
            assert wording.alone.__module__ == problem.alone.__module__, f"{event} is worded apart from its twin"


@pytest.mark.parametrize("event", list(Event))
def test_every_event_alone_says_what_happened_and_what_to_do_within_every_limit(event):
    for alert in alerts_of(event):
        text = render(alert)
        says_what_a_person_needs(text, [alert])
        reaches_programs(text)
        shows_in_every_channel(text)
        assert alerttext.render_group([alert]) == text


@pytest.mark.parametrize("event", list(Event))
def test_every_event_grouped_is_one_message_naming_each_alert_or_each_said_alone(event):
    alerts_of(event)
    groups = [g for run in runs() for g in alerttext.group(run) if g[0].event == event]
    if WORDINGS[event].together is None:
        assert all(len(g) == 1 for g in groups)  # said one by one
        return
    assert any(len(g) > 1 for g in groups), f"no story here makes a group of {event} in one run"
    for members in groups:
        text = alerttext.render_group(members)
        says_what_a_person_needs(text, members)
        reaches_programs(text)
        shows_in_every_channel(text)
        about = {a.ip or a.target for a in members}  # an address two targets watch is one row
        if len(about) > 1:
            counted = str(len(about)) in text.subject or " more" in text.subject
            assert counted or all(name in text.subject for name in about), text.subject  # how many, or each
            assert text.data is None or text.data["count"] == len(about)


def test_the_test_alert_is_said_like_every_alert_and_says_nothing_is_wrong():
    text = marked_test_alert("senderwatch-" + "x" * 60, "2026-11-20 06:00 UTC")
    assert text.attributes == {"event": "TEST_ALERT", "severity": "info"}
    assert len(text.subject) < 100 and len(text.sms) < 160 and "nothing is wrong" in text.email
    reaches_programs(text)


CLEARING = (
    Event.DELISTED,
    Event.SPF_RECOVERED,
    Event.HOST_RESOLVED,
    Event.CHECK_RECOVERED,
    Event.RESOLVER_RECOVERED,
    Event.DOMAIN_DELISTED,
    Event.SPF_RECORD_FIXED,
    Event.DMARC_RECORD_FIXED,
    Event.RECEIVER_UNBLOCKED,
)


@pytest.mark.parametrize("event", CLEARING, ids=str)
def test_a_clearing_alert_says_how_long_the_problem_lasted(event):
    alert = alerts_of(event)[0]  # as the decisions make it: with when the problem began
    lasted = datetime.fromisoformat(alert.since) - datetime.fromisoformat(alert.details["began"])
    assert lasted.total_seconds() > 0
    days = lasted.days
    said = f"{days} day{'s' if days != 1 else ''}"

    text = render(alert)

    assert f"for {said}" in text.email
    assert WORDINGS[event].clears is not None


def test_a_delisting_says_how_long_it_was_listed_in_every_form():
    alert = Alert("DELISTED", "192.0.2.25", "2026-11-30T06:00:00+00:00", "dnsbl.justspam.org", LISTING)
    alert = Alert(alert.event, alert.ip, alert.since, alert.zone, dict(LISTING, began="2026-11-27T09:00:00+00:00"))

    one = render(alert)
    two = alerttext.render_group([alert, Alert(alert.event, "192.0.2.26", alert.since, alert.zone, alert.details)])

    assert "It was listed for 2 days 21 hours, since 2026-11-27 09:00 UTC." in one.email
    assert one.sms == "senderwatch: 192.0.2.25 DELISTED from dnsbl.justspam.org after 2 days 21 hours."
    assert two.email.count("listed for 2 days 21 hours") == 2  # each address's row


def test_a_clearing_alert_that_does_not_say_when_it_began_says_nothing_of_how_long():
    text = render(Alert("DELISTED", "192.0.2.25", SINCE, "dnsbl.justspam.org", LISTING))  # written before `began`

    assert " for " not in text.email.split("\n")[0] and text.sms.endswith("dnsbl.justspam.org.")


# -- every command an alert suggests runs as written; every count agrees with its noun ----------------

STACK = Stack("senderwatch", "senderwatch-TargetsTable-1", "eu-central-1", "arn:aws:sqs:eu-central-1:123456789012:dlq")


def renderings(stack: Stack = STACK) -> list[AlertText]:
    """Every event's alerts as the notifier sends them (naming STACK), alone and grouped."""
    texts = []
    for run in runs():
        sent = [replace(a, stack=stack) for a in run]
        texts += [render(a) for a in sent] + [alerttext.render_group(g) for g in alerttext.group(sent)]
    return texts


def runs_as_written(command: str) -> None:
    words = shlex.split(command)
    if words[0] == "senderwatch":
        try:
            build_parser().parse_args(words[1:])
        except SystemExit:
            pytest.fail(f"the alert suggests a command senderwatch refuses: {command}")
    if words[0] == "aws":
        assert not re.search(r"<[^>]*>", command), command  # no place for the reader to fill in


def test_every_command_an_alert_suggests_runs_as_written_for_its_deployment():
    suggested: dict[str, set[str]] = {}
    for text in renderings():
        for command in text.commands:
            runs_as_written(command)
            suggested.setdefault(text.event, set()).add(command)
    assert {Event.ADDRESS_REMOVED, Event.HOST_UNRESOLVED, Event.RESOLVER_RECOVERED} <= set(suggested)
    ours = [c for commands in suggested.values() for c in commands if c.startswith("senderwatch ")]
    assert ours and all(c.endswith("--stack senderwatch --region eu-central-1") for c in ours), ours
    (move,) = suggested[Event.RESOLVER_RECOVERED]
    assert move == (
        "aws sqs start-message-move-task --source-arn arn:aws:sqs:eu-central-1:123456789012:dlq --region eu-central-1"
    )
    watch = next(c for c in suggested[Event.ADDRESS_REMOVED] if "2001:db8::27" in c)
    assert watch.startswith("senderwatch targets add 2001:db8::27 --sender postmaster@example.com --label relays")


def test_without_a_stack_the_commands_name_the_tables_and_without_either_still_parse():
    table = Stack(table="senderwatch-TargetsTable-1", region="eu-central-1", health_table="senderwatch-HealthTable-1")
    needing_health = []
    for stack in (table, Stack()):
        for text in renderings(stack):
            for command in text.commands:
                runs_as_written(command)
                if command.startswith("senderwatch ") and stack.table:
                    assert "--table senderwatch-TargetsTable-1 " in command and "--region eu-central-1" in command
                    args = build_parser().parse_args(shlex.split(command)[1:])
                    if hasattr(args, "health_table"):  # mute refuses --table without it: it is given
                        assert args.health_table == "senderwatch-HealthTable-1", command
                        needing_health.append(command)
    assert any(c.startswith("senderwatch mute ") for c in needing_health)  # MUTE_ENDED's mute-again command among them


def test_the_commands_that_read_the_health_table_are_those_with_health_table():
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    with_it = {name for name, p in commands.items() if any("--health-table" in a.option_strings for a in p._actions)}
    assert set(HEALTH_COMMANDS) == with_it
    recovered = [t for t in renderings(Stack()) if t.event == Event.RESOLVER_RECOVERED]
    assert recovered and all("CheckDeadLetterQueueUrl output" in t.email for t in recovered)


NOUNS = ("list", "run", "address", "domain", "day", "hour", "minute", "record", "problem", "message")
PLURALS = "|".join(n + ("es" if n.endswith("s") else "s") for n in NOUNS)
ONE_OF_MANY = re.compile(rf"(?<![\d.:/])1 (?:failing )?(?:{PLURALS})\b")  # "1 lists", "1 failing runs"
MANY_OF_ONE = re.compile(rf"(?<![\d.:/])(?:0|[2-9]|\d{{2,}}) (?:failing )?(?:{'|'.join(NOUNS)})\b")  # "2 list "
HEDGED = re.compile(r"\w\((?:e?s)\)")  # address(es): a count that does not know itself


def disagreements(text: AlertText) -> list[str]:
    shown = "\n".join((text.subject, text.sms, text.email))
    return [m.group(0) for pattern in (ONE_OF_MANY, MANY_OF_ONE, HEDGED) for m in pattern.finditer(shown)]


def test_every_count_in_every_rendering_agrees_with_its_noun_even_a_count_of_one():
    assert ONE_OF_MANY.search("after 1 failing runs") and MANY_OF_ONE.search("the 2 list asked")
    assert not ONE_OF_MANY.search("192.0.2.1 lists") and not MANY_OF_ONE.search("2 lists, 10 addresses, 1 run")
    ones = {"runs": 1, "error_runs": 1, "failed_runs": 1, "lists": 1}
    for text in renderings():
        assert not disagreements(text), (text.event, disagreements(text))
    for run in runs():
        for alert in run:
            single = {k: 1 for k in ones if k in alert.details}
            if "addresses" in alert.details:
                single["addresses"] = alert.details["addresses"][:1]
            text = render(replace(alert, details={**alert.details, **single}))
            assert not disagreements(text), (alert.event, disagreements(text))
