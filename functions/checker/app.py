"""Checker: one queue message of targets -> DNSBL, SPF and rDNS checks -> findings."""

from datetime import UTC, datetime
from functools import cache, partial

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from senderwatch.aws import CheckQueue, HealthStore, History, TargetStore, client
from senderwatch.checker import DnsChecks, run_checks
from senderwatch.config import Config
from senderwatch.observability import LoggedBatchProcessor, logger, metrics, tracer
from senderwatch.runs import parse_message

CONFIG = Config.from_env(need=("table_name", "queue_url"))
processor = LoggedBatchProcessor(EventType.SQS)


@cache
def _store() -> TargetStore:
    return TargetStore.named(CONFIG.table_name)


@cache
def _history() -> History | None:
    return History.named(CONFIG.history_table_name) if CONFIG.history_table_name else None


@cache
def _health() -> HealthStore | None:
    return HealthStore.named(CONFIG.health_table_name) if CONFIG.health_table_name else None


@cache
def _queue() -> CheckQueue:
    return CheckQueue(client("sqs"), CONFIG.queue_url)


def _checks() -> DnsChecks:
    """How to check, for one invocation: its messages share one probe of the lists."""
    dqs_key = None
    if CONFIG.dqs_parameter:  # SecureString in SSM, cached for 5 minutes, never logged
        dqs_key = parameters.get_parameter(CONFIG.dqs_parameter, decrypt=True, max_age=300).strip() or None
    return DnsChecks(CONFIG.nameservers, CONFIG.dns_timeout, CONFIG.zones, dqs_key)


@tracer.capture_method
def record_handler(record: SQSRecord, checks: DnsChecks, lambda_context=None) -> dict:
    run, items = parse_message(record.body)
    summary = run_checks(
        items,
        _store(),
        checks,
        datetime.now(UTC),
        run=run,
        history=_history(),
        health=_health(),
        delivery=int(record.attributes.approximate_receive_count or 1),
        reminder_days=CONFIG.reminder_days,
        history_days=CONFIG.history_days,
        time_left=(lambda: lambda_context.get_remaining_time_in_millis() / 1000) if lambda_context else None,
        requeue=_queue().send,  # near the timeout, the targets not yet checked go back to the queue
    )
    metrics.add_metric(name="TargetsChecked", unit=MetricUnit.Count, value=summary.checked)
    metrics.add_metric(name="Listings", unit=MetricUnit.Count, value=summary.listed)
    metrics.add_metric(name="CheckErrors", unit=MetricUnit.Count, value=summary.errors)
    metrics.add_metric(name="FindingsChanged", unit=MetricUnit.Count, value=summary.changed)
    logger.info("checked", extra=vars(summary))
    return vars(summary)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    handler = partial(record_handler, checks=_checks())
    return process_partial_response(event=event, record_handler=handler, processor=processor, context=context)
