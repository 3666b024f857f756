"""Notifier: changes of findings (and of the deployment's health) -> alerts -> SNS, each exactly once
(and, when AlertEventBus is set, onto that EventBridge bus, each exactly once too).

The whole batch is one decision: alerts of one kind from many changes become one message.
"""

from functools import cache

from aws_lambda_powertools.metrics import MetricUnit

from senderwatch.aws import AlertBus, AlertLog, AlertTopic, HealthStore, History, client, stream_changes
from senderwatch.config import Config
from senderwatch.findings import Stack
from senderwatch.notifier import Change, Silencing, notify
from senderwatch.observability import logger, metrics

CONFIG = Config.from_env(need=("topic_arn", "idempotency_table_name"))
# The deployment the commands an alert suggests name (to run as written there).
STACK = Stack(
    CONFIG.stack_name, CONFIG.table_name, CONFIG.region, CONFIG.check_dead_letter_arn, CONFIG.health_table_name
)


@cache
def _topic() -> AlertTopic:
    return AlertTopic(client("sns"), CONFIG.topic_arn)


@cache
def _bus() -> AlertBus | None:
    return AlertBus(client("events"), CONFIG.alert_event_bus) if CONFIG.alert_event_bus else None


@cache
def _log() -> AlertLog:
    return AlertLog.named(CONFIG.idempotency_table_name)


@cache
def _silencing() -> Silencing | None:
    """The mutes, and the history table that records what they silence (both in every stack)."""
    if not (CONFIG.health_table_name and CONFIG.history_table_name):
        return None
    health, history = HealthStore.named(CONFIG.health_table_name), History.named(CONFIG.history_table_name)
    return Silencing(health, history, CONFIG.history_days)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    changes = [Change(sequence, old, new) for sequence, old, new in stream_changes(event)]
    outcome = notify(changes, _log(), _topic(), _bus(), stack=STACK, silencing=_silencing())
    metrics.add_metric(name="ChangesSeen", unit=MetricUnit.Count, value=len(changes))
    metrics.add_metric(name="AlertsSent", unit=MetricUnit.Count, value=outcome.alerts)
    metrics.add_metric(name="AlertMessages", unit=MetricUnit.Count, value=outcome.messages)
    if CONFIG.alert_event_bus:
        metrics.add_metric(name="AlertEvents", unit=MetricUnit.Count, value=outcome.events)
    metrics.add_metric(name="AlertsMuted", unit=MetricUnit.Count, value=outcome.muted)
    # The stream retries from the oldest failed record; what was published is not sent again.
    return {"batchItemFailures": [{"itemIdentifier": change_id} for change_id in outcome.failed]}
