"""A run of checks, and the queue message that carries part of it from the scheduler to the checker."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .errors import InvalidMessage


@dataclass(frozen=True)
class Run:
    """One run of checks: when it began (the same for every message of it), and whether it
    is a scheduled run (which counts toward CHECK_FAILING) or the first check of new targets."""

    id: str = ""
    scheduled: bool = False


MANUAL = Run()  # a check outside any run (a message sent by hand): it never counts toward CHECK_FAILING


def message_body(run: Run, targets: list[dict]) -> dict:
    """The body of one queue message: the run, and the targets (as their items say)."""
    return {"run": run.id, "scheduled": run.scheduled, "targets": targets}


def parse_message(body: str) -> tuple[Run, list[dict]]:
    """The run and the targets of one queue message; InvalidMessage for anything else."""
    try:
        message = json.loads(body)
    except (TypeError, ValueError):
        raise InvalidMessage("the message is not JSON") from None
    targets = message.get("targets") if isinstance(message, dict) else None
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise InvalidMessage("the message has no 'targets' list")
    run = message.get("run", "")
    if not isinstance(run, str) or not run:
        return MANUAL, targets
    return Run(run, message.get("scheduled") is True), targets
