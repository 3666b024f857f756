"""The fleet in and out, and now: `targets export` and `import` back, `targets list --format json`,
`targets remove` of many, imports as spreadsheets write them, and `check-now` through the stack's
check queue (a table, a queue and a stack on in-process moto; the story's DNS world)."""

import ipaddress
import json
import re

import boto3
import pytest

from local.pipeline import create_table
from local.world import DOMAIN, IPV4, IPV6, MAIL_HOST, story_world
from senderwatch.addresses import reverse_name
from senderwatch.commands import main

STACK = "senderwatch-local"


@pytest.fixture
def table(local):
    return ["--table", local.table_name]


@pytest.fixture
def stack(local):
    local.register_stack(STACK, {"DqsKeyParameter": "/senderwatch/dqs-key"})
    return ["--stack", STACK]


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def queued() -> list[dict]:
    """The bodies of the messages on the check queue (left there for the checker)."""
    sqs = boto3.client("sqs")
    url = next(u for u in sqs.list_queues()["QueueUrls"] if "senderwatch-check-" in u)
    bodies, handles = [], []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages"):
        bodies += [json.loads(m["Body"]) for m in got]
        handles += [m["ReceiptHandle"] for m in got]
    for handle in handles:  # back on the queue at once, as if never received
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return bodies


def watch_a_fleet(capsys, where):
    """Every kind of target and setting, labels as people write them."""
    for argv in (
        [IPV4, "--sender", DOMAIN, "--label", 'postfix-1, "the old one"', "--helo", MAIL_HOST],
        [IPV6, "--sender", f"bounce@{DOMAIN}", "--label", "Relais Köln; 2. OG", "--zone", "dnsbl.dronebl.org"],
        [MAIL_HOST, "--sender", DOMAIN, "--zone", "dnsbl.justspam.org", "--zone", "bl.spamcop.net"],
        ["198.51.100.0/28", "--label", "relay pool", "--disabled"],
        ["203.0.113.7", "--label", "-"],  # what `targets list` shows for no label, here a label
    ):
        assert run(capsys, "targets", "add", *argv, *where)[0] == 0


def test_an_export_is_imported_back_unchanged(local, table, capsys, tmp_path):
    watch_a_fleet(capsys, table)
    run(capsys, "targets", "add", "203.0.113.8", "--label", '=HYPERLINK("http://evil.example","click")', *table)
    run(capsys, "targets", "add", "203.0.113.9", "--label", "'@home", *table)
    status, exported, err = run(capsys, "targets", "export", *table)
    assert (status, err) == (0, "")
    assert exported.splitlines()[0] == "ip,sender,label,helo,zones,enabled"
    assert f'{IPV4},postmaster@{DOMAIN},"postfix-1, ""the old one""",{MAIL_HOST},,yes' in exported.splitlines()
    assert "198.51.100.0/28,,relay pool,,,no" in exported.splitlines()
    # a spreadsheet opening the file shows these as text, not formulas
    assert '203.0.113.8,,"\'=HYPERLINK(""http://evil.example"",""click"")",,,yes' in exported.splitlines()
    assert "203.0.113.7,,'-,,,yes" in exported.splitlines() and "203.0.113.9,,''@home,,,yes" in exported.splitlines()
    path = tmp_path / "fleet.csv"
    path.write_text(exported)

    empty = ["--table", create_table("TargetsTable", "targets-elsewhere")]
    status, out, _ = run(capsys, "targets", "import", str(path), *empty)
    assert (status, out) == (
        0,
        "7 added, 0 updated, 0 already up to date: first checks of the 6 enabled follow within a minute\n",
    )
    assert run(capsys, "targets", "export", *empty)[1] == exported
    assert (
        boto3.resource("dynamodb").Table("targets-elsewhere").get_item(Key={"ip": "198.51.100.0/28"})["Item"]["enabled"]
        is False
    )  # the disabled target stays disabled
    assert run(capsys, "targets", "import", str(path), *table)[1] == "0 added, 0 updated, 7 already up to date\n"


def test_the_json_export_is_imported_back_too(local, table, capsys, tmp_path):
    watch_a_fleet(capsys, table)
    status, document, _ = run(capsys, "targets", "export", "--format", "json", *table)
    targets = {t["ip"]: t for t in json.loads(document)["targets"]}
    assert targets[MAIL_HOST] == {
        "ip": MAIL_HOST,
        "sender": f"postmaster@{DOMAIN}",
        "label": "",
        "helo": None,
        "zones": ["dnsbl.justspam.org", "bl.spamcop.net"],
        "enabled": True,
    }
    path = tmp_path / "fleet.json"
    path.write_text(document)
    empty = ["--table", create_table("TargetsTable", "targets-from-json")]
    assert run(capsys, "targets", "import", str(path), *empty)[1].startswith("5 added")
    assert run(capsys, "targets", "export", *empty)[1] == run(capsys, "targets", "export", *table)[1]


def test_a_json_field_of_the_wrong_type_is_a_bad_entry_and_nothing_is_written(local, table, capsys, tmp_path):
    path = tmp_path / "fleet.json"
    path.write_text(
        json.dumps(
            {
                "targets": [
                    {"ip": IPV4, "label": {"a": 1}},
                    {"ip": "192.0.2.26", "label": ["x"]},
                    {"ip": "192.0.2.27", "enabled": 0},
                    {"ip": "192.0.2.28", "zones": [1]},
                    {"ip": "192.0.2.29", "label": "fine", "enabled": None},
                ]
            }
        )
    )
    status, out, err = run(capsys, "targets", "import", str(path), *table)
    assert (status, out) == (2, "")
    said = err.splitlines()
    assert len(said) == 5 and "4 bad entries" in said[-1] and "nothing was added" in said[-1]
    assert "entry 1: label is '{\"a\": 1}': expected a string" in said[0]
    assert "entry 3: enabled is '0': expected true or false" in said[2]
    assert "entry 4: zones is '[1]': expected a list of names" in said[3]
    assert run(capsys, "targets", "list", *table)[1].count("192.0.2.2") == 0
    path.write_text(json.dumps([{"ip": IPV4}]))  # the list without its {"targets": ...}
    status, _, err = run(capsys, "targets", "import", str(path), *table)
    assert status == 2 and 'a JSON file holds {"targets": [...]}' in err


def test_an_item_written_by_hand_that_cannot_be_checked_is_left_out_of_the_export_and_said(local, table, capsys):
    local.put_target({"ip": IPV4, "sender": DOMAIN, "label": "tab\there"})
    local.put_target({"ip": "Mail.Example.COM", "sender": DOMAIN})
    status, out, err = run(capsys, "targets", "export", *table)
    assert status == 0
    assert out.splitlines()[1:] == [f"{IPV4},postmaster@{DOMAIN},tab here,,,yes"]
    assert "Mail.Example.COM left out: write the host as mail.example.com" in err
    assert f"{IPV4}: its label is written without its line breaks and control characters" in err


def test_targets_list_as_json(local, table, capsys):
    watch_a_fleet(capsys, table)
    status, out, _ = run(capsys, "targets", "list", "--format", "json", *table)
    rows = {t["ip"]: t for t in json.loads(out)["targets"]}
    assert status == 0 and list(rows)[:2] == [IPV4, "203.0.113.7"]  # as `targets list` sorts them
    assert rows["198.51.100.0/28"] == {
        "ip": "198.51.100.0/28",
        "kind": "network",
        "sender": None,
        "senders": [],
        "helo": None,
        "label": "relay pool",
        "zones": [],
        "enabled": False,
    }
    assert (rows[MAIL_HOST]["kind"], rows[IPV6]["zones"]) == ("host", ["dnsbl.dronebl.org"])
    assert rows[IPV6]["senders"] == [f"bounce@{DOMAIN}"]


def test_remove_many_says_each_and_a_missing_one_does_not_stop_the_others(local, table, capsys):
    watch_a_fleet(capsys, table)
    status, out, err = run(capsys, "targets", "remove", IPV4, "192.0.2.99", f"::ffff:{IPV4}", MAIL_HOST, *table)
    assert (status, out) == (2, f"{IPV4} removed\n{MAIL_HOST} removed\n")
    assert err == "senderwatch: error: 192.0.2.99 is not watched\n"
    assert local.item(IPV4) is None and local.item(MAIL_HOST) is None and local.item(IPV6) is not None


@pytest.mark.parametrize(
    "content",
    [
        f"# to go\n{IPV6}\n198.51.100.0/28\n",  # one a line
        f"ip,sender,label\n{IPV6},{DOMAIN},x\n198.51.100.0/28,,relay pool\n",  # the import's file
        f"label;TARGET;colour\nx;{IPV6};red\nrelay pool;198.51.100.0/28;blue\n",  # its ip column, wherever it is
    ],
)
def test_remove_the_targets_of_a_file(local, table, capsys, tmp_path, content):
    watch_a_fleet(capsys, table)
    path = tmp_path / "gone.csv"
    path.write_text(content)
    status, out, err = run(capsys, "targets", "remove", "--file", str(path), *table)
    assert (status, out, err) == (0, f"{IPV6} removed\n198.51.100.0/28 removed\n", "")
    assert [t["ip"] for t in json.loads(run(capsys, "targets", "list", "--format", "json", *table)[1])["targets"]] == [
        IPV4,
        "203.0.113.7",
        MAIL_HOST,
    ]


def test_remove_says_every_target_that_is_not_watched_up_to_a_limit(local, table, capsys, tmp_path):
    run(capsys, "targets", "add", IPV4, *table)
    path = tmp_path / "gone.txt"
    path.write_text("".join(f"198.51.100.{n}\n" for n in range(1, 26)) + f"{IPV4}\n")
    status, out, err = run(capsys, "targets", "remove", "--file", str(path), *table)
    assert (status, out) == (2, f"{IPV4} removed\n")
    lines = err.splitlines()
    assert len(lines) == 21 and lines[0] == "senderwatch: error: 198.51.100.1 is not watched"
    assert lines[-1] == "senderwatch: error: and 5 more (25 in all)"


def test_remove_without_a_target_is_a_usage_error(local, table, capsys):
    status, _, err = run(capsys, "targets", "remove", *table)
    assert status == 2 and "say which targets" in err


# -- import as the operator met it --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "options"),
    [
        # what `targets list` heads its columns with, and shows for what is not set
        (f"TARGET,SENDER,HELO,LABEL,ZONES,ENABLED\n{IPV4},{DOMAIN},-,Relais Köln,(default),yes\n", []),
        (f"Host,Sender,Name\n{IPV4},{DOMAIN},Relais Köln\n", []),
        # Excel in a locale with decimal commas: its sep= line, then semicolons
        (f"sep=;\nip;sender;label\n{IPV4};{DOMAIN};Relais Köln\n", []),
        # no header, semicolons, and a comma in the label (the first line has more commas than semicolons)
        (f"{IPV4};{DOMAIN};Relais Köln, 2., 3. und 4. OG\n198.51.100.7;{DOMAIN}\n", []),
        (f"198.51.100.7\n{IPV4};{DOMAIN};Relais Köln, 2. OG\n", []),  # the first line has neither
        (f"{IPV4}|{DOMAIN}|Relais Köln, 2. OG\n", ["--delimiter", "|"]),
        (f"{IPV4}\t{DOMAIN}\tRelais Köln, 2. OG\n", ["--delimiter", "tab"]),
    ],
)
def test_import_takes_the_files_operators_have(local, table, capsys, tmp_path, content, options):
    path = tmp_path / "relays.csv"
    path.write_text(content, encoding="utf-8")
    status, out, err = run(capsys, "targets", "import", str(path), *options, *table)
    assert (status, err) == (0, ""), err
    item = local.item(IPV4)
    assert item["sender"] == f"postmaster@{DOMAIN}" and item["label"].startswith("Relais Köln")
    assert "helo" not in item and "zones" not in item and item["enabled"] is True


def test_import_names_every_bad_line_and_writes_nothing(local, table, capsys, tmp_path):
    path = tmp_path / "relays.csv"
    lines = [f"{IPV4},{DOMAIN}", "10.0.0.1,x", f"{IPV6},example", "198.51.100.7,,,,,maybe", "192.0.2.0/23"]
    path.write_text("\n".join(lines) + "\n")
    status, _, err = run(capsys, "targets", "import", str(path), *table)
    said = err.splitlines()
    assert status == 2 and len(said) == 5
    assert [re.search(r" line (\d+): ", line).group(1) for line in said[:4]] == ["2", "3", "4", "5"]
    assert "private address" in said[0] and "invalid sender" in said[1] and "enabled is 'maybe'" in said[2]
    assert said[-1] == f"senderwatch: error: '{path}': 4 bad lines in all; nothing was added"
    assert run(capsys, "targets", "list", *table)[1].startswith("No targets yet")


def test_hostile_lines_are_each_named_without_reaching_the_terminal_raw(local, table, capsys, tmp_path):
    path = tmp_path / "relays.csv"
    lines = [
        f"{IPV4},{DOMAIN}",
        "\x1b]0;pwned\x07\x1b[2J,x",  # terminal escapes in the address
        f'=HYPERLINK("http://evil.example"),{DOMAIN}',  # a spreadsheet formula
        f"198.51.100.7,{'a' * 10_000}@example.com",  # a huge sender
        f'198.51.100.8,{DOMAIN},"label\x00with NUL"',
        f"198.51.100.9;{DOMAIN};semicolons in a comma file",
    ]
    path.write_text("\n".join(lines) + "\n")
    status, _, err = run(capsys, "targets", "import", str(path), *table)
    said = err.splitlines()
    assert status == 2 and "\x1b" not in err and "\x07" not in err and "\x00" not in err
    assert [re.search(r" line (\d+): ", line).group(1) for line in said[:-1]] == ["2", "3", "4", "5", "6"]
    assert max(map(len, said)) < 400  # a huge cell is cut short, not printed whole
    assert said[-1].endswith("5 bad lines in all; nothing was added")
    assert run(capsys, "targets", "list", *table)[1].startswith("No targets yet")


def test_import_names_twenty_bad_lines_and_counts_the_rest(local, table, capsys, tmp_path):
    path = tmp_path / "relays.csv"
    path.write_text("".join(f"10.0.0.{n}\n" for n in range(1, 31)))
    status, _, err = run(capsys, "targets", "import", str(path), *table)
    said = err.splitlines()
    assert status == 2 and len(said) == 21 and "line 20: " in said[19]
    assert said[-1].endswith("and 10 more; 30 bad lines in all; nothing was added")


@pytest.mark.parametrize("given", ["", "ab", '"', "x"])
def test_a_delimiter_is_one_character_that_is_not_a_quote(local, table, capsys, tmp_path, given):
    path = tmp_path / "relays.csv"
    path.write_text(f"{IPV4}\n")
    status, _, err = run(capsys, "targets", "import", str(path), "--delimiter", given, *table)
    assert status == 2 and "--delimiter" in err and err.count("\n") == 1


# -- checks now, and when settings change ---------------------------------------------------------------


def test_check_now_sends_every_enabled_target_through_the_stack(local, stack, capsys):
    watch_a_fleet(capsys, stack)
    local.settle()  # the first checks of the new targets (the stream)
    local.inbox("email")
    status, out, _ = run(capsys, "check-now", *stack)
    assert status == 0
    sent = f"4 targets sent to the check queue of stack {STACK} (1 message): {IPV4}, 203.0.113.7, {IPV6}, {MAIL_HOST}"
    assert out.startswith(sent + "\n")
    assert f"Their findings are in 'senderwatch status --stack {STACK}' within a minute or two" in out
    (body,) = queued()
    assert body["run"] and body["scheduled"] is False  # a run of its own, not a scheduled one
    assert sorted(t["ip"] for t in body["targets"]) == sorted([IPV4, IPV6, MAIL_HOST, "203.0.113.7"])
    local.settle()
    assert queued() == [] and local.item("198.51.100.0/28").get("findings") is None  # disabled: not checked


def test_a_listing_that_appears_is_in_status_after_check_now_not_the_next_day(local, stack, capsys):
    """The operator hears of a listing, asks the deployment now, and reads it in status."""
    local.dns_server.load(story_world(listed=False))
    run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, "--zone", "dnsbl.justspam.org", *stack)
    local.settle()
    rows = json.loads(run(capsys, "status", "--format", "json", *stack)[1])["targets"]
    assert rows[0]["listed"] == [] and rows[0]["spf"] == "pass"
    local.inbox("email")

    local.dns_server.load(story_world(listed=True))
    assert run(capsys, "check-now", IPV4, *stack)[0] == 0
    (body,) = queued()
    assert body["scheduled"] is False and [t["ip"] for t in body["targets"]] == [IPV4]
    rows = json.loads(run(capsys, "status", "--format", "json", *stack)[1])["targets"]
    assert rows[0]["listed"] == []  # on the queue, not checked on this machine

    local.settle()  # the checker takes the message
    rows = json.loads(run(capsys, "status", "--format", "json", *stack)[1])["targets"]
    assert rows[0]["listed"] == ["dnsbl.justspam.org"]
    assert [a["event"] for a in local.inbox("email")] == ["LISTED"]


def test_check_now_of_targets_named_says_each_that_cannot_be_checked(local, stack, capsys):
    watch_a_fleet(capsys, stack)
    local.settle()
    status, out, err = run(capsys, "check-now", IPV6, "198.51.100.99", "198.51.100.0/28", *stack)
    assert status == 2
    assert out.startswith(f"1 target sent to the check queue of stack {STACK} (1 message): {IPV6}\n")
    assert err.splitlines() == [
        "senderwatch: error: 198.51.100.0/28 is disabled: 'targets add 198.51.100.0/28 --enabled' first",
        "senderwatch: error: 198.51.100.99 is not watched",
    ]
    assert [t["ip"] for body in queued() for t in body["targets"]] == [IPV6]


def test_check_now_says_an_item_written_by_hand_that_cannot_be_checked_and_sends_the_rest(local, stack, capsys):
    run(capsys, "targets", "add", IPV4, *stack)
    local.put_target({"ip": "Mail.Example.COM", "sender": DOMAIN})
    local.settle()
    capsys.readouterr()  # the functions' logs
    status, out, err = run(capsys, "check-now", *stack)
    assert status == 0 and out.startswith(f"1 target sent to the check queue of stack {STACK} (1 message): {IPV4}\n")
    assert err.splitlines() == [
        "senderwatch: note: Mail.Example.COM is not a target senderwatch can check: write the host as"
        " mail.example.com: that is the key senderwatch looks for"
    ]  # said once, as a note, and no log line of the scheduler's besides


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([IPV4], "say which deployment: --stack NAME"),
        (["10.0.0.1", "--stack", STACK], "private address"),
        ([IPV4, "--stack", "no-such-stack"], "no-such-stack"),
    ],
)
def test_check_now_refuses_in_one_line(local, capsys, argv, says):
    status, out, err = run(capsys, "check-now", *argv)
    assert status in (2, 4) and says in err and err.count("\n") == 1 and out == ""


def test_checks_now_do_not_count_as_scheduled_runs(local, stack, capsys):
    """A list that fails for an address counts toward CHECK_FAILING in scheduled runs only."""
    run(capsys, "targets", "add", IPV4, "--zone", "dnsbl.justspam.org", *stack)
    local.dns_server.load(
        {**story_world(), f"{reverse_name(ipaddress.ip_address(IPV4))}.dnsbl.justspam.org": ["TIMEOUT"]}
    )
    local.settle()
    for _ in range(3):
        assert run(capsys, "check-now", IPV4, *stack)[0] == 0
        local.settle()
    entry = local.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]
    assert (entry["error"], entry.get("error_runs", 0)) == ("timeout", 0)
    local.run()
    assert local.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]["error_runs"] == 1


def test_a_change_of_what_is_checked_checks_the_target_again(local, stack, capsys):
    run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, *stack)
    local.settle()
    assert local.item(IPV4)["findings"]["spf"]["result"] == "pass"
    local.inbox("email")

    status, out, _ = run(capsys, "targets", "add", IPV4, "--sender", "bounce@nospf.example", *stack)
    assert out == (
        f"{IPV4} updated: sender postmaster@{DOMAIN} -> bounce@nospf.example;"
        " it is checked with the new settings within a minute or two\n"
    )
    (body,) = queued()
    assert body["scheduled"] is False and [t["sender"] for t in body["targets"]] == ["bounce@nospf.example"]
    local.settle()
    assert local.item(IPV4)["findings"]["spf"] == {**local.item(IPV4)["findings"]["spf"], "result": "none"}
    assert "SPF_FAILING" in [a["event"] for a in local.inbox("email")]

    assert (
        run(capsys, "targets", "add", IPV4, "--label", "renamed", *stack)[1]
        == f"{IPV4} updated: label set to renamed\n"
    )
    assert queued() == []  # a label changes nothing a check finds
    run(capsys, "targets", "add", IPV4, "--disabled", *stack)
    assert (
        run(capsys, "targets", "add", IPV4, "--helo", MAIL_HOST, *stack)[1]
        == f"{IPV4} updated: helo set to {MAIL_HOST}\n"
    )
    assert queued() == []  # disabled: not checked
    out = run(capsys, "targets", "add", IPV4, "--enabled", *stack)[1]
    assert out.endswith("; it is checked with the new settings within a minute or two\n")
    (body,) = queued()  # enabled again: checked with what it is now
    assert [(t["ip"], t["helo"]) for t in body["targets"]] == [(IPV4, MAIL_HOST)]


def test_a_change_is_written_even_when_the_check_queue_refuses_its_check(local, stack, capsys, monkeypatch):
    """An operator allowed to write the table but not to send to the queue: the change stands."""
    from botocore.exceptions import ClientError

    from senderwatch.aws import CheckQueue

    run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, *stack)
    local.settle()

    def refuse(self, bodies):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not sqs:SendMessage"}}, "SendMessageBatch")

    monkeypatch.setattr(CheckQueue, "send", refuse)
    status, out, err = run(capsys, "targets", "add", IPV4, "--helo", MAIL_HOST, *stack)
    assert (status, err) == (0, "")
    assert out == (
        f"{IPV4} updated: helo set to {MAIL_HOST}; it is checked with the new settings at the next scheduled run"
        f" (cannot send to the check queue: AccessDenied: not sqs:SendMessage; now: senderwatch check-now {IPV4}"
        " --stack NAME)\n"
    )
    assert local.item(IPV4)["helo"] == MAIL_HOST


def test_an_import_that_changes_what_is_checked_checks_those_targets_again(local, stack, capsys, tmp_path):
    path = tmp_path / "relays.csv"
    path.write_text(f"{IPV4},{DOMAIN}\n{IPV6},{DOMAIN}\n")
    run(capsys, "targets", "import", str(path), *stack)
    local.settle()
    path.write_text(f"{IPV4},{DOMAIN},relay 1\n{IPV6},bounce@nospf.example\n198.51.100.7\n")
    status, out, _ = run(capsys, "targets", "import", str(path), *stack)
    assert out == (
        "1 added, 2 updated, 0 already up to date: first checks follow within a minute;"
        " the updated one is checked with the new settings within a minute or two\n"
    )
    assert [t["ip"] for body in queued() for t in body["targets"]] == [IPV6]
