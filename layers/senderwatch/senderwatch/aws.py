"""The AWS side, behind small objects: the targets, history, health and sent-alerts tables, the
check queue, the alert topic and event bus, the DQS key in SSM; and AWS's own formats (stream
records, SNS publish arguments, EventBridge entries, errors as one line).

Each wraps one boto3 client or table, so the stages are tested against fakes or moto; a
throttled call is retried by botocore's standard retry mode, and what a batch call leaves
unprocessed by one loop (`until_done`).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import operator
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import boto3
from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from .errors import InvalidInput, InvalidMessage, ServiceError
from .findings import DOMAIN, MUTE, RECEIVER, RESOLVER, ZONE
from .ports import Stored

if TYPE_CHECKING:
    from .alerttext import AlertText
    from .records import MuteRecord

T = TypeVar("T")
BOTO = BotoConfig(retries={"mode": "standard", "max_attempts": 8})
# A local stack's endpoint, for `sam local invoke` (the functions' environment declares it, empty in
# AWS). The command line honours AWS_ENDPOINT_URL, as every boto3 program does.
_ENDPOINT = os.environ.get("LOCAL_AWS_ENDPOINT") or None
_WRITERS = 8  # parallel update calls when many existing targets change at once


def resource(name: str):
    return boto3.resource(name, config=BOTO, endpoint_url=_ENDPOINT)


def client(name: str):
    return boto3.client(name, config=BOTO, endpoint_url=_ENDPOINT)


def region() -> str:
    return boto3.session.Session().region_name or "(none)"


@contextmanager
def aws_errors(doing: str):
    """Turn what boto3 raises into one line a person can act on (ServiceError, or InvalidInput
    when no region is configured at all)."""
    try:
        yield
    except NoRegionError:
        raise InvalidInput("no AWS region configured: pass --region or set AWS_REGION") from None
    except NoCredentialsError:
        raise ServiceError(f"{doing}: no AWS credentials found (aws configure, AWS_PROFILE, ...)") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        if code == "ResourceNotFoundException":
            message = f"{message} in region {region()}: check the name and --region"
        elif code == "ValidationError" and "does not exist" in message:
            message = f"{message} in region {region()}: check the stack name and --region"
        raise ServiceError(f"{doing}: {code}: {message}") from None
    except BotoCoreError as exc:
        raise ServiceError(f"{doing}: {exc}") from None


def until_done(call: Callable[[T], T | None], request: T, what: str) -> None:
    """Call CALL with REQUEST, then with what it gives back as left over (backing off), until
    nothing is left: the one retry loop for batch calls that succeed in part (botocore retries
    whole calls, not the items a batch call leaves unprocessed). ServiceError when it never is."""
    pending = request
    for attempt in range(8):
        left = call(pending)
        if not left:
            return
        pending = left
        time.sleep(min(2.0, 0.05 * 2**attempt))
    raise ServiceError(f"{what} kept being refused in part; it will be tried again")


def batch_get(table, ids: Iterable[str], key: str = "ip") -> dict[str, dict]:
    """Consistent reads of many items by key, 100 a request."""
    keys = [{key: value} for value in dict.fromkeys(ids)]
    found: dict[str, dict] = {}
    dynamodb = table.meta.client

    def get(request: dict) -> dict:
        reply = dynamodb.batch_get_item(RequestItems=request)
        for item in reply.get("Responses", {}).get(table.name, []):  # the resource's client decodes
            found[item[key]] = item
        return reply.get("UnprocessedKeys") or {}

    for start in range(0, len(keys), 100):
        until_done(get, {table.name: {"Keys": keys[start : start + 100], "ConsistentRead": True}}, "DynamoDB")
    return found


def scan_all(table, **kwargs) -> Iterator[dict]:
    """Every item of a scan, page after page."""
    return _pages(table.scan, kwargs)


def query_all(table, **kwargs) -> Iterator[dict]:
    """Every item of a query, page after page."""
    return _pages(table.query, kwargs)


def _pages(call: Callable[..., dict], kwargs: dict) -> Iterator[dict]:
    while True:
        page = call(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


_DESERIALIZE = TypeDeserializer()


def _item(image: dict | None) -> dict | None:
    return {k: _DESERIALIZE.deserialize(v) for k, v in image.items()} if image else None


def _stream_records(event: dict) -> list[dict]:
    records = event.get("Records", []) if isinstance(event, dict) else []
    if not all(isinstance(r, dict) and r.get("eventSource") == "aws:dynamodb" for r in records):
        raise InvalidMessage("not a DynamoDB stream event: every record needs eventSource aws:dynamodb")
    return records


def log_events(event: dict) -> tuple[str, list[tuple[int, str]]]:
    """The log stream (one per server, as the CloudWatch agent names it) and the (timestamp in ms,
    line) of a CloudWatch Logs subscription event (base64 of gzip of JSON).

    InvalidMessage for anything else; a CONTROL_MESSAGE (CloudWatch checking the subscription)
    has no lines.
    """
    data = (event.get("awslogs") or {}).get("data") if isinstance(event, dict) else None
    if not isinstance(data, str):
        raise InvalidMessage("not a CloudWatch Logs subscription event (no awslogs.data)")
    try:
        document = json.loads(gzip.decompress(base64.b64decode(data, validate=True)))
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidMessage(f"awslogs.data is not base64 of gzip of JSON: {type(exc).__name__}") from None
    if not isinstance(document, dict) or document.get("messageType") == "CONTROL_MESSAGE":
        return "", []
    return str(document.get("logStream") or ""), [
        (int(e.get("timestamp") or 0), str(e.get("message", "")))
        for e in document.get("logEvents") or []
        if isinstance(e, dict)
    ]


def stream_changes(event: dict) -> list[tuple[str, dict | None, dict | None]]:
    """The records of a DynamoDB stream event as (sequence number, old item, new item)."""
    out = []
    for record in _stream_records(event):
        change = record.get("dynamodb") or {}
        out.append(
            (str(change.get("SequenceNumber", "")), _item(change.get("OldImage")), _item(change.get("NewImage")))
        )
    return out


def stream_inserts(event: dict) -> list[tuple[str, str, dict]]:
    """The records of a DynamoDB stream event as (sequence number, event name, keys)."""
    return [
        (
            str((record.get("dynamodb") or {}).get("SequenceNumber", "")),
            str(record.get("eventName", "")),
            _item((record.get("dynamodb") or {}).get("Keys")) or {},
        )
        for record in _stream_records(event)
    ]


def sns_messages(event: dict) -> list[tuple[str, str, dict]]:
    """The (message id, subject, JSON document) of each record of an SNS event: the `lambda` variant of an
    alert's publish. InvalidMessage for an event that is not SNS's, or a message that is not a
    JSON object (an alarm's, say, is one: CloudWatch publishes JSON)."""
    records = event.get("Records", []) if isinstance(event, dict) else []
    if not records or not all(isinstance(r, dict) and isinstance(r.get("Sns"), dict) for r in records):
        raise InvalidMessage("not an SNS event: every record needs an Sns message")
    out = []
    for record in records:
        sns = record["Sns"]
        try:
            document = json.loads(sns.get("Message") or "")
        except ValueError:
            raise InvalidMessage(f"SNS message {sns.get('MessageId', '?')} is not JSON") from None
        if not isinstance(document, dict):
            raise InvalidMessage(f"SNS message {sns.get('MessageId', '?')} is not a JSON object")
        out.append((str(sns.get("MessageId", "")), str(sns.get("Subject") or ""), document))
    return out


class CallerIdentity:
    """Who calls AWS: the caller identity's ARN (STS GetCallerIdentity), as a mute records who set it."""

    def __init__(self, sts_client):
        self.sts = sts_client

    def arn(self) -> str:
        with aws_errors("cannot tell who is calling AWS"):
            return str(self.sts.get_caller_identity()["Arn"])


class SecretParameter:
    """A SecureString in SSM Parameter Store, decrypted, cached for MAX_AGE seconds, never logged."""

    def __init__(self, name: str, max_age: float = 300):
        self.name = name
        self.max_age = max_age
        self._value: str | None = None
        self._read_at = 0.0

    def get(self) -> str:
        if self._value is None or time.monotonic() - self._read_at > self.max_age:
            reply = client("ssm").get_parameter(Name=self.name, WithDecryption=True)
            self._value, self._read_at = reply["Parameter"]["Value"], time.monotonic()
        return self._value


class TargetStore:
    """Watched targets and their findings (one item per address), plus per-run history."""

    def __init__(self, table):
        self.table = table

    @classmethod
    def named(cls, table_name: str) -> TargetStore:
        return cls(resource("dynamodb").Table(table_name))

    def scan(self) -> Iterator[dict]:
        return scan_all(self.table)

    def get_many(self, ips: Iterable[str]) -> dict[str, dict]:
        return batch_get(self.table, ips)

    def scan_watched(self) -> Iterator[dict]:
        """Every target's key, label and whether it is enabled, and a host's (or a network's)
        addresses as its findings list them: what says which targets watch an address."""
        return scan_all(
            self.table,
            ProjectionExpression="#ip, #label, #enabled, #findings.#addresses",
            ExpressionAttributeNames={
                "#ip": "ip",
                "#label": "label",
                "#enabled": "enabled",
                "#findings": "findings",
                "#addresses": "addresses",
            },
        )

    def update_target(self, ip: str, changes: dict) -> dict | None:
        """Change only the settings named in CHANGES (a value of None removes that setting);
        everything else on the item, findings included, stays. A new target is enabled.

        Returns the item as it was before, or None when the target is new.
        """
        sets = {k: v for k, v in changes.items() if v is not None}
        removes = [k for k, v in changes.items() if v is None]
        clauses = [f"#{k} = :{k}" for k in sets]
        if "enabled" not in changes:
            clauses.append("#enabled = if_not_exists(#enabled, :new_enabled)")
        expression = "SET " + ", ".join(clauses)
        if removes:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in removes)
        values = {f":{k}": v for k, v in sets.items()}
        if "enabled" not in changes:
            values[":new_enabled"] = True
        reply = self.table.update_item(
            Key={"ip": ip},
            UpdateExpression=expression,
            ReturnValues="ALL_OLD",
            ExpressionAttributeNames={f"#{k}": k for k in [*changes, "enabled"]},
            ExpressionAttributeValues=values,
        )
        return reply.get("Attributes")

    def write_targets(
        self, new: list[dict], changed: list[tuple[str, dict]], progress: Callable[[int], None] | None = None
    ) -> None:
        """Many targets at once: NEW items are put in batches of 25, CHANGED ones updated
        (several calls in flight). PROGRESS is told how many have been written so far.

        A new item is put whole: it was read as absent a moment before (BatchGetItem).
        """
        done = 0
        with self.table.batch_writer() as batch:
            for item in new:
                batch.put_item(Item=item)
                done += 1
                if progress and done % 25 == 0:
                    progress(done)
        if progress:
            progress(done)
        with ThreadPoolExecutor(_WRITERS) as pool:
            for _ in pool.map(lambda change: self.update_target(*change), changed):
                done += 1
                if progress and done % 25 == 0:
                    progress(done)
        if progress:
            progress(done)

    def delete_targets(self, ips: Iterable[str]) -> None:
        """Many targets at once, in batches of 25 (a key that is not there is no error)."""
        with self.table.batch_writer() as batch:
            for ip in dict.fromkeys(ips):
                batch.delete_item(Key={"ip": ip})

    def save_findings(self, ip: str, findings: dict, now: str, run: str = "", also: list | None = None) -> bool:
        """Write new findings onto the item, checked at NOW (in the scheduled RUN, when it was one),
        without touching what the user set. `findings_changed` marks this write as a change: the
        notifier's stream filter lets only such writes through. ALSO, when known, is written beside
        them as `watched_with` (the other targets that watch its addresses; [] removes it).

        False when the target was removed meanwhile (it is not brought back).
        """
        sets = "findings = :f, findings_changed_at = :now, findings_changed = :now, " + self._checked(run)
        values = {":f": findings, ":now": now, **({":run": run} if run else {})}
        removes = "check_error"
        if also:
            sets += ", watched_with = :w"
            values[":w"] = also
        elif also is not None:
            removes += ", watched_with"
        return self._update_existing(ip, f"SET {sets} REMOVE {removes}", values)

    def save_checked(self, ip: str, now: str, run: str = "") -> bool:
        """Note that the target was checked at NOW (in the scheduled RUN, when it was one) and its
        findings did not change: the mark of a change is removed, so the stream record of this
        write reaches no function. False when the target was removed meanwhile."""
        values = {":now": now, **({":run": run} if run else {})}
        return self._update_existing(ip, f"SET {self._checked(run)} REMOVE findings_changed, check_error", values)

    @staticmethod
    def _checked(run: str) -> str:
        """The SET clauses of when a target was checked: the time, and the scheduled run's id."""
        return "checked_at = :now" + (", checked_run = :run" if run else "")

    def mark_invalid(self, ip: str, problem: str, now: str) -> None:
        self._update_existing(ip, "SET check_error = :e, check_error_at = :now", {":e": problem, ":now": now})

    def _update_existing(self, ip: str, expression: str, values: dict) -> bool:
        """Update an item only if it still exists; False when it does not."""
        try:
            self.table.update_item(
                Key={"ip": ip},
                UpdateExpression=expression,
                ConditionExpression=Attr("ip").exists(),
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


class History:
    """The history table: each run's results per target, and each change of the deployment's health
    records under their ids, by key (`ip`) and time (`checked_at`), kept for a while (the table's TTL
    deletes them); read back by key (a query each, several in flight) or whole (a parallel scan)."""

    SEGMENTS = 8  # a whole-table scan's parallel segments (and the queries in flight)

    def __init__(self, table):
        self.table = table

    @classmethod
    def named(cls, table_name: str) -> History:
        return cls(resource("dynamodb").Table(table_name))

    def record(self, items: list[dict], expires_at: int) -> None:
        with self.table.batch_writer() as batch:
            for item in items:
                batch.put_item(Item={**item, "expires_at": expires_at})

    def query(self, keys: Iterable[str], since: str, until: str) -> Iterator[dict]:
        def one(key: str) -> list[dict]:
            when = Key("checked_at").between(since, until) if since else Key("checked_at").lte(until)
            return list(query_all(self.table, KeyConditionExpression=Key("ip").eq(key) & when))

        with ThreadPoolExecutor(self.SEGMENTS) as pool:
            for items in pool.map(one, list(dict.fromkeys(keys))):
                yield from items

    def scan(self, since: str, until: str, whole: Sequence[str] = ()) -> Iterator[dict]:
        wanted = Attr("checked_at").between(since, until)
        if whole:
            keys = [Attr("ip").begins_with(prefix) for prefix in whole]
            wanted = wanted | (functools.reduce(operator.or_, keys) & Attr("checked_at").lte(until))

        def segment(number: int) -> list[dict]:
            return list(scan_all(self.table, FilterExpression=wanted, Segment=number, TotalSegments=self.SEGMENTS))

        with ThreadPoolExecutor(self.SEGMENTS) as pool:
            for items in pool.map(segment, range(self.SEGMENTS)):
                yield from items


class CheckQueue:
    """The SQS queue between the scheduler and the checker: the scheduler's runs, the checker's
    leftovers near its timeout, and the command's checks now (`check-now`, changed settings)."""

    def __init__(self, sqs_client, url: str):
        self.sqs = sqs_client
        self.url = url

    @classmethod
    def named(cls, url: str) -> CheckQueue:
        return cls(client("sqs"), url)

    def waiting(self) -> int:
        """About how many messages are in the queue, waiting or being checked."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)

    def send(self, bodies: list[dict]) -> int:
        sent = 0

        def send(entries: list[dict]) -> list[dict]:
            nonlocal sent
            reply = self.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
            sent += len(reply.get("Successful", []))
            failed = {f["Id"] for f in reply.get("Failed", [])}
            return [e for e in entries if e["Id"] in failed]

        for start in range(0, len(bodies), 10):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(body)} for i, body in enumerate(bodies[start : start + 10])
            ]
            until_done(send, entries, "SQS")
        return sent


class DeadLetters:
    """A dead-letter queue, read without taking anything from it: each receive hides nothing (a
    visibility timeout of 0), so the queue is as it was for whoever moves the messages back."""

    def __init__(self, sqs_client, url: str):
        self.sqs = sqs_client
        self.url = url

    def peek(self, rounds: int = 10) -> tuple[list[dict], int]:
        """The messages ROUNDS receives show (each: body, sent_at, error; SQS shows a sample of the
        queue each time), and how many the queue holds."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"])
        waiting = int(attributes["Attributes"].get("ApproximateNumberOfMessages", "0"))
        seen: dict[str, dict] = {}
        for _ in range(rounds if waiting else 0):
            got = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                WaitTimeSeconds=0,
                AttributeNames=["SentTimestamp"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in got if m["MessageId"] not in seen]
            for message in fresh:
                sent = int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
                error = (message.get("MessageAttributes") or {}).get("ErrorMessage") or {}
                seen[message["MessageId"]] = {
                    "body": message.get("Body", ""),
                    "sent_at": datetime.fromtimestamp(sent, UTC).isoformat(timespec="seconds"),
                    "error": str(error.get("StringValue") or ""),  # Lambda's, for an event it could not run
                }
            if len(seen) >= waiting:
                break
        return list(seen.values()), max(waiting, len(seen))

    def park(self, body: Mapping[str, Any]) -> None:
        """Put one message on the queue (the Apprise function parks there what a channel would not take)."""
        self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps(body))


class AlertTopic:
    """The SNS topic alerts go to; subscriptions (email, SMS) filter on the attributes."""

    def __init__(self, sns_client, topic_arn: str):
        self.sns = sns_client
        self.topic_arn = topic_arn

    def publish(self, text: AlertText) -> str:
        return self.sns.publish(**publish_args(text, self.topic_arn))["MessageId"]


SNS_MAX = 256 * 1024  # SNS's most for one publish, every variant and attribute together


def publish_args(text: AlertText, topic_arn: str) -> dict:
    """Keyword arguments for SNS Publish: one message, a variant per protocol.

    People get text (email, sms) and, through AWS Chatbot (which subscribes over HTTPS), a custom
    notification in Slack or Teams (https); programs (sqs, lambda) get the alert as JSON. A
    list-valued attribute (the addresses of a grouped alert) is a String.Array, which subscription
    filter policies match element by element. A JSON document that would take the publish over
    SNS's limit (it goes in twice) is cut to fit (`fitted`).
    """
    document = text.document()
    args = _publish(text, topic_arn, json.dumps(document))
    size = len(json.dumps(args).encode())
    if size > SNS_MAX:  # what the two copies may take, escaped as they are inside the Message
        rest = len(json.dumps(_publish(text, topic_arn, "{}")).encode())
        room = len(json.dumps(document).encode()) * (SNS_MAX - rest - 1024) // max(size - rest, 1)
        args = _publish(text, topic_arn, json.dumps(fitted(document, room)))
    return args


def _publish(text: AlertText, topic_arn: str, data: str) -> dict:
    variants = {"default": text.email, "email": text.email, "sms": text.sms, "sqs": data, "lambda": data}
    return {
        "TopicArn": topic_arn,
        "Subject": text.subject,
        "MessageStructure": "json",
        "Message": json.dumps({**variants, "https": json.dumps(text.chatbot())}),
        "MessageAttributes": {
            k: {"DataType": "String.Array", "StringValue": json.dumps(v)}
            if isinstance(v, list)
            else {"DataType": "String", "StringValue": v}
            for k, v in text.attributes.items()
        },
    }


PEOPLES_TEXTS = ("email", "markdown")  # what a document too large gives up last, after its lists


def fitted(document: dict, limit: int) -> dict:
    """DOCUMENT within LIMIT bytes of JSON: its longest lists give way first (their first items
    kept), then the texts for people (the email, the Markdown); "cut" says what was shortened
    ({"open": {"kept": 107, "of": 900}}) or left out ({"email": "left out"}). The facts, the
    counts, the subject and the SMS line stay."""

    def size() -> int:
        return len(json.dumps(document).encode())

    if size() <= limit:
        return document
    document, cut = dict(document), cast(dict[str, Any], {})
    document["cut"] = cut  # (what it says is counted in the size)
    lists = [k for k, v in document.items() if isinstance(v, list) and k != "cut"]
    for name in sorted(lists, key=lambda k: -len(json.dumps(document[k]))):
        whole, fewest, most = document[name], 0, len(document[name])
        cut[name] = {"kept": 0, "of": len(whole)}
        while fewest < most:  # the most of its first items that fit
            middle = (fewest + most + 1) // 2
            document[name], cut[name]["kept"] = whole[:middle], middle
            fewest, most = (middle, most) if size() <= limit else (fewest, middle - 1)
        document[name], cut[name]["kept"] = whole[:fewest], fewest
        if size() <= limit:
            return document
    for name in PEOPLES_TEXTS:
        document.pop(name, None)
        cut[name] = "left out"
        if size() <= limit:
            break
    return document


class AlertBus:
    """The EventBridge bus alerts are also put on (optional): users' rules route them to programs."""

    def __init__(self, events_client, bus: str):
        self.events = events_client
        self.bus = bus  # a name or an ARN

    def publish(self, text: AlertText) -> str:
        with aws_errors("EventBridge PutEvents"):
            reply = self.events.put_events(Entries=[event_entry(text, self.bus)])
        entry = reply["Entries"][0]
        if reply.get("FailedEntryCount") or "EventId" not in entry:
            raise ServiceError(f"EventBridge refused the alert: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
        return entry["EventId"]


EVENT_SOURCE = "senderwatch"
EVENT_MAX = 256 * 1024  # EventBridge's most for one entry: its source, detail type and detail


def event_entry(text: AlertText, bus: str, limit: int = EVENT_MAX) -> dict:
    """One PutEvents entry: source "senderwatch", the event as its detail type, the alert's JSON
    document as its detail, cut to fit an entry as the publish cuts it (`fitted`)."""
    detail = fitted(text.document(), limit - len(EVENT_SOURCE) - len(text.event.encode()))
    return {"Source": EVENT_SOURCE, "DetailType": text.event, "Detail": json.dumps(detail), "EventBusName": bus}


RECEIVER_INDEX = "receiver-index"  # the health table's item naming the receivers with a block
CHANNEL = "channel"  # the health table's items `channel:NUMBER`: an Apprise channel's last test alert


class AlertLog:
    """Which alerts were published (the idempotency table): each alert's key, kept DAYS days.

    The notifier asks before it publishes and marks after: a delivery of the same change
    again (a stream retry, a batch cut differently) sends only what is missing.
    """

    def __init__(self, table, days: int = 2):
        self.table = table
        self.days = days

    @classmethod
    def named(cls, table_name: str) -> AlertLog:
        return cls(resource("dynamodb").Table(table_name))

    @staticmethod
    def _id(key: str) -> str:
        return "alert#" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()

    def sent(self, keys: Iterable[str]) -> set[str]:
        by_id = {self._id(k): k for k in keys}
        return {by_id[item_id] for item_id in batch_get(self.table, by_id, key="id")}

    def mark(self, keys: Iterable[str]) -> None:
        expires = int(time.time()) + self.days * 86400
        with self.table.batch_writer(overwrite_by_pkeys=["id"]) as batch:
            for key in keys:
                batch.put_item(Item={"id": self._id(key), "expiration": expires})


class HealthStore:
    """The deployment's own health table: a versioned record per list and family (`zone:NAME:FAMILY`),
    the resolver, each domain (`domain:NAME`) and each receiver (`receiver:NAME`), and the index of
    the receivers with a block. It reads, and writes a record only if it is still at the version
    read (many invocations report the same run); what a record becomes is the stages' logic.
    """

    def __init__(self, table):
        self.table = table

    @classmethod
    def named(cls, table_name: str) -> HealthStore:
        return cls(resource("dynamodb").Table(table_name))

    def read(self, ids: Iterable[str]) -> dict[str, Stored]:
        items = batch_get(self.table, ids, key="id")
        return {item_id: Stored(item.get("health"), int(item.get("version", 0))) for item_id, item in items.items()}

    def domains(self) -> Iterator[dict]:
        """Every domain record (`domain:NAME`); the table holds one per list and per domain."""
        return scan_all(self.table, FilterExpression=Attr("kind").eq(DOMAIN))

    def lists(self) -> Iterator[dict]:
        """Every list's record (`zone:NAME:FAMILY`) and the resolver's: what the deployment could not use."""
        return scan_all(self.table, FilterExpression=Attr("kind").is_in([ZONE, RESOLVER]))

    def mutes(self) -> list[MuteRecord]:
        """Every mute's record (`mute:ID`), ended ones too: the table holds a few beside its lists."""
        return [item["health"] for item in scan_all(self.table, FilterExpression=Attr("kind").eq(MUTE))]

    def items(self) -> Iterator[dict]:
        """Every item as it is stored (`id`, `health`, `changed_at`...): one per list and family, per
        domain and per receiver, the resolver's, and the receivers' index."""
        return scan_all(self.table)

    def save(self, item_id: str, record: Mapping[str, Any], version: int) -> bool:
        kind, _, rest = item_id.partition(":")  # zone:NAME:FAMILY, domain:NAME, receiver:NAME, or resolver
        name, _, family = rest.rpartition(":") if rest.count(":") else (rest, "", "")
        try:
            self.table.update_item(
                Key={"id": item_id},
                UpdateExpression="SET #kind = :kind, #name = :name, #family = :family, #health = :health, "
                "#version = :next, #at = :now",
                # Records written before versions were kept have none: they are at version 0.
                ConditionExpression="attribute_not_exists(#version) OR #version = :seen",
                ExpressionAttributeNames={
                    "#kind": "kind",
                    "#name": "name",
                    "#family": "family",
                    "#health": "health",
                    "#version": "version",
                    "#at": "changed_at",
                },
                ExpressionAttributeValues={
                    ":kind": kind,
                    ":name": name or kind,
                    ":family": int(family) if family.isdigit() else 0,
                    ":health": record,
                    ":next": version + 1,
                    ":seen": version,
                    ":now": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def note_channel(self, number: int, record: Mapping[str, Any]) -> None:
        """What Apprise channel NUMBER did with the last test alert: a plain item (no health record, so
        no alert, no history), the last one wins."""
        self.table.put_item(Item={"id": f"{CHANNEL}:{number}", "kind": CHANNEL, "number": number, **record})

    def receivers(self) -> ReceiverRecords:
        return ReceiverRecords(self)


class ReceiverRecords:
    """The health table's receiver records by the receiver's name (`receiver:NAME`), and the index of
    those with a block."""

    def __init__(self, health: HealthStore):
        self.health = health

    def read(self, names: Iterable[str]) -> dict[str, Stored]:
        found = self.health.read(f"{RECEIVER}:{name}" for name in names)
        return {item_id.partition(":")[2]: stored for item_id, stored in found.items()}

    def save(self, name: str, record: Mapping[str, Any], version: int) -> bool:
        return self.health.save(f"{RECEIVER}:{name}", record, version)

    def blocking(self) -> set[str]:
        item = self.health.table.get_item(Key={"id": RECEIVER_INDEX}, ConsistentRead=True).get("Item") or {}
        return {str(name) for name in item.get("names") or ()}

    def mark(self, name: str, blocking: bool) -> None:
        """ADD or DELETE on a string set: atomic, so two invocations never undo each other."""
        self.health.table.update_item(
            Key={"id": RECEIVER_INDEX},
            UpdateExpression=("ADD" if blocking else "DELETE") + " #names :name",
            ExpressionAttributeNames={"#names": "names"},
            ExpressionAttributeValues={":name": {name}},
        )
