"""Mutes: how long one lasts, which alerts it covers, what the notifier does with them, and how
the daily run ends one (with one MUTE_ENDED when what it silenced is still wrong)."""

from datetime import UTC, datetime, timedelta

import pytest

from local.memory import MemoryHealth
from senderwatch.commands.silence import status_mutes
from senderwatch.errors import InvalidInput
from senderwatch.findings import Alert, Event
from senderwatch.mutes import (
    acknowledging,
    covers,
    ending,
    holds,
    new_mute,
    parse_for,
    parse_until,
    problems_now,
    unmuted,
)
from senderwatch.notifier import Change, Silencing, alerts_for_change, notify
from senderwatch.scheduler import end_mutes
from tests.support.fakes import MemoryHistory, MemoryLog, Topic

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SINCE = "2026-11-30T06:00:00+00:00"
BY = "arn:aws:iam::123456789012:user/ops"


def mute(scope: str, value: str, **how) -> dict:
    return new_mute(scope, value, "delisting asked", BY, NOW, **(how or {"length": timedelta(days=7)}))


def listed(ip: str, zone: str = "dnsbl.justspam.org", target: str = "") -> Alert:
    return Alert(Event.LISTED, ip, SINCE, zone, {"status": "listed", "since": SINCE}, target=target)


def delisted(ip: str, zone: str = "dnsbl.justspam.org") -> Alert:
    return Alert(Event.DELISTED, ip, SINCE, zone, {"status": "clean", "began": "2026-11-20T06:00:00+00:00"})


def spf(ip: str, sender: str = "postmaster@example.com") -> Alert:
    return Alert(Event.SPF_FAILING, ip, SINCE, "", {"sender": sender, "result": "softfail"})


# -- how long -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "lasts"), [("7d", timedelta(days=7)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2))]
)
def test_for_takes_hours_days_and_weeks(given, lasts):
    assert parse_for(given) == lasts


@pytest.mark.parametrize("given", ["0d", "0h", "7", "a week", "-1d", "400d", "7x"])
def test_for_that_is_nothing_or_too_long_or_not_a_duration_is_refused_in_one_line(given):
    with pytest.raises(InvalidInput, match=r"^--for ") as refused:
        parse_for(given)
    assert "\n" not in str(refused.value)


def test_until_a_date_ends_as_that_day_begins_and_a_time_without_zone_is_utc():
    assert parse_until("2026-12-15", NOW) == datetime(2026, 12, 15, tzinfo=UTC)
    assert parse_until("2026-12-15T09:30", NOW) == datetime(2026, 12, 15, 9, 30, tzinfo=UTC)
    assert parse_until("2026-12-15T09:30+01:00", NOW) == datetime(2026, 12, 15, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("2026-11-30", "in the past"),
        ("2026-12-01T09:00", "in the past"),
        ("2028-01-01", "at most"),
        ("next friday", "expected a date"),
    ],
)
def test_until_in_the_past_too_far_or_not_a_date_is_refused(given, said):
    with pytest.raises(InvalidInput, match=said):
        parse_until(given, NOW)


def test_a_mute_needs_a_reason_one_length_and_a_known_event():
    with pytest.raises(InvalidInput, match="say why"):
        new_mute("target", "192.0.2.25", "  ", BY, NOW, length=timedelta(days=7))
    with pytest.raises(InvalidInput, match="say how long"):
        new_mute("target", "192.0.2.25", "why", BY, NOW, length=timedelta(days=7), until=NOW + timedelta(days=1))
    with pytest.raises(InvalidInput, match="say how long"):
        new_mute("target", "192.0.2.25", "why", BY, NOW)
    with pytest.raises(InvalidInput, match="not an event senderwatch sends"):
        new_mute("event", "LISTING", "why", BY, NOW, length=timedelta(days=7))
    with pytest.raises(InvalidInput, match="domain such as"):
        new_mute("domain", "not a domain", "why", BY, NOW, length=timedelta(days=7))


@pytest.mark.parametrize("event", ["MUTE_ENDED", "DIGEST", "DIGEST_ALL_WELL", "TEST_ALERT", "alarm"])
def test_an_event_senderwatch_sends_but_a_mute_does_not_take_says_it_cannot_be_muted_in_a_short_line(event):
    with pytest.raises(InvalidInput) as refused:
        new_mute("event", event, "why", BY, NOW, length=timedelta(days=7))
    said = str(refused.value)
    assert said.startswith(f"--event {event.upper()} cannot be muted: ") and "docs/alerts.md" in said
    assert len(said) < 200 and "LISTED" not in said  # the events are in the docs, not in one long line


def test_a_name_that_is_no_event_is_said_in_a_short_line():
    with pytest.raises(InvalidInput) as refused:
        new_mute("event", "LISTING", "why", BY, NOW, length=timedelta(days=7))
    said = str(refused.value)
    assert said.startswith("--event 'LISTING' is not an event senderwatch sends") and len(said) < 120


def test_a_reason_is_one_line_of_at_most_300_characters():
    assert new_mute("target", "192.0.2.25", " a\n  b ", BY, NOW, length=timedelta(days=7))["reason"] == "a b"
    assert len(new_mute("target", "192.0.2.25", "x" * 300, BY, NOW, length=timedelta(days=7))["reason"]) == 300
    with pytest.raises(InvalidInput, match="--reason: at most 300 characters"):
        new_mute("target", "192.0.2.25", "x" * 301, BY, NOW, length=timedelta(days=7))


def test_a_mute_records_who_when_why_and_its_end():
    record = mute("target", "Mail.Example.com.")
    assert record["value"] == "mail.example.com"  # as the targets table keys it
    assert (record["by"], record["at"], record["until"]) == (
        BY,
        "2026-12-01T09:00:00+00:00",
        "2026-12-08T09:00:00+00:00",
    )
    assert record["reason"] == "delisting asked" and record["until_clear"] is False
    assert new_mute("event", "listed", "why", BY, NOW, until_clear=True)["value"] == "LISTED"


# -- what it covers -----------------------------------------------------------------------------------


def test_a_target_mute_covers_its_problems_and_their_reminders_but_not_their_end():
    address, host, network = (
        mute("target", "192.0.2.25"),
        mute("target", "mail.example.com"),
        mute("target", "192.0.2.0/28"),
    )
    assert covers(address, listed("192.0.2.25")) and covers(address, spf("192.0.2.25"))
    reminder = Alert(Event.LISTED, "192.0.2.25", SINCE, "bl.spamcop.net", reminder="2026-12-08T06:00:00+00:00")
    assert covers(address, reminder)
    assert not covers(address, delisted("192.0.2.25"))  # the operator wants to know it is over
    assert not covers(address, listed("192.0.2.26"))
    assert covers(host, listed("2001:db8::25", target="mail.example.com"))
    assert covers(network, listed("192.0.2.9", target="192.0.2.0/28")) and covers(network, listed("192.0.2.9"))
    assert not covers(network, listed("192.0.2.99"))


def test_a_list_mute_covers_its_listings_only_an_event_mute_exactly_its_event():
    zone = mute("zone", "dnsbl.justspam.org")
    assert covers(zone, listed("192.0.2.25")) and not covers(zone, listed("192.0.2.25", zone="bl.spamcop.net"))
    assert not covers(zone, spf("192.0.2.25")) and not covers(zone, delisted("192.0.2.25"))
    event = mute("event", "DELISTED")
    assert covers(event, delisted("192.0.2.25")) and not covers(event, listed("192.0.2.25"))


def test_a_domain_mute_covers_the_domains_records_and_spf_for_mail_sent_as_it():
    domain = mute("domain", "example.com")
    broken = Alert(Event.SPF_RECORD_BROKEN, "", SINCE, "", {"domain": "example.com"}, target="example.com")
    fixed = Alert(Event.SPF_RECORD_FIXED, "", SINCE, "", {"domain": "example.com"}, target="example.com")
    assert covers(domain, broken) and covers(domain, spf("192.0.2.25")) and not covers(domain, fixed)
    assert not covers(domain, spf("192.0.2.25", "postmaster@example.net"))


def test_a_mute_holds_until_its_end_or_its_unmute():
    record = mute("target", "192.0.2.25")
    assert holds(record, NOW) and holds(record, NOW + timedelta(days=6)) and not holds(record, NOW + timedelta(days=7))
    assert not holds(unmuted(record, "ops", NOW), NOW)
    assert unmuted(unmuted(record, "ops", NOW), "ops", NOW) is None  # ended once


# -- the notifier -------------------------------------------------------------------------------------


def listing_change(seq: str, ip: str) -> Change:
    entry = {"status": "listed", "since": SINCE, "codes": ["127.0.0.2"]}
    return Change(
        seq, {"ip": ip, "findings": {"dnsbl": {}}}, {"ip": ip, "findings": {"dnsbl": {"dnsbl.justspam.org": entry}}}
    )


def delisting_change(seq: str, ip: str) -> Change:
    before = {"status": "listed", "since": "2026-11-20T06:00:00+00:00", "codes": ["127.0.0.2"]}
    after = {"status": "clean", "since": SINCE}
    zone = "dnsbl.justspam.org"
    return Change(
        seq, {"ip": ip, "findings": {"dnsbl": {zone: before}}}, {"ip": ip, "findings": {"dnsbl": {zone: after}}}
    )


class Mutes:
    def __init__(self, *records):
        self.records, self.reads = list(records), 0

    def mutes(self):
        self.reads += 1
        return self.records


def test_the_notifier_records_a_muted_alert_sends_the_rest_and_reads_the_mutes_once():
    mutes, history, topic = Mutes(mute("target", "192.0.2.25")), MemoryHistory(), Topic()
    changes = [listing_change("1", "192.0.2.25"), listing_change("2", "192.0.2.26")]

    outcome = notify(changes, MemoryLog(), topic, silencing=Silencing(mutes, history, now=NOW))

    assert (outcome.alerts, outcome.muted, outcome.failed) == (1, 1, [])
    assert [t.addresses for t in topic.published] == [("192.0.2.26",)]
    (item,) = history.runs
    assert item["ip"] == f"mute:{mutes.records[0]['id']}" and item["checked_at"].startswith("2026-12-01T09:00:00")
    assert item["muted"] == [
        {"event": "LISTED", "ip": "192.0.2.25", "zone": "dnsbl.justspam.org", "target": "", "since": SINCE}
    ]
    assert mutes.reads == 1


def test_a_delisting_of_a_muted_target_is_sent_unless_its_event_is_muted_too():
    topic = Topic()
    notify(
        [delisting_change("1", "192.0.2.25")],
        MemoryLog(),
        topic,
        silencing=Silencing(Mutes(mute("target", "192.0.2.25")), MemoryHistory(), now=NOW),
    )
    assert [t.event for t in topic.published] == ["DELISTED"]
    topic = Topic()
    both = Mutes(mute("target", "192.0.2.25"), mute("event", "DELISTED"))
    assert (
        notify(
            [delisting_change("1", "192.0.2.25")],
            MemoryLog(),
            topic,
            silencing=Silencing(both, MemoryHistory(), now=NOW),
        ).muted
        == 1
    )
    assert topic.published == []


def test_a_mute_past_its_end_or_unmuted_silences_nothing():
    over = [
        mute("target", "192.0.2.25", until=NOW + timedelta(hours=1)),
        unmuted(mute("target", "192.0.2.25"), "ops", NOW),
    ]
    topic = Topic()
    later = NOW + timedelta(hours=2)
    assert (
        notify(
            [listing_change("1", "192.0.2.25")],
            MemoryLog(),
            topic,
            silencing=Silencing(Mutes(*over), MemoryHistory(), now=later),
        ).muted
        == 0
    )
    assert len(topic.published) == 1


# -- its end ------------------------------------------------------------------------------------------


def target_item(ip: str, zones: dict) -> dict:
    return {"ip": ip, "findings": {"dnsbl": {z: {"status": s, "since": SINCE} for z, s in zones.items()}}}


def stored(store: MemoryHealth, record: dict) -> dict:
    store.save(f"mute:{record['id']}", record, 0)
    return {"id": f"mute:{record['id']}", "kind": "mute", "name": record["id"], "health": record}


def test_the_daily_run_ends_a_mute_past_its_end_and_the_notifier_says_once_what_is_still_wrong():
    store = MemoryHealth()
    week = mute("target", "192.0.2.25")
    items = [
        target_item("192.0.2.25", {"dnsbl.justspam.org": "listed"}),
        target_item("192.0.2.26", {"bl.spamcop.net": "listed"}),
    ]
    item = stored(store, week)

    assert end_mutes(store, items, [item], NOW + timedelta(days=6)) == []  # not yet
    (ended,) = end_mutes(store, items, [item], NOW + timedelta(days=8))

    assert ended["ended_by"] == "expired" and [s["ip"] for s in ended["still"]] == ["192.0.2.25"]
    old, new = {**item, "health": week}, {**item, "health": ended}
    (alert,) = alerts_for_change(old, new)
    assert alert.event == Event.MUTE_ENDED and alert.target == "192.0.2.25"
    assert alerts_for_change(new, new) == []  # the stream's next change of it says nothing again
    assert end_mutes(store, items, [{**item, "health": ended}], NOW + timedelta(days=9)) == []


def test_a_mute_that_ends_with_nothing_wrong_and_an_unmute_send_nothing():
    store = MemoryHealth()
    week = mute("target", "192.0.2.25")
    item = stored(store, week)
    (ended,) = end_mutes(
        store, [target_item("192.0.2.25", {"dnsbl.justspam.org": "clean"})], [item], NOW + timedelta(days=8)
    )
    assert ended["still"] == [] and alerts_for_change(item, {**item, "health": ended}) == []
    assert alerts_for_change(item, {**item, "health": unmuted(week, BY, NOW)}) == []


def test_an_acknowledged_problem_stays_silent_until_it_clears_then_the_next_one_alerts():
    store = MemoryHealth()
    acknowledged = mute("zone", "dnsbl.justspam.org", until_clear=True)
    item = stored(store, acknowledged)
    still = [target_item("192.0.2.25", {"dnsbl.justspam.org": "listed"})]
    assert end_mutes(store, still, [item], NOW + timedelta(days=30)) == []  # as long as it lasts
    (ended,) = end_mutes(
        store, [target_item("192.0.2.25", {"dnsbl.justspam.org": "clean"})], [item], NOW + timedelta(days=31)
    )
    assert ended["ended_by"] == "cleared" and not holds(ended, NOW + timedelta(days=31))
    assert alerts_for_change(item, {**item, "health": ended}) == []  # its DELISTED said it was over


def test_an_acknowledgement_of_nothing_wrong_is_refused_so_the_daily_run_cannot_end_it_before_its_problem():
    clean = [target_item("192.0.2.77", {"dnsbl.justspam.org": "clean"})]
    with pytest.raises(InvalidInput, match="nothing to acknowledge: .* use --for or --until"):
        acknowledging(mute("target", "192.0.2.77", until_clear=True), problems_now(clean))
    with pytest.raises(InvalidInput, match="nothing to acknowledge"):
        acknowledging(mute("zone", "bl.spamcop.net", until_clear=True), problems_now(clean))
    week = mute("target", "192.0.2.77")  # a mute for a while needs nothing wrong: it ends at its time
    assert acknowledging(week, problems_now(clean)) == week

    listed_now = [target_item("192.0.2.77", {"dnsbl.justspam.org": "listed"})]
    acknowledged = acknowledging(mute("target", "192.0.2.77", until_clear=True), problems_now(listed_now))
    store = MemoryHealth()
    item = stored(store, acknowledged)
    assert end_mutes(store, listed_now, [item], NOW + timedelta(days=1)) == []  # the daily run keeps it
    (ended,) = end_mutes(store, clean, [item], NOW + timedelta(days=2))
    assert ended["ended_by"] == "cleared"


def test_ending_is_written_once_even_when_two_runs_race():
    record = mute("target", "192.0.2.25")
    first = ending(record, [listed("192.0.2.25")], NOW + timedelta(days=8))
    assert first is not None and ending(first, [listed("192.0.2.25")], NOW + timedelta(days=9)) is None


# -- what the history shows -------------------------------------------------------------------------


def test_a_period_is_muted_by_a_mute_that_held_during_it_and_covers_its_problem():
    from senderwatch.history import Period
    from senderwatch.mutes import muting

    listing = Period(
        "mail.example.com", "192.0.2.25", "listing", "dnsbl.justspam.org", "listed", "2026-11-30T06:00:00Z", None, 2
    )
    record = Period(
        "domain:example.com", None, "spf-record", "example.com", "too-many-lookups", "2026-11-30T06:00:00Z", None, 2
    )
    rdns = Period("mail.example.com", "192.0.2.25", "rdns", "", "no-ptr", "2026-11-30T06:00:00Z", None, 2)
    host, domain = mute("target", "mail.example.com"), mute("domain", "example.com")
    later = NOW + timedelta(days=1)
    assert muting([host, domain], listing, later) == [host["id"]]
    assert muting([host, domain], record, later) == [domain["id"]]
    assert muting([host], rdns, later) == []  # no alert was ever sent for it
    over = Period(
        "mail.example.com",
        "192.0.2.25",
        "listing",
        "dnsbl.justspam.org",
        "listed",
        "2026-11-20T06:00:00Z",
        "2026-11-21T06:00:00Z",
        1,
    )
    assert muting([host], over, later) == []  # it was over before the mute was set


def test_a_mute_set_within_the_last_second_of_a_history_is_shown_on_what_it_silences():
    """A history's `to` is to the second; a mute set a moment later in that second held in it too."""
    from senderwatch.commands.silence import history_mutes
    from senderwatch.history import History, Period

    now = NOW + timedelta(microseconds=400_000)
    record = new_mute("target", "192.0.2.25", "delisting asked", BY, now, length=timedelta(days=7))
    period = Period("192.0.2.25", "192.0.2.25", "listing", "dnsbl.justspam.org", "listed", SINCE, None, 1)
    found = History([period], "2026-11-01T09:00:00Z", "2026-12-01T09:00:00Z", 1)
    document = found.to_dict()

    class NoWithheld:
        def query(self, keys, since, until):
            return []

    history_mutes(document, found, [record], NoWithheld(), now)
    assert document["history"][0]["muted"] == [record["id"]]
    assert [m["id"] for m in document["mutes"]] == [record["id"]]


def test_a_history_of_named_targets_shows_their_mutes_not_every_mute_of_the_deployment():
    from senderwatch.commands.silence import history_mutes
    from senderwatch.history import History, Period

    period = Period("192.0.2.25", "192.0.2.25", "listing", "dnsbl.justspam.org", "listed", SINCE, None, 1)
    found = History([period], "2026-11-01T09:00:00Z", "2026-12-01T09:00:00Z", 1)
    own, by_zone = mute("target", "192.0.2.25"), mute("zone", "dnsbl.justspam.org")
    other, elsewhere = mute("target", "192.0.2.26"), mute("zone", "bl.spamcop.net")

    class NoWithheld:
        def query(self, keys, since, until):
            return []

    document = found.to_dict()
    history_mutes(
        document, found, [own, by_zone, other, elsewhere], NoWithheld(), NOW + timedelta(hours=1), {"192.0.2.25"}
    )
    assert [m["id"] for m in document["mutes"]] == [own["id"], by_zone["id"]]  # its own, and what silenced it
    everything = found.to_dict()
    history_mutes(everything, found, [own, by_zone, other, elsewhere], NoWithheld(), NOW + timedelta(hours=1))
    assert len(everything["mutes"]) == 4  # the whole deployment's history: every mute


def test_status_marks_a_domain_row_with_the_domains_own_mute_as_a_target_row_with_the_targets():
    rows, domains = [{"ip": "192.0.2.25"}], [{"domain": "example.com"}, {"domain": "example.org"}]
    items = [target_item("192.0.2.25", {"dnsbl.justspam.org": "clean"})]
    domain_items = [
        {"id": f"domain:{d}", "kind": "domain", "name": d, "health": {}} for d in ("example.com", "example.org")
    ]
    by_domain, by_target = mute("domain", "example.com"), mute("target", "192.0.2.25")

    status_mutes(rows, items, domains, domain_items, [by_domain, by_target])

    assert rows == [{"ip": "192.0.2.25", "muted": [by_target["id"]]}]
    assert domains == [{"domain": "example.com", "muted": [by_domain["id"]]}, {"domain": "example.org"}]
