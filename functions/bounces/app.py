"""Bounces: the mail server's log, from its CloudWatch Logs group -> what each receiver says of the
sender (the health table), so that a receiver's ban becomes an alert within a minute."""

from datetime import UTC, datetime
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit

from senderwatch.aws import HealthStore, History, ReceiverRecords, log_events
from senderwatch.config import Config
from senderwatch.observability import logger, metrics
from senderwatch.receiverwatch import watch_log

CONFIG = Config.from_env(need=("health_table_name",))


@cache
def _receivers() -> ReceiverRecords:
    return HealthStore.named(CONFIG.health_table_name).receivers()


@cache
def _history() -> History | None:
    return History.named(CONFIG.history_table_name) if CONFIG.history_table_name else None


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    server, events = log_events(event)  # the log stream: which mail server the lines are from
    seen = watch_log(
        events, _receivers(), datetime.now(UTC), server=server, history=_history(), history_days=CONFIG.history_days
    )
    metrics.add_metric(name="LogLinesRead", unit=MetricUnit.Count, value=seen.lines)
    metrics.add_metric(name="ReceiverRejections", unit=MetricUnit.Count, value=seen.rejections)
    logger.info("mail log read", extra=vars(seen))
    return vars(seen)
