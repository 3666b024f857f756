"""What receivers say, end to end: `senderwatch bounces` on real log lines, and the pipeline from
the mail server's log group to the alert - each ban once, and its end."""

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
