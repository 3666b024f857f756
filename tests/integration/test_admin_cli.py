"""`senderwatch targets ...` and `senderwatch status` against a table on moto."""

import json

import pytest

from senderwatch.cli import main
from senderwatch.testing.world import DOMAIN, IPV4, IPV6


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
    assert out.splitlines() == [f"{IPV4}  postmaster@{DOMAIN}  postfix-1", f"{IPV6}  bounce@{DOMAIN}"]
    assert run(capsys, "targets", "remove", IPV6, *table)[:2] == (0, f"{IPV6} removed\n")
    status, _, err = run(capsys, "targets", "remove", IPV6, *table)
    assert status == 2 and "not watched" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["192.0.2.0/24"], "is a network"),
        (["mail.example.com"], "is a hostname"),
        ([IPV4, "--sender", "example"], "invalid sender"),
        ([IPV4, "--zone", "bad zone"], "invalid DNSBL zone"),
    ],
)
def test_add_refuses_bad_input_in_one_line(local, table, capsys, argv, says):
    status, out, err = run(capsys, "targets", "add", *argv, *table)
    assert status == 2 and says in err and err.count("\n") == 1
    assert run(capsys, "targets", "list", *table)[1].startswith("No targets yet")


def test_updating_a_target_keeps_its_findings(local, table, capsys, event):
    run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, *table)
    local.invoke("checker", {"Records": [dict(event("sqs-check-batch.json")["Records"][0])]})
    status, out, _ = run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, "--label", "renamed", *table)
    assert out.startswith("0 added, 1 updated")
    item = local.item(IPV4)
    assert item["label"] == "renamed" and item["findings"]["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"


def test_import_is_all_or_nothing(local, table, capsys, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(f"ip,sender,label\n# our relays\n{IPV4},{DOMAIN},postfix-1\n{IPV6},{DOMAIN},postfix-1 v6\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{IPV4},{DOMAIN}\n10.0.0.0/8,{DOMAIN}\n")
    status, _, err = run(capsys, "targets", "import", str(bad), *table)
    assert status == 2 and "row 2" in err and "nothing was added" in err
    assert run(capsys, "targets", "list", *table)[1].startswith("No targets yet")
    assert run(capsys, "targets", "import", str(good), *table)[1].startswith("2 added, 0 updated")


def test_status_shows_findings(local, table, capsys, event):
    run(capsys, "targets", "add", IPV4, "--sender", DOMAIN, "--label", "postfix-1", *table)
    run(capsys, "targets", "add", IPV6, "--sender", DOMAIN, *table)
    status, out, _ = run(capsys, "status", *table)
    assert "not checked yet" in out
    local.invoke("checker", event("sqs-check-batch.json"))
    status, out, _ = run(capsys, "status", "--format", "json", *table)
    rows = {r["ip"]: r for r in json.loads(out)["targets"]}
    assert rows[IPV4]["listed"] == ["dnsbl.justspam.org"] and rows[IPV4]["spf"] == "pass"
    assert rows[IPV6]["spf"] == "softfail" and rows[IPV6]["forward_confirmed"] is True


def test_no_deployment_named_is_a_usage_error(local, capsys, monkeypatch):
    monkeypatch.delenv("SENDERWATCH_TABLE", raising=False)
    status, _, err = run(capsys, "status")
    assert status == 2 and "--stack NAME" in err
    status, _, err = run(capsys, "status", "--stack", "no-such-stack")
    assert status == 2 and "cannot read stack" in err
