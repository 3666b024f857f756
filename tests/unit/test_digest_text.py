"""The weekly digest: what it says of a period's history and the targets as they are now, by email
and in one SMS line; and that a week with nothing wrong says so."""

import json
from datetime import UTC, datetime

from senderwatch.aws import publish_args
from senderwatch.commands import overview
from senderwatch.digest import build_digest, send_digest
from senderwatch.findings import Stack
from senderwatch.freshness import Deployment, Schedule
from senderwatch.history import History, Period

NOW = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
START, END = "2026-11-30T07:00:00Z", "2026-12-07T07:00:00Z"
LAST_RUN = "2026-12-07T06:00:00.000000+00:00"
DAILY = "cron(0 6 * * ? *)"  # the checks' schedule (the template's default)


def target(ip, label="", checked_run=LAST_RUN, **more):
    return {"ip": ip, "label": label, "checked_at": "2026-12-07T06:00:04+00:00", "checked_run": checked_run, **more}


def history(*periods, runs=7):
    return History(list(periods), START, END, runs)


class Topic:
    def __init__(self):
        self.sent = []

    def publish(self, text):
        self.sent.append(text)
        return "id"


def test_nothing_wrong_says_all_is_well_with_how_many_and_when():
    digest = build_digest(history(), [target("192.0.2.25", "postfix-1"), target("mail.example.com")])
    topic = Topic()
    send_digest(history(), [target("192.0.2.25"), target("mail.example.com")], topic, NOW)
    (text,) = topic.sent
    assert not digest.wrong
    assert text.event == "DIGEST_ALL_WELL" and text.severity == "info"
    assert text.subject == "senderwatch digest: all is well"
    assert text.email.startswith(
        "All is well: 2 targets checked in 7 scheduled runs, last run 2026-12-07 06:00 UTC.\n"
        "Nothing is open; in this period 0 problems began, 0 cleared.\n"
    )
    assert "covers 2026-11-30 07:00 UTC to 2026-12-07 07:00 UTC" in text.email
    assert (
        text.sms
        == "senderwatch digest: all is well, 2 targets checked in 7 scheduled runs, last run 2026-12-07 06:00 UTC."
    )


def test_open_problems_are_listed_with_since_when_and_how_long():
    listed = Period(
        "192.0.2.25", "192.0.2.25", "listing", "dnsbl.justspam.org", "listed", "2026-12-04T06:00:00Z", None, 4
    )
    softfail = Period(
        "mail.example.com",
        "2001:db8::25",
        "spf",
        "postmaster@example.com",
        "softfail",
        "2026-11-20T06:00:00Z",
        None,
        17,
    )
    topic = Topic()
    digest = send_digest(
        history(listed, softfail), [target("192.0.2.25", "postfix-1"), target("mail.example.com")], topic, NOW
    )
    (text,) = topic.sent
    assert digest.wrong and text.event == "DIGEST"
    assert text.subject == "senderwatch digest: 1 listed, 1 SPF"
    assert "Open now (2):" in text.email
    assert (
        "  192.0.2.25 (postfix-1): listed on dnsbl.justspam.org - since 2026-12-04 06:00 UTC "
        "(3 days 1 hour, 4 scheduled runs, new in this period)"
    ) in text.email
    assert (
        "  2001:db8::25 (mail.example.com): SPF softfail for postmaster@example.com - since 2026-11-20 06:00 UTC "
        "(17 days 1 hour, 17 scheduled runs)"
    ) in text.email
    assert "in this period 1 problem began, 0 cleared" in text.email
    assert text.sms == "senderwatch digest: 1 listed, 1 SPF; 2 targets, 1 problem began, 0 cleared this period."
    assert len(text.sms) < 160


def test_cleared_problems_say_after_how_long():
    over = Period(
        "192.0.2.25",
        "192.0.2.25",
        "listing",
        "dnsbl.justspam.org",
        "listed",
        "2026-11-28T09:21:00Z",
        "2026-12-01T06:00:00Z",
        3,
    )
    before = Period("192.0.2.25", "192.0.2.25", "rdns", "", "no-ptr", "2026-11-01T06:00:00Z", "2026-11-02T06:00:00Z", 1)
    topic = Topic()
    digest = send_digest(history(over), [target("192.0.2.25", "postfix-1")], topic, NOW)
    (text,) = topic.sent
    assert not digest.wrong and text.event == "DIGEST_ALL_WELL"  # cleared: nothing to do, said by email only
    assert (
        "Cleared in this period (1):\n"
        "  192.0.2.25 (postfix-1): listed on dnsbl.justspam.org - cleared 2026-12-01 06:00 UTC, after 2 days 20 hours"
    ) in text.email
    assert "0 problems began, 1 cleared" in text.email
    assert build_digest(history(before), [target("192.0.2.25")]).cleared == []  # ended before the period


def test_a_target_the_last_run_did_not_check_is_stale_and_says_why():
    items = [
        target("192.0.2.25"),
        target(
            "192.0.2.26",
            "postfix-2",
            checked_run="2026-11-29T06:00:00.000000+00:00",
            checked_at="2026-11-29T06:00:03+00:00",
        ),
        {"ip": "bad name", "check_error": "'bad name' is not an IPv4 or IPv6 address"},  # the scheduler's word
        target("192.0.2.27", checked_run="2026-11-29T06:00:00.000000+00:00", checked_at="2026-12-07T09:00:00+00:00"),
        {"ip": "192.0.2.28"},  # written before items said when they were checked: nothing to say
        target("192.0.2.29", enabled=False, checked_run="2026-11-01T06:00:00.000000+00:00"),
    ]
    topic = Topic()
    digest = send_digest(history(), items, topic, NOW, schedule=DAILY)
    (text,) = topic.sent
    # this morning's run may still be under way at 07:00: yesterday's is the one to judge by, as status does
    assert [(s.target, s.reason) for s in digest.stale] == [("192.0.2.26", "unknown"), ("bad name", "invalid")]
    assert text.event == "DIGEST"
    assert (
        "Not checked in the last scheduled run (2):\n"
        "  192.0.2.26 (postfix-2): not checked in the run of 2026-12-06 06:00 UTC, and nothing recorded says why"
        " (last checked 2026-11-29 06:00 UTC)\n"
        "  bad name: not checked in the run of 2026-12-06 06:00 UTC: it cannot be checked as written"
        " ('bad name' is not an IPv4 or IPv6 address)"
    ) in text.email
    assert "5 targets checked (1 disabled)" in text.email
    assert text.sms.startswith("senderwatch digest: 2 stale;")


def stale_as_status_says(items, lists, now):
    """Each enabled target `senderwatch status` calls stale (a disabled one counts for nothing), with its
    reason and detail, from what the digest can know too: the schedule's expression, no queue."""
    rows = overview.status_rows(items, Deployment(now, Schedule(DAILY), lists=lists))
    return sorted((r["ip"], r["stale"]["reason"], r["stale"]["detail"]) for r in rows if r["stale"] and r["enabled"])


def stale_as_the_digest_says(items, lists, now):
    digest = build_digest(history(), items, lists=lists, schedule=DAILY, now=now)
    return sorted((s.target, s.reason, s.detail) for s in digest.stale)


def test_status_and_the_digest_call_the_same_targets_stale_for_the_same_reason():
    noon = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # this morning's run is over
    yesterday = "2026-12-06T06:00:00.000000+00:00"
    items = [
        target("192.0.2.25"),
        target("192.0.2.26", checked_run=yesterday, checked_at="2026-12-06T06:00:05+00:00"),  # missed by the run
        target("192.0.2.27", checked_run=yesterday, checked_at="2026-12-06T06:00:05+00:00", enabled=False),
        {"ip": "bad name", "check_error": "'bad name' is not an IPv4 or IPv6 address"},
        {"ip": "192.0.2.28"},  # added since: its first check follows
    ]
    said = stale_as_status_says(items, [], noon)
    assert said == stale_as_the_digest_says(items, [], noon)
    assert [(ip, reason) for ip, reason, _ in said] == [("192.0.2.26", "unknown"), ("bad name", "invalid")]
    rows = overview.status_rows(items, Deployment(noon, Schedule(DAILY), lists=[]))
    assert [r["stale"]["reason"] for r in rows if r["ip"] == "192.0.2.27"] == ["disabled"]  # status shows it only

    # the targets' items name no run this morning, the lists' records do: a run began, and missed the targets
    lists = [{"name": "dnsbl.justspam.org", "kind": "zone", "health": {"status": "ok", "run": LAST_RUN}}]
    missed = [t for t in items if t["ip"] != "192.0.2.25"]
    said = stale_as_status_says(missed, lists, noon)
    assert said == stale_as_the_digest_says(missed, lists, noon)
    assert [reason for _, reason, _ in said] == ["unknown", "invalid"]
    # no run on record since yesterday's: every target missed the one due this morning
    said = stale_as_status_says(missed, [], noon)
    assert said == stale_as_the_digest_says(missed, [], noon)
    assert said[0] == (
        "192.0.2.26",
        "schedule-missed",
        "no scheduled run since 2026-12-06 06:00 UTC: the schedule should have run at 2026-12-07 06:00 UTC",
    )


def test_a_list_the_deployment_cannot_use_is_its_own_section():
    blocked = Period(
        "zone:zen.spamhaus.org:4", None, "list-unusable", "zen.spamhaus.org", "blocked", "2026-12-02T06:00:00Z", None, 6
    )
    topic = Topic()
    digest = send_digest(history(blocked), [target("192.0.2.25")], topic, NOW)
    (text,) = topic.sent
    assert digest.open == [] and digest.unusable == [blocked]
    assert (
        "Lists this deployment cannot use (1):\n"
        "  zen.spamhaus.org (IPv4): blocked - since 2026-12-02 06:00 UTC "
        "(5 days 1 hour, 6 scheduled runs, new in this period)"
    ) in text.email
    assert text.subject == "senderwatch digest: 1 list unusable"
    assert text.sms.startswith("senderwatch digest: 1 list unusable;")


def test_a_period_without_a_scheduled_run_is_not_all_is_well():
    topic = Topic()
    digest = send_digest(history(runs=0), [target("192.0.2.25")], topic, NOW)
    (text,) = topic.sent
    assert digest.wrong and text.event == "DIGEST"
    assert "No scheduled run checked anything in this period" in text.email
    assert "senderwatch doctor, given the stack's name (--stack), says why." in text.email  # no <STACK> to fill in
    assert text.sms.startswith("senderwatch digest: no scheduled run;")
    send_digest(history(runs=0), [target("192.0.2.25")], topic, NOW, stack=Stack("relays", "t", "eu-west-1"))
    assert topic.sent[-1].commands == ["senderwatch doctor --stack relays --region eu-west-1"]


def test_a_removed_target_has_no_open_problem_but_a_domains_does():
    gone = Period(
        "192.0.2.99", "192.0.2.99", "listing", "dnsbl.justspam.org", "listed", "2026-12-04T06:00:00Z", None, 2
    )
    dmarc = Period("domain:example.com", None, "dmarc", "example.com", "no-record", "2026-12-05T06:00:00Z", None, 2)
    digest = build_digest(history(gone, dmarc), [target("192.0.2.25")])
    assert digest.open == [dmarc]
    topic = Topic()
    send_digest(history(gone, dmarc), [target("192.0.2.25")], topic, NOW)
    assert "  example.com: DMARC record: no-record - since 2026-12-05 06:00 UTC" in topic.sent[0].email


def test_many_problems_keep_the_sms_and_subject_in_their_limits():
    periods = [
        Period(f"198.51.100.{n}", f"198.51.100.{n}", kind, about, "listed", "2026-12-04T06:00:00Z", None, 3)
        for n in range(300)
        for kind, about in (("listing", "b.barracudacentral.org"), ("spf", "postmaster@example.com"), ("helo-spf", "m"))
    ]
    topic = Topic()
    send_digest(history(*periods), [target(f"198.51.100.{n}") for n in range(300)], topic, NOW)
    (text,) = topic.sent
    assert len(text.sms) < 160 and len(text.subject) < 100
    assert "Open now (900):" in text.email
    assert "... and 700 more: senderwatch status shows them all" in text.email
    args = publish_args(text, "arn:aws:sns:eu-central-1:123456789012:alerts")
    assert len(json.dumps(args).encode()) < 256 * 1024  # what SNS takes in one publish: else none is sent
    variants = json.loads(args["Message"])
    chatbot = json.loads(variants["https"])  # in Slack or Teams too, within Chatbot's limits
    assert len(chatbot["content"]["title"]) <= 250
    assert len(chatbot["content"]["description"]) + sum(map(len, chatbot["content"]["nextSteps"])) <= 8000
    assert "- ... and " in chatbot["content"]["description"] and text.markdown.startswith("**senderwatch digest")
    document = json.loads(variants["sqs"])  # programs get the first of the 900 open problems, and the count
    kept = document["cut"]["open"]["kept"]
    assert document["cut"] == {"open": {"kept": kept, "of": 900}} and 50 < kept == len(document["open"]) < 900
    assert document["open"] == text.document()["open"][:kept] and document["email"] == text.email


def test_every_kind_of_period_is_said_as_people_know_what_it_is_about():
    from senderwatch.alerttext.digest import said
    from senderwatch.history import KINDS

    def holds(target, ip, kind, about, state):
        return Period(target, ip, kind, about, state, START, None, 1)

    address, host, domain = "192.0.2.25", "mail.example.com", "domain:example.com"
    rows = {
        "listing": (holds(address, address, "listing", "bl.spamcop.net", "listed"),
                    "192.0.2.25 (postfix-1): listed on bl.spamcop.net"),
        "spf": (holds(host, "2001:db8::25", "spf", "postmaster@example.com", "softfail"),
                "2001:db8::25 (mail.example.com): SPF softfail for postmaster@example.com"),
        "helo-spf": (holds(address, address, "helo-spf", host, "fail"),
                     "192.0.2.25 (postfix-1): HELO SPF fail for mail.example.com"),
        "rdns": (holds(address, address, "rdns", "", "no-ptr"), "192.0.2.25 (postfix-1): no reverse DNS (PTR)"),
        "check-failing": (holds(address, address, "check-failing", "bl.spamcop.net", "timeout"),
                          "192.0.2.25 (postfix-1): bl.spamcop.net could not check it (timeout)"),
        "spf-record": (holds(domain, None, "spf-record", "example.com", "too-many-lookups"),
                       "example.com: SPF record: too-many-lookups"),
        "dmarc": (holds(domain, None, "dmarc", "example.com", "no-record"), "example.com: DMARC record: no-record"),
        "domain-listing": (holds(domain, None, "domain-listing", "dbl.spamhaus.org", "listed"),
                           "example.com: listed on dbl.spamhaus.org"),
        "receiver": (holds("receiver:microsoft", address, "receiver", "microsoft", "5.7.606"),
                     "receiver microsoft: refuses mail from 192.0.2.25 (5.7.606)"),
        "list-unusable": (holds("resolver", None, "list-unusable", "resolver", "timeout"),
                          "the deployment's DNS resolver: timeout"),
    }  # fmt: skip
    assert sorted(rows) == sorted(KINDS)  # a new kind needs its wording
    for kind, (period, text) in rows.items():
        assert said(period, {address: "postfix-1"}) == text, kind


def test_an_address_without_ptr_is_no_problem_and_one_watched_twice_is_counted_once():
    """As check and status judge: a missing PTR leaves the week all well (a network's addresses
    often have none); an address watched alone and through its host is one listing, not two."""
    no_ptr = Period("198.51.100.0/29", "198.51.100.3", "rdns", "", "no-ptr", START, None, 7)
    targets = [target("198.51.100.0/29"), target("192.0.2.25"), target("mail.example.com")]
    assert not build_digest(history(no_ptr), targets).wrong
    listed = [Period(t["ip"], "192.0.2.25", "listing", "bl.spamcop.net", "listed", START, None, 7) for t in targets[1:]]
    topic = Topic()
    send_digest(history(no_ptr, *listed), targets, topic, NOW)
    (text,) = topic.sent
    assert text.event == "DIGEST" and "1 listed" in text.sms and "PTR" not in text.sms
