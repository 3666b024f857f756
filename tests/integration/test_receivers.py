"""What receivers say, end to end: `senderwatch bounces` on real log lines, and the pipeline from
the mail server's log group to the alert - each ban once, and its end."""

import json

STORY = (
    "Nov 27 09:12:01 mail postfix/smtp[12345]: 4F3A21C0123: to=<anna@contoso.com>, "
    "relay=contoso-com.mail.protection.outlook.com[104.47.17.138]:25, delay=1.2, delays=0.1/0/0.6/0.5, "
    "dsn=5.7.606, status=bounced (host contoso-com.mail.protection.outlook.com[104.47.17.138] said: "
    "550 5.7.606 Access denied, banned sending IP [192.0.2.25]. To request removal from this list please "
    "visit https://sender.office.com/ and follow the directions. For more information please go to "
    "http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) [AM4PEPF00027A5F.eurprd04.prod.outlook.com "
    "2026-11-27T09:12:01.000Z 08DD0E0A8D7C3F1A] (in reply to RCPT TO command))"
)
ACCEPTED = (
    "Nov 28 10:02:11 mail postfix/smtp[22345]: 7C4D5E0126: to=<anna@contoso.com>, "
    "relay=contoso-com.mail.protection.outlook.com[104.47.17.138]:25, delay=0.8, delays=0.1/0/0.3/0.4, "
    "dsn=2.6.0, status=sent (250 2.6.0 <20261128100211.7C4D5E0126@mail.example.com> "
    "[InternalId=1234, Hostname=AM4PR04MB1234.eurprd04.prod.outlook.com] 10523 bytes in 0.215, 47.791 KB/sec "
    "Queued mail for delivery)"
)


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
