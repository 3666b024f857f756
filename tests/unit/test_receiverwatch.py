"""The bounces stage without I/O: a receiver's ban is one record change (so one alert), the same
ban again is none, and mail accepted by that receiver ends it."""

from datetime import UTC, datetime, timedelta

from local.memory import MemoryReceivers
from local.world import STORY_ACCEPTED, STORY_BOUNCE
from senderwatch.alerttext import group, render, render_group
from senderwatch.findings import decide_receiver
from senderwatch.history import build_history
from senderwatch.receiverwatch import watch_log
from tests.support.fakes import MemoryHistory

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
T0 = int(datetime(2026, 11, 27, 9, 12, tzinfo=UTC).timestamp() * 1000)
MINUTE, HOUR = 60_000, 3_600_000
TSS04 = (
    "{time} mail postfix/smtp[41218]: 4F3A21C0123: to=<carol@yahoo.com>, relay=mta7.am0.yahoodns.net"
    "[67.195.204.79]:25, delay=4, delays=0.05/0.01/3.6/0.33, dsn=4.7.0, status=deferred (host "
    "mta7.am0.yahoodns.net[67.195.204.79] said: 421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily "
    "deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes "
    "(in reply to MAIL FROM command))"
)
YAHOO_SENT = (
    "Nov 27 09:30:00 mail postfix/smtp[41219]: 5B4C31C0777: to=<dave@yahoo.com>, relay=mta6.am0.yahoodns.net"
    "[67.195.204.73]:25, delay=1.1, delays=0.05/0.01/0.6/0.4, dsn=2.0.0, status=sent (250 ok dirdel)"
)


def test_a_ban_is_one_change_however_often_the_log_says_it_and_acceptance_ends_it():
    store = MemoryReceivers()
    seen = watch_log([(T0, STORY_BOUNCE), (T0 + 1, STORY_BOUNCE), (T0 + 2, "unrelated line")], store, NOW)
    assert (seen.lines, seen.rejections, seen.changed) == (3, 2, 1)
    ((name, first),) = store.writes
    (alert,) = decide_receiver(name, None, first)
    assert (alert.event, alert.ip, alert.zone, alert.target) == (
        "RECEIVER_BLOCKED",
        "192.0.2.25",
        "5.7.606",
        "microsoft",
    )
    watch_log([(T0 + 86_400_000, STORY_ACCEPTED)], store, NOW)
    (_, second) = store.writes[-1]
    (over,) = decide_receiver(name, first, second)
    assert (over.event, over.ip) == ("RECEIVER_UNBLOCKED", "192.0.2.25")
    assert decide_receiver(name, second, second) == []


def test_a_ban_and_its_end_in_one_delivery_are_one_write_and_both_alerts():
    store = MemoryReceivers()
    watch_log([(T0 + 2 * HOUR, STORY_ACCEPTED), (T0, STORY_BOUNCE)], store, NOW)
    ((name, record),) = store.writes
    assert record["blocks"]["192.0.2.25|5.7.606"]["status"] == "accepted"
    assert [a.event for a in decide_receiver(name, None, record)] == ["RECEIVER_BLOCKED", "RECEIVER_UNBLOCKED"]


def test_a_receiver_that_defers_some_mail_and_takes_the_rest_is_still_blocking_not_flapping():
    """Gmail's and Yahoo's rate limits: deferrals between deliveries, for hours."""
    store = MemoryReceivers()
    deferred = TSS04.format(time="Nov 27 09:12:01")
    accepted = YAHOO_SENT
    events = [(T0 + n * 10 * MINUTE, deferred if n % 2 == 0 else accepted) for n in range(12)]
    seen = watch_log(events, store, NOW)
    assert (seen.rejections, seen.accepted, seen.changed) == (6, 6, 1)
    ((name, record),) = store.writes
    assert [a.event for a in decide_receiver(name, None, record)] == ["RECEIVER_BLOCKED"]
    watch_log([(T0 + 110 * MINUTE + HOUR, accepted)], store, NOW)  # an hour without a deferral: over
    assert [a.event for a in decide_receiver(name, record, store.writes[-1][1])] == ["RECEIVER_UNBLOCKED"]


def test_the_same_delivery_again_changes_nothing():
    store = MemoryReceivers()
    events = [
        (T0, STORY_BOUNCE),
        (T0 + 2 * HOUR, STORY_ACCEPTED),
        (T0 + 3 * HOUR, STORY_BOUNCE.replace("[12345]", "[2]")),
    ]
    first = watch_log(events, store, NOW)
    again = watch_log(events, store, NOW)
    assert (first.changed, again.changed, len(store.writes)) == (1, 0, 1)


def test_mail_taken_over_ipv6_does_not_end_a_block_of_the_ipv4_address():
    store = MemoryReceivers()
    over_ipv6 = STORY_ACCEPTED.replace("[104.47.17.138]", "[2a01:111:f403:c201::1]")
    watch_log([(T0, STORY_BOUNCE), (T0 + 2 * HOUR, over_ipv6)], store, NOW)
    assert store.writes[-1][1]["blocks"]["192.0.2.25|5.7.606"]["status"] == "blocked"
    watch_log([(T0 + 3 * HOUR, STORY_ACCEPTED)], store, NOW)
    assert store.writes[-1][1]["blocks"]["192.0.2.25|5.7.606"]["status"] == "accepted"


def test_one_receivers_deferral_of_two_addresses_is_one_message_naming_both():
    store = MemoryReceivers()
    lines = [
        TSS04.format(time="Nov 27 09:12:01"),
        TSS04.format(time="Nov 27 09:12:02").replace("192.0.2.25", "192.0.2.26"),
    ]
    watch_log([(T0 + n, line) for n, line in enumerate(lines)], store, NOW)
    alerts = decide_receiver("yahoo", None, store.writes[-1][1])
    (message,) = [render_group(g) for g in group(alerts)]
    assert message.subject == "Yahoo and AOL defer mail from 2 addresses: TSS04"  # deferred: retried, not refused
    assert "192.0.2.25" in message.email and "192.0.2.26" in message.email and "Cannot check" not in message.email
    assert message.sms.startswith("senderwatch: Yahoo and AOL DEFER 2 addresses (TSS04): 192.0.2.25, 192.0.2.26.")
    assert message.attributes["severity"] == "warning"  # deferred, not refused


def test_mail_accepted_before_the_ban_does_not_end_it():
    store = MemoryReceivers()
    watch_log([(T0, STORY_BOUNCE)], store, NOW)
    earlier = STORY_ACCEPTED.replace("Nov 28 10:02:11", "Nov 27 08:00:00")
    watch_log([(T0 - 3_600_000, earlier)], store, NOW)
    assert len(store.writes) == 1


def test_another_writer_first_is_read_again_not_overwritten():
    store = MemoryReceivers()
    store.records["microsoft"] = ({"blocks": {"198.51.100.7|5.7.606": {"status": "blocked", "since": "x"}}}, 4)
    watch_log([(T0, STORY_BOUNCE)], store, NOW)
    record, version = store.records["microsoft"]
    assert version == 5 and set(record["blocks"]) == {"198.51.100.7|5.7.606", "192.0.2.25|5.7.606"}


def test_the_alert_gives_the_portal_the_fallback_and_a_short_sms():
    store = MemoryReceivers()
    watch_log([(T0, STORY_BOUNCE)], store, NOW)
    (alert,) = decide_receiver("microsoft", None, store.writes[0][1])
    message = render(alert)
    assert message.subject == "Microsoft 365 (Exchange Online) refuses mail from 192.0.2.25: 5.7.606"
    assert "Open https://sender.office.com/" in message.email and "delist@messaging.microsoft.com" in message.email
    assert "It said:    550 5.7.606 Access denied, banned sending IP [192.0.2.25]." in message.email
    assert message.attributes == {
        "event": "RECEIVER_BLOCKED",
        "severity": "high",
        "ip": "192.0.2.25",
        "receiver": "microsoft",
        "code": "5.7.606",
    }
    assert len(message.sms) < 160 and "sender.office.com" in message.sms


CUSTOMER_BLOCK = (
    "Nov 27 09:12:01 mail postfix/smtp[12345]: 4F3A21C0123: to=<anna@contoso.com>, "
    "relay=contoso-com.mail.protection.outlook.com[104.47.17.138]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=5.7.1, "
    "status=bounced (host contoso-com.mail.protection.outlook.com[104.47.17.138] said: 550 5.7.1 Service unavailable, "
    "Client host [192.0.2.25] blocked by contoso.com using Customer Block list (AS16012607) "
    "(in reply to RCPT TO command))"
)


def test_one_organisations_own_block_ends_only_when_that_organisation_takes_mail():
    store = MemoryReceivers()
    other_tenant = STORY_ACCEPTED.replace("contoso-com.mail", "fabrikam-com.mail")
    watch_log([(T0, CUSTOMER_BLOCK), (T0 + 2 * HOUR, other_tenant)], store, NOW)
    (key,) = store.writes[-1][1]["blocks"]
    assert key == "192.0.2.25|5.7.1 (Customer Block list)|contoso-com.mail.protection.outlook.com"  # its own code
    assert store.writes[-1][1]["blocks"][key]["status"] == "blocked"  # fabrikam's mail says nothing of contoso's list
    watch_log([(T0 + 3 * HOUR, STORY_ACCEPTED)], store, NOW)
    assert store.writes[-1][1]["blocks"][key]["status"] == "accepted"


def test_another_mail_servers_deliveries_do_not_end_this_ones_block():
    store = MemoryReceivers()
    watch_log([(T0, STORY_BOUNCE)], store, NOW, server="mail.example.com")
    watch_log([(T0 + 2 * HOUR, STORY_ACCEPTED)], store, NOW, server="mail2.example.com")
    assert len(store.writes) == 1
    watch_log([(T0 + 3 * HOUR, STORY_ACCEPTED)], store, NOW, server="mail.example.com")
    assert store.writes[-1][1]["blocks"]["192.0.2.25|5.7.606"]["status"] == "accepted"


def test_mail_accepted_by_receivers_that_block_nothing_costs_no_read():
    store = MemoryReceivers()
    sent = [
        (T0 + n, STORY_ACCEPTED.replace("contoso-com.mail.protection.outlook.com", f"mx.example{n}.org"))
        for n in range(500)
    ]
    watch_log(sent, store, NOW)
    assert (store.reads, store.index_reads) == ([], 1)
    watch_log([(T0, STORY_BOUNCE)], store, NOW)
    assert store.index == {"microsoft"}
    watch_log([(T0 + 2 * HOUR, STORY_ACCEPTED), *sent], store, NOW)
    assert store.reads == ["microsoft", "microsoft"] and store.index == set()


def test_each_change_of_a_receivers_record_is_kept_in_the_history_and_reads_back_as_its_block():
    store, history = MemoryReceivers(), MemoryHistory()
    watch_log([(T0, STORY_BOUNCE)], store, NOW, history=history, history_days=90)
    watch_log([(T0, STORY_BOUNCE)], store, NOW, history=history, history_days=90)  # the same delivery again
    watch_log([(T0 + 86_400_000, STORY_ACCEPTED)], store, NOW, history=history, history_days=90)

    assert [item["ip"] for item in history.runs] == ["receiver:microsoft", "receiver:microsoft"]  # two changes
    (blocked,) = build_history(history.runs, NOW - timedelta(days=30), NOW + timedelta(days=2)).periods
    assert (blocked.kind, blocked.about, blocked.ip) == ("receiver", "microsoft", "192.0.2.25")
    assert blocked.state == "5.7.606"
    assert blocked.start == "2026-11-27T09:12:00Z" and blocked.end is not None
