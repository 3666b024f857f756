"""`senderwatch targets ...` and `senderwatch status` against a table on moto."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from local.world import DOMAIN, IPV4, IPV6
from senderwatch.aws import TargetStore
from senderwatch.commands import fleet as admin
from senderwatch.commands import main
from senderwatch.runs import Run, message_body


@pytest.fixture
def table(local):
    return ["--table", local.table_name]


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_add_list_remove(local, table, capsys):
    assert run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, "--label", "postfix-1", *table)[0] == 0
    assert run(capsys, "targets", "add", "2001:DB8:0::25", "--sender", f"bounce@{DOMAIN}", *table)[0] == 0
    status, out, _ = run(capsys, "targets", "list", *table)
    header, *rows = out.splitlines()
    assert header.split() == ["TARGET", "SENDER", "HELO", "LABEL", "ZONES", "ENABLED"]
    assert [row.split() for row in rows] == [
        [IPV4, f"postmaster@{DOMAIN}", "-", "postfix-1", "(default)", "yes"],
        [IPV6, f"bounce@{DOMAIN}", "-", "-", "(default)", "yes"],
    ]
    assert run(capsys, "targets", "remove", IPV6, *table)[:2] == (0, f"{IPV6} removed\n")
    status, _, err = run(capsys, "targets", "remove", IPV6, *table)
    assert status == 2 and "not watched" in err


def test_an_ipv4_mapped_address_is_watched_as_the_ipv4_address(local, table, capsys):
    status, out, _ = run(capsys, "targets", "add", f"::ffff:{IPV4}", *table)
    assert (status, out) == (0, f"{IPV4} added: its first check follows within a minute\n")
    assert local.item(IPV4) is not None


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["192.0.2.0/23"], "a network target is a /24 or longer"),
        (["mail"], "or a host name (mail.example.com)"),
        (["10.1.2.3"], "private address"),
        ([IPV4, "--sender", "example"], "invalid sender"),
        ([IPV4, "--zone", "bad zone"], "invalid DNSBL zone"),
        ([IPV6, "--zone", "dnsbl.justspam.org"], "rates IPv6 addresses"),
        ([IPV4, "--label", "x" * 101], "at most 100"),
        ([IPV4, "--label", "evil\x1b]0;title\x07"], "control characters"),
        ([IPV4, "--label", "tab\there"], "control characters"),
        ([IPV4, "--label", "two\nlines"], "control characters"),
    ],
)
def test_add_refuses_bad_input_in_one_line(local, table, capsys, argv, says):
    status, out, err = run(capsys, "targets", "add", *argv, *table)
    assert status == 2 and says in err and err.count("\n") == 1
    assert run(capsys, "targets", "list", *table)[1].startswith("No targets yet")


def test_adding_a_watched_target_changes_only_what_the_command_names(local, table, capsys, event):
    run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, "--helo", "mail.example.com", *table)
    run(capsys, "targets", "add", IPV4, "--zone", "dnsbl.justspam.org", "--label", "postfix-1", "--disabled", *table)
    local.invoke("checker", {"Records": [dict(event("sqs-check-batch.json")["Records"][0])]})
    assert "findings" not in local.item(IPV4)  # disabled: not checked

    status, out, _ = run(capsys, "targets", "add", IPV4, "--label", "renamed", *table)
    assert (status, out) == (0, f"{IPV4} updated: label postfix-1 -> renamed\n")
    item = local.item(IPV4)
    assert (item["sender"], item["helo"], item["zones"], item["enabled"]) == (
        f"postmaster@{DOMAIN}",
        "mail.example.com",
        ["dnsbl.justspam.org"],
        False,  # still disabled: only --enabled turns it back on
    )
    assert run(capsys, "targets", "add", IPV4, *table)[1] == f"{IPV4} unchanged\n"
    out = run(capsys, "targets", "add", IPV4, "--enabled", "--zone", "", "--helo", "", *table)[1]
    assert out == (
        f"{IPV4} updated: helo removed, enabled false -> true, zones removed; it is checked with the new settings"
        f" at the next scheduled run (now: senderwatch check-now {IPV4} --stack NAME)\n"
    )
    item = local.item(IPV4)
    assert item["enabled"] is True and "zones" not in item and "helo" not in item and item["label"] == "renamed"


def test_updating_a_target_keeps_its_findings(local, table, capsys, event):
    run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, *table)
    local.invoke("checker", {"Records": [dict(event("sqs-check-batch.json")["Records"][0])]})
    status, out, _ = run(capsys, "targets", "add", IPV4, "--label", "renamed", *table)
    item = local.item(IPV4)
    assert item["label"] == "renamed" and item["findings"]["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"


def test_a_new_sender_starts_spf_afresh(local, table, capsys):
    """The old sender's 'pass' neither lingers in status nor hides the new sender's failure."""
    run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, *table)
    local.settle()
    local.inbox("email")
    assert local.item(IPV4)["findings"]["spf"]["result"] == "pass"

    run(capsys, "targets", "add", IPV4, "--sender", "bounce@nospf.example", *table)
    rows = json.loads(run(capsys, "status", "--format", "json", *table)[1])["targets"]
    assert (rows[0]["sender"], rows[0]["spf"]) == ("bounce@nospf.example", None)  # not checked yet

    local.run()
    spf = local.item(IPV4)["findings"]["spf"]
    assert (spf["sender"], spf["result"]) == ("bounce@nospf.example", "none")
    (alert,) = [a for a in local.inbox("email") if a["event"] == "SPF_FAILING"]
    assert "nospf.example publishes no SPF record" in alert["email"]
    assert f"v=spf1 ip4:{IPV4} ~all" in alert["email"]

    run(capsys, "targets", "add", IPV4, "--sender", "", *table)  # no sender: no SPF at all
    local.run()
    assert "spf" not in local.item(IPV4)["findings"]


def test_status_is_sorted_by_address_value_and_shows_findings(local, table, capsys, event):
    for ip in ("192.0.2.10", IPV6, "192.0.2.9", IPV4):
        run(capsys, "targets", "add", ip, "--sender", DOMAIN, *table)
    status, out, _ = run(capsys, "status", *table)
    targets = out.split("\n\n")[0]  # the domains follow, or where to find them
    assert [line.split()[0] for line in targets.splitlines()[1:]] == ["192.0.2.9", "192.0.2.10", IPV4, IPV6]
    assert "not checked yet" in out
    local.invoke("checker", event("sqs-check-batch.json"))
    status, out, _ = run(capsys, "status", "--format", "json", *table)
    rows = {r["ip"]: r for r in json.loads(out)["targets"]}
    assert rows[IPV4]["listed"] == ["dnsbl.justspam.org"] and rows[IPV4]["spf"] == "pass"
    assert rows[IPV6]["spf"] == "softfail" and rows[IPV6]["forward_confirmed"] is True


def test_what_strangers_wrote_reaches_the_terminal_clean(local, table, capsys):
    """A label, a sender or a key written by hand with escapes: printed without them, rows intact."""
    local.put_target({"ip": IPV4, "label": "evil\x1b]0;pwned\x07 label\nsecond line " + "x" * 300})
    local.put_target({"ip": "\x1b[2Jnot-an-address", "sender": "a@example.com", "findings": "garbage"})
    for argv in (["status"], ["targets", "list"], ["status", "--format", "json"]):
        status, out, _ = run(capsys, *argv, *table)
        # a garbage item does not take the others down; status: nothing is checked yet (3)
        assert status == (3 if argv[0] == "status" else 0)
        assert "\x1b" not in out and "\x07" not in out
    header, *lines = run(capsys, "status", *table)[1].split("\n\n")[0].splitlines()
    rows = [line for line in lines if not line.startswith(" ")]
    assert len(rows) == 2  # one line per target, however long or multi-line the label
    assert any("invalid: the item's findings are not readable" in line for line in lines)
    column = header.index("LISTED ON")
    assert all(row[column - 2 : column] == "  " and row[column] != " " for row in rows)  # columns line up
    (evil,) = [row for row in rows if row.startswith(IPV4)]
    assert "evil\\x1b]0;pwned\\x07 label" in evil and evil.count("…") == 1  # odd, visibly so, and cut
    # a key written by hand is shown as it is, and can be removed as shown
    removed = run(capsys, "targets", "remove", "\x1b[2Jnot-an-address", *table)[:2]
    assert removed == (0, "\\x1b[2Jnot-an-address removed\n")


def test_import_reads_the_whole_file_first(local, table, capsys, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(f"ip,sender,label\n# our relays\n{IPV4},{DOMAIN},postfix-1\n{IPV6},{DOMAIN},postfix-1 v6\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{IPV4},{DOMAIN}\n\n10.0.0.0/8,{DOMAIN}\n")
    status, _, err = run(capsys, "targets", "import", str(bad), *table)
    assert status == 2 and "line 3:" in err and "nothing was added" in err
    assert run(capsys, "targets", "list", *table)[1].startswith("No targets yet")
    assert run(capsys, "targets", "import", str(good), *table)[1].startswith("2 added, 0 updated")
    assert run(capsys, "targets", "import", str(good), *table)[1] == "0 added, 0 updated, 2 already up to date\n"


def test_import_takes_csv_as_people_make_it(local, table, capsys, tmp_path):
    """Excel's UTF-8 with a BOM and CRLF, columns in any order, zones, duplicates, notes by line."""
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufefflabel,ip,zones\r\n"
        f"Relais Köln,{IPV4},dnsbl.justspam.org bl.spamcop.net\r\n"
        f"v6,{IPV6},\r\n"
        f"Relais Köln,{IPV4},dnsbl.justspam.org bl.spamcop.net\r\n".encode()
    )
    status, out, err = run(capsys, "targets", "import", str(path), *table)
    assert (status, out) == (0, "2 added, 0 updated, 0 already up to date: first checks follow within a minute\n")
    assert "line 4 repeats line 2" in err
    item = local.item(IPV4)
    assert item["label"] == "Relais Köln" and item["zones"] == ["dnsbl.justspam.org", "bl.spamcop.net"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (f"{IPV4},{DOMAIN},Relais K\xf6ln\n".encode("latin-1"), "line 1: not UTF-8 (byte 0xf6)"),
        (f'{IPV4},{DOMAIN},"{"x" * 140_000}"\n'.encode(), "line 1: field larger than field limit"),
        (f"{IPV4},{DOMAIN},{'x' * 101}\n".encode(), "line 1: label 'xxxxxxxx"),
        (f"{IPV4},{DOMAIN}\n{IPV4},other.example\n".encode(), "line 2: 192.0.2.25 again, with other settings"),
        (b"ip,sender,colour\n", "line 1: unknown column 'colour'"),
        (f"{IPV4},a,b,c,d,yes,f\n".encode(), "line 1: 7 fields, but only 6 columns"),
        (b"\x00\x01\x02", "line 1:"),
        (f'{IPV4},{DOMAIN},"unclosed\n198.51.100.7,{DOMAIN},x\n'.encode(), "line 1: a quoted field runs on to line 2"),
        (f"{IPV4},{DOMAIN},a\u0085b\n".encode(), "line 1: label 'a\\x85b' contains control characters"),
        (f"{IPV4},{DOMAIN},a\u2028b\n".encode(), "contains control characters, line breaks"),
        (b"sender,label\nexample.com,x\n", "line 1: the header names no 'ip' column"),
        (b"# only a comment\n", "no targets in the file"),
    ],
)
def test_import_refuses_bad_files_in_one_line_and_writes_nothing(local, table, capsys, tmp_path, content, says):
    path = tmp_path / "odd.csv"
    path.write_bytes(content)
    status, out, err = run(capsys, "targets", "import", str(path), *table)
    assert status == 2 and says in err and err.count("\n") == 1 and "Traceback" not in err
    assert run(capsys, "targets", "list", *table)[1].startswith("No targets yet")


def test_import_reads_spreadsheet_dialects(local, table, capsys, tmp_path):
    """Semicolons (a spreadsheet in a decimal-comma locale), a header in words, a label that is 'ip'."""
    path = tmp_path / "de.csv"
    path.write_text(f"IP Address;Sender;Name\n{IPV4};{DOMAIN};ip\n{IPV6};{DOMAIN};v6\n")
    status, out, _ = run(capsys, "targets", "import", str(path), *table)
    assert (status, out.split(",")[0]) == (0, "2 added")
    assert (local.item(IPV4)["sender"], local.item(IPV4)["label"]) == (f"postmaster@{DOMAIN}", "ip")


def test_import_refuses_a_file_too_big_to_be_a_list_of_relays(local, table, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(admin, "IMPORT_MAX_BYTES", 1000)
    path = tmp_path / "huge.csv"
    path.write_text(f"{IPV4}\n" * 200)
    status, _, err = run(capsys, "targets", "import", str(path), *table)
    assert status == 2 and "is larger than" in err and "split it" in err


def test_a_new_disabled_target_is_not_promised_a_check(local, table, capsys):
    out = run(capsys, "targets", "add", IPV4, "--disabled", *table)[1]
    assert out == f"{IPV4} added, disabled: it is not checked until 'targets add {IPV4} --enabled'\n"


def test_an_interrupted_import_is_finished_by_running_it_again(local, table, capsys, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("".join(f"198.51.100.{n},{DOMAIN}\n" for n in range(1, 201)))
    dynamodb = boto3.resource("dynamodb").meta.client
    calls = {"n": 0}

    def interrupt(**_):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb.BatchWriteItem", interrupt)
    try:
        status, _, err = run(capsys, "targets", "import", str(path), *table)
    finally:
        boto3.DEFAULT_SESSION.events.unregister("before-call.dynamodb.BatchWriteItem", interrupt)
    assert status == 130 and "run the same import again to finish" in err
    written = dynamodb.scan(TableName=local.table_name, Select="COUNT")["Count"]
    assert 0 < written < 200

    status, out, _ = run(capsys, "targets", "import", str(path), *table)
    assert status == 0 and out.startswith(f"{200 - written} added, 0 updated, {written} already up to date")
    assert dynamodb.scan(TableName=local.table_name, Select="COUNT")["Count"] == 200


def test_an_aws_error_is_one_line_and_exit_4_whichever_way_the_table_is_named(local, capsys, monkeypatch):
    status, _, err = run(capsys, "status", "--table", "no-such-table")
    assert status == 4 and "ResourceNotFoundException" in err and "in region eu-central-1" in err
    status, _, err = run(capsys, "status", "--stack", "no-such-stack")
    assert status == 4 and "no-such-stack" in err and "--region" in err
    assert err.count("\n") == 1


def test_no_deployment_named_is_a_usage_error(local, capsys, monkeypatch):
    monkeypatch.delenv("SENDERWATCH_TABLE", raising=False)
    status, _, err = run(capsys, "status")
    assert status == 2 and "--stack NAME" in err


def test_import_shows_its_progress(local, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("".join(f"198.51.100.{n}\n" for n in range(1, 121)))
    seen = []
    store = TargetStore(boto3.resource("dynamodb").Table(local.table_name))
    summary = admin.import_targets(store, admin.read_import(str(path)), lambda done, total: seen.append((done, total)))
    assert summary.startswith("120 added")
    assert seen[-1] == (120, 120) and len(seen) > 3 and seen == sorted(seen)


def test_status_says_when_each_target_was_checked_and_what_the_deployment_cannot_use(local, capsys):
    stack = ["--stack", local.register_stack()]
    run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, *stack)
    run(capsys, "targets", "add", "192.0.2.30", "--zone", "dnsbl.justspam.org", *stack)  # no sender
    # A list that is not there, on an item written by hand (targets add would refuse it: its test entries fail)
    local.put_target({"ip": "192.0.2.31", "zones": ["bl.nowhere.example"], "enabled": True})
    local.run()
    capsys.readouterr()  # what the functions logged
    status, out, _ = run(capsys, "status", "--format", "json", *stack)
    document = json.loads(out)
    assert status == 1  # 192.0.2.25 is on dnsbl.justspam.org
    rows = {r["ip"]: r for r in document["targets"]}
    assert rows[IPV4]["checked_at"] == local.item(IPV4)["checked_at"] and rows[IPV4]["stale"] is None
    assert document["last_run"] == local.item(IPV4)["checked_run"][:19] + "+00:00"
    assert rows["192.0.2.30"]["spf"] is None and rows["192.0.2.30"]["outcome"] == "ok"  # no sender: no SPF said
    unusable = {(e["zone"], e["family"]): e for e in document["unusable_lists"]}
    (gone,) = unusable.values()
    health = local.health_item("zone:bl.nowhere.example:4")["health"]
    assert (gone["zone"], gone["family"], gone["error"], gone["since"]) == (
        "bl.nowhere.example",
        4,
        health["error"],
        health["since"],
    )
    assert rows["192.0.2.31"]["outcome"] == "incomplete"  # never taken for clean
    assert document["schedule"]["expression"] and document["dead_letters"] == 0
    table = run(capsys, "status", *stack)[1]
    assert "CHECKED" in table.splitlines()[0] and "LIST THE DEPLOYMENT CANNOT USE" in table


def test_status_problems_shows_what_to_fix_and_exits_as_check(local, capsys):
    stack = ["--stack", local.register_stack()]
    run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, *stack)
    run(capsys, "targets", "add", "192.0.2.30", "--zone", "dnsbl.justspam.org", *stack)
    local.put_target({"ip": "192.0.2.31", "zones": ["bl.nowhere.example"], "enabled": True})  # written by hand
    local.run()
    capsys.readouterr()
    status, out, _ = run(capsys, "status", "--problems", "--format", "json", *stack)
    assert status == 1 and [r["ip"] for r in json.loads(out)["targets"]] == [IPV4, "192.0.2.31"]  # 192.0.2.30: fine
    run(capsys, "targets", "remove", IPV4, *stack)
    status, out, _ = run(capsys, "status", "--problems", *stack)
    # nothing wrong found, but one list could not be asked: incomplete, as check says it
    shown = [line.split()[0] for line in out.split("\n\n")[0].splitlines()[1:]]
    assert status == 3 and shown == ["192.0.2.31"]  # no list gave it a verdict; 192.0.2.30 is fine
    assert "bl.nowhere.example" in out.split("\n\n")[1]  # and why: the list it asks cannot be used


def test_a_target_whose_check_is_a_dead_letter_is_stale_and_says_so(local, capsys):
    """The last scheduled run (three hours ago: over) reached one target; the other's check failed
    three times and waits in the dead-letter queue, where status reads it without taking it."""
    stack = ["--stack", local.register_stack()]
    now = datetime.now(UTC)
    run_id, before = (now - timedelta(hours=3)).isoformat(), (now - timedelta(days=1, hours=3)).isoformat()
    findings = {"dnsbl": {"dnsbl.justspam.org": {"status": "clean", "since": before}}}
    for ip, (run_at, checked) in {"192.0.2.30": (run_id, run_id), "192.0.2.31": (before, before)}.items():
        item = {"ip": ip, "enabled": True, "zones": ["dnsbl.justspam.org"], "findings": findings}
        local.put_target(item | {"findings_changed_at": before, "checked_at": checked[:19], "checked_run": run_at})
    body = message_body(Run(run_id, scheduled=True), [{"ip": "192.0.2.31", "enabled": True}])
    boto3.client("sqs").send_message(QueueUrl=local.dead_letter_url, MessageBody=json.dumps(body))
    status, out, _ = run(capsys, "status", "--problems", "--format", "json", *stack)
    document = json.loads(out)
    (stale,) = document["targets"]
    assert (status, stale["ip"], stale["stale"]["reason"]) == (3, "192.0.2.31", "dead-letter")
    assert document["dead_letters"] == 1
    table = run(capsys, "status", *stack)[1]
    assert "dead-letter queue" in table
    assert "1 check message waits in the dead-letter queue (senderwatch doctor" in table  # the table says it too
    assert boto3.client("sqs").receive_message(QueueUrl=local.dead_letter_url).get("Messages")  # still there
