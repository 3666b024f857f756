"""Digest: on its schedule (weekly by default), the period's history and the targets as they are
now -> one summary on the alert topic: by email always, by SMS when something is wrong."""

from datetime import UTC, datetime, timedelta
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit

from senderwatch.aws import AlertTopic, HealthStore, History, TargetStore, client
from senderwatch.config import Config
from senderwatch.digest import DAYS, send_digest
from senderwatch.findings import Stack
from senderwatch.history import read_history
from senderwatch.observability import logger, metrics

CONFIG = Config.from_env(need=("table_name", "history_table_name", "health_table_name", "topic_arn"))
STACK = Stack(CONFIG.stack_name, CONFIG.table_name, CONFIG.region)  # what the digest's command names


@cache
def _deps() -> tuple[TargetStore, History, HealthStore, AlertTopic]:
    return (
        TargetStore.named(CONFIG.table_name),
        History.named(CONFIG.history_table_name),
        HealthStore.named(CONFIG.health_table_name),
        AlertTopic(client("sns"), CONFIG.topic_arn),
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    targets, history, health, topic = _deps()
    now = datetime.now(UTC)
    records = list(health.items())  # the history's health records, and the lists' for how fresh the targets are
    period = read_history(history, None, now - timedelta(days=DAYS), now, health=records)
    digest = send_digest(
        period, targets.scan(), topic, now, lists=records, schedule=CONFIG.schedule_expression, stack=STACK
    )
    metrics.add_metric(name="DigestProblemsOpen", unit=MetricUnit.Count, value=len(digest.open))
    metrics.add_metric(name="StaleTargets", unit=MetricUnit.Count, value=len(digest.stale))
    return {
        "wrong": digest.wrong,
        "targets": digest.targets,
        "runs": digest.runs,
        "open": len(digest.open),
        "cleared": len(digest.cleared),
        "unusable": len(digest.unusable),
        "stale": len(digest.stale),
    }
