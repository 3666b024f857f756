"""Reading what receivers say: log lines of Postfix, Exim and Sendmail, and each receiver's words
for "you are blocked" - from the logs in tests/data/maillogs, written in the receivers' formats."""

import bz2
import gzip
import io
import lzma
from datetime import UTC, datetime
from pathlib import Path

import pytest

from local.world import STORY_BOUNCE as STORY
from senderwatch.commands.maillog import MAX_LINE, read_logs, table
from senderwatch.refusals import classify, normalize, parse_line, summarize

LOGS = Path(__file__).resolve().parents[1] / "data" / "maillogs"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def found(name: str) -> set[tuple]:
    report = read_logs([str(LOGS / name)], now=NOW)
    return {(g.first.receiver, g.first.code, g.first.sending_ip) for g in report.groups}


def test_a_postfix_log_gives_every_receivers_refusal_of_the_sender_and_nothing_else():
    assert found("postfix.log") == {
        ("microsoft", "5.7.606", "192.0.2.25"),  # the story's ban
        ("microsoft", "5.7.511", "192.0.2.25"),
        ("outlook.com", "S3150", "192.0.2.25"),
        ("outlook.com", "4.7.650", "198.51.100.7"),
        ("gmail", "5.7.26", "192.0.2.25"),  # unauthenticated
        ("gmail", "4.7.28", "192.0.2.25"),  # unusual rate
        ("gmail", "5.7.25", "198.51.100.7"),  # no PTR: a reply joined from three lines
        ("gmail", "5.7.1 (IPv6 guidelines)", "2001:db8:25::25"),  # IPv6 without PTR: 5.7.1 alone says little
        ("yahoo", "TSS04", "192.0.2.25"),
        ("yahoo", "BL21", "198.51.100.7"),
        ("t-online", "BL", "192.0.2.25"),
        ("icloud", "5.7.0 (Proofpoint)", "198.51.100.7"),  # its greeting said 550 5.7.0 (Postfix logs it as 4.7.0)
        ("example.org", "zen.spamhaus.org", "192.0.2.25"),  # any receiver naming a catalogue list
        ("example.net.au", "Barracuda Reputation", "198.51.100.7"),  # Barracuda's words on a customer's server
    }


@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("*.log")))
def test_what_the_admin_reads_names_the_address_itself(name):
    """Meaning, steps and fallback come with the sending address filled in, or said in words."""
    for group in read_logs([str(LOGS / name)], now=NOW).groups:
        said = [group.first.meaning, *group.first.delist.get("steps", []), group.first.delist.get("fallback", "")]
        assert not any("ADDRESS" in text for text in said), said


def test_a_reply_is_read_by_its_words_before_its_code():
    """Gmail's 5.7.26 has four wordings: unauthenticated, DMARC, SPF -all; the words decide."""
    report = read_logs([str(LOGS / "postfix.log")], now=NOW)
    (gmail,) = [g.first for g in report.groups if g.first.code == "5.7.26"]
    assert "unauthenticated" in gmail.meaning and "DMARC" not in gmail.meaning


def test_microsofts_own_list_and_its_spamhaus_block_are_two_blocks():
    line = (
        "Nov 27 10:00:0{n} mail postfix/smtp[1]: A{n}: to=<a@contoso.com>, relay=contoso-com.mail.protection."
        "outlook.com"
        "[52.101.68.2]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host contoso-com.mail.protection."
        "outlook.com[52.101.68.2] said: 550 5.7.1 Service unavailable; Client host [192.0.2.25] blocked using {words}; "
        "To request removal from this list please forward this message to delist@messaging.microsoft.com "
        "(in reply to RCPT TO command))"
    )
    lines = [line.format(n=n, words=words) for n, words in enumerate(["Blocklist 1", "Spamhaus"])]
    codes = sorted(g.first.code for g in summarize(lines, 2026))
    assert codes == ["5.7.1 (Blocklist 1)", "5.7.1 (Spamhaus via EOP)"]


def test_a_yahoo_diagnostic_is_not_taken_for_the_sending_address():
    line = (
        "2026-11-27 09:12:09 1tD3Kq-0000000Aa2-2Bc4 == carol@yahoo.com R=dnslookup T=remote_smtp "
        "H=mta7.am0.yahoodns.net [67.195.204.79] I=[2001:db8::25]:41240 X=TLS1.3:TLS_AES_256_GCM_SHA384:256 "
        'CV=yes DN="CN=*.am0.yahoodns.net": SMTP error from remote mail server after MAIL FROM:<a@example.com>: '
        "421 4.7.0 [TSS04] Temporarily deferred due to unexpected volume or user complaints - 4.16.55.1"
    )
    rejection = classify(parse_line(line))
    assert (rejection.code, rejection.sending_ip) == ("TSS04", "2001:db8::25")


def test_an_exim_log_gives_the_same_receivers_from_its_own_format():
    exim = found("exim.log")
    assert ("microsoft", "5.7.606", "192.0.2.25") in exim and ("outlook.com", "S3140", "192.0.2.25") in exim
    assert ("gmail", "5.7.25", "198.51.100.7") in exim  # Exim writes the lines with a literal \n
    assert ("mimecast", "Blocked senders (address/domain)", None) in exim  # the sender's address, not an IP
    assert len(exim) == 14


def test_sendmail_says_little_and_what_it_says_is_read():
    """Sendmail logs no reply text for a permanent failure (stat=User unknown): the receiver's own
    enhanced code is enough for Microsoft's bans; deferrals keep the first line of the reply."""
    assert found("sendmail.log") == {
        ("microsoft", "5.7.606", None),
        ("microsoft", "5.7.511", None),
        ("yahoo", "TSS04", "192.0.2.25"),
        ("gmail", "4.7.28", "192.0.2.25"),
        ("outlook.com", "4.7.650", "198.51.100.7"),
    }


@pytest.mark.parametrize("name", ["postfix-rsyslog-iso8601.log", "postfix-maillog_file.log"])
def test_other_postfix_log_forms_are_read_with_their_times(name):
    report = read_logs([str(LOGS / name)], now=NOW)
    assert report.groups and all(g.first_seen is not None and g.first_seen.tzinfo for g in report.groups)


def test_counts_and_first_and_last_seen_per_receiver_code_and_address():
    line = (LOGS / "postfix.log").read_text().splitlines()
    ban = next(text for text in line if "5.7.606" in text)
    later = ban.replace("Nov 27 09:12:01", "Nov 27 17:40:09")
    (group,) = summarize((ban, later, ban), 2026)
    assert group.count == 3  # the same recipient's result again: the message tried again
    assert (group.first_seen.hour, group.last_seen.hour) == (9, 17)


def test_the_microsoft_ban_says_the_portal_steps_and_the_fallback_the_story_needed():
    (group,) = [g for g in read_logs([str(LOGS / "postfix.log")], now=NOW).groups if g.first.code == "5.7.606"]
    document = group.to_dict()
    assert document["delist"]["url"] == "https://sender.office.com/"
    assert any("192.0.2.25" in step for step in document["delist"]["steps"])
    assert "delist@messaging.microsoft.com" in document["delist"]["fallback"]
    assert document["relay"] == "contoso-com.mail.protection.outlook.com"


def test_a_list_named_in_a_rejection_gives_that_lists_own_removal():
    (group,) = [g for g in read_logs([str(LOGS / "postfix.log")], now=NOW).groups if g.first.code == "zen.spamhaus.org"]
    assert group.first.delist["url"] == "https://check.spamhaus.org/"


@pytest.mark.parametrize(
    "line",
    [
        "Nov 27 09:12:00 mail postfix/smtp[1]: 4F3A: to=<a@b.example>, relay=mx.b.example[198.51.100.1]:25, "
        "delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.b.example[198.51.100.1] said: "
        "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))",
        "Nov 27 09:12:00 mail postfix/smtp[1]: 4F3A: to=<a@b.example>, relay=mx.b.example[198.51.100.1]:25, "
        "delay=1, delays=0/0/0/1, dsn=4.7.1, status=deferred (host mx.b.example[198.51.100.1] said: "
        "450 4.7.1 Client host rejected: cannot find your reverse hostname; https://www.spamhaus.org/returnc/pub/"
        " (in reply to RCPT TO command))",
        "Nov 27 09:12:00 mail postfix/smtpd[9]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1 "
        "Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org; from=<x@y> to=<me@here>",
        "Nov 27 09:12:00 mail postfix/qmgr[1]: 4F3A: removed",
        "garbage \x00\x1b[2J",
    ],
)
def test_what_is_not_a_receivers_refusal_of_the_sender_is_skipped(line):
    reply = parse_line(line, 2026)
    assert reply is None or classify(reply) is None


def test_a_joined_multi_line_reply_reads_as_one_sentence():
    joined = "550-5.7.25 [198.51.100.7] The IP address sending this message does not have a 550-5.7.25 PTR record setup"
    assert (
        normalize(joined)
        == "550-5.7.25 [198.51.100.7] The IP address sending this message does not have a PTR record setup"
    )


def test_a_rotated_and_compressed_log_is_read_like_any_other(tmp_path):
    plain = (LOGS / "postfix.log").read_bytes()
    rotated = tmp_path / "mail.log.2.gz"
    rotated.write_bytes(gzip.compress(plain))
    assert read_logs([str(rotated)], now=NOW).groups == read_logs([str(LOGS / "postfix.log")], now=NOW).groups
    stdin = io.BytesIO(plain)
    assert len(read_logs(["-"], stdin=stdin, now=NOW).groups) == 14


def test_a_syslog_date_ahead_of_now_is_last_years():
    report = read_logs([str(LOGS / "postfix.log")], now=datetime(2027, 1, 3, tzinfo=UTC))
    assert all(g.last_seen.year == 2026 for g in report.groups)


def test_a_log_that_cannot_be_read_is_said_and_the_others_are_still_read(tmp_path):
    broken = tmp_path / "mail.log.2.gz"
    broken.write_bytes(gzip.compress(b"x" * 10000)[:30])
    report = read_logs([str(tmp_path / "missing.log"), str(broken), str(LOGS / "postfix.log")], now=NOW)
    assert len(report.groups) == 14 and report.read == [str(LOGS / "postfix.log")]
    assert [f.split(":")[0] for f in report.failed] == [
        f"cannot read '{tmp_path}/missing.log'",
        f"cannot read '{broken}'",
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x28\xb5\x2f\xfd" + b"x" * 20, "zstd-compressed"),
        ("Nov 27 09:12:01 mail".encode("utf-16"), "UTF-16"),
        (bytes(range(256)) * 4, "not a text file"),
    ],
)
def test_what_is_not_a_text_log_is_refused_not_read_as_quiet(tmp_path, content, says):
    odd = tmp_path / "mail.log.3"
    odd.write_bytes(content)
    report = read_logs([str(odd)], now=NOW)
    assert report.groups == [] and len(report.failed) == 1 and says in report.failed[0]


def test_a_run_of_nul_bytes_a_crash_left_in_the_log_is_skipped(tmp_path):
    log = tmp_path / "mail.log"
    text = (LOGS / "postfix.log").read_bytes()
    cut = text.index(b"\n", 9000) + 1  # where the syslog daemon went on writing after the crash
    log.write_bytes(text[:cut] + b"\x00" * 4096 + text[cut:])
    assert len(read_logs([str(log)], now=NOW).groups) == 14


@pytest.mark.parametrize("packer", [bz2.compress, lzma.compress])
def test_bzip2_and_xz_rotations_are_read(tmp_path, packer):
    packed = tmp_path / "mail.log.4"
    packed.write_bytes(packer((LOGS / "postfix.log").read_bytes()))
    assert len(read_logs([str(packed)], now=NOW).groups) == 14


def test_the_same_line_read_twice_counts_once(tmp_path):
    once = read_logs([str(LOGS / "postfix.log")], now=NOW)
    twice = read_logs([str(LOGS / "postfix.log"), str(LOGS / "postfix.log")], now=NOW)
    assert [g.to_dict() for g in twice.groups] == [g.to_dict() for g in once.groups]
    assert sum(g.count for g in twice.groups) == 14  # 16 lines: two hosts' refusals are their messages' own


def test_a_rotated_log_from_last_year_keeps_its_year(tmp_path):
    import os

    old = tmp_path / "mail.log.9"
    old.write_text((LOGS / "postfix.log").read_text())
    written = datetime(2025, 11, 28, tzinfo=UTC).timestamp()
    os.utime(old, (written, written))
    (ban,) = [g for g in read_logs([str(old)], now=NOW).groups if g.first.code == "5.7.606"]
    assert ban.first_seen.year == 2025


def test_the_table_says_what_to_do_and_no_rejection_says_so():
    report = read_logs([str(LOGS / "postfix.log")], now=NOW)
    text = table(report)
    assert "Microsoft 365 (Exchange Online)  5.7.606  192.0.2.25" in text and "https://sender.office.com/" in text
    assert text.endswith("14 rejections about the sender (3 messages to 14 recipients) in 40 lines, from 8 receivers.")
    empty = read_logs(["-"], stdin=io.BytesIO(b"Nov 27 09:12:02 mail postfix/qmgr[811]: 4F3A: removed\n"), now=NOW)
    assert table(empty) == (
        "No delivery to another mail server in 1 line: nothing any receiver said."
        " Is it the sending server's log (Postfix, Exim or Sendmail)?"
    )


def test_the_receivers_own_words_are_kept_without_what_a_terminal_would_act_on():
    hostile = STORY.replace("Access denied", "Access \x1b]0;owned\x07denied \u202e")
    rejection = classify(parse_line(hostile, 2026))
    assert rejection.code == "5.7.606" and rejection.reply.startswith("550 5.7.606 Access")
    assert not any(c in rejection.reply for c in "\x1b\x07\u202e")


# -- counting by attempt, message and recipient (the shapes of the lines a real Postfix writes: see
# tests/integration/test_receivers.py, which reads a real Postfix's log) --------------------------------

TSS09_HOST = (
    "Dec 07 23:07:56 mail postfix/smtp[{pid}]: 45F7821C58B: host mta6.am0.yahoodns.net[{ip}] refused to talk "
    "to me: 421 4.7.0 [TSS09] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT "
    "succeed. See https://postmaster.yahooinc.com/error-codes"
)
TSS09_RESULT = (
    "Dec 07 23:07:56 mail postfix/smtp[{pid}]: 45F7821C58B: to=<{to}>, relay=mta6.am0.yahoodns.net[{ip}]:25, "
    "delay=0.54, delays=0.03/0/0.5/0, dsn=4.7.0, status=deferred (host mta6.am0.yahoodns.net[{ip}] refused to "
    "talk to me: 421 4.7.0 [TSS09] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT "
    "succeed. See https://postmaster.yahooinc.com/error-codes)"
)
YAHOO_TSS09 = (
    "421 4.7.0 [TSS09] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT succeed. "
    "See https://postmaster.yahooinc.com/error-codes"
)
SUSPENDED = (
    "Dec 07 23:07:58 mail postfix/error[23540]: {queue}: to=<{to}>, relay=none, delay=1, delays=0/1/0/0, "
    "dsn=4.7.0, status=deferred (delivery temporarily suspended: host mta6.am0.yahoodns.net[67.195.204.72] "
    "refused to talk to me: 421 4.7.0 [TSS09] All messages from 192.0.2.25 will be permanently deferred; "
    "Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes)"
)


def _attempt(pid: int, *recipients: str) -> list[str]:
    """One attempt as Postfix logs it: the first address's refusal, then each recipient's result."""
    first, last = "67.195.204.72", "67.195.204.73"
    return [TSS09_HOST.format(pid=pid, ip=first)] + [TSS09_RESULT.format(pid=pid, ip=last, to=r) for r in recipients]


def test_both_addresses_of_a_host_refusing_is_one_refusal_of_one_message_to_its_recipients():
    (group,) = summarize(_attempt(1, "carol@yahoo.com", "dave@yahoo.com"), 2026)
    assert (group.count, len(group.messages), len(group.recipients)) == (1, 1, 2)
    assert group.first.relay == "mta6.am0.yahoodns.net" and group.first.code == "TSS09"


def test_the_same_message_tried_again_is_another_refusal_whichever_process_tries_it():
    again_elsewhere = _attempt(1, "carol@yahoo.com") + _attempt(2, "carol@yahoo.com")
    again_in_the_same_process = _attempt(1, "carol@yahoo.com") * 2
    only_results = [TSS09_RESULT.format(pid=1, ip="67.195.204.73", to="carol@yahoo.com")] * 2
    for lines in (again_elsewhere, again_in_the_same_process, only_results):
        (group,) = summarize(lines, 2026)
        assert (group.count, len(group.messages), len(group.recipients)) == (2, 1, 1)


def test_mail_held_back_behind_a_refusal_is_read_in_the_receivers_words_and_counted():
    lines = _attempt(1, "carol@yahoo.com") + [
        SUSPENDED.format(queue=f"5{n}F7821C58B", to="x@yahoo.com") for n in (1, 2)
    ]
    (group,) = summarize(lines, 2026)
    assert (group.count, len(group.messages), len(group.recipients)) == (3, 3, 3)
    reply = parse_line(lines[-1], 2026)
    assert (reply.relay, reply.relay_ip) == ("mta6.am0.yahoodns.net", "67.195.204.72")  # not relay=none
    assert reply.text.startswith("421 4.7.0 [TSS09] All messages")


def test_a_recipient_the_next_host_took_is_not_counted_as_refused():
    delivered = (
        "Dec 07 23:07:56 mail postfix/smtp[1]: 45F7821C58B: to=<carol@yahoo.com>, relay=mta6.am0.yahoodns.net"
        "[67.195.204.73]:25, delay=0.5, delays=0.03/0/0.5/0, dsn=2.0.0, status=sent (250 ok dirdel)"
    )
    (group,) = summarize([TSS09_HOST.format(pid=1, ip="67.195.204.72"), delivered], 2026)
    assert (group.count, len(group.messages), len(group.recipients)) == (1, 1, 0)


DEFERRED = (
    "Dec 07 23:07:56 mail postfix/smtp[1]: 45F7821C58B: to=<a@{domain}>, relay={host}[203.0.113.1]:25, delay=0.5, "
    "delays=0.03/0/0.5/0, dsn=4.7.0, status=deferred (host {host}[203.0.113.1] refused to talk to me: {reply})"
)


@pytest.mark.parametrize(
    ("host", "reply", "code", "status"),
    [
        # Yahoo's TSS09 is a 421 that says retrying will not succeed: a block
        ("mta6.am0.yahoodns.net", YAHOO_TSS09, "TSS09", "refused"),
        # a 554 greeting Postfix defers to try the next MX (smtp_skip_5xx_greeting)
        (
            "mx-ha01.web.de",
            "554-web.de (mxweb112) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is black "
            "listed. 554 For explanation visit https://web.de/email/senderguidelines?ip=192.0.2.25&c=bl",
            "554",
            "refused",
        ),
        # a deferral stays one
        (
            "mta7.am0.yahoodns.net",
            "421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to user complaints - 4.16.55.1",
            "TSS04",
            "deferred",
        ),
    ],
)
def test_a_refusal_postfix_defers_is_still_a_refusal_and_a_deferral_stays_one(host, reply, code, status):
    rejection = classify(parse_line(DEFERRED.format(domain="yahoo.com", host=host, reply=reply), 2026))
    assert (rejection.code, rejection.status) == (code, status)


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        # Gmail's older wording under 5.7.26: not the 5.7.1 it once came with
        (
            "550-5.7.26 This message does not have authentication information or fails to 550-5.7.26 pass "
            "authentication checks. To best protect our users from spam, the 550-5.7.26 message has been blocked.",
            "5.7.26",
        ),
        (
            "550-5.7.1 This message does not have authentication information or fails to pass 550-5.7.1 "
            "authentication checks. To best protect our users from spam, the 550-5.7.1 message has been blocked.",
            "5.7.1 (unauthenticated)",
        ),
        (
            "550-5.7.1 [192.0.2.25] Gmail has detected that this message is likely suspicious due to the very low "
            "reputation of the sending IP address.",
            "5.7.1 (low reputation)",
        ),
        (
            "421-4.7.0 [192.0.2.25] This message is suspicious due to the very low reputation of the sending IP "
            "address",
            "4.7.0 (low reputation)",
        ),
    ],
)
def test_the_code_is_the_replys_own_never_the_rules_label(reply, code):
    line = (
        "Nov 27 09:12:01 mail postfix/smtp[1]: 4F3A: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com"
        f"[142.250.102.27]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host gmail-smtp-in.l.google.com"
        f"[142.250.102.27] said: {reply} (in reply to end of DATA command))"
    )
    assert classify(parse_line(line, 2026)).code == code


def test_nul_bytes_where_the_log_begins_are_skipped_too(tmp_path):
    """A crash early in the day leaves the NULs within the first kilobytes: still a log."""
    log = tmp_path / "mail.log"
    text = (LOGS / "postfix.log").read_bytes()
    cut = text.index(b"\n", 2000) + 1
    log.write_bytes(b"\x00" * 512 + text[:cut] + b"\x00" * 4096 + text[cut:])
    assert len(read_logs([str(log)], now=NOW).groups) == 14


def test_a_line_that_never_ends_is_cut_not_held_whole(tmp_path):
    """A line is kept to MAX_LINE characters: a log that is one endless line (or a megabyte of
    garbage before the real lines) is read in bounded memory, and the lines after it still count."""
    log = tmp_path / "mail.log"
    log.write_bytes(b"x" * (3 * MAX_LINE + 17) + b"\n" + (LOGS / "postfix.log").read_bytes())
    report = read_logs([str(log)], now=NOW)
    assert len(report.groups) == 14 and report.failed == []


def test_nothing_but_nul_bytes_is_not_a_log(tmp_path):
    zeros = tmp_path / "mail.log"
    zeros.write_bytes(b"\x00" * (2 << 20))
    report = read_logs([str(zeros)], now=NOW)
    assert report.lines == 0 and "only NUL bytes" in report.failed[0]


def test_what_came_before_a_damaged_end_of_a_gz_is_reported(tmp_path):
    """A rotation cut short (a full disk as it was compressed): its first lines are read, and
    the damage is said."""
    import gzip as gz

    packed = gz.compress((LOGS / "postfix.log").read_bytes() * 50)
    broken = tmp_path / "mail.log.1.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    report = read_logs([str(broken)], now=NOW)
    assert report.read == [str(broken)] and report.groups and "cannot read" in report.failed[0]


SENDMAIL_BAN = (
    "Nov 27 09:12:01 mail sm-mta[2351]: 4AR9BwGm002345: to=<erik@contoso.com>, delay=00:00:03, xdelay=00:00:01, "
    "mailer=esmtp, pri=124821, relay=contoso-com.mail.protection.outlook.com. [52.101.68.2], dsn=5.7.606, "
)


def test_sendmails_own_word_for_a_failure_is_not_shown_as_the_receivers():
    """stat=User unknown is Sendmail's summary of a 5.x.x failure: under Microsoft's ban it is not
    what Microsoft said; the receiver's words are in reply= where Sendmail logs them."""
    summary = classify(parse_line(SENDMAIL_BAN + "stat=User unknown", 2026))
    assert (summary.receiver, summary.code) == ("microsoft", "5.7.606")
    assert summary.reply == ""  # neither in the alert's "It said" nor in bounces' "it said"

    words = "550 5.7.606 Access denied, banned sending IP [192.0.2.25]. To request removal from this list ..."
    said = classify(parse_line(SENDMAIL_BAN + f"reply={words}, stat=User unknown", 2026))
    assert said.reply.startswith("550 5.7.606 Access denied") and said.sending_ip == "192.0.2.25"

    deferred = parse_line(SENDMAIL_BAN.replace("dsn=5.7.606", "dsn=4.7.650") + "stat=Deferred: 451 4.7.650 busy", 2026)
    assert not deferred.local and deferred.text == "Deferred: 451 4.7.650 busy"  # a deferral quotes the receiver
