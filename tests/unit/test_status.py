"""`senderwatch status`: its rows, how fresh each target is and why not, and its exit status (pure:
items as the targets table holds them, the deployment as status reads it)."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from senderwatch.commands import overview
from senderwatch.commands.overview import Deployment, Schedule

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAILY = Schedule("cron(0 6 * * ? *)", "ENABLED", "", "senderwatch-daily")
RUN = "2026-11-30T06:00:00.250000+00:00"  # this morning's scheduled run: over by noon
YESTERDAY = "2026-11-29T06:00:00.250000+00:00"
SENDER = "postmaster@example.com"


def checked(run: str) -> str:
    """When a run's check of a target was written: a few seconds after the run began."""
    return (datetime.fromisoformat(run) + timedelta(seconds=7)).isoformat(timespec="seconds")


def address(ip="192.0.2.25", *, run=RUN, listed=False, spf="pass", sender=SENDER, **extra) -> dict:
    findings: dict = {
        "dnsbl": {"dnsbl.justspam.org": {"status": "listed" if listed else "clean", "since": "2026-11-01T06:00:05"}},
        "rdns": {"ptr": ["mail.example.com"], "forward_confirmed": True},
    }
    if sender:
        findings["spf"] = {"sender": sender, "result": spf, "since": "2026-11-01T06:00:05"}
    item = {"ip": ip, "findings": findings, "findings_changed_at": "2026-11-01T06:00:05+00:00", **extra}
    if sender:
        item["sender"] = sender
    if run:
        item |= {"checked_at": checked(run), "checked_run": run}
    return item


def network(cidr="198.51.100.0/29", *, sender=None, spf="pass", ptr=(), run=RUN) -> dict:
    base = cidr.split("/")[0].rsplit(".", 1)[0]
    members = {}
    for n in range(8):
        member: dict = {
            "first": "2026-11-01T06:00:05",
            "dnsbl": {},
            "rdns": {"ptr": list(ptr), "forward_confirmed": None},
        }
        if sender:
            member["spf"] = {"sender": sender, "result": spf}
        members[f"{base}.{n}"] = member
    findings = {"addresses": members, "zones": {"4": ["dnsbl.justspam.org"]}, "spf_records": {}}
    item = {"ip": cidr, "findings": findings, "checked_at": checked(run), "checked_run": run}
    return item | ({"sender": sender} if sender else {})


def deployment(**given) -> Deployment:
    return Deployment(given.pop("now", NOW), given.pop("schedule", DAILY), **given)


def status(items, deployment_=None, domains=None):
    """The rows, and the exit status, as `status` makes them."""
    deployment_ = deployment_ or deployment(lists=[])
    rows = overview.status_rows(items, deployment_)
    runs = overview.scheduled_runs(items, deployment_)
    lists = overview.unusable_lists(deployment_, runs)
    extra = not runs.recorded or overview.resolver_failing(deployment_, runs) is not None
    return rows, overview.exit_status(rows, domains, lists, extra)


# -- how fresh --------------------------------------------------------------------------------------


def test_a_target_checked_in_the_last_scheduled_run_is_fresh_and_says_when():
    (row,), code = status([address()])
    assert (row["checked_at"], row["stale"], row["outcome"], code) == (checked(RUN), None, "ok", 0)


def test_the_last_run_is_the_newest_on_record_once_it_is_over():
    runs = overview.scheduled_runs([address(), address("192.0.2.26", run=YESTERDAY)], deployment())
    assert runs.newest == runs.expected == datetime.fromisoformat(RUN) and runs.missed is None
    rows, code = status([address(), address("192.0.2.26", run=YESTERDAY)])
    assert [r["stale"] is not None for r in rows] == [False, True] and code == 3


def test_while_a_run_is_under_way_the_one_before_it_counts():
    """At 06:30 this morning's run is still going: a target it has not reached yet is not stale."""
    early = deployment(now=datetime(2026, 11, 30, 6, 30, tzinfo=UTC), lists=[])
    items = [address(), address("192.0.2.26", run=YESTERDAY), address("192.0.2.27", run="2026-11-28T06:00:00+00:00")]
    rows, _ = status(items, early)
    assert [r["stale"] is not None for r in rows] == [False, False, True]
    assert rows[2]["stale"]["detail"].startswith("not checked in the run of 2026-11-29 06:00 UTC")


def test_a_run_the_schedule_did_not_make_is_said_and_why():
    items = [address(run=YESTERDAY)]  # no run this morning
    (row,), code = status(items)
    assert row["stale"] == {
        "reason": "schedule-missed",
        "detail": "no scheduled run since 2026-11-29 06:00 UTC: the schedule should have run at 2026-11-30 06:00 UTC",
    }
    assert code == 3
    (row,), _ = status(items, deployment(schedule=Schedule(DAILY.expression, "DISABLED", "", "senderwatch-daily")))
    assert row["stale"]["reason"] == "schedule-disabled"
    assert row["stale"]["detail"].endswith("and the schedule senderwatch-daily is DISABLED")
    failed = {"body": json.dumps({"source": "senderwatch.schedule"}), "sent_at": "2026-11-30T06:05:00+00:00"}
    failed["error"] = "Task timed out after 300.00 seconds"
    (row,), _ = status(items, deployment(dead_letters=[failed], dead_letters_waiting=1))
    assert row["stale"]["reason"] == "scheduler-failed"
    assert (
        "the scheduler failed at 2026-11-30 06:05 UTC (Task timed out after 300.00 seconds)" in row["stale"]["detail"]
    )


def test_a_rate_schedule_is_late_when_its_interval_and_the_grace_have_passed():
    every_12 = Schedule("rate(12 hours)", "ENABLED")
    on_time = address(run=(NOW - timedelta(hours=13)).isoformat())
    assert status([on_time], deployment(schedule=every_12))[0][0]["stale"] is None
    late = address(run=(NOW - timedelta(hours=15)).isoformat())
    assert status([late], deployment(schedule=every_12))[0][0]["stale"]["reason"] == "schedule-missed"


@pytest.mark.parametrize(
    ("extra", "letters", "reason", "code"),
    [
        ({"check_error": "invalid sender 'example'"}, [], "invalid", 3),
        (
            {},
            [{"body": json.dumps({"run": RUN, "scheduled": True, "targets": [{"ip": "192.0.2.26"}]})}],
            "dead-letter",
            3,
        ),
        ({"enabled": False}, [], "disabled", 0),  # paused on purpose: it counts for nothing
        ({}, [], "unknown", 3),
    ],
)
def test_why_a_target_missed_a_run_that_happened(extra, letters, reason, code):
    items = [address(), address("192.0.2.26", run=YESTERDAY, **extra)]
    rows, status_code = status(items, deployment(dead_letters=letters, stack="senderwatch"))
    assert (rows[1]["stale"]["reason"], status_code) == (reason, code)
    if reason == "dead-letter":
        assert "its check failed three times (run of 2026-11-30 06:00 UTC)" in rows[1]["stale"]["detail"]
    if reason == "unknown":
        assert "sam logs --stack-name senderwatch -n CheckerFunction" in rows[1]["stale"]["detail"]


def test_a_new_target_is_not_checked_yet_and_not_stale():
    items = [address(), {"ip": "192.0.2.26", "sender": SENDER}]
    rows, code = status(items)
    assert (rows[1]["stale"], rows[1]["outcome"], code) == (None, "incomplete", 3)
    assert "not checked yet" in overview.status_table(rows)


def test_a_deployment_that_does_not_record_its_checks_cannot_vouch_for_them():
    items = [address(run="")]  # findings, but no checked_at: written by an older checker
    runs = overview.scheduled_runs(items, deployment())
    (row,), code = status(items)
    assert (runs.recorded, row["stale"], code) == (False, None, 3)
    assert "deploy this version" in overview.footer([row], runs, deployment())


# -- what is wrong, and the exit status -------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "code"),
    [
        (address(listed=True), 1),
        (address(spf="softfail"), 1),
        (address(spf="none"), 1),
        (address(sender=None), 0),  # no sender: no SPF finding, and nothing wrong in that
        (address(listed=True, enabled=False), 0),  # disabled: not watched
        (network(sender=SENDER, spf="fail"), 1),
        (network(), 0),
    ],
)
def test_exit_status_is_checks(item, code):
    assert status([item])[1] == code


def test_each_sender_of_a_target_is_shown_and_the_one_that_fails_is_named():
    """A relay for two domains: the row keeps each sender's result; one failing is something wrong,
    and the table names that sender. A result found for a sender the target no longer has is not shown."""
    other = "postmaster@example.org"
    item = address(sender=None, senders=[SENDER, other])
    item["findings"]["spf"] = [
        {"sender": SENDER, "result": "pass", "since": "2026-11-01T06:00:05"},
        {"sender": other, "result": "softfail", "since": "2026-11-01T06:00:05"},
        {"sender": "postmaster@gone.example", "result": "fail", "since": "2026-11-01T06:00:05"},
    ]
    (row,), code = status([item])
    assert code == 1 and (row["sender"], row["senders"]) == (f"{SENDER} {other}", [SENDER, other])
    assert row["spf"] == "softfail"
    assert row["spf_senders"] == [{"sender": SENDER, "result": "pass"}, {"sender": other, "result": "softfail"}]
    assert f"softfail for {other}" in overview.status_table([row]) and "gone.example" not in overview.status_table(
        [row]
    )
    item["findings"]["spf"][1]["result"] = "pass"
    (row,), code = status([item])
    assert code == 0 and "pass for each sender" in overview.status_table([row])


def test_the_helo_names_spf_counts_as_check_counts_it():
    item = address(helo="mail.example.com")
    item["findings"]["helo_spf"] = {"sender": "postmaster@mail.example.com", "result": "none"}
    (row,), code = status([item])
    assert (row["helo_spf"], code) == ("none", 0)  # a HELO name without SPF is allowed
    item["findings"]["helo_spf"]["result"] = "fail"
    (row,), code = status([item])
    assert code == 1 and "pass (HELO fail)" in overview.status_table([row])


def test_a_domains_problem_is_something_wrong_and_dmarc_none_is_not():
    domain = {"name": "example.com", "health": {"roles": ["sender"], "dmarc": {"policy": "none"}}}
    domain["health"]["dmarc"]["problems"] = [{"code": "policy-none"}]
    rows = overview.domain_rows([domain])
    assert status([address()], domains=rows)[1] == 0
    domain["health"]["spf_record"] = {"record": "v=spf1 ...", "problems": [{"code": "too-many-lookups"}]}
    rows = overview.domain_rows([domain])
    assert status([address()], domains=rows)[1] == 1
    assert overview.only_problems([], rows)[1] == rows


# -- the lists the deployment cannot use ------------------------------------------------------------


def zone_record(zone: str, family: int, run: str, status_="failing") -> dict:
    health = {"status": status_, "error": "blocked", "detail": "the list refuses this resolver", "since": RUN}
    return {
        "id": f"zone:{zone}:{family}",
        "kind": "zone",
        "name": zone,
        "family": family,
        "health": health | {"run": run, "runs": 3},
    }


def test_the_lists_unusable_in_the_last_run_are_shown_with_since_and_why():
    lists = [
        zone_record("zen.spamhaus.org", 4, RUN),
        zone_record("zen.spamhaus.org", 6, RUN, status_="ok"),  # works again
        zone_record("bl.gone.example", 4, "2026-10-01T06:00:00+00:00"),  # no longer asked: its last record stays
    ]
    seen = deployment(lists=lists)
    runs = overview.scheduled_runs([address()], seen)
    (entry,) = overview.unusable_lists(seen, runs)
    assert {k: entry[k] for k in ("zone", "family", "error", "since")} == {
        "zone": "zen.spamhaus.org",
        "family": 4,
        "error": "blocked",
        "since": RUN,
    }
    assert status([address()], seen)[1] == 3  # nothing wrong found, but not everything could be asked
    said = overview.footer(overview.status_rows([address()], seen), runs, seen, problems_only=True, unusable=1)
    assert "Nothing to fix" not in said and "incomplete" in said  # as the exit status says
    table = overview.lists_table([entry])
    (row,) = [line.split() for line in table.splitlines() if line.startswith("zen.spamhaus.org")]
    assert row[:5] == ["zen.spamhaus.org", "IPv4", "2026-11-30", "06:00", "3"]
    assert " ".join(row[5:]) == "blocked: the list refuses this resolver"
    assert "bl.gone.example" not in table  # a list no longer asked is not one the deployment cannot use


def test_a_failing_resolver_is_said():
    resolver = {"id": "resolver", "kind": "resolver", "name": "resolver", "health": {"status": "failing"}}
    resolver["health"] |= {"error": "no-answer", "detail": "no answer from 10.0.0.2", "since": RUN, "run": RUN}
    seen = deployment(lists=[resolver])
    runs = overview.scheduled_runs([address()], seen)
    assert overview.resolver_failing(seen, runs)["error"] == "no-answer"
    assert status([address()], seen)[1] == 3
    assert "resolver does not work (since 2026-11-30 06:00 UTC): no-answer" in overview.lists_table(
        [], {"error": "no-answer", "detail": "", "since": RUN}
    )


# -- summaries that say only what is true -----------------------------------------------------------


def test_a_network_without_a_sender_is_never_said_to_pass_spf():
    (row,), _ = status([network()])
    table = overview.status_table([row])
    assert "(8 more: not listed, SPF not checked (no sender), 8 without PTR)" in table
    assert "SPF pass" not in table and "not confirmed" not in table
    assert (row["spf"], row["no_ptr"], row["unrated"]) == (None, 8, 0)


def test_a_networks_quiet_addresses_are_summed_up_as_they_are():
    (row,), _ = status([network(sender=SENDER, ptr=["mail.example.com"])])
    assert "(8 more: not listed, SPF pass)" in overview.status_table([row])
    assert all(a["checked_at"] == checked(RUN) for a in row["addresses"])  # each address: when it was checked


def test_the_zones_shown_are_the_zones_the_checker_uses():
    item = address(zones="dnsbl.justspam.org, Bl.SpamCop.net.")  # a string, written by hand
    (row,), _ = status([item])
    assert row["zones"] == ["dnsbl.justspam.org", "bl.spamcop.net"]
    assert "dnsbl.justspam.org bl.spamcop.net" in overview.targets_lines([row])


# -- only what needs fixing, as JSON ----------------------------------------------------------------


def test_problems_are_the_targets_to_fix_and_nothing_else():
    items = [address(), address("192.0.2.26", listed=True), address("192.0.2.27", run=YESTERDAY), {"ip": "192.0.2.28"}]
    rows, code = status(items)
    wanted, _ = overview.only_problems(rows, None)
    # listed (1), stale (3), not checked yet (3): each row the exit status comes of, and nothing else
    assert [r["ip"] for r in wanted] == ["192.0.2.26", "192.0.2.27", "192.0.2.28"] and code == 1
    rows, code = status([address(), address("192.0.2.29", enabled=False, run=YESTERDAY)])
    assert overview.only_problems(rows, None)[0] == [] and code == 0  # a disabled target counts for nothing


def test_the_json_carries_when_each_target_and_address_was_checked_and_the_unusable_lists():
    seen = deployment(lists=[zone_record("zen.spamhaus.org", 4, RUN)], dead_letters=[], dead_letters_waiting=0)
    items = [address(), network()]
    runs = overview.scheduled_runs(items, seen)
    rows = overview.status_rows(items, seen)
    document = json.loads(overview.status_json(rows, [], overview.unusable_lists(seen, runs), runs, seen))
    assert [t["checked_at"] for t in document["targets"]] == [checked(RUN)] * 2
    assert {a["checked_at"] for a in document["targets"][1]["addresses"]} == {checked(RUN)}
    assert [e["zone"] for e in document["unusable_lists"]] == ["zen.spamhaus.org"]
    assert document["last_run"] == "2026-11-30T06:00:00+00:00" and document["dead_letters"] == 0
    assert document["schedule"] == {
        "expression": DAILY.expression,
        "state": "ENABLED",
        "next": "2026-12-01T06:00:00+00:00",
    }


def test_dead_letters_name_the_targets_and_the_failed_schedules():
    letters = overview.dead_letters(
        [
            {"body": json.dumps({"run": RUN, "scheduled": True, "targets": [{"ip": "192.0.2.25"}]}), "sent_at": RUN},
            {"body": json.dumps({"source": "senderwatch.schedule"}), "sent_at": RUN, "error": "boom"},
            {"body": "{not json", "sent_at": RUN},
        ]
    )
    assert letters.checks == {"192.0.2.25": (RUN, RUN)}
    assert letters.schedules == [(datetime.fromisoformat(RUN), "boom")]
