"""The checker stage against in-memory ports: slices, requeue, reminders, removed and bad targets."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from local.memory import MemoryHealth
from local.pipeline import load_template, matches
from senderwatch.checker import MARGIN, SLICE, run_checks
from senderwatch.dnsbl import ZoneVerdict
from senderwatch.errors import ResolverUnusable
from senderwatch.runs import Run
from tests.support.fakes import FakeInvocation, MemoryHistory, MemoryTargets

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
RUN = Run("2026-11-28T06:00:00.000000+00:00", scheduled=True)
IPS = [f"198.51.100.{n}" for n in range(1, 26)]


def clean(ip):
    return [ZoneVerdict("bl.example", "clean")]


def listed(ip):
    return [ZoneVerdict("bl.example", "listed", ("127.0.0.2",), meaning="spam")]


def test_targets_are_checked_and_saved_a_slice_at_a_time_with_their_history():
    store, history = MemoryTargets(*({"ip": ip} for ip in IPS)), MemoryHistory()
    checks = FakeInvocation(clean)
    summary = run_checks([{"ip": ip} for ip in IPS], store, checks, NOW, run=RUN, history=history)
    assert [len(s) for s in checks.slices] == [SLICE, SLICE, 5] and checks.probes == 1  # one probe, three slices
    assert (summary.checked, summary.changed) == (25, 25) and len(history.runs) == 25
    assert all(store.items[ip]["findings"]["dnsbl"]["bl.example"]["status"] == "clean" for ip in IPS)
    again = run_checks([{"ip": ip} for ip in IPS], store, FakeInvocation(clean), NOW, run=RUN)
    assert again.changed == 0  # nothing new: only when each was checked is written


def test_each_check_is_recorded_and_only_a_change_of_findings_reaches_the_notifier():
    store = MemoryTargets({"ip": IPS[0]})
    run_checks([{"ip": IPS[0]}], store, FakeInvocation(listed), NOW, run=RUN)
    changed = dict(store.items[IPS[0]])
    later = NOW + timedelta(days=1)
    run_checks([{"ip": IPS[0]}], store, FakeInvocation(listed), later, run=Run(later.isoformat(), scheduled=True))
    checked = store.items[IPS[0]]
    assert checked["checked_at"] == later.isoformat(timespec="seconds") and checked["checked_run"] == later.isoformat()
    assert checked["findings_changed_at"] == changed["findings_changed_at"] == NOW.isoformat(timespec="seconds")
    events = load_template()["Resources"]["NotifierFunction"]["Properties"]["Events"]
    (pattern,) = (json.loads(f["Pattern"]) for f in events["Changes"]["Properties"]["FilterCriteria"]["Filters"])

    def passes(item: dict) -> bool:
        return matches(pattern, {"eventName": "MODIFY", "dynamodb": {"NewImage": {k: {"S": "x"} for k in item}}})

    assert passes(changed) and not passes(checked)  # the check that found the same is no stream record for alerts
    run_checks([{"ip": IPS[0]}], store, FakeInvocation(clean), later, run=RUN, history=None)
    assert passes(store.items[IPS[0]])  # the listing is gone: that change reaches it


def test_near_the_timeout_the_rest_goes_back_to_the_queue_in_the_same_run():
    store, requeued = MemoryTargets(*({"ip": ip} for ip in IPS)), []
    left = iter([MARGIN + 1, MARGIN - 1])
    summary = run_checks(
        [{"ip": ip} for ip in IPS],
        store,
        FakeInvocation(clean),
        NOW,
        run=RUN,
        time_left=lambda: next(left),
        requeue=requeued.extend,
    )
    assert (summary.checked, summary.requeued) == (20, 5)
    assert requeued == [{"run": RUN.id, "scheduled": True, "targets": [{"ip": ip, "enabled": True} for ip in IPS[20:]]}]


def test_removed_disabled_and_unreadable_targets():
    store = MemoryTargets({"ip": IPS[0]}, {"ip": IPS[1], "enabled": False}, {"ip": IPS[2], "sender": "not a domain"})
    checks = FakeInvocation(clean)
    summary = run_checks([{"ip": ip} for ip in IPS[:4]], store, checks, NOW, run=RUN)
    assert checks.slices == [[IPS[0]]]  # IPS[3] was removed: not brought back
    assert summary.invalid == 1 and "invalid sender" in store.items[IPS[2]]["check_error"]
    assert IPS[3] not in store.items


def test_the_item_as_it_is_now_is_checked_not_the_message():
    store = MemoryTargets({"ip": IPS[0], "enabled": False})
    checks = FakeInvocation(clean)
    run_checks([{"ip": IPS[0], "enabled": True}], store, checks, NOW, run=RUN)
    assert checks.slices == []  # disabled since it was scheduled


def test_a_reminder_is_stamped_when_due():
    since = (NOW - timedelta(days=8)).isoformat()
    entry = {"status": "listed", "since": since, "codes": ["127.0.0.2"]}
    store = MemoryTargets({"ip": IPS[0], "findings": {"dnsbl": {"bl.example": entry}}})
    run_checks([{"ip": IPS[0]}], store, FakeInvocation(listed), NOW, run=RUN, reminder_days=7)
    assert store.items[IPS[0]]["findings"]["reminded_at"] == NOW.isoformat(timespec="seconds")
    store.saves.clear()
    run_checks([{"ip": IPS[0]}], store, FakeInvocation(listed), NOW + timedelta(days=1), run=RUN, reminder_days=7)
    assert store.saves == []  # reminded yesterday: nothing to write


def test_the_deployment_health_is_recorded_per_list_and_family_in_scheduled_runs_only():
    health = MemoryHealth()
    store = MemoryTargets({"ip": IPS[0]})
    failures = {("bl.example", 4): {"error": "blocked", "family": 4}, ("ok.example", 4): None}
    run_checks([{"ip": IPS[0]}], store, FakeInvocation(clean, failures=failures), NOW, run=RUN, health=health)
    assert set(health.reads) == {"resolver", "zone:bl.example:4", "zone:ok.example:4"}
    ((item_id, record),) = health.writes  # lists that work, and worked, change nothing
    assert item_id == "zone:bl.example:4"
    assert (record["status"], record["error"], record["runs"], record["run"]) == ("failing", "blocked", 1, RUN.id)
    run_checks([{"ip": IPS[0]}], store, FakeInvocation(clean, failures=failures), NOW, run=Run("x"), health=health)
    assert len(health.writes) == 1  # a first check of a new target is not a run of the lists


def test_a_dead_resolver_changes_nothing_and_is_recorded_on_the_second_delivery():
    health, store = MemoryHealth(), MemoryTargets({"ip": IPS[0]})
    for delivery in (1, 2):
        with pytest.raises(ResolverUnusable):
            run_checks(
                [{"ip": IPS[0]}],
                store,
                FakeInvocation(clean, resolver_dead=True),
                NOW,
                run=RUN,
                health=health,
                delivery=delivery,
            )
        assert len(health.writes) == delivery - 1  # the first delivery may be a fluke: it is retried
    ((item_id, record),) = health.writes
    assert (item_id, record["status"]) == ("resolver", "failing") and "findings" not in store.items[IPS[0]]


def test_the_summary_counts_listed_addresses_per_list_and_spf_failing_for_the_dashboard():
    from senderwatch.spfresult import SpfResult

    store = MemoryTargets(*({"ip": ip, "sender": "example.com"} for ip in IPS[:4]))
    verdicts = {IPS[0]: listed, IPS[1]: listed}
    softfail = SpfResult("postmaster@example.com", "softfail", "~all", "", 1)
    fine = SpfResult("postmaster@example.com", "pass", "ip4", "", 1)
    checks = FakeInvocation(
        lambda ip: verdicts.get(ip, clean)(ip), spf=lambda ip: softfail if ip in (IPS[1], IPS[2]) else fine
    )
    summary = run_checks([{"ip": ip} for ip in IPS[:4]], store, checks, NOW, run=RUN)
    assert summary.listed_on == {"bl.example": 2} and summary.spf_failing == 2


def test_listed_addresses_are_one_metric_per_list_with_its_zone(monkeypatch, capsys):
    from senderwatch.observability import add_counts

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Senderwatch")  # as the template's Globals set it
    add_counts("ListedAddresses", "Zone", {"bl.example": 2, "dnsbl.justspam.org": 1})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["Zone"], line["ListedAddresses"]) for line in lines] == [
        ("bl.example", [2.0]),
        ("dnsbl.justspam.org", [1.0]),
    ]
    assert lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "Zone"]]
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    add_counts("ListedAddresses", "Zone", {"bl.example": 2})
    assert capsys.readouterr().out == ""  # the tests' setting (and POWERTOOLS_DEV) writes none
