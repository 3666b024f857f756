"""A domain's own health: which domains are watched, how the lists read them, what is kept from
one check to the next, and which changes are news - without I/O."""

from datetime import UTC, datetime

import pytest

from local.memory import MemoryHealth
from senderwatch.alerttext import render, render_group
from senderwatch.checker import run_checks
from senderwatch.dmarc import DmarcReport
from senderwatch.dnsbl import ZoneVerdict
from senderwatch.domainhealth import OK, PROBLEM, DomainReport
from senderwatch.errors import InvalidInput
from senderwatch.findings import decide_domain, domain_worth_writing, merge_domain
from senderwatch.identities import normalize_sender, watched_domains
from senderwatch.notifier import alerts_for_change
from senderwatch.runs import Run
from senderwatch.spfrecord import Problem, SpfRecordReport
from senderwatch.spfresult import SpfResult
from senderwatch.targets import Target, validate_zones
from senderwatch.zones import domain_catalogue, resolve_domain_zones, resolve_zones
from tests.support.fakes import FakeInvocation, MemoryTargets

DAY1, DAY2, DAY3 = (f"2026-11-{d:02d}T06:00:00+00:00" for d in (20, 21, 22))
RECORD = "v=spf1 include:_spf.example.net -all"
TOO_MANY = Problem("too-many-lookups", "needs 12 DNS lookups")


def spf_report(*problems, error=""):
    return SpfRecordReport("example.com", RECORD, 12 if problems else 3, 0, tuple(problems), error)


def dmarc_report(*problems, policy="reject", error=""):
    return DmarcReport("example.com", "v=DMARC1; p=reject", policy, None, tuple(problems), error)


def report(spf=None, dmarc=None, dnsbl=(), roles=("sender",)):
    return DomainReport("example.com", roles, spf or spf_report(), dmarc or dmarc_report(), list(dnsbl))


def listed(zone="dbl.spamhaus.org"):
    return ZoneVerdict(zone, "listed", ("127.0.1.2",), meaning="spam domain", delist_url="https://check.spamhaus.org/")


def events(alerts):
    return [(a.event, a.zone, a.target) for a in alerts]


def test_the_domains_a_target_sends_as_each_with_why():
    wanted = watched_domains(
        ["bounce@Example.com"], "mail.example.com", ["mail.example.com", "x.example.net", "bad name"]
    )
    assert wanted == {"example.com": ("sender",), "mail.example.com": ("helo", "ptr"), "x.example.net": ("ptr",)}
    assert watched_domains([], None, ["mail.example.com"]) == {"mail.example.com": ("ptr",)}
    # A relay sending for two domains: each is checked once, however many of its senders it has.
    two = watched_domains(["a@example.com", "b@example.com", "postmaster@example.org"], None)
    assert two == {"example.com": ("sender",), "example.org": ("sender",)}


def test_domain_lists_are_named_like_address_lists_but_asked_apart():
    assert [z.zone for z in resolve_domain_zones([])] == ["dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com"]
    named = ["dnsbl.justspam.org", "multi.uribl.com"]
    assert [z.zone for z in resolve_zones(named)] == ["dnsbl.justspam.org"]
    assert [z.zone for z in resolve_domain_zones(named)] == ["multi.uribl.com"]


def test_a_registered_domain_list_is_asked_for_the_name_and_its_parents_a_name_list_for_the_name():
    uribl, dbl = domain_catalogue()["multi.uribl.com"], domain_catalogue()["dbl.spamhaus.org"]
    assert uribl.query_names("mail.out.example.co.uk") == ["out.example.co.uk", "example.co.uk", "co.uk"]
    assert uribl.query_names("example.com") == ["example.com"]
    assert dbl.query_names("mail.example.com") == ["mail.example.com"]


def test_a_bitmask_answer_says_each_sub_list_and_the_refusal_code_is_no_listing():
    surbl = domain_catalogue()["multi.surbl.org"]
    assert surbl.listing("127.0.0.72") == "PH: phishing site; ABUSE: spam and abuse site"
    assert surbl.is_blocked(__import__("ipaddress").ip_address("127.0.0.1"))
    assert domain_catalogue()["dbl.spamhaus.org"].is_blocked(__import__("ipaddress").ip_address("127.0.1.255"))


def test_a_record_that_breaks_is_news_once_and_again_when_fixed():
    first = merge_domain(None, report(spf_report(TOO_MANY)), DAY1)
    (alert,) = decide_domain("example.com", None, first)
    assert (alert.event, alert.target, alert.severity) == ("SPF_RECORD_BROKEN", "example.com", "high")
    again = merge_domain(first, report(spf_report(TOO_MANY)), DAY2)
    assert decide_domain("example.com", first, again) == []
    fixed = merge_domain(again, report(), DAY3)
    (alert,) = decide_domain("example.com", again, fixed)
    assert alert.event == "SPF_RECORD_FIXED" and alert.details["previous"] == ["too-many-lookups"]


def test_a_lookup_that_fails_keeps_the_last_state_and_says_nothing():
    broken = merge_domain(None, report(spf_report(TOO_MANY)), DAY1)
    failing = merge_domain(
        broken,
        report(
            spf_report(error="timeout"),
            dmarc_report(error="timeout"),
            [ZoneVerdict("dbl.spamhaus.org", "error", error="timeout")],
        ),
        DAY2,
    )
    assert failing["spf_record"]["problems"] == broken["spf_record"]["problems"]
    assert decide_domain("example.com", broken, failing) == []
    never_seen = merge_domain(None, report(spf_report(error="servfail")), DAY1)
    assert "spf_record" not in never_seen and decide_domain("example.com", None, never_seen) == []


def test_the_domains_own_missing_spf_record_is_left_to_spf_failing_a_missing_dmarc_record_is_news():
    none = SpfRecordReport("example.com", None, 0, 0, (Problem("no-record", "no SPF record"),))
    no_dmarc = DmarcReport("example.com", None, None, None, (Problem("no-record", "no DMARC record"),))
    findings = merge_domain(None, report(none, no_dmarc), DAY1)
    (alert,) = decide_domain("example.com", None, findings)
    assert alert.event == "DMARC_RECORD_BROKEN" and render(alert).subject == "example.com has no DMARC record"


def test_dmarc_p_none_is_information_not_an_alert():
    findings = merge_domain(None, report(dmarc=dmarc_report(Problem("policy-none", "p=none"), policy="none")), DAY1)
    assert decide_domain("example.com", None, findings) == []
    assert report(dmarc=dmarc_report(Problem("policy-none", "p=none"), policy="none")).outcome() == OK


def test_a_domain_listing_and_its_clearing_an_error_between_changes_nothing():
    one = merge_domain(None, report(dnsbl=[listed()]), DAY1)
    assert events(decide_domain("example.com", None, one)) == [("DOMAIN_LISTED", "dbl.spamhaus.org", "example.com")]
    two = merge_domain(one, report(dnsbl=[ZoneVerdict("dbl.spamhaus.org", "error", error="blocked")]), DAY2)
    assert two["dnsbl"]["dbl.spamhaus.org"]["status"] == "listed" and decide_domain("example.com", one, two) == []
    three = merge_domain(two, report(dnsbl=[ZoneVerdict("dbl.spamhaus.org", "clean")]), DAY3)
    assert events(decide_domain("example.com", two, three)) == [("DOMAIN_DELISTED", "dbl.spamhaus.org", "example.com")]
    assert report(dnsbl=[listed()]).outcome() == PROBLEM


def test_a_ptr_only_check_keeps_what_the_sender_check_found():
    sender = merge_domain(None, report(spf_report(TOO_MANY)), DAY1)
    ptr_only = merge_domain(
        sender, DomainReport("example.com", ("ptr",), None, None, [ZoneVerdict("multi.surbl.org", "clean")]), DAY2
    )
    assert ptr_only["roles"] == ["ptr", "sender"] and ptr_only["spf_record"] == sender["spf_record"]
    assert decide_domain("example.com", sender, ptr_only) == []


def test_the_notifier_reads_a_domain_record_of_the_health_table():
    old = {"id": "domain:example.com", "kind": "domain", "name": "example.com", "health": None}
    new = dict(old, health=merge_domain(None, report(dnsbl=[listed()]), DAY1))
    (alert,) = alerts_for_change(old, new)
    message = render(alert)
    assert message.subject == "example.com listed on the domain list dbl.spamhaus.org"
    assert "your sender domain" in message.email and "https://check.spamhaus.org/" in message.email
    assert message.attributes == {
        "event": "DOMAIN_LISTED",
        "severity": "high",
        "zone": "dbl.spamhaus.org",
        "domain": "example.com",
    }


def test_domains_listed_on_one_list_in_one_run_are_one_message():
    alerts = []
    for name in ("a.example", "b.example"):
        findings = merge_domain(None, DomainReport(name, ("ptr",), None, None, [listed("multi.uribl.com")]), DAY1)
        alerts += decide_domain(name, None, findings)
    message = render_group(alerts)
    assert message.subject == "a.example, b.example listed on the domain list multi.uribl.com"
    assert message.email.count("Domain:") == 2


def test_a_broken_spf_record_alert_says_what_to_do_for_each_problem():
    findings = merge_domain(None, report(spf_report(TOO_MANY, Problem("ptr-mechanism", "uses ptr"))), DAY1)
    (alert,) = decide_domain("example.com", None, findings)
    message = render(alert)
    assert message.subject == "The SPF record of example.com has a problem: too-many-lookups, ptr-mechanism"
    assert "replace an include with the ip4:/ip6: ranges" in message.email and "Replace ptr" in message.email
    assert len(message.sms) < 160


# -- through the checker ----------------------------------------------------------------------------


def test_the_checker_checks_each_domain_once_per_invocation_and_records_it():
    items = [{"ip": f"198.51.100.{n}", "sender": "example.com"} for n in range(25)] + [{"ip": "198.51.100.99"}]
    store, health = MemoryTargets(*items), MemoryHealth()
    checks = FakeInvocation(
        lambda ip: [ZoneVerdict("bl.example", "clean")],
        domains=lambda name, roles: DomainReport(name, roles, spf_report(TOO_MANY)),
    )
    summary = run_checks(
        items, store, checks, datetime(2026, 11, 28, 6, tzinfo=UTC), run=Run(DAY1, True), health=health
    )
    assert checks.domains_asked == ["example.com"] and summary.domains == 1 and summary.domains_changed == 1
    assert health.domains["example.com"]["spf_record"]["problems"][0]["code"] == "too-many-lookups"


def test_a_targets_own_zones_are_address_lists_the_domain_lists_are_the_deployments():
    for zones in (["multi.uribl.com"], ["dnsbl.justspam.org", "multi.uribl.com"]):
        with pytest.raises(InvalidInput, match="multi.uribl.com is a domain list"):
            validate_zones(zones, 4)
    with pytest.raises(InvalidInput, match="is a domain list"):
        Target.from_item({"ip": "192.0.2.25", "zones": ["dbl.spamhaus.org"]})
    assert validate_zones(["DNSBL.justspam.org."], 4) == ("dnsbl.justspam.org",)


@pytest.mark.parametrize(
    ("typed", "sender"),
    [
        ("Example.COM.", "postmaster@example.com"),
        ("bounce@Example.com", "bounce@example.com"),
        ("info@bücher.example", "info@xn--bcher-kva.example"),  # as DNS and SPF have it
    ],
)
def test_a_sender_is_written_as_dns_has_its_domain(typed, sender):
    assert normalize_sender(typed) == sender
    assert normalize_sender(sender) == sender


def test_spf_record_broken_says_which_watched_addresses_it_fails_and_is_critical_only_then():
    """Over the lookup limit, a record fails only the senders matched after the limit: an address its
    ip4: term matches first still passes. The checker keeps each watched address's SPF result beside
    the record, and the alert says which fail; none failing is a warning, not a 3am text."""
    first_ok = {"198.51.100.1": "pass", "198.51.100.2": "pass", "198.51.100.3": "permerror"}

    def spf(ip: str) -> SpfResult:
        return SpfResult("postmaster@example.com", first_ok[ip], "ip4:198.51.100.1", "", 11, RECORD)

    items = [{"ip": ip, "sender": "example.com"} for ip in first_ok]
    store, health = MemoryTargets(*items), MemoryHealth()
    checks = FakeInvocation(
        lambda ip: [ZoneVerdict("bl.example", "clean")],
        spf=spf,
        domains=lambda name, roles: DomainReport(name, roles, spf_report(TOO_MANY)),
    )
    run_checks(items, store, checks, datetime(2026, 11, 28, 6, tzinfo=UTC), run=Run(DAY1, True), health=health)
    record = health.domains["example.com"]
    assert record["spf_record"]["watched"] == first_ok

    (broken,) = decide_domain("example.com", None, record)
    text = render(broken)
    assert broken.severity == "high"
    assert "from 1 address of those" in text.email and "198.51.100.3  permerror" in text.email
    assert "198.51.100.1  pass (not affected)" in text.email and "every address" not in text.email
    assert text.sms.endswith("SPF permerror for 1 address: 198.51.100.3.")

    passing = dict(record, spf_record=dict(record["spf_record"], watched={"198.51.100.1": "pass"}))
    (spared,) = decide_domain("example.com", None, passing)
    assert spared.severity == "warning" and render(spared).attributes["severity"] == "warning"
    assert "It fails no watched address yet" in render(spared).email
    assert render(spared).sms.endswith("no watched address fails SPF for it yet.")

    # which addresses it was checked with is no news by itself: no write, no stream record
    again = merge_domain(record, DomainReport("example.com", ("sender",), spf_report(TOO_MANY), None, [], {}), DAY2)
    assert domain_worth_writing(again) == domain_worth_writing(record)
