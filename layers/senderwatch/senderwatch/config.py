"""One configuration object, read once from the environment and validated at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError
from .nameservers import DNS_TIMEOUT, parse_nameserver
from .text import words
from .zones import deployment_zones

__all__ = ["Config", "ConfigError"]


@dataclass(frozen=True)
class Config:
    table_name: str = ""
    history_table_name: str = ""
    health_table_name: str = ""
    queue_url: str = ""
    topic_arn: str = ""
    alert_event_bus: str = ""  # the EventBridge bus alerts also go to ("" for none): a name or an ARN
    idempotency_table_name: str = ""
    zones: tuple[str, ...] = ()
    nameservers: tuple[tuple[str, int], ...] = ()
    dqs_parameter: str = ""
    reminder_days: int = 0
    history_days: int = 90
    targets_per_message: int = 25
    dns_timeout: float = DNS_TIMEOUT
    schedule_expression: str = ""  # the checks' schedule (the digest judges by it how fresh each target is)
    stack_name: str = ""  # the stack: what the commands an alert suggests name (--stack)
    region: str = ""  # Lambda's own AWS_REGION
    check_dead_letter_arn: str = ""  # the check dead-letter queue (the command to move its messages back)
    apprise_parameter: str = ""  # the SSM SecureString of the Apprise URLs (the Apprise function's)
    apprise_dead_letter_url: str = ""  # where that function parks what a URL keeps refusing

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, need: tuple[str, ...] = ()) -> Config:
        env = os.environ if env is None else env

        def number(name: str, default, kind, low, high):
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a number") from None
            if not low <= value <= high:
                raise ConfigError(f"{name}={raw!r} must be between {low} and {high}")
            return value

        try:
            zones = deployment_zones(words(env.get("ZONES", "")))
            nameservers = tuple(parse_nameserver(n) for n in words(env.get("NAMESERVERS", "")))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        config = cls(
            table_name=env.get("TABLE_NAME", ""),
            history_table_name=env.get("HISTORY_TABLE_NAME", ""),
            health_table_name=env.get("HEALTH_TABLE_NAME", ""),
            queue_url=env.get("QUEUE_URL", ""),
            topic_arn=env.get("TOPIC_ARN", ""),
            alert_event_bus=env.get("ALERT_EVENT_BUS", "").strip(),
            idempotency_table_name=env.get("IDEMPOTENCY_TABLE_NAME", ""),
            zones=zones,
            nameservers=nameservers,
            dqs_parameter=env.get("DQS_KEY_PARAMETER", "").strip(),
            reminder_days=number("REMINDER_DAYS", 0, int, 0, 365),
            history_days=number("HISTORY_DAYS", 90, int, 1, 3650),
            targets_per_message=number("TARGETS_PER_MESSAGE", 25, int, 1, 500),
            dns_timeout=number("DNS_TIMEOUT", DNS_TIMEOUT, float, 0.1, 60),
            schedule_expression=env.get("SCHEDULE_EXPRESSION", "").strip(),
            stack_name=env.get("STACK_NAME", "").strip(),
            region=env.get("AWS_REGION", "").strip(),
            check_dead_letter_arn=env.get("CHECK_DEAD_LETTER_ARN", "").strip(),
            apprise_parameter=env.get("APPRISE_URLS_PARAMETER", "").strip(),
            apprise_dead_letter_url=env.get("APPRISE_DEAD_LETTER_URL", "").strip(),
        )
        missing = [name for name in need if not getattr(config, name)]
        if missing:
            raise ConfigError("missing configuration: " + ", ".join(n.upper() for n in missing))
        return config
