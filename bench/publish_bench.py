"""`make bench-publish`: what one publish costs with every channel on.

Three alerts as the notifier sends them: one address listed on JustSpam (the story's, with its
removal steps), 100 addresses listed on one list in one run, and 10,000 (the largest group a run
makes: one message). For each: the size of every variant (the email, also SNS's default; the SMS
line; the JSON document the sqs and lambda subscribers get, with its chat Markdown; the AWS Chatbot
notification of the https variant; the EventBridge entry) and of the whole publish; then the AWS
requests the notifier makes to send it with the topic and the event bus on (counted at botocore),
and how long that takes on in-process moto (the median of 30 deliveries of a fresh change: moto's
own speed, not AWS's, so read it against the topic alone, measured the same way). Last, what the
Apprise function does with one alert: real Apprise posting to three services on loopback (ntfy,
Mattermost, a JSON webhook), the requests and bytes they receive and the time it takes.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter

SINCE = "2026-11-27T06:00:00+00:00"
LISTING = {
    "status": "listed",
    "codes": ["127.0.0.2"],
    "meaning": "spam trap hits",
    "since": SINCE,
    "reason": "Listed by JustSpam, see http://www.justspam.org/check-an-ip",
    "delist_url": "http://www.justspam.org/check-an-ip",
}
ROUNDS = 30


def _alerts(count: int, zone: str, day: int = 0):
    from senderwatch.findings import Alert

    since = f"2026-11-{1 + day % 28:02d}T{day // 28 % 24:02d}:00:00+00:00"
    return [
        Alert("LISTED", f"198.51.{n // 256}.{n % 256}", since, zone, dict(LISTING, since=since), label=f"relay {n}")
        for n in range(count)
    ]


def rendering(count: int, zone: str) -> float:
    """The median time to say the alert in every channel: the text, the publish, the event entry."""
    from senderwatch import alerttext
    from senderwatch.aws import event_entry, publish_args

    alerts, times = _alerts(count, zone), []
    for _ in range(ROUNDS if count < 10_000 else 5):
        start = time.perf_counter()
        text = alerttext.render_group(alerts)
        publish_args(text, "arn:aws:sns:eu-central-1:123456789012:senderwatch-alerts")
        event_entry(text, "operations")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sizes(count: int, zone: str) -> dict[str, int]:
    from senderwatch import alerttext
    from senderwatch.aws import event_entry, publish_args

    text = alerttext.render_group(_alerts(count, zone))
    args = publish_args(text, "arn:aws:sns:eu-central-1:123456789012:senderwatch-alerts")
    variants = json.loads(args["Message"])
    entry = event_entry(text, "operations")
    size = {name: len(variants[name].encode()) for name in ("email", "sms", "sqs", "https")}
    size["markdown"] = len(text.markdown.encode())
    size["publish"] = len(json.dumps(args).encode())
    size["event"] = sum(len(entry[k].encode()) for k in ("Source", "DetailType", "Detail"))
    return size


def _counted(calls: Counter, *clients) -> list:
    """Count each request CLIENTS make into CALLS; the hooks, to take off again."""
    hooks = []
    for client in clients:

        def count(model, _service=client.meta.service_model.service_name, **_):
            calls.update([f"{_service} {model.name}"])

        client.meta.events.register("before-call.*.*", count)
        hooks.append((client, count))
    return hooks


def delivery(count: int, zone: str, bus_on: bool) -> tuple[Counter, float]:
    """Deliver a fresh change ROUNDS times (a new alert each time); the requests of one, the median time."""
    import boto3
    from moto import mock_aws

    from local.pipeline import create_table
    from senderwatch.aws import AlertBus, AlertLog, AlertTopic
    from senderwatch.notifier import notify

    with mock_aws():
        sqs, sns, events = boto3.client("sqs"), boto3.client("sns"), boto3.client("events")
        log = AlertLog.named(create_table("IdempotencyTable", "sent"))
        topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
        events.create_event_bus(Name="operations")
        topic, bus = AlertTopic(sns, topic_arn), AlertBus(events, "operations") if bus_on else None
        calls, times = Counter(), []
        for day in range(ROUNDS):
            changes = [_change(str(n), a) for n, a in enumerate(_alerts(count, zone, day))]
            calls.clear()
            hooks = _counted(calls, sns, events, log.table.meta.client)
            start = time.perf_counter()
            outcome = notify(changes, log, topic, bus)
            times.append(time.perf_counter() - start)
            for client, hook in hooks:
                client.meta.events.unregister("before-call.*.*", hook)
            assert outcome.failed == [] and outcome.alerts == count and outcome.events == count * bus_on
        return calls, statistics.median(times)  # the requests of the last delivery: each is the same


def _change(seq: str, alert):
    from senderwatch.notifier import Change

    listed = {alert.zone: {"status": "listed", "since": alert.since, "codes": ["127.0.0.2"], **LISTING}}
    listed[alert.zone]["since"] = alert.since
    return Change(seq, {"ip": alert.ip, "findings": {"dnsbl": {}}}, {"ip": alert.ip, "findings": {"dnsbl": listed}})


def through_apprise(count: int, zone: str) -> tuple[int, int, float]:
    """The Apprise function's work for one alert (its lambda variant) sent to ntfy, Mattermost and a
    JSON webhook on loopback: the requests they receive, their bytes, the median time of ROUNDS."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from senderwatch import alerttext
    from senderwatch.apprisesend import send
    from senderwatch.relay import as_alert, read_channels, relay

    got: list[int] = []

    class Service(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(len(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    channels = read_channels(
        f"ntfy://127.0.0.1:{port}/mail\nmmost://127.0.0.1:{port}/token\njson://127.0.0.1:{port}/hook"
    )

    class Nowhere:
        def park(self, item):
            raise AssertionError(f"parked: {item['channel']}")

        def note_channel(self, number, note):
            pass

    text = alerttext.render_group(_alerts(count, zone))
    document = as_alert(text.subject, text.document())
    times = []
    try:
        for _ in range(ROUNDS):
            got.clear()
            start = time.perf_counter()
            outcome = relay(document, "m-1", channels, send, Nowhere(), Nowhere())
            times.append(time.perf_counter() - start)
            assert len(outcome.delivered) == 3
    finally:
        server.shutdown()
    return len(got), sum(got), statistics.median(times)


def main() -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    cases = (("one address", 1, "dnsbl.justspam.org"), ("100 addresses", 100, "bl.spamcop.net"))
    cases += (("10,000 addresses", 10_000, "bl.spamcop.net"),)
    print("Bytes of each variant of one publish (the JSON document carries the Markdown, the email and the SMS):")
    print(
        f"{'alert':<18}{'email':>8}{'sms':>6}{'markdown':>10}{'json':>9}{'chatbot':>9}{'publish':>9}{'event':>9}"
        "  rendered in"
    )
    for name, count, zone in cases:
        s = sizes(count, zone)
        print(
            f"{name:<18}{s['email']:>8,}{s['sms']:>6,}{s['markdown']:>10,}{s['sqs']:>9,}{s['https']:>9,}"
            f"{s['publish']:>9,}{s['event']:>9,}  {rendering(count, zone) * 1000:8.1f} ms"
        )
    print("(SNS takes 262,144 bytes in one publish, EventBridge 262,144 in one entry)\n")
    print(f"Sending it, on in-process moto (median of {ROUNDS} fresh deliveries):")
    for name, count, zone in cases[:2]:
        for bus_on in (False, True):
            calls, median = delivery(count, zone, bus_on)
            said = ", ".join(f"{n} {op}" for op, n in sorted(calls.items()))
            channels = "topic + bus" if bus_on else "topic only "
            print(f"  {name:<14} {channels}  {sum(calls.values()):>2} requests ({said})  {median * 1000:7.1f} ms")
    print(f"\nThrough the Apprise function to ntfy, Mattermost and a JSON webhook on loopback (median of {ROUNDS}):")
    for name, count, zone in cases[:2]:
        requests, size, median = through_apprise(count, zone)
        print(f"  {name:<14} {requests} requests, {size:,} bytes received  {median * 1000:7.1f} ms")
    print("  (and one Lambda invocation per publish; the URLs read from SSM at most once a minute)")


if __name__ == "__main__":
    main()
