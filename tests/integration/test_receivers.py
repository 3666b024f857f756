"""What receivers say, end to end: `senderwatch bounces` on real log lines, and the pipeline from
the mail server's log group to the alert - each ban once, and its end."""

import gzip
import io
import json
from datetime import datetime

from local.world import STORY_ACCEPTED as ACCEPTED
from local.world import STORY_BOUNCE as STORY
from tests.support import mailworld

postfix_day = mailworld.postfix_day  # a day of mail through a real Postfix, once per way of logging


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


# -- what a real Postfix writes (tests/support/mailworld.py: Debian's Postfix, fake receivers) --------


def _rows(cli, day, form) -> list[dict]:
    status, out, err = cli("bounces", str(day.logs[form]), "--format", "json")
    assert (status, err) == (1, ""), form
    return json.loads(out)["rejections"]


def _row(rows, receiver, relay) -> dict:
    (row,) = [r for r in rows if r["receiver"] == receiver and r["relay"] == relay]
    return row


def test_every_refusal_postfix_logs_is_read_at_every_stage_in_every_log_form(cli, postfix_day):
    """Greeting (Yahoo, WEB.DE), EHLO (SpamCop), MAIL FROM (Outlook.com, AOL), RCPT TO (Microsoft),
    DATA (Spamhaus), end of data (Gmail): each receiver once, with its own code."""
    for form in postfix_day.logs:
        rows = _rows(cli, postfix_day, form)
        found = sorted((r["receiver"], r["code"], r["sending_ip"] or "-", r["relay"]) for r in rows)
        assert found == [
            ("example.edu", "zen.spamhaus.org", "192.0.2.25", "mx.example.edu"),
            ("example.org", "bl.spamcop.net", "192.0.2.25", "mx.example.org"),
            ("gmail", "5.7.26", "-", "alt1.gmail-smtp-in.l.google.com"),
            ("gmail", "5.7.26", "-", "gmail-smtp-in.l.google.com"),
            ("gmail", "5.7.26", "192.0.2.25", "aspmx.l.google.com"),
            ("microsoft", "5.7.606", "192.0.2.25", "contoso-com.mail.protection.outlook.com"),
            ("outlook.com", "S3150", "192.0.2.25", "hotmail-com.olc.protection.outlook.com"),
            ("united-internet", "554", "192.0.2.25", "mx-ha01.web.de"),
            ("yahoo", "TSS04", "192.0.2.25", "mx-aol.mail.gm0.yahoodns.net"),
            ("yahoo", "TSS09", "192.0.2.25", "mta6.am0.yahoodns.net"),
        ], form
        assert all(r["first_seen"] for r in rows), form  # every form's timestamps read
    if len(postfix_day.logs) == 2:  # rsyslog's two formats of the same lines: the same times
        iso, traditional = (_rows(cli, postfix_day, form) for form in postfix_day.logs)
        for a, b in zip(sorted(iso, key=lambda r: r["relay"]), sorted(traditional, key=lambda r: r["relay"])):
            gap = datetime.fromisoformat(a["first_seen"]) - datetime.fromisoformat(b["first_seen"])
            assert abs(gap.total_seconds()) < 1, (a, b)


def test_a_reply_keeps_its_own_code_and_its_own_meaning(cli, postfix_day):
    """Gmail's older wording came back as 5.7.1 with another rule's meaning."""
    for form in postfix_day.logs:
        rows = _rows(cli, postfix_day, form)
        older = _row(rows, "gmail", "alt1.gmail-smtp-in.l.google.com")
        assert older["code"] == "5.7.26" and older["reply"].startswith(
            "550-5.7.26 This message does not have authentication information or fails to pass authentication checks."
        )
        assert "unauthenticated" in older["meaning"] and "5.7.1" not in older["meaning"]
        assert _row(rows, "gmail", "aspmx.l.google.com")["meaning"] == older["meaning"]  # 2024's wording, same rule


def test_two_rejections_under_one_code_that_mean_two_things_stay_two_rows(cli, postfix_day):
    for form in postfix_day.logs:
        rows = _rows(cli, postfix_day, form)
        dmarc = _row(rows, "gmail", "gmail-smtp-in.l.google.com")
        unauthenticated = _row(rows, "gmail", "alt1.gmail-smtp-in.l.google.com")
        assert (dmarc["code"], dmarc["sending_ip"]) == (unauthenticated["code"], unauthenticated["sending_ip"])
        assert "DMARC policy" in dmarc["meaning"] and "DMARC" not in unauthenticated["meaning"]


def test_a_refusal_at_the_greeting_is_the_receivers_words_not_postfixs(cli, postfix_day):
    """`host X[IP] refused to talk to me: 554-...`: what the receiver said, its code where it begins."""
    for form in postfix_day.logs:
        rows = _rows(cli, postfix_day, form)
        webde = _row(rows, "united-internet", "mx-ha01.web.de")
        assert webde["reply"] == (
            "554-web.de (mxweb112) Nemesis ESMTP Service not available No SMTP service IP address is black listed. "
            "For explanation visit https://web.de/email/senderguidelines?ip=192.0.2.25&c=bl"
        )
        yahoo = _row(rows, "yahoo", "mta6.am0.yahoodns.net")  # its held-back mail names no relay: its words do
        assert yahoo["reply"].startswith("421 4.7.0 [TSS09] All messages from 192.0.2.25 will be permanently deferred")
        spamcop = _row(rows, "example.org", "mx.example.org")  # at EHLO, logged as a greeting refusal too
        assert spamcop["reply"].startswith("554 5.7.1 Service unavailable; Client host [192.0.2.25] blocked")
        assert not any("refused to talk" in r["reply"] or "host " in r["reply"][:5] for r in rows)
    status, table, _ = cli("bounces", str(next(iter(postfix_day.logs.values()))))
    assert status == 1 and "  it said: 554-web.de (mxweb112) Nemesis ESMTP Service not available" in table


def test_counts_are_refused_attempts_messages_and_recipients_not_log_lines(cli, postfix_day):
    """Yahoo: one message refused by both addresses of its host, tried again, then ten held back
    behind it (postfix/error: "delivery temporarily suspended"); WEB.DE: one message to two
    recipients refused by both MX hosts."""
    for form in postfix_day.logs:
        lines = postfix_day.lines(form)
        suspended = [line for line in lines if "postfix/error[" in line and "delivery temporarily suspended" in line]
        assert suspended and all("relay=none" in line and "TSS09" in line for line in suspended), form
        rows = _rows(cli, postfix_day, form)
        yahoo = _row(rows, "yahoo", "mta6.am0.yahoodns.net")
        messages = 1 + len(postfix_day.burst)
        assert (yahoo["count"], yahoo["messages"], yahoo["recipients"]) == (messages + 1, messages, messages), form
        assert sum("TSS09" in line for line in lines) > yahoo["count"]  # more lines than refusals
        webde = _row(rows, "united-internet", "mx-ha01.web.de")
        assert (webde["count"], webde["messages"], webde["recipients"]) == (1, 1, 2), form
        assert sum("Nemesis" in line for line in lines) == 3
    status, table, _ = cli("bounces", str(postfix_day.logs[form]))
    assert status == 1
    assert f"  TSS09  192.0.2.25  {messages + 1} times ({messages} messages to {messages} recipients), " in table
    assert "  554  192.0.2.25  1 time (1 message to 2 recipients), " in table


def test_yahoos_permanent_deferral_ranks_with_the_blocks(cli, postfix_day):
    """TSS09 ("Retrying will NOT succeed") is a block; TSS04 is a deferral, with the soft notes."""
    for form in postfix_day.logs:
        rows = _rows(cli, postfix_day, form)
        kinds = [r["kind"] for r in rows]
        tss09 = next(n for n, r in enumerate(rows) if r["code"] == "TSS09")
        tss04 = next(n for n, r in enumerate(rows) if r["code"] == "TSS04")
        assert rows[tss09]["kind"] == "ip-ban" and set(kinds[:tss09]) <= {"ip-ban"}, kinds
        assert rows[tss04]["kind"] == "reputation" and tss04 > kinds.index("unauthenticated")


def test_the_bounces_function_reads_what_postfix_wrote(local, cli, postfix_day):
    """The same log through the log group: each receiver's refusal one alert, a ban said as a
    block (Yahoo's TSS09 too), a deferral as a deferral; the refusals counted as `bounces` counts them."""
    form = next(iter(postfix_day.logs))
    reply = local.ship_log(postfix_day.lines(form))
    assert reply["rejections"] == sum(r["count"] for r in _rows(cli, postfix_day, form))
    alerts = {(a["receiver"], a["code"]): a for a in local.inbox("email")}
    assert set(alerts) == {
        ("example.edu", "zen.spamhaus.org"),
        ("example.org", "bl.spamcop.net"),
        ("gmail", "5.7.26"),
        ("microsoft", "5.7.606"),
        ("outlook.com", "S3150"),
        ("united-internet", "554"),
        ("yahoo", "TSS04"),
        ("yahoo", "TSS09"),
    }
    sms = {(a["receiver"], a["code"]): a["sms"] for a in local.inbox("sms")}
    assert "Yahoo and AOL BLOCK 192.0.2.25 (TSS09)" in sms[("yahoo", "TSS09")]
    assert "Yahoo and AOL DEFER 192.0.2.25 (TSS04)" in sms[("yahoo", "TSS04")]
    assert "BLOCK 192.0.2.25 (554)" in sms[("united-internet", "554")]  # a 554 Postfix defers, for the next MX
