"""The AWS side, behind small objects: the target table, the queue, the alert topic.

Each wraps one boto3 client or table, so the pipeline is tested against fakes or moto
and a throttled call is retried by botocore's standard retry mode, not by hand.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from .messages import Message

BOTO = BotoConfig(retries={"mode": "standard", "max_attempts": 8})


def resource(name: str):
    return boto3.resource(name, config=BOTO)


def client(name: str):
    return boto3.client(name, config=BOTO)


class TargetStore:
    """Watched targets and their findings (one item per address), plus per-run history."""

    def __init__(self, table, history_table=None):
        self.table = table
        self.history = history_table

    @classmethod
    def named(cls, table_name: str, history_table_name: str = "") -> TargetStore:
        dynamodb = resource("dynamodb")
        return cls(dynamodb.Table(table_name), dynamodb.Table(history_table_name) if history_table_name else None)

    def scan(self) -> Iterator[dict]:
        kwargs: dict = {}
        while True:
            page = self.table.scan(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_many(self, ips: Iterable[str]) -> dict[str, dict]:
        keys = [{"ip": ip} for ip in dict.fromkeys(ips)]
        found: dict[str, dict] = {}
        dynamodb = self.table.meta.client
        for start in range(0, len(keys), 100):
            request = {self.table.name: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            for attempt in range(8):
                reply = dynamodb.batch_get_item(RequestItems=request) if request else {}
                for item in reply.get("Responses", {}).get(self.table.name, []):  # the resource's client decodes
                    found[item["ip"]] = item
                request = reply.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(2.0, 0.05 * 2**attempt))
            if request:
                raise RuntimeError("DynamoDB kept some keys unprocessed; the batch will be retried")
        return found

    def upsert_target(self, item: dict) -> bool:
        """Set what the user sets (ip, sender, helo, label, zones, enabled), keep the findings.

        True when the target is new (its first check follows within a minute).
        """
        fields = {k: v for k, v in item.items() if k != "ip"}
        removed = [name for name in ("sender", "helo", "label", "zones") if name not in fields]
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in fields)
        if removed:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in removed)
        reply = self.table.update_item(
            Key={"ip": item["ip"]},
            UpdateExpression=expression,
            ReturnValues="ALL_OLD",
            ExpressionAttributeNames={f"#{k}": k for k in [*fields, *removed]},
            ExpressionAttributeValues={f":{k}": v for k, v in fields.items()},
        )
        return "Attributes" not in reply

    def delete_target(self, ip: str) -> bool:
        reply = self.table.delete_item(Key={"ip": ip}, ReturnValues="ALL_OLD")
        return "Attributes" in reply

    def save_findings(self, ip: str, findings: dict, now: str) -> bool:
        """Write findings onto the item without touching what the user set.

        False when the target was removed meanwhile (it is not brought back).
        """
        return self._update_existing(
            ip, "SET findings = :f, findings_changed_at = :now REMOVE check_error", {":f": findings, ":now": now}
        )

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

    def record_runs(self, runs: list[dict], expires_at: int) -> None:
        if self.history is None:
            return
        with self.history.batch_writer() as batch:
            for run in runs:
                batch.put_item(Item={**run, "expires_at": expires_at})


class CheckQueue:
    """The SQS queue between the scheduler and the checker."""

    def __init__(self, sqs_client, url: str):
        self.sqs = sqs_client
        self.url = url

    def send(self, bodies: list[dict]) -> int:
        sent = 0
        for start in range(0, len(bodies), 10):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(body)} for i, body in enumerate(bodies[start : start + 10])
            ]
            for attempt in range(8):
                reply = self.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
                sent += len(reply.get("Successful", []))
                failed = {f["Id"] for f in reply.get("Failed", [])}
                entries = [e for e in entries if e["Id"] in failed]
                if not entries:
                    break
                time.sleep(min(2.0, 0.05 * 2**attempt))
            if entries:
                raise RuntimeError(f"SQS refused {len(entries)} message(s); the run will be retried")
        return sent


class AlertTopic:
    """The SNS topic alerts go to; subscriptions (email, SMS) filter on the attributes."""

    def __init__(self, sns_client, topic_arn: str):
        self.sns = sns_client
        self.topic_arn = topic_arn

    def publish(self, message: Message) -> str:
        return self.sns.publish(**message.sns_publish_args(self.topic_arn))["MessageId"]
