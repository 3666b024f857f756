"""A relay that sends for several domains: one target, several senders, SPF per sender.

The item reads the single `sender` earlier versions (and the README's put-item line) write; the
findings keep each sender's result; each sender's SPF fails and clears on its own alert; findings
written by an earlier version (one sender) read as before and send nothing by their shape alone.
"""

import ipaddress

import pytest

from senderwatch.alerttext import group, render, render_group
from senderwatch.dnsbl import ZoneVerdict
from senderwatch.errors import InvalidTarget
from senderwatch.findings import decide, merge, merge_many, reminders, worth_writing
from senderwatch.runs import Run
from senderwatch.spfresult import SpfResult
from senderwatch.targetcheck import AddressResults, CheckResult
from senderwatch.targets import Target

IP, IP2 = "192.0.2.25", "2001:db8::25"
HOST = "mail.example.com"
A, B = "postmaster@example.com", "postmaster@example.org"
DAY1, DAY2, DAY3 = (f"2026-11-{d:02d}T06:00:00+00:00" for d in (20, 21, 22))
RUN1, RUN2, RUN3 = (Run(day, scheduled=True) for day in (DAY1, DAY2, DAY3))
RECORDS = {A: "v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 -all", B: "v=spf1 ip4:192.0.2.25 ~all"}


def spf(sender, result, ip=IP):
    mechanism = "~all" if result == "softfail" else f"ip{ipaddress.ip_address(ip).version}:{ip}"
    return SpfResult(sender, result, mechanism, "", 1, RECORDS[sender])


def result(*spfs, ip=IP, host=""):
    return CheckResult(ipaddress.ip_address(ip), [ZoneVerdict("dnsbl.justspam.org", "clean")], list(spfs), host=host)


def said(alerts):
    return [(a.event, a.ip, a.zone, a.details.get("sender")) for a in alerts]


# -- the item -------------------------------------------------------------------------------------


def test_the_item_reads_the_single_sender_of_earlier_versions_and_writes_one_sender_so():
    """The README's put-item line (`sender`) and an item of an earlier version read as one sender;
    a target with one sender writes `sender` again, so both read the same."""
    one = Target.from_item({"ip": HOST, "sender": "example.com", "label": "postfix-1"})
    assert one.senders == (A,)
    assert one.to_item() == {"ip": HOST, "enabled": True, "sender": A, "label": "postfix-1"}
    assert Target.from_item(one.to_item()) == one


def test_the_item_holds_several_senders_as_a_list_each_once_in_order():
    two = Target.from_item({"ip": HOST, "senders": ["example.com", "bounce@example.org", "example.com"]})
    assert two.senders == (A, "bounce@example.org")
    assert two.to_item() == {"ip": HOST, "enabled": True, "senders": [A, "bounce@example.org"]}
    assert Target.from_item(two.to_item()) == two
    # Written by hand beside an older `sender`: the one sender first, then the list.
    both = Target.from_item({"ip": HOST, "sender": "example.net", "senders": {"example.org"}})
    assert both.senders == ("postmaster@example.net", B)


@pytest.mark.parametrize(
    ("senders", "said"),
    [
        ("example.com", "'senders' must be a list"),
        ([1], "'senders' must be a list"),
        (["not a sender@"], "invalid sender"),
    ],
)
def test_an_item_whose_senders_cannot_be_read_says_why(senders, said):
    with pytest.raises(InvalidTarget, match=said):
        Target.from_item({"ip": IP, "senders": senders})


# -- findings and alerts, per sender ----------------------------------------------------------------


def test_each_senders_result_is_kept_and_each_fails_and_clears_on_its_own_alert():
    first = merge(None, result(spf(A, "pass"), spf(B, "softfail")), DAY1, RUN1)
    assert [(e["sender"], e["result"]) for e in first["spf"]] == [(A, "pass"), (B, "softfail")]
    # Two senders failing for one address are two alerts, each about its sender.
    assert said(decide(None, first, IP)) == [("SPF_FAILING", IP, B, B)]
    both = merge(first, result(spf(A, "fail"), spf(B, "softfail")), DAY2, RUN2)
    assert said(decide(first, both, IP)) == [("SPF_FAILING", IP, A, A)]  # B's is no news
    assert both["spf"][1]["since"] == DAY1  # B has softfailed since the first run
    fixed = merge(both, result(spf(A, "fail"), spf(B, "pass")), DAY3, RUN3)
    recovered = decide(both, fixed, IP)
    assert said(recovered) == [("SPF_RECOVERED", IP, B, B)]  # A still fails: its alert stands
    assert recovered[0].details["began"] == DAY1


def test_findings_of_an_earlier_version_with_one_sender_read_as_before_and_send_nothing():
    """An upgrade: findings written before several senders existed (one sender, `spf` an object)
    are read as they were; the same check writes the same findings, and no alert comes of it."""
    earlier = {
        "dnsbl": {"dnsbl.justspam.org": {"status": "clean", "since": DAY1}},
        "spf": {"sender": A, "result": "softfail", "mechanism": "~all", "record": RECORDS[A], "since": DAY1},
    }
    now = merge(earlier, result(spf(A, "softfail")), DAY2, RUN2)
    assert now["spf"] == dict(earlier["spf"], explanation="")  # one sender: the object, as ever
    assert decide(earlier, now, IP) == []
    assert worth_writing(merge(now, result(spf(A, "softfail")), DAY3, RUN3)) == worth_writing(now)
    # The alert of one sender is keyed as before (nothing beside the address): it is not sent again.
    assert [a.zone for a in decide(None, now, IP)] == [""]


def test_a_second_sender_added_to_a_target_is_news_only_for_its_own_result():
    one = merge(None, result(spf(A, "softfail")), DAY1, RUN1)
    two = merge(one, result(spf(A, "softfail"), spf(B, "softfail")), DAY2, RUN2)
    assert said(decide(one, two, IP)) == [("SPF_FAILING", IP, B, B)]
    assert two["spf"][0]["since"] == DAY1


def test_a_temperror_for_one_sender_keeps_its_result_and_touches_no_other():
    first = merge(None, result(spf(A, "softfail"), spf(B, "pass")), DAY1, RUN1)
    blip = merge(first, result(spf(A, "temperror"), spf(B, "pass")), DAY2, RUN2)
    assert blip["spf"][0]["result"] == "softfail" and blip["spf"][0]["error"] == "temperror"
    assert decide(first, blip, IP) == []


def test_a_hosts_addresses_keep_each_senders_result_and_record():
    """A host's item keeps each address's results per sender, and each sender's record once."""
    day1 = AddressResults(
        [
            result(spf(A, "pass"), spf(B, "pass"), host=HOST),
            result(spf(A, "pass", IP2), spf(B, "softfail", IP2), ip=IP2, host=HOST),
        ]
    )
    first = merge_many(None, day1, DAY1, RUN1)
    assert {k: v["sender"] for k, v in first["spf_records"].items()} == {"spf": A, f"spf:{B}": B}
    assert [e["result"] for e in first["addresses"][IP2]["spf"]] == ["pass", "softfail"]
    alerts = decide(None, first, HOST, "relay", HOST)
    assert said(alerts) == [("SPF_FAILING", IP2, B, B)]
    assert alerts[0].details["record"] == RECORDS[B]  # the record of that sender's domain
    same = merge_many(first, day1, DAY2, RUN2)
    assert decide(first, same, HOST, "relay", HOST) == []
    assert said(reminders(same, HOST, "relay")) == [("SPF_FAILING", IP2, B, B)]


def test_the_alerts_name_the_sender_each_clearing_on_its_own_and_addresses_grouped_per_sender():
    first = merge(None, result(spf(A, "fail"), spf(B, "softfail")), DAY1, RUN1)
    alerts = decide(None, first, IP, "relay")
    texts = [render(a) for a in alerts]
    assert [t.subject for t in texts] == [
        f"SPF fail for {IP} (relay) as {A}",
        f"SPF softfail for {IP} (relay) as {B}",
    ]
    assert all(a.details["sender"] in t.email for a, t in zip(alerts, texts))
    # Many addresses failing for two senders: one message per sender, each naming it.
    other = merge(None, result(spf(A, "fail"), spf(B, "softfail"), ip="192.0.2.26"), DAY1, RUN1)
    groups = group([*alerts, *decide(None, other, "192.0.2.26", "relay 2")])
    subjects = sorted(render_group(g).subject for g in groups)
    assert subjects == [f"SPF fail for 2 addresses sending as {A}", f"SPF softfail for 2 addresses sending as {B}"]
    # Each domain's people may subscribe to their own sender's alerts only (an SNS filter on "sender").
    assert [t.attributes["sender"] for t in texts] == [A, B]
    assert sorted(render_group(g).attributes["sender"] for g in groups) == [A, B]
    fixed = merge(first, result(spf(A, "fail"), spf(B, "pass")), DAY2, RUN2)
    assert render(decide(first, fixed, IP, "relay")[0]).subject == f"SPF passes again for {IP} (relay) as {B}"


def test_a_new_address_of_a_host_says_each_senders_spf_and_where_to_fix_it():
    before = merge_many(None, AddressResults([result(spf(A, "pass"), spf(B, "pass"), host=HOST)]), DAY1, RUN1)
    both = AddressResults(
        [
            result(spf(A, "pass"), spf(B, "pass"), host=HOST),
            result(spf(A, "softfail", IP2), spf(B, "pass", IP2), ip=IP2, host=HOST),
        ]
    )
    after = merge_many(before, both, DAY2, RUN2)
    (added,) = [a for a in decide(before, after, HOST, "relay", HOST) if a.event == "ADDRESS_ADDED"]
    assert added.severity == "warning"
    email = render(added).email
    assert f"softfail for {A}, pass for {B}: add ip6:{IP2} to the SPF record of example.com" in email
