"""The DNSBL verdict rules, one answer at a time."""

import pytest

from senderwatch import wire
from senderwatch.dnsbl import classify, lists_only, resolver_problem, zone_failure
from senderwatch.zones import catalogue, resolve_zones

ZEN = catalogue()["zen.spamhaus.org"]
JUSTSPAM = catalogue()["dnsbl.justspam.org"]
UNKNOWN = resolve_zones(["bl.example.org"])[0]


def a(*codes):
    return wire.Answer(wire.NOERROR, tuple(("", wire.A, c) for c in codes))


def test_nxdomain_is_clean():
    assert classify(JUSTSPAM, wire.Answer(wire.NXDOMAIN)).status == "clean"


def test_empty_noerror_answer_is_clean():
    assert classify(JUSTSPAM, wire.Answer(wire.NOERROR)).status == "clean"


def test_listing_carries_codes_meaning_and_delist_link():
    verdict = classify(JUSTSPAM, a("127.0.0.2"))
    assert verdict.status == "listed"
    assert verdict.codes == ("127.0.0.2",)
    assert "trap" in verdict.meaning
    assert verdict.delist_url.startswith("http")


def test_every_code_of_a_multi_code_listing_is_kept_with_its_meaning():
    verdict = classify(ZEN, a("127.0.0.10", "127.0.0.2", "127.0.0.4"))
    assert verdict.codes == ("127.0.0.2", "127.0.0.4", "127.0.0.10")
    assert "SBL" in verdict.meaning and "XBL" in verdict.meaning and "PBL" in verdict.meaning


@pytest.mark.parametrize("code", ["127.255.255.252", "127.255.255.254", "127.255.255.255"])
def test_spamhaus_refusal_codes_are_blocked_errors_not_listings(code):
    verdict = classify(ZEN, a(code))
    assert (verdict.status, verdict.error) == ("error", "blocked")
    assert verdict.codes == (code,)


def test_cloud_resolver_refusal_explains_dqs():
    assert "DQS" in classify(ZEN, a("127.255.255.254")).meaning


def test_unknown_zone_uses_rfc5782_defaults():
    assert classify(UNKNOWN, a("127.0.0.2")).status == "listed"
    assert classify(UNKNOWN, a("127.0.0.77")).status == "listed"
    assert classify(UNKNOWN, a("127.255.255.1")).error == "blocked"


@pytest.mark.parametrize("code", ["192.0.2.1", "10.0.0.1", "0.0.0.0"])
def test_answer_outside_loopback_is_a_bad_answer(code):
    verdict = classify(JUSTSPAM, a(code))
    assert (verdict.status, verdict.error) == ("error", "bad-answer")


def test_rewritten_answer_mixed_with_a_listing_is_still_a_bad_answer():
    assert classify(JUSTSPAM, a("127.0.0.2", "198.51.100.7")).error == "bad-answer"


@pytest.mark.parametrize(
    ("rcode", "error"),
    [(wire.TIMEOUT, "timeout"), (wire.SERVFAIL, "servfail"), (wire.REFUSED, "refused"), (wire.NOTIMP, "servfail")],
)
def test_faults_are_errors_never_clean(rcode, error):
    verdict = classify(JUSTSPAM, wire.Answer(rcode))
    assert (verdict.status, verdict.error) == ("error", error)


def test_undocumented_code_of_a_catalogued_zone_is_a_listing_that_says_so():
    verdict = classify(JUSTSPAM, a("127.0.0.9"))
    assert verdict.status == "listed" and "not documented" in verdict.meaning


def state(zone, listed_probe, clean_probe):
    failure = zone_failure(zone, listed_probe, clean_probe)
    return failure and (failure.status, failure.error)


def test_zone_listing_its_clean_test_entry_lists_everything():
    assert state(JUSTSPAM, a("127.0.0.2"), a("127.0.0.2")) == ("unhealthy", "lists-everything")


def test_zone_not_listing_its_listed_test_entry_lists_nothing():
    assert state(JUSTSPAM, wire.Answer(wire.NXDOMAIN), wire.Answer(wire.NXDOMAIN)) == ("unhealthy", "lists-nothing")


def test_healthy_zone():
    assert state(JUSTSPAM, a("127.0.0.2"), wire.Answer(wire.NXDOMAIN)) is None


def test_a_zone_whose_test_entries_get_no_verdict_is_not_asked_this_run():
    assert state(ZEN, a("127.255.255.254"), a("127.255.255.254")) == ("error", "blocked")
    assert state(JUSTSPAM, wire.Answer(wire.TIMEOUT), wire.Answer(wire.TIMEOUT)) == ("error", "timeout")
    assert zone_failure(ZEN, a("127.255.255.254"), None).zone_failed


def test_one_probe_that_answers_is_enough_to_use_the_zone():
    assert state(JUSTSPAM, a("127.0.0.2"), wire.Answer(wire.TIMEOUT)) is None


TIMEOUT, NX, REFUSED = wire.Answer(wire.TIMEOUT), wire.Answer(wire.NXDOMAIN), wire.Answer(wire.REFUSED)
ROOT = wire.Answer(wire.NOERROR)


SERVFAIL = wire.Answer(wire.SERVFAIL)


@pytest.mark.parametrize(
    ("canary", "probes", "lists_nothing", "probed", "working", "says"),
    [
        (TIMEOUT, [TIMEOUT, TIMEOUT], 0, 1, 0, "no answer to any of 3 queries"),
        (REFUSED, [REFUSED, TIMEOUT], 0, 1, 0, "REFUSED to every query: it does not resolve names for this machine"),
        (SERVFAIL, [SERVFAIL, SERVFAIL], 0, 1, 0, "SERVFAIL to every query: it cannot resolve names: its own upstream"),
        (NX, [NX, NX], 1, 1, 0, "root of the DNS does not exist"),
        (ROOT, [NX] * 4, 2, 2, 0, "all 2 lists say their test entry 127.0.0.2 is not listed"),
    ],
)
def test_a_resolver_that_is_the_problem_is_named(canary, probes, lists_nothing, probed, working, says):
    assert says in resolver_problem(canary, probes, lists_nothing, probed, working)[1]


@pytest.mark.parametrize(
    ("canary", "probes", "lists_nothing", "probed", "working"),
    [
        (ROOT, [a("127.0.0.2"), NX], 0, 1, 1),  # a working resolver
        (TIMEOUT, [a("127.0.0.2"), NX], 0, 1, 1),  # the root is slow, the lists answer
        (REFUSED, [a("127.0.0.2"), NX], 0, 1, 1),  # an authoritative server for the lists (rbldnsd)
        (NX, [a("127.0.0.2"), NX, NX, NX], 1, 2, 1),  # a DNSBL mirror: the root does not exist there
        (ROOT, [NX, NX], 1, 1, 0),  # one dead list is that list's problem
        (ROOT, [TIMEOUT] * 4, 0, 2, 0),  # lists that time out are the lists' problem
    ],
)
def test_a_working_resolver_is_not_blamed(canary, probes, lists_nothing, probed, working):
    assert resolver_problem(canary, probes, lists_nothing, probed, working) == ("", "")


def test_a_resolver_that_says_the_root_does_not_exist_serves_only_lists():
    """Its NXDOMAIN for any other name is no verdict; rbldnsd refuses what it does not serve, and
    answers what it does (a zone of host names): it is asked."""
    assert "says the root of the DNS does not exist" in lists_only(NX)
    assert lists_only(REFUSED) == "" and lists_only(ROOT) == ""


def test_json_shape_of_each_status():
    assert classify(JUSTSPAM, a("127.0.0.2")).to_dict().keys() == {
        "zone",
        "status",
        "codes",
        "meaning",
        "reason",
        "delist_url",
    }
    blocked = classify(ZEN, a("127.255.255.254")).to_dict()
    assert blocked["status"] == "error" and blocked["error"] == "blocked"
    assert blocked["codes"] == ["127.255.255.254"]
    assert classify(JUSTSPAM, wire.Answer(wire.NXDOMAIN)).to_dict() == {"zone": "dnsbl.justspam.org", "status": "clean"}
