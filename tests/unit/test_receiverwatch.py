"""The bounces stage without I/O: a receiver's ban is one record change (so one alert), the same
ban again is none, and mail accepted by that receiver ends it."""

from datetime import UTC, datetime

from senderwatch.alerttext import render
from senderwatch.findings import decide_receiver
from senderwatch.receiverwatch import watch_log
from tests.support.fakes import MemoryReceivers
from tests.support.world import STORY_ACCEPTED, STORY_BOUNCE

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
T0 = int(datetime(2026, 11, 27, 9, 12, tzinfo=UTC).timestamp() * 1000)


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


def test_a_ban_and_its_end_in_one_delivery_are_two_changes_in_order():
    store = MemoryReceivers()
    watch_log([(T0 + 5, STORY_ACCEPTED.replace("Nov 28 10:02:11", "Nov 27 09:30:00")), (T0, STORY_BOUNCE)], store, NOW)
    assert [w[1]["blocks"]["192.0.2.25|5.7.606"]["status"] for w in store.writes] == ["blocked", "accepted"]


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
    assert message.attributes == {
        "event": "RECEIVER_BLOCKED",
        "severity": "high",
        "ip": "192.0.2.25",
        "receiver": "microsoft",
        "code": "5.7.606",
    }
    assert len(message.sms) < 160 and "sender.office.com" in message.sms
