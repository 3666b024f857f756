"""An address watched twice (directly and through its host, or inside a watched network): said
at `targets add` and by `targets import`, from what the table on moto knows; and its alerts,
through the pipeline on moto, name every target that watches it, each with its label."""

from local.world import IPV4, IPV6, story_world
from local.world import MAIL_HOST as HOST
from senderwatch.alerttext import render
from senderwatch.commands import main
from senderwatch.notifier import alerts_for_change


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def host_checked(local, host, addresses, label=""):
    """A host target as its last check left it: its findings list its addresses."""
    item = {"ip": host, "enabled": True, "findings": {"addresses": {a: {"dnsbl": {}} for a in addresses}}}
    local.put_target({**item, "label": label} if label else item)


def test_an_address_its_host_already_has_is_said_at_add(local, capsys):
    host_checked(local, HOST, [IPV4, IPV6], "postfix-1")
    status, out, err = run(capsys, "targets", "add", IPV4, "--label", "relay", "--table", local.table_name)
    assert status == 0 and out.startswith(f"{IPV4} added")
    assert err == (f"senderwatch: note: {IPV4} is watched through {HOST} (postfix-1) too: alerts about it name both\n")
    assert local.item(IPV4)["label"] == "relay"  # a note, not a refusal: it may be on purpose


def test_a_network_holding_watched_addresses_is_said_once_per_other_target(local, capsys):
    host_checked(local, HOST, [IPV4, IPV6])
    local.put_target({"ip": "192.0.2.26", "label": "second", "enabled": True})
    local.put_target({"ip": "192.0.2.27", "enabled": False})  # not checked: never alerted twice
    status, _, err = run(capsys, "targets", "add", "192.0.2.16/28", "--table", local.table_name)
    assert status == 0
    assert err.splitlines() == [
        f"senderwatch: note: {IPV4} of 192.0.2.16/28 is watched through {HOST} too: alerts about it name both",
        "senderwatch: note: 192.0.2.26 of 192.0.2.16/28 is watched through 192.0.2.26 (second) too: "
        "alerts about it name both",
    ]
    status, _, err = run(capsys, "targets", "add", IPV4, "--table", local.table_name)
    assert err.splitlines() == [
        f"senderwatch: note: {IPV4} is watched through {HOST} too: alerts about it name both",
        f"senderwatch: note: {IPV4} is watched through 192.0.2.16/28 too: alerts about it name both",
    ]


def test_an_address_watched_once_says_nothing_more(local, capsys):
    host_checked(local, HOST, [IPV6])
    assert run(capsys, "targets", "add", IPV4, "--table", local.table_name)[2] == ""


def test_import_notes_each_address_watched_twice_after_writing_the_file(local, capsys, tmp_path):
    host_checked(local, HOST, [IPV4, IPV6], "postfix-1")
    relays = tmp_path / "relays.csv"
    relays.write_text(f"{IPV4},,direct\n198.51.100.7\n", encoding="utf-8")
    status, out, err = run(capsys, "targets", "import", str(relays), "--table", local.table_name)
    assert status == 0 and out.startswith("2 added")
    assert err == (f"senderwatch: note: {IPV4} is watched through {HOST} (postfix-1) too: alerts about it name both\n")


def address_lines(email):
    return [line for line in email["email"].splitlines() if IPV4 in line and "(" in line]


def test_the_alerts_of_an_address_watched_twice_carry_both_labels(local, capsys):
    table = ["--table", local.table_name]
    assert run(capsys, "targets", "add", HOST, "--label", "mx", *table)[0] == 0
    local.settle()  # the host's first check: its findings list its addresses
    assert run(capsys, "targets", "add", IPV4, "--label", "relay", *table)[2].count("watched through") == 1
    local.settle()
    local.inbox("email")  # the first checks' listings: before any scheduled run knew of both
    local.run()  # the daily run: nothing changed, nothing sent, nothing written
    assert local.inbox("email") == [] and "watched_with" not in local.item(IPV4)

    local.dns_server.load(story_world(listed=False))
    local.run()
    cleared = local.inbox("email")
    assert cleared and {a["event"] for a in cleared} == {"DELISTED"}
    for email in cleared:  # one alert or two: each names both targets, with their labels
        assert any("mx" in line and "relay" in line and HOST in line for line in address_lines(email)), email
    assert local.item(IPV4)["watched_with"] == [[HOST, "mx", [IPV4]]]
    assert local.item(HOST)["watched_with"] == [[IPV4, "relay", [IPV4]]]

    local.dns_server.load(story_world())
    local.run()
    listed = local.inbox("email")
    assert listed and {a["event"] for a in listed} == {"LISTED"}
    for email in listed:
        assert any("mx" in line and "relay" in line and HOST in line for line in address_lines(email)), email


def test_an_alert_of_one_of_the_two_items_alone_names_the_other():
    """The notifier knows one item per change: the other's label comes from the item itself."""
    old = {"ip": IPV4, "label": "relay", "findings": {"dnsbl": {}}}
    new = {
        "ip": IPV4,
        "label": "relay",
        "findings": {"dnsbl": {"dnsbl.justspam.org": {"status": "listed", "since": "2026-11-20T06:00:00+00:00"}}},
        "watched_with": [[HOST, "mx", [IPV4]], ["192.0.2.16/28", "net", []], ["198.51.100.0/28", "far", []]],
    }
    (alert,) = alerts_for_change(old, new)
    assert alert.also == ((HOST, "mx"), ("192.0.2.16/28", "net"))
    assert f"{IPV4} (relay; {HOST}, mx; 192.0.2.16/28, net)" in render(alert).email


def test_a_reminder_and_a_clearing_alert_of_a_hosts_address_name_the_address_target_too():
    listed = {"status": "listed", "since": "2026-11-20T06:00:00+00:00"}
    item = {
        "ip": HOST,
        "label": "mx",
        "findings": {
            "addresses": {IPV4: {"first": "2026-11-19T06:00:00+00:00", "dnsbl": {"dnsbl.justspam.org": listed}}},
            "zones": {"4": ["dnsbl.justspam.org"]},
            "spf_records": {},
        },
        "watched_with": [[IPV4, "relay", [IPV4]]],
    }
    reminded = {**item, "findings": {**item["findings"], "reminded_at": "2026-11-27T06:00:00+00:00"}}
    (reminder,) = alerts_for_change(item, reminded)
    assert reminder.reminder and f"{IPV4} ({HOST}, mx; relay)" in render(reminder).email
    clean = {"status": "clean", "since": "2026-11-28T06:00:00+00:00"}
    cleared = {
        **item,
        "findings": {
            **item["findings"],
            "addresses": {IPV4: {"first": "2026-11-19T06:00:00+00:00", "dnsbl": {"dnsbl.justspam.org": clean}}},
        },
    }
    (delisted,) = alerts_for_change(item, cleared)
    assert delisted.event == "DELISTED" and f"{IPV4} ({HOST}, mx; relay)" in render(delisted).email
