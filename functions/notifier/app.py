"""Notifier: a change of a target's findings -> the alerts it deserves -> SNS, each exactly once."""

from dataclasses import asdict
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from senderwatch.aws import AlertTopic, client
from senderwatch.config import Config
from senderwatch.messages import Message
from senderwatch.observability import logger, metrics, tracer
from senderwatch.pipeline import alerts_for_change

CONFIG = Config.from_env(need=("topic_arn", "idempotency_table_name"))
# Failures are reported per record, even when all fail: the stream retries from the first.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
# A stream retry after a partly published record must not send the published alerts again:
# each alert is published once per key (event, address, list, since when) for two days.
idempotency = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=2 * 86400)
persistence = DynamoDBPersistenceLayer(table_name=CONFIG.idempotency_table_name)


@cache
def _topic() -> AlertTopic:
    return AlertTopic(client("sns"), CONFIG.topic_arn)


@idempotent_function(data_keyword_argument="alert", persistence_store=persistence, config=idempotency)
def publish(alert: dict) -> str:
    return _topic().publish(Message(**alert))


@tracer.capture_method
def record_handler(record: DynamoDBRecord) -> int:
    change = record.dynamodb
    messages = alerts_for_change(change.old_image if change else None, change.new_image if change else None)
    metrics.add_metric(name="ChangesSeen", unit=MetricUnit.Count, value=1)
    for message in messages:
        publish(alert=asdict(message))  # a failure fails this record: the stream retries it
        metrics.add_metric(name="AlertsSent", unit=MetricUnit.Count, value=1)
        logger.info("alert sent", extra=message.attributes)
    return len(messages)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
