"""Host and network targets: what they name, their findings per address, and the news when a host
gains or loses an address - through the checker and the notifier's decisions, without I/O."""

import ipaddress
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from senderwatch.alerttext import render
from senderwatch.checker import run_checks
from senderwatch.dnsbl import ZoneVerdict
from senderwatch.errors import InvalidInput
from senderwatch.findings import decide, merge_many, reminders, worth_writing
from senderwatch.notifier import alerts_for_change
from senderwatch.runs import Run
from senderwatch.spfresult import SpfResult
from senderwatch.targetcheck import CheckResult
from senderwatch.targets import HOST, NETWORK, Target, parse_target
from tests.support.fakes import FakeInvocation, MemoryHistory, MemoryTargets

V4, V6, NEW = "192.0.2.25", "2001:db8::25", "192.0.2.26"
HOSTNAME = "mail.example.com"
DAY1, DAY2, DAY3 = (f"2026-11-{d:02d}T06:00:00+00:00" for d in (20, 21, 22))
ZONES = ("dnsbl.justspam.org", "bl.spamcop.net")


def verdicts(ip, listed_on=()):
    family = ipaddress.ip_address(ip).version
    zones = ZONES if family == 4 else ZONES[1:]
    return [
        ZoneVerdict(z, "listed", ("127.0.0.2",), meaning="spam") if z in listed_on else ZoneVerdict(z, "clean")
        for z in zones
    ]


def spf(ip, result=None):
    result = result or ("pass" if ip.startswith("192.0.2.2") and ip != NEW else "softfail")
    return SpfResult("postmaster@example.com", result, "~all" if result != "pass" else f"ip4:{ip}", "", 1)


def host_result(*ips, listed=()):
    return [
        CheckResult(ipaddress.ip_address(ip), verdicts(ip, listed if ip == V4 else ()), [spf(ip)], host=HOSTNAME)
        for ip in ips
    ]


def events(alerts):
    return sorted((a.event, a.ip, a.zone) for a in alerts)


@pytest.mark.parametrize(
    ("text", "key", "kind"),
    [
        ("Mail.Example.COM.", HOSTNAME, HOST),
        ("192.0.2.0/24", "192.0.2.0/24", NETWORK),
        ("2001:db8::100/120", "2001:db8::100/120", NETWORK),
        ("::ffff:192.0.2.0/124", "192.0.2.0/28", NETWORK),
        ("192.0.2.25/32", V4, "address"),
        ("bücher.example", "xn--bcher-kva.example", HOST),
    ],
)
def test_a_target_is_written_one_way_whatever_way_it_was_typed(text, key, kind):
    name = parse_target(text)
    assert (name.key, name.kind) == (key, kind)
    assert parse_target(name.key) == name  # the key reads back as itself


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("192.0.2.0/23", "a /24 or longer"),
        ("2001:db8::/64", "a /120 or longer"),
        ("192.0.2.9/24", "give 192.0.2.9 to watch that address, or 192.0.2.0/24"),
        ("10.0.0.0/24", "private"),
        ("fd00::/120", "unique local"),
        ("localhost", "or a host name (mail.example.com)"),
    ],
)
def test_networks_too_large_or_private_and_names_that_are_not_hosts_are_refused(text, says):
    with pytest.raises(InvalidInput, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse_target(text)


def test_the_story_with_a_host_target_alerts_on_the_ipv6_softfail_nobody_typed():
    first = merge_many(None, host_result(V4, V6), DAY1)
    alerts = decide(None, first, HOSTNAME)
    assert events(alerts) == [("SPF_FAILING", V6, "")]  # no ADDRESS_ADDED on a host's first check
    assert alerts[0].target == HOSTNAME and alerts[0].details["result"] == "softfail"
    second = merge_many(first, host_result(V4, V6), DAY2)
    assert worth_writing(second) == worth_writing(first) and decide(first, second, HOSTNAME) == []


def test_a_new_address_is_news_that_says_whether_spf_passes_for_it_and_a_vanished_one_too():
    before = merge_many(None, host_result(V4, V6), DAY1)
    after = merge_many(before, host_result(V4, V6, NEW), DAY2)
    alerts = decide(before, after, HOSTNAME, "postfix")
    assert events(alerts) == [("ADDRESS_ADDED", NEW, ""), ("SPF_FAILING", NEW, "")]
    added = next(a for a in alerts if a.event == "ADDRESS_ADDED")
    assert added.details["spf"] == "softfail" and added.details["spf_problem"] and added.severity == "warning"
    assert added.label == "postfix" and added.since == DAY2
    gone = merge_many(after, host_result(V4, NEW), DAY3)
    (removed,) = decide(after, gone, HOSTNAME)
    assert (removed.event, removed.ip, removed.since) == ("ADDRESS_REMOVED", V6, DAY3)


def test_an_address_that_leaves_while_listed_is_removed_not_delisted():
    before = merge_many(None, host_result(V4, V6, listed=("dnsbl.justspam.org",)), DAY1)
    assert events(decide(None, before, HOSTNAME)) == [("LISTED", V4, "dnsbl.justspam.org"), ("SPF_FAILING", V6, "")]
    after = merge_many(before, host_result(V6), DAY2)
    (alert,) = decide(before, after, HOSTNAME)
    assert alert.event == "ADDRESS_REMOVED" and alert.details["listed"] == ["dnsbl.justspam.org"]


def test_a_listing_and_its_clearing_on_a_hosts_address_alert_once_each():
    before = merge_many(None, host_result(V4, V6), DAY1)
    listed = merge_many(before, host_result(V4, V6, listed=("bl.spamcop.net",)), DAY2)
    assert events(decide(before, listed, HOSTNAME)) == [("LISTED", V4, "bl.spamcop.net")]
    cleared = merge_many(listed, host_result(V4, V6), DAY3)
    assert events(decide(listed, cleared, HOSTNAME)) == [("DELISTED", V4, "bl.spamcop.net")]
    assert events(reminders(listed, HOSTNAME)) == [("LISTED", V4, "bl.spamcop.net"), ("SPF_FAILING", V6, "")]


def test_the_same_address_added_again_after_leaving_is_news_again():
    one = merge_many(None, host_result(V4), DAY1)
    two = merge_many(one, host_result(V4, V6), DAY2)
    three = merge_many(two, host_result(V4), DAY3)
    four = merge_many(three, host_result(V4, V6), "2026-11-23T06:00:00+00:00")
    keys = {a.key for a in decide(one, two, HOSTNAME) + decide(three, four, HOSTNAME) if a.event == "ADDRESS_ADDED"}
    assert len(keys) == 2  # each is its own alert: the second is not taken for a re-delivery of the first


def test_a_full_network_fits_one_dynamodb_item():
    network = "198.51.100.0/24"
    results = [
        CheckResult(
            ip,
            [ZoneVerdict(f"list{n}.example", "clean") for n in range(18)],
            [spf(str(ip), "softfail")],
            network=network,
        )
        for ip in ipaddress.ip_network(network)
    ]
    findings = merge_many(None, results, DAY1)
    assert len(findings["addresses"]) == 256
    assert len(json.dumps(findings)) < 200_000  # an item holds 400 KB; the old image rides the stream too
    assert events(decide(None, findings, network)).count(("SPF_FAILING", "198.51.100.7", "")) == 1


# -- through the checker stage ----------------------------------------------------------------------

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def test_the_checker_keeps_a_hosts_findings_per_address_and_a_family_that_does_not_resolve_keeps_its_own():
    store = MemoryTargets({"ip": HOSTNAME, "sender": "example.com"})
    run_checks([{"ip": HOSTNAME}], store, FakeInvocation(verdicts, hosts={HOSTNAME: [V4, V6]}, spf=spf), NOW)
    findings = store.items[HOSTNAME]["findings"]
    assert sorted(findings["addresses"]) == [V4, V6]
    assert findings["addresses"][V6]["spf"]["result"] == "softfail"
    # DNS for the host fails this run: the checker is handed the addresses it had, and nothing changes.
    summary = run_checks([{"ip": HOSTNAME}], store, FakeInvocation(verdicts, hosts={}, spf=spf), NOW)
    assert summary.checked == 2 and summary.changed == 0


def test_a_network_is_checked_address_by_address_in_a_slice_of_its_own():
    store = MemoryTargets({"ip": "192.0.2.0/28"}, {"ip": V4})
    checks = FakeInvocation(verdicts)
    summary = run_checks([{"ip": "192.0.2.0/28"}, {"ip": V4}], store, checks, NOW, run=Run(DAY1, scheduled=True))
    assert checks.slices == [["192.0.2.0/28"], [V4]] and summary.checked == 17
    assert len(store.items["192.0.2.0/28"]["findings"]["addresses"]) == 16


def test_the_notifier_reads_a_hosts_item_change_as_its_addresses_news():
    old = {"ip": HOSTNAME, "label": "mx", "findings": merge_many(None, host_result(V4), DAY1)}
    new = {"ip": HOSTNAME, "label": "mx", "findings": merge_many(old["findings"], host_result(V4, V6), DAY2)}
    alerts = alerts_for_change(old, new)
    assert events(alerts) == [("ADDRESS_ADDED", V6, ""), ("SPF_FAILING", V6, "")]
    assert {a.target for a in alerts} == {HOSTNAME} and {a.label for a in alerts} == {"mx"}


def test_a_host_target_item_validates_like_an_address():
    assert Target.from_item({"ip": HOSTNAME, "zones": ["bl.spamcop.net"]}).name.kind == HOST
    with pytest.raises(InvalidInput, match="write the host as mail.example.com"):
        Target.from_item({"ip": "MAIL.example.com"})


def test_a_hosts_address_delisted_twice_is_news_twice_and_says_since_when():
    day = [f"2026-11-{d:02d}T06:00:00+00:00" for d in range(20, 25)]
    states = [merge_many(None, host_result(V4, V6), day[0])]
    for n, listed in enumerate((("bl.spamcop.net",), (), ("bl.spamcop.net",), ()), 1):
        states.append(merge_many(states[-1], host_result(V4, V6, listed=listed), day[n]))
    delisted = [a for old, new in zip(states, states[1:]) for a in decide(old, new, HOSTNAME) if a.event == "DELISTED"]
    assert [a.since for a in delisted] == [day[2], day[4]] and len({a.key for a in delisted}) == 2


def test_an_spf_alert_for_a_hosts_address_shows_the_record_and_the_one_to_publish():
    record = "v=spf1 ip4:192.0.2.25 ~all"
    result = [
        CheckResult(ipaddress.ip_address(V6), verdicts(V6), [replace(spf(V6), record=record)], host=HOSTNAME),
    ]
    (alert,) = decide(None, merge_many(None, result, DAY1), HOSTNAME)
    assert alert.details["record"] == record
    assert "v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 ~all" in render(alert).email


def test_a_full_networks_run_fits_one_history_item_whatever_its_spf_record():
    record = "v=spf1 " + " ".join(f"ip4:198.51.{n}.0/24" for n in range(40)) + " ~all"  # ~700 characters
    store, history = MemoryTargets({"ip": "198.51.100.0/24", "sender": "example.com"}), MemoryHistory()
    long_spf = lambda ip: replace(spf(ip, "softfail"), record=record, explanation="x" * 200)  # noqa: E731
    checks = FakeInvocation(lambda ip: [ZoneVerdict(f"list{n}.example", "clean") for n in range(18)], spf=long_spf)
    run_checks([{"ip": "198.51.100.0/24"}], store, checks, NOW, history=history)
    (row,) = history.runs
    assert len(json.loads(row["result"])["results"]) == 256 and len(row["result"]) < 150_000
    assert len(json.dumps(store.items["198.51.100.0/24"]["findings"])) < 150_000


def test_a_host_that_does_not_exist_is_said_at_once_and_again_when_it_resolves():
    store = MemoryTargets({"ip": "mial.example.com", "sender": "example.com"})
    run_checks(
        [{"ip": "mial.example.com"}], store, FakeInvocation(verdicts, hosts={"mial.example.com": "NXDOMAIN"}), NOW
    )
    first = store.items["mial.example.com"]["findings"]
    assert first["unresolved"]["error"] == "no-such-host" and first["addresses"] == {}
    (alert,) = decide(None, first, "mial.example.com")
    message = render(alert)
    assert (alert.event, alert.target) == ("HOST_UNRESOLVED", "mial.example.com")
    assert message.subject == "mial.example.com cannot be checked: no-such-host"
    assert "senderwatch targets remove mial.example.com" in message.email
    later = merge_many(first, host_result(V4), DAY2)
    assert sorted(a.event for a in decide(first, later, "mial.example.com")) == ["ADDRESS_ADDED", "HOST_RESOLVED"]


def test_what_a_hosts_resolution_leaves_unchecked_is_noted_never_dropped():
    from senderwatch.targetcheck import AddressResults, HostProblem

    problems = [
        HostProblem(HOSTNAME, "not-public", None, "mail.example.com resolves to addresses no list rates: 10.0.0.5"),
        HostProblem(HOSTNAME, "timeout", 6, "the IPv6 addresses of mail.example.com could not be found (timeout)"),
    ]
    findings = merge_many(None, AddressResults(host_result(V4), problems), DAY1)
    assert findings["notes"] == ["mail.example.com resolves to addresses no list rates: 10.0.0.5"]  # lasting only
    assert "unresolved" not in findings
