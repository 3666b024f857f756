"""From one run's results to findings, and from a change of findings to alerts."""

import ipaddress
from datetime import UTC, datetime

from senderwatch.dnsbl import ZoneVerdict
from senderwatch.findings import (
    FAILING_RUNS,
    decide,
    decide_health,
    merge,
    next_health,
    reminder_due,
    reminders,
    worth_writing,
)
from senderwatch.runs import Run
from senderwatch.spfresult import SpfResult
from senderwatch.targetcheck import CheckResult

IP = "192.0.2.25"
DAY1, DAY2, DAY3, DAY4 = (f"2026-11-{d:02d}T06:00:00+00:00" for d in (20, 21, 22, 23))
RUN1, RUN2, RUN3, RUN4 = (Run(day, scheduled=True) for day in (DAY1, DAY2, DAY3, DAY4))


def listed(zone="dnsbl.justspam.org", reason="trap"):
    return ZoneVerdict(zone, "listed", ("127.0.0.2",), meaning="spam", reason=reason, delist_url="http://d")


def clean(zone="dnsbl.justspam.org"):
    return ZoneVerdict(zone, "clean")


def error(zone="dnsbl.justspam.org", kind="timeout"):
    return ZoneVerdict(zone, "error", error=kind)


def spf(result):
    return SpfResult("postmaster@example.com", result, "~all", "", 0, "v=spf1 ip4:192.0.2.25 ~all")


def run(*verdicts, spf_result=None):
    return CheckResult(ipaddress.ip_address(IP), list(verdicts), [spf(spf_result)] if spf_result else [])


def events(alerts):
    return [(a.event, a.zone) for a in alerts]


def test_first_listing_raises_listed_once():
    first = merge(None, run(listed()), DAY1)
    assert events(decide(None, first, IP)) == [("LISTED", "dnsbl.justspam.org")]
    second = merge(first, run(listed()), DAY2)
    assert worth_writing(second) == worth_writing(first)  # nothing to write, nothing to send
    assert decide(first, second, IP) == []
    assert second["dnsbl"]["dnsbl.justspam.org"]["since"] == DAY1


def test_delisting_raises_delisted_with_the_list_details():
    before = merge(None, run(listed()), DAY1)
    after = merge(before, run(clean()), DAY2)
    (alert,) = decide(before, after, IP)
    assert (alert.event, alert.since, alert.details["delist_url"]) == ("DELISTED", DAY2, "http://d")


def test_first_seen_clean_is_silent():
    assert decide(None, merge(None, run(clean()), DAY1), IP) == []


def test_errors_keep_the_previous_verdict_and_never_raise_or_clear_a_listing():
    listed_state = merge(None, run(listed()), DAY1)
    failing = merge(listed_state, run(error(kind="timeout")), DAY2, RUN2)
    entry = failing["dnsbl"]["dnsbl.justspam.org"]
    assert entry["status"] == "listed" and entry["since"] == DAY1
    assert entry["error"] == "timeout" and entry["error_runs"] == 1
    assert decide(listed_state, failing, IP) == []
    recovered = merge(failing, run(listed()), DAY3)
    assert decide(failing, recovered, IP) == []  # still the same listing
    assert "error_runs" not in recovered["dnsbl"]["dnsbl.justspam.org"]


def test_check_failing_arrives_once_after_several_runs_in_a_row():
    state = merge(None, run(clean()), DAY1)
    sent = []
    for day in range(FAILING_RUNS + 2):
        stamp = f"2026-11-{21 + day}T06:00:00+00:00"
        new = merge(state, run(error()), stamp, Run(stamp, scheduled=True))
        sent += events(decide(state, new, IP))
        state = new
    assert sent == [("CHECK_FAILING", "dnsbl.justspam.org")]
    assert state["dnsbl"]["dnsbl.justspam.org"]["status"] == "clean"


def test_runs_are_counted_not_deliveries():
    """A message delivered twice, or a first check outside the schedule, is not another failing run."""
    state = merge(None, run(clean()), DAY1)
    for _ in range(FAILING_RUNS + 1):
        state = merge(state, run(error()), DAY2, RUN2)  # the same run, delivered again and again
    state = merge(state, run(error()), DAY2, Run(DAY2, scheduled=False))  # a first check
    assert state["dnsbl"]["dnsbl.justspam.org"]["error_runs"] == 1


def test_a_list_that_cannot_be_used_at_all_leaves_the_address_alone():
    """Blocked, or failing its test entries: the deployment's problem, counted on the list's own record."""
    before = merge(None, run(listed()), DAY1)
    zone_wide = ZoneVerdict("dnsbl.justspam.org", "error", ("127.255.255.254",), error="blocked", zone_failed=True)
    after = merge(before, run(zone_wide), DAY2, RUN2)
    assert worth_writing(after) == worth_writing(before)  # nothing to write, no stream record, no alert
    assert merge(None, run(zone_wide), DAY2, RUN2)["dnsbl"] == {}


def test_unhealthy_zone_counts_as_failing_not_as_clean():
    state = merge(None, run(ZoneVerdict("z.example", "unhealthy", error="lists-everything")), DAY1)
    assert state["dnsbl"]["z.example"]["status"] == "unknown"
    assert decide(None, state, IP) == []


def test_spf_getting_worse_is_news_getting_better_but_failing_is_not():
    softfail = merge(None, run(spf_result="softfail"), DAY1)
    fail = merge(softfail, run(spf_result="fail"), DAY2)
    (alert,) = decide(softfail, fail, IP)
    assert (alert.event, alert.details["previous"]) == ("SPF_FAILING", "softfail")
    assert decide(fail, merge(fail, run(spf_result="softfail"), DAY3), IP) == []


def test_a_new_sender_starts_spf_afresh():
    passing = merge(None, run(spf_result="pass"), DAY1)
    other = CheckResult(ipaddress.ip_address(IP), [], [SpfResult("bounce@example.net", "softfail", "~all", "", 0)])
    moved = merge(passing, other, DAY2)
    assert moved["spf"]["sender"] == "bounce@example.net" and moved["spf"]["since"] == DAY2
    (alert,) = decide(passing, moved, IP)
    assert alert.event == "SPF_FAILING" and alert.details["previous"] is None


def test_no_sender_no_spf_finding():
    passing = merge(None, run(spf_result="pass"), DAY1)
    assert "spf" not in merge(passing, run(clean()), DAY2)


def test_spf_softfail_first_seen_then_recovered():
    first = merge(None, run(spf_result="softfail"), DAY1)
    (failing,) = decide(None, first, IP)
    assert failing.event == "SPF_FAILING" and failing.details["record"].startswith("v=spf1")
    fixed = merge(first, run(spf_result="pass"), DAY2)
    assert events(decide(first, fixed, IP)) == [("SPF_RECOVERED", "")]


def test_spf_temperror_keeps_the_previous_result():
    passing = merge(None, run(spf_result="pass"), DAY1)
    flaky = merge(passing, run(spf_result="temperror"), DAY2)
    assert flaky["spf"]["result"] == "pass"
    assert decide(passing, flaky, IP) == []


def test_a_reworded_reason_is_not_a_change():
    first = merge(None, run(listed(reason="trap hit")), DAY1)
    second = merge(first, run(listed(reason="trap hit, again")), DAY2)
    assert worth_writing(first) == worth_writing(second)


def test_reminders_when_a_problem_lasts():
    state = merge(None, run(listed(), spf_result="softfail"), DAY1)
    assert not reminder_due(state, datetime(2026, 11, 22, 6, tzinfo=UTC), days=3)
    assert reminder_due(state, datetime(2026, 11, 23, 6, tzinfo=UTC), days=3)
    assert not reminder_due(state, datetime(2026, 11, 23, 6, tzinfo=UTC), days=0)
    state["reminded_at"] = DAY4
    assert not reminder_due(state, datetime(2026, 11, 24, 6, tzinfo=UTC), days=3)
    assert [(a.event, a.reminder) for a in reminders(state, IP)] == [("LISTED", DAY4), ("SPF_FAILING", DAY4)]


def test_alert_keys_name_the_change_so_a_retry_is_recognised():
    first = merge(None, run(listed()), DAY1)
    (again,) = decide(None, merge(None, run(listed()), DAY1), IP)
    (alert,) = decide(None, first, IP)
    assert alert.key == again.key == f"LISTED|{IP}|dnsbl.justspam.org|{DAY1}|"
    relisted = merge(merge(first, run(clean()), DAY2), run(listed()), DAY3)
    assert decide(merge(first, run(clean()), DAY2), relisted, IP)[0].key != alert.key


def test_a_list_unusable_for_the_deployment_is_one_alert_after_several_runs_and_one_when_it_works():
    blocked = {"error": "blocked", "codes": ["127.255.255.254"], "detail": "use a DQS key"}
    record, sent = None, []
    runs = [Run(f"2026-11-{20 + day}T06:00:00.000000+00:00", scheduled=True) for day in range(6)]
    for run_ in runs[:4]:
        for _ in range(3):  # many checker invocations report the same run
            new = next_health(record, blocked, run_, run_.id)
            if new is not None:
                sent += events(decide_health("zone", "zen.spamhaus.org", record, new))
                record = new
    assert sent == [("CHECK_FAILING", "zen.spamhaus.org")] and record["runs"] == 4
    assert next_health(record, None, runs[2], runs[2].id) is None  # a late report of an older run counts for nothing
    fixed = next_health(record, None, runs[4], runs[4].id)
    assert events(decide_health("zone", "zen.spamhaus.org", record, fixed)) == [("CHECK_RECOVERED", "zen.spamhaus.org")]
    assert next_health(fixed, None, runs[5], runs[5].id) is None  # working, and it was working: nothing to write


def test_a_dead_resolver_is_reported_at_once_and_a_short_blip_of_a_list_not_at_all():
    dead = next_health(None, {"error": "resolver", "detail": "no answer"}, RUN1, DAY1)
    assert events(decide_health("resolver", "resolver", None, dead)) == [("RESOLVER_FAILING", "")]
    blip = next_health(None, {"error": "timeout"}, RUN1, DAY1)
    recovered = next_health(blip, None, RUN2, DAY2)
    assert decide_health("zone", "bl.example", None, blip) == []
    assert decide_health("zone", "bl.example", blip, recovered) == []  # never reported, so no recovery either


def test_spf_failing_another_way_is_news():
    """fail -> permerror (the record broke) and softfail -> none (the record went) need other fixes."""
    fail = merge(None, run(spf_result="fail"), DAY1)
    broken = merge(fail, run(spf_result="permerror"), DAY2)
    assert events(decide(fail, broken, IP)) == [("SPF_FAILING", "")]
    softfail = merge(None, run(spf_result="softfail"), DAY1)
    gone = merge(softfail, run(spf_result="none"), DAY2)
    assert events(decide(softfail, gone, IP)) == [("SPF_FAILING", "")]
    assert decide(fail, merge(fail, run(spf_result="neutral"), DAY2), IP) == []  # better, the same fix


def test_helo_spf_is_watched_too_and_none_is_fine_for_it():
    def helo_run(result):
        helo = SpfResult("postmaster@mail.example.com", result, "-all", "", 0, "v=spf1 a -all")
        return CheckResult(ipaddress.ip_address(IP), [], [], helo)

    none = merge(None, helo_run("none"), DAY1)
    assert decide(None, none, IP) == []
    failing = merge(none, helo_run("fail"), DAY2)
    (alert,) = decide(none, failing, IP)
    assert (alert.event, alert.zone, alert.details["identity"]) == ("SPF_FAILING", "helo", "helo")
    assert events(decide(failing, merge(failing, helo_run("pass"), DAY3), IP)) == [("SPF_RECOVERED", "helo")]


def test_a_newer_problem_does_not_put_off_the_reminder_of_an_older_one():
    state = merge(None, run(listed()), DAY1)
    state = merge(state, run(listed(), spf_result="softfail"), DAY3)  # a new problem two days later
    assert reminder_due(state, datetime(2026, 11, 23, 6, tzinfo=UTC), days=3)  # three days after the listing


def test_findings_written_by_hand_are_read_as_none_and_replaced():
    new = merge("garbage", run(listed()), DAY1)
    assert new["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"
    odd = {"dnsbl": {"dnsbl.justspam.org": "listed", "bl.x": {"status": "listed", "error_runs": "many"}}}
    assert merge(odd, run(error(zone="bl.x")), DAY2, RUN2)["dnsbl"]["bl.x"]["error_runs"] == 1
