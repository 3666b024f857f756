"""Apprise: each alert on the topic -> every Apprise URL that wants it (Discord, Telegram, ntfy,
Mattermost, PagerDuty, webhooks...); what a URL keeps refusing is parked on the dead-letter queue."""

from functools import cache

from aws_lambda_powertools.metrics import MetricUnit

from senderwatch.apprisesend import send
from senderwatch.aws import DeadLetters, HealthStore, SecretParameter, client, sns_messages
from senderwatch.config import Config
from senderwatch.errors import InvalidLines
from senderwatch.observability import logger, metrics
from senderwatch.relay import as_alert, read_channels, relay

CONFIG = Config.from_env(need=("apprise_parameter", "apprise_dead_letter_url", "health_table_name"))
URLS = SecretParameter(CONFIG.apprise_parameter, max_age=60)  # a changed parameter is read within a minute


@cache
def _deps() -> tuple[DeadLetters, HealthStore]:
    return DeadLetters(client("sqs"), CONFIG.apprise_dead_letter_url), HealthStore.named(CONFIG.health_table_name)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    parking, notes = _deps()
    try:
        channels = read_channels(URLS.get())
    except InvalidLines as exc:  # the invocation fails (retried, then parked): each line said without its URL
        logger.error("Apprise URLs cannot be used", extra={"lines": exc.lines})
        raise
    delivered = parked = 0
    for message_id, subject, document in sns_messages(event):
        outcome = relay(as_alert(subject, document), message_id, channels, send, parking, notes)
        delivered, parked = delivered + len(outcome.delivered), parked + len(outcome.parked)
    metrics.add_metric(name="ChannelDeliveries", unit=MetricUnit.Count, value=delivered)
    metrics.add_metric(name="ChannelsParked", unit=MetricUnit.Count, value=parked)
    return {"delivered": delivered, "parked": parked}
