"""Scheduler: every watched target (the daily run), or newly added ones (at once), onto the check queue."""

from datetime import UTC, datetime
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit

from senderwatch.aws import CheckQueue, HealthStore, TargetStore, client, stream_inserts
from senderwatch.config import Config
from senderwatch.observability import logger, metrics
from senderwatch.scheduler import end_mutes, now_iso, plan_messages, start_run

CONFIG = Config.from_env(need=("table_name", "queue_url"))


@cache
def _deps() -> tuple[TargetStore, CheckQueue]:
    return TargetStore.named(CONFIG.table_name), CheckQueue(client("sqs"), CONFIG.queue_url)


@cache
def _health() -> HealthStore:
    return HealthStore.named(CONFIG.health_table_name)


def _new_target_keys(event: dict) -> list[str]:
    """The keys of the targets a stream batch inserted; a record without one is skipped, with a warning."""
    keys = []
    for sequence, name, key in stream_inserts(event):
        if name != "INSERT":  # the event source's filter lets only INSERT through; anything else is not new
            logger.warning("stream record that is not an INSERT skipped", extra={"sequence": sequence, "event": name})
        elif isinstance(key.get("ip"), str):
            keys.append(key["ip"])
        else:
            logger.warning("stream record without an 'ip' key skipped", extra={"sequence": sequence})
    return keys


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    store, queue = _deps()
    started = datetime.now(UTC)
    now = now_iso(started)
    if "Records" in event:  # targets just added (the table's stream, INSERT only): check them now
        # Read the items as they are now: a stream image may be older than the last edit.
        items = store.get_many(_new_target_keys(event)).values()
        run = start_run(started, scheduled=False)
    else:  # the daily schedule
        items = list(store.scan())
        run = start_run(started, scheduled=True)
    plan = plan_messages(items, CONFIG.targets_per_message, run, whole="Records" not in event)
    for ip, problem in plan.invalid:
        logger.warning("target skipped", extra={"ip": ip, "problem": problem})
        store.mark_invalid(ip, problem, now)
    sent = queue.send(plan.messages)
    if run.scheduled and CONFIG.health_table_name:  # the daily run ends the mutes that are over
        for mute in end_mutes(_health(), list(items), list(_health().items()), started):
            logger.info("mute ended", extra={"mute": mute.get("id"), "how": mute.get("ended_by")})
    metrics.add_metric(name="TargetsScheduled", unit=MetricUnit.Count, value=plan.targets)
    metrics.add_metric(name="InvalidTargets", unit=MetricUnit.Count, value=len(plan.invalid))
    return {"targets": plan.targets, "messages": sent, "invalid": len(plan.invalid), "disabled": plan.disabled}
