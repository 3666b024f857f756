"""Checker: one queue message of targets -> DNSBL, SPF and rDNS checks -> findings."""

from datetime import UTC, datetime
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit

from senderwatch.aws import CheckQueue, HealthStore, History, SecretParameter, TargetStore, client
from senderwatch.checker import run_checks
from senderwatch.config import Config
from senderwatch.dnssession import PROBE, DnsInvocation, probe_lists
from senderwatch.observability import add_counts, logger, metrics, partial_batch
from senderwatch.runs import parse_message

CONFIG = Config.from_env(need=("table_name", "queue_url"))


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


@cache
def _dqs_key() -> SecretParameter | None:
    return SecretParameter(CONFIG.dqs_parameter) if CONFIG.dqs_parameter else None


def _checks() -> DnsInvocation:
    """How to check, for one invocation: its messages share one probe of the lists."""
    secret = _dqs_key()  # the Spamhaus DQS key: SecureString in SSM, cached for 5 minutes, never logged
    dqs_key = (secret.get().strip() or None) if secret else None
    return DnsInvocation(CONFIG.nameservers, CONFIG.dns_timeout, CONFIG.zones, dqs_key)


def check_message(record: dict, checks: DnsInvocation, context) -> dict:
    run, items = parse_message(record.get("body", ""))
    summary = run_checks(
        items,
        _store(),
        checks,
        datetime.now(UTC),
        run=run,
        history=_history(),
        health=_health(),
        delivery=int(record.get("attributes", {}).get("ApproximateReceiveCount") or 1),
        reminder_days=CONFIG.reminder_days,
        history_days=CONFIG.history_days,
        time_left=(lambda: context.get_remaining_time_in_millis() / 1000) if context else None,
        requeue=_queue().send,  # near the timeout, the targets not yet checked go back to the queue
    )
    metrics.add_metric(name="TargetsChecked", unit=MetricUnit.Count, value=summary.checked)
    metrics.add_metric(name="Listings", unit=MetricUnit.Count, value=summary.listed)
    metrics.add_metric(name="CheckErrors", unit=MetricUnit.Count, value=summary.errors)
    metrics.add_metric(name="FindingsChanged", unit=MetricUnit.Count, value=summary.changed)
    metrics.add_metric(name="SpfFailing", unit=MetricUnit.Count, value=summary.spf_failing)
    metrics.add_metric(name="ListsUnusable", unit=MetricUnit.Count, value=summary.unusable_lists)
    add_counts("ListedAddresses", "Zone", summary.listed_on)
    logger.info("checked", extra=vars(summary))
    return vars(summary)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    """Each message alone: a failed one is retried by the queue, the others are kept.
    {"senderwatch": "probe"} (from `senderwatch doctor`) asks the lists' test entries only."""
    checks = _checks()
    if event.get("senderwatch") == PROBE:
        return probe_lists(checks)
    response = partial_batch(event.get("Records", []), lambda record: check_message(record, checks, context))
    metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=len(response["batchItemFailures"]))
    return response
