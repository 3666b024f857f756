"""The stages' pure parts: configuration, target validation, the scheduler's packing, the notifier with fakes."""

import pytest

from local.memory import MemoryHealth
from senderwatch.alerttext import render
from senderwatch.config import Config, ConfigError
from senderwatch.findings import Stack
from senderwatch.notifier import Change, alerts_for_change, notify
from senderwatch.ports import update
from senderwatch.runs import parse_message
from senderwatch.scheduler import plan_messages
from senderwatch.targets import Target
from tests.support.fakes import MemoryLog, Topic


def test_config_reads_and_validates_the_environment():
    config = Config.from_env(
        {
            "TABLE_NAME": "t",
            "ZONES": "dnsbl.justspam.org, bl.spamcop.net",
            "NAMESERVERS": "10.0.0.2 [::1]:5300",
            "REMINDER_DAYS": "7",
        },
        need=("table_name",),
    )
    assert config.zones == ("dnsbl.justspam.org", "bl.spamcop.net")
    assert config.nameservers == (("10.0.0.2", 53), ("::1", 5300))
    assert config.reminder_days == 7 and config.history_days == 90


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "missing configuration: TABLE_NAME"),
        ({"TABLE_NAME": "t", "REMINDER_DAYS": "weekly"}, "REMINDER_DAYS='weekly' is not a number"),
        ({"TABLE_NAME": "t", "HISTORY_DAYS": "0"}, "between 1 and 3650"),
        ({"TABLE_NAME": "t", "NAMESERVERS": "dns.example"}, "invalid nameserver"),
        ({"TABLE_NAME": "t", "ZONES": "not a zone"}, "invalid DNSBL zone"),
    ],
)
def test_bad_configuration_fails_at_cold_start_with_its_name(env, says):
    with pytest.raises(ConfigError, match=says):
        Config.from_env(env, need=("table_name",))


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ({}, "no 'ip'"),
        ({"ip": 42}, "no 'ip'"),
        ({"ip": "2001:DB8::25"}, "write the address as 2001:db8::25"),
        ({"ip": "::ffff:192.0.2.25"}, "write the address as 192.0.2.25"),
        ({"ip": "10.1.2.3"}, "private address"),
        ({"ip": "2001:db8::25", "zones": ["dnsbl.justspam.org"]}, "rates IPv6 addresses"),
        ({"ip": "192.0.2.25", "sender": ["x"]}, "'sender' must be a string"),
        ({"ip": "192.0.2.25", "enabled": "yes"}, "'enabled' must be true or false"),
        ({"ip": "192.0.2.25", "zones": 5}, "'zones' must be a list"),
    ],
)
def test_hand_written_garbage_is_refused_with_a_reason(item, says):
    with pytest.raises(ValueError, match=says):
        Target.from_item(item)


def test_scheduler_packs_each_enabled_address_once():
    items = [{"ip": f"192.0.2.{n}", "sender": "example.com"} for n in range(7)]
    items += [{"ip": "192.0.2.1"}, {"ip": "192.0.2.99", "enabled": False}, {"ip": "bogus"}]
    plan = plan_messages(items, per_message=3)
    assert [len(m["targets"]) for m in plan.messages] == [3, 3, 1]
    assert (plan.targets, plan.disabled, [ip for ip, _ in plan.invalid]) == (7, 1, ["bogus"])


@pytest.mark.parametrize("body", ["", "[]", '{"targets": {}}', '{"targets": [1]}', "null"])
def test_malformed_queue_messages_are_refused(body):
    with pytest.raises(ValueError):
        parse_message(body)


def test_removal_and_unchecked_items_send_nothing():
    assert alerts_for_change({"ip": "192.0.2.1", "findings": {}}, None) == []
    assert alerts_for_change(None, {"ip": "192.0.2.1"}) == []


def test_a_due_reminder_repeats_the_problems_still_present():
    listed = {
        "status": "listed",
        "since": "2026-11-01T06:00:00+00:00",
        "codes": ["127.0.0.2"],
        "delist_url": "http://d",
    }
    old = {"ip": "192.0.2.1", "findings": {"dnsbl": {"bl.example": listed}}}
    new = {
        "ip": "192.0.2.1",
        "label": "relay",
        "findings": {"dnsbl": {"bl.example": listed}, "reminded_at": "2026-11-08T06:00:00+00:00"},
    }
    (alert,) = alerts_for_change(old, new)
    message = render(alert)
    assert message.subject.startswith("Reminder: 192.0.2.1 (relay) is listed on bl.example")
    assert message.attributes["reminder"] == "true"
    assert alerts_for_change(new, new) == []  # the same reminder is not sent twice


def change(seq: str, ip: str, zones: dict, spf: str | None = None) -> Change:
    listed = {z: {"status": "listed", "since": "2026-11-27T06:00:00+00:00", "codes": ["127.0.0.2"]} for z in zones}
    findings = {"dnsbl": listed}
    if spf:
        findings["spf"] = {"sender": "postmaster@example.com", "result": spf, "since": "2026-11-27T06:00:00+00:00"}
    return Change(seq, {"ip": ip, "findings": {"dnsbl": {}}}, {"ip": ip, "findings": findings})


def test_one_message_per_event_and_list_however_many_changes():
    changes = [change(str(n), f"192.0.2.{n}", {"bl.a": 1, "bl.b": 1}) for n in range(1, 51)]
    topic = Topic()
    outcome = notify(changes, MemoryLog(), topic)
    assert (outcome.alerts, outcome.messages, outcome.failed) == (100, 2, [])
    assert sorted(m.subject for m in topic.published) == [
        "50 addresses are listed on bl.a",
        "50 addresses are listed on bl.b",
    ]


def test_the_notifier_names_its_own_deployment_in_the_commands_it_suggests():
    env = {"STACK_NAME": "relays", "AWS_REGION": "eu-west-1", "CHECK_DEAD_LETTER_ARN": "arn:aws:sqs:eu-west-1:1:dlq"}
    config = Config.from_env(env)
    stack = Stack(config.stack_name, config.table_name, config.region, config.check_dead_letter_arn)
    first = {"first": "2026-11-27T06:00:00+00:00", "dnsbl": {}}
    before = {"addresses": {"192.0.2.25": first, "192.0.2.26": first}, "zones": {}, "spf_records": {}}
    after = {"addresses": {"192.0.2.25": first}, "zones": {}, "spf_records": {}}
    host = {"ip": "mail.example.com", "label": "relay 1"}
    topic = Topic()
    notify([Change("1", {**host, "findings": before}, {**host, "findings": after})], MemoryLog(), topic, stack=stack)
    (removed,) = topic.published
    assert removed.commands == [
        "senderwatch targets add 192.0.2.26 --label 'relay 1' --stack relays --region eu-west-1"
    ]


def test_a_retry_cut_differently_sends_only_what_is_missing():
    log, down = MemoryLog(), Topic(fail_events={"SPF_FAILING"})
    changes = [change("1", "192.0.2.1", {"bl.a": 1}, spf="softfail"), change("2", "192.0.2.2", {"bl.a": 1})]
    outcome = notify(changes, log, down)
    assert outcome.failed == ["1"] and [m.subject for m in down.published] == ["2 addresses are listed on bl.a"]
    up = Topic()
    assert notify(changes[:1], log, up).failed == []  # the stream retries from the failed change, alone
    assert [m.attributes["event"] for m in up.published] == ["SPF_FAILING"]
    assert notify(changes, log, Topic()).messages == 0  # and delivered again later: nothing twice


def test_findings_written_by_hand_send_nothing_and_block_nothing():
    """Garbage on an item (a hand edit) is read as no findings: the stream is never held up by it."""
    topic = Topic()
    bad = [
        Change("7", None, {"ip": "192.0.2.7", "findings": "garbage"}),
        Change("8", None, {"ip": "192.0.2.8", "findings": {"dnsbl": "x", "spf": "pass"}}),
        Change("9", None, {"ip": "192.0.2.9", "findings": {"dnsbl": {"bl.a": "listed"}, "spf": {"result": 5}}}),
    ]
    outcome = notify([*bad, change("10", "192.0.2.10", {"bl.a": 1})], MemoryLog(), topic)
    assert outcome.failed == [] and [m.attributes["ip"] for m in topic.published] == ["192.0.2.10"]


def test_a_change_that_breaks_the_notifier_fails_alone(monkeypatch):
    import senderwatch.notifier as pipeline

    real = pipeline.alerts_for_change

    def fragile(old, new):
        if new["ip"] == "192.0.2.9":
            raise RuntimeError("a bug")
        return real(old, new)

    monkeypatch.setattr(pipeline, "alerts_for_change", fragile)
    topic = Topic()
    outcome = notify(
        [change("9", "192.0.2.9", {"bl.a": 1}), change("10", "192.0.2.10", {"bl.a": 1})], MemoryLog(), topic
    )
    assert outcome.failed == ["9"] and len(topic.published) == 1


def test_a_record_another_invocation_wrote_first_is_changed_again_not_overwritten():
    """Many checker invocations report one run: a write on a record someone else changed since it
    was read fails, and the change is made again on what they wrote."""
    store = MemoryHealth()
    store.save("zone:bl.example:4", {"runs": 1}, 0)

    class Late(MemoryHealth):  # another invocation writes between our read and our write, once
        def save(self, item_id, record, version):
            if not self.writes:
                super().save(item_id, {"runs": 2}, version)  # theirs
            return super().save(item_id, record, version)

    late = Late()
    late.records = dict(store.records)
    written = update(late, "zone:bl.example:4", lambda old: {"runs": old["runs"] + 1})
    assert written == {"runs": 3} and late.records["zone:bl.example:4"] == ({"runs": 3}, 3)
    assert update(late, "zone:bl.example:4", lambda old: None) is None  # nothing to write: nothing written
    assert len(late.writes) == 2


def test_the_topic_and_the_bus_each_get_each_alert_once_whichever_fails():
    changes = [change("1", "192.0.2.1", {"bl.a": 1}), change("2", "192.0.2.2", {"bl.a": 1}, spf="softfail")]
    log, topic, bus = MemoryLog(), Topic(), Topic(fail_events={"SPF_FAILING"})

    first = notify(changes, log, topic, bus)
    assert first.failed == ["2"] and (first.messages, first.events) == (2, 2)  # the listing of both on the bus
    bus.fail_events.clear()
    again = notify(changes, log, topic, bus)  # the stream delivers the failed change again, with the other

    assert again.failed == [] and (again.messages, again.events) == (0, 1)
    assert sorted(t.event for t in topic.published) == ["LISTED", "SPF_FAILING"]
    assert sorted(t.event for t in bus.published) == ["LISTED", "SPF_FAILING"]
    assert notify(changes, log, topic).messages == 0  # the bus taken away: the topic still sends nothing twice
