"""Powertools, configured once: service name and metric namespace come from the template's Globals.

The package logs through the standard `logging` module under "senderwatch.*"; Powertools'
Logger owns the "senderwatch" logger, so those records come out as its JSON lines too.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class LoggedBatchProcessor(BatchProcessor):
    """A batch processor that says, in one ERROR line, which record failed and why.

    Failures are reported per record, even when all fail: the queue retries just those.
    """

    def __init__(self, event_type: EventType):
        super().__init__(event_type=event_type, raise_on_entire_batch_failure=False)

    def failure_handler(self, record, exception):
        kind, value = exception[0], exception[1]
        logger.error(
            "record failed",
            extra={
                "record": getattr(record, "message_id", None),
                "reason": f"{getattr(kind, '__name__', kind)}: {value}",
            },
        )
        return super().failure_handler(record, exception)
