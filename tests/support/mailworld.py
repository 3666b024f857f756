"""A day of mail through a real Postfix: the receivers of the test world (tests/support/fakemx.py)
refusing at every stage of the dialogue in their own words, and what Postfix logged of it, in
each form a mail server writes its log (Postfix's own maillog_file; rsyslog's Debian format and
the traditional one).

    @pytest.fixture(scope="module", params=LOG_FORMS)  # in a test module: one Postfix per form
    def day(request, tmp_path_factory): ...             # see `postfix_day` below

Postfix runs for the deliveries only: the fixture waits (polling the log, with a deadline) until
Postfix has logged each recipient's result, stops it, and hands the tests the log files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import fakemx
from tests.support.fakemx import FakeHost, FakeReceivers
from tests.support.postfix import ISO8601, MAILLOG_FILE, SYSLOG, TRADITIONAL, Postfix

# Each receiver on its own loopback addresses; Yahoo's host has two (as mta6.am0.yahoodns.net
# has several) and takes its time to greet, so that mail to it queues up behind a refusal.
HOSTS = [
    FakeHost("contoso-com.mail.protection.outlook.com", ("127.0.25.2",), fakemx.MICROSOFT_BAN),
    FakeHost("gmail-smtp-in.l.google.com", ("127.0.25.3",), fakemx.GMAIL_DMARC),
    FakeHost("alt1.gmail-smtp-in.l.google.com", ("127.0.25.4",), fakemx.GMAIL_NO_AUTHENTICATION),
    FakeHost("aspmx.l.google.com", ("127.0.25.5",), fakemx.GMAIL_UNAUTHENTICATED),
    FakeHost("mta6.am0.yahoodns.net", ("127.0.25.6", "127.0.25.7"), fakemx.YAHOO_TSS09, delay=0.25),
    FakeHost("mx-aol.mail.gm0.yahoodns.net", ("127.0.25.8",), fakemx.YAHOO_TSS04),
    FakeHost("mx-ha01.web.de", ("127.0.25.9",), fakemx.WEBDE_BLACKLISTED),
    FakeHost("mx-ha03.web.de", ("127.0.25.10",), fakemx.WEBDE_BLACKLISTED),
    FakeHost("hotmail-com.olc.protection.outlook.com", ("127.0.25.11",), fakemx.OUTLOOK_COM_S3150),
    FakeHost("mx.example.org", ("127.0.25.12",), fakemx.SPAMCOP_AT_EHLO),
    FakeHost("mx.example.edu", ("127.0.25.13",), fakemx.SPAMHAUS_AT_DATA),
    FakeHost("mx1.example.net.au", ("127.0.25.14",)),  # takes the mail
]
ROUTES = {
    "contoso.com": ["contoso-com.mail.protection.outlook.com"],
    "gmail.com": ["gmail-smtp-in.l.google.com"],
    "googlemail.com": ["alt1.gmail-smtp-in.l.google.com"],
    "example.com": ["aspmx.l.google.com"],  # a Google Workspace domain
    "yahoo.com": ["mta6.am0.yahoodns.net"],
    "aol.com": ["mx-aol.mail.gm0.yahoodns.net"],
    "web.de": ["mx-ha01.web.de", "mx-ha03.web.de"],  # two MX hosts
    "hotmail.com": ["hotmail-com.olc.protection.outlook.com"],
    "example.org": ["mx.example.org"],
    "example.edu": ["mx.example.edu"],
    "example.net.au": ["mx1.example.net.au"],
}
# What the day sends: one message per case (a name, its recipients), then a burst to Yahoo.
MESSAGES = {
    "microsoft": ["anna@contoso.com"],
    "gmail-dmarc": ["dana@gmail.com"],
    "gmail-no-authentication": ["gina@googlemail.com"],
    "gmail-unauthenticated": ["hugo@example.com", "ines@example.com"],
    "yahoo": ["carol@yahoo.com"],
    "aol": ["hank@aol.com"],
    "webde": ["kunde@web.de", "kundin@web.de"],
    "outlook": ["user1@hotmail.com"],
    "ehlo": ["info@example.org"],
    "data": ["prof@example.edu"],
    "accepted": ["paul@example.net.au"],
}
YAHOO_BURST = 10
LOG_FORMS = [MAILLOG_FILE, ISO8601, TRADITIONAL]


@dataclass
class Day:
    """What Postfix logged of the day, per log form, and the queue IDs of what was sent."""

    logs: dict[str, Path]
    sent: dict[str, str] = field(default_factory=dict)  # case -> queue ID
    burst: list[str] = field(default_factory=list)  # queue IDs of the burst to Yahoo

    def lines(self, form: str) -> list[str]:
        return self.logs[form].read_text("utf-8", "replace").splitlines()


def deliver_a_day(log: str, keep: Path) -> Day:
    """The day's mail through a Postfix that logs as LOG says; its log files copied into KEEP."""
    with FakeReceivers(HOSTS) as receivers, Postfix(receivers, ROUTES, log=log) as mta:
        sent = {case: mta.send(recipients) for case, recipients in MESSAGES.items()}
        for case, queue_id in sent.items():
            mta.wait(queue_id, len(MESSAGES[case]))
        # The same message again, now (Postfix would in 5 minutes): another attempt, the same refusal
        mta.retry(sent["yahoo"])
        mta.wait(sent["yahoo"], 2)
        # Mail queued up behind Yahoo's refusals: the queue manager holds the rest back (its
        # error agent logs "delivery temporarily suspended" with Yahoo's words)
        burst = [mta.send([f"reader{n}@yahoo.com"]) for n in range(YAHOO_BURST)]
        for queue_id in burst:
            mta.wait(queue_id)
        keep.mkdir(parents=True, exist_ok=True)
        logs = {}
        for form, path in mta.logs.items():
            logs[form] = keep / path.name
            shutil.copyfile(path, logs[form])
    return Day(logs, sent, burst)


@pytest.fixture(scope="module", params=[MAILLOG_FILE, SYSLOG])
def postfix_day(request, tmp_path_factory) -> Day:
    """A day of mail through a real Postfix, once per way of logging (its own maillog_file, or
    syslog through rsyslog in two formats) and per test module. Postfix missing is a failure that
    says how to install it, not a skip."""
    return deliver_a_day(request.param, tmp_path_factory.mktemp(f"postfix-{request.param}"))
