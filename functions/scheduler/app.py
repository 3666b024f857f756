"""Scheduler: every watched target, or a newly added one, onto the check queue."""

from datetime import UTC, datetime
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

from senderwatch.aws import CheckQueue, TargetStore, client
from senderwatch.config import Config
from senderwatch.observability import logger, metrics, tracer
from senderwatch.pipeline import now_iso, plan_messages

CONFIG = Config.from_env(need=("table_name", "queue_url"))


@cache
def _deps() -> tuple[TargetStore, CheckQueue]:
    return TargetStore.named(CONFIG.table_name), CheckQueue(client("sqs"), CONFIG.queue_url)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    store, queue = _deps()
    if "Records" in event:  # targets just added (the table's stream, INSERT only): check them now
        stream = DynamoDBStreamEvent(event)
        # Read the items as they are now: a stream image may be older than the last edit.
        items = store.get_many(str(r.dynamodb.keys["ip"]) for r in stream.records if r.dynamodb).values()
    else:  # the daily schedule
        items = store.scan()
    plan = plan_messages(items, CONFIG.targets_per_message)
    now = now_iso(datetime.now(UTC))
    for ip, problem in plan.invalid:
        logger.warning("target skipped", extra={"ip": ip, "problem": problem})
        store.mark_invalid(ip, problem, now)
    sent = queue.send(plan.messages)
    metrics.add_metric(name="TargetsScheduled", unit=MetricUnit.Count, value=plan.targets)
    metrics.add_metric(name="InvalidTargets", unit=MetricUnit.Count, value=len(plan.invalid))
    return {"targets": plan.targets, "messages": sent, "invalid": len(plan.invalid), "disabled": plan.disabled}
