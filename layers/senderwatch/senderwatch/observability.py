"""Powertools, configured once: service name and metric namespace come from the template's Globals.

The package logs through the standard `logging` module under "senderwatch.*"; Powertools'
Logger owns the "senderwatch" logger, so those records come out as its JSON lines too.

Traces: the functions run with X-Ray active (`Tracing: Active`), which records each
invocation and its cold start. The X-Ray SDK, which would add a subsegment per AWS call, is
left out: importing it costs more than 100 ms at every cold start, more than it tells.
"""

from collections.abc import Callable, Mapping

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from .errors import InvalidMessage

logger = Logger()
metrics = Metrics()


def add_counts(name: str, dimension: str, counts: Mapping[str, int]) -> None:
    """One metric NAME per value of DIMENSION (a list's zone: ListedAddresses by Zone), each its own
    EMF line now (the invocation's metrics share one set of dimensions). A dimension per list is a
    few metrics, not one per address."""
    if is_metrics_disabled():
        return
    for value, count in sorted(counts.items()):
        with single_metric(name=name, unit=MetricUnit.Count, value=count, namespace=metrics.namespace) as metric:
            metric.add_dimension(name="service", value=metrics.service or "senderwatch")
            metric.add_dimension(name=dimension, value=value)


def partial_batch(records: list[dict], handle: Callable[[dict], object], key: str = "messageId") -> dict:
    """Handle each record of an SQS batch; the response Lambda needs to retry just the failed ones.

    A failed record is one ERROR log line saying which and why; the others are kept. An event
    that is not an SQS batch at all is refused whole (InvalidMessage), not taken apart.
    """
    if not all(isinstance(r, dict) and r.get(key) for r in records):
        raise InvalidMessage(f"not an SQS event: every record needs a {key!r}")
    failed = []
    for record in records:
        try:
            handle(record)
        except Exception as exc:  # noqa: BLE001 - reported per record, retried by the queue
            logger.error("record failed", extra={"record": record.get(key), "reason": f"{type(exc).__name__}: {exc}"})
            failed.append({"itemIdentifier": record.get(key)})
    return {"batchItemFailures": failed}
