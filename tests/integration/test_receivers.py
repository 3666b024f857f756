"""What receivers say, end to end: `senderwatch bounces` on real log lines, and the pipeline from
the mail server's log group to the alert - each ban once, and its end."""

import gzip
import io
import json

from tests.support.world import STORY_ACCEPTED as ACCEPTED
from tests.support.world import STORY_BOUNCE as STORY


def test_the_storys_bounce_becomes_one_microsoft_alert_with_the_portal_steps_and_its_end(local):
    local.ship_log([STORY, STORY, "Nov 27 09:12:02 mail postfix/qmgr[811]: 4F3A21C0123: removed"])
    (alert,) = local.inbox("email")
    assert (alert["event"], alert["receiver"], alert["code"], alert["ip"]) == (
        "RECEIVER_BLOCKED",
        "microsoft",
        "5.7.606",
        "192.0.2.25",
    )
    assert "https://sender.office.com/" in alert["email"] and "delist@messaging.microsoft.com" in alert["email"]
    assert [a["event"] for a in local.inbox("sms")] == ["RECEIVER_BLOCKED"]
    local.ship_log([STORY])
    assert local.inbox("email") == []  # the same ban again: no news
    local.ship_log([ACCEPTED])
    (over,) = local.inbox("email")
    assert (over["event"], over["receiver"]) == ("RECEIVER_UNBLOCKED", "microsoft")
    record = json.loads(json.dumps(local.health_item("receiver:microsoft"), default=str))
    assert record["health"]["blocks"]["192.0.2.25|5.7.606"]["status"] == "accepted"


# -- `senderwatch bounces`, as the admin runs it ---------------------------------------------------------


def test_the_storys_bounce_read_from_the_log_is_microsofts_ban_with_the_portal_and_its_fallback(cli, tmp_path):
    log = tmp_path / "mail.log"
    again = STORY.replace(
        "09:12:01 mail postfix/smtp[12345]: 4F3A21C0123", "09:40:07 mail postfix/smtp[12399]: 5B4C31C0777"
    )
    log.write_text("\n".join([STORY, again, "Nov 27 09:12:02 mail postfix/qmgr[811]: 4F3A21C0123: removed"]) + "\n")
    status, out, err = cli("bounces", str(log), "--format", "json")
    assert (status, err) == (1, "")
    (ban,) = json.loads(out)["rejections"]
    assert {k: ban[k] for k in ("receiver", "code", "sending_ip", "relay", "count")} == {
        "receiver": "microsoft",
        "code": "5.7.606",
        "sending_ip": "192.0.2.25",
        "relay": "contoso-com.mail.protection.outlook.com",
        "count": 2,
    }
    assert ban["first_seen"].startswith(ban["last_seen"][:4]) and "banned" in ban["meaning"]
    assert ban["reply"].startswith("550 5.7.606 Access denied, banned sending IP [192.0.2.25].")  # its own words
    assert ban["delist"]["url"] == "https://sender.office.com/"
    assert any("192.0.2.25" in step for step in ban["delist"]["steps"])
    assert "delist@messaging.microsoft.com" in ban["delist"]["fallback"]

    status, table, _ = cli("bounces", str(log))
    assert status == 1 and table.startswith("Microsoft 365 (Exchange Online)  5.7.606  192.0.2.25  2 times")
    assert "https://sender.office.com/" in table
    assert "if that fails: Forward the whole rejection with 192.0.2.25 to delist@messaging.microsoft.com" in table


def test_standard_input_and_compressed_rotations_are_read_like_files(cli, tmp_path, monkeypatch):
    rotated = tmp_path / "mail.log.2.gz"
    rotated.write_bytes(gzip.compress((STORY.replace("[12345]", "[12346]") + "\n").encode()))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO((STORY + "\n").encode())))
    status, out, _ = cli("bounces", str(rotated), "-", "--format", "json")
    assert status == 1 and [r["count"] for r in json.loads(out)["rejections"]] == [2]


def test_a_log_where_every_receiver_accepts_mail_exits_0(cli, tmp_path):
    log = tmp_path / "mail.log"
    log.write_text(ACCEPTED + "\nNov 27 09:12:02 mail postfix/qmgr[811]: 4F3A21C0123: removed\n")
    status, out, _ = cli("bounces", str(log))
    assert (status, out.strip()) == (
        0,
        "No rejection about the sender in 2 lines (1 delivery attempt): no receiver says it is blocked.",
    )
    status, out, _ = cli("bounces", str(log), "--format", "json")
    assert (status, json.loads(out)) == (0, {"rejections": [], "lines": 2, "deliveries": 1})


def test_a_log_that_cannot_be_read_is_exit_2_in_one_line(cli, tmp_path):
    broken = tmp_path / "mail.log.1.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00")  # cut short
    for argv, says in (
        ([str(tmp_path / "missing.log")], "cannot read"),
        ([str(tmp_path)], "Is a directory"),
        ([str(broken)], "cannot read"),
        (["--format", "yaml"], "invalid choice"),
    ):
        status, out, err = cli("bounces", *argv)
        assert (status, out) == (2, "") and err.count("\n") == 1 and says in err, (argv, err)


def test_what_could_be_read_is_reported_and_what_could_not_is_said(cli, tmp_path):
    log, broken = tmp_path / "mail.log", tmp_path / "mail.log.1.gz"
    log.write_text(STORY + "\n")
    broken.write_bytes(b"\x1f\x8b\x08\x00")
    status, out, err = cli("bounces", str(log), str(broken))
    assert status == 1 and "5.7.606" in out  # today's ban is not hidden by a damaged rotation
    assert err.startswith(f"senderwatch: error: cannot read '{broken}': Compressed file ended") and err.count("\n") == 1
    status, out, err = cli("bounces", str(tmp_path / "quiet.log"), str(broken))
    assert (status, out) == (2, "") and err.count("\n") == 1


def test_on_a_terminal_without_a_file_it_says_what_to_give(cli, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    status, out, err = cli("bounces")
    assert (status, out) == (2, "") and "give a mail log (senderwatch bounces /var/log/mail.log)" in err
