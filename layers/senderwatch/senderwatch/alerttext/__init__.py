"""Alert texts a person acts on: what each alert says, alone or grouped, for every channel.

One module per subject words its events, each beside its clearing twin: `addresses` (a listing,
SPF, a host's addresses and name), `deployment` (a list it cannot use, its DNS resolver, the test
alert), `domains` (a domain list, SPF and DMARC records), `receivers` (a receiver's refusal). Their
WORDINGS make up the table below, by event; `model` holds what an alert says (AlertText) and the
channels that show it (the email, the SMS line, the subject, the JSON document).

Alerts of one kind from one run are grouped: one message per event and list names every address
(`render_group`), so a list that starts listing 500 addresses is one email, not 500.

A new event: its member of findings.Event, its decision in findings.py, and its Wording in the
module of its subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..addresses import sort_key
from ..findings import Alert, Event
from . import addresses, deployment, domains, receivers
from .deployment import TEST_EVENT, marked_test_alert
from .model import AlertText, Wording
from .phrases import one_per_address

__all__ = ["TEST_EVENT", "WORDINGS", "AlertText", "group", "group_key", "marked_test_alert", "render", "render_group"]

WORDINGS: dict[Event, Wording] = {
    **addresses.WORDINGS,
    **deployment.WORDINGS,
    **domains.WORDINGS,
    **receivers.WORDINGS,
}


def render(alert: Alert, label: str = "") -> AlertText:
    """What one alert says (LABEL overrides the alert's own)."""
    text = WORDINGS[Event(alert.event)].alone(replace(alert, label=label) if label else alert)
    return replace(text, thread=thread([alert]))


def thread(alerts: Sequence[Alert]) -> str:
    """What a chat threads ALERTS under: their target (an address, a host, a network, a domain, a
    list, a receiver), so a problem and its end share a thread; alerts about several targets, the
    problem and its list."""
    about = {a.target or a.ip or a.zone for a in alerts}
    if len(about) == 1 and "" not in about:
        return f"senderwatch:{about.pop()}"
    event = Event(alerts[0].event)
    problem = WORDINGS[event].clears or event
    return ":".join(["senderwatch", str(problem), *[alerts[0].zone] * bool(alerts[0].zone)])


def group_key(alert: Alert) -> tuple:
    """Alerts with the same key go into one message."""
    return WORDINGS[Event(alert.event)].group(alert)


def group(alerts: Sequence[Alert]) -> list[list[Alert]]:
    groups: dict[tuple, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(group_key(alert), []).append(alert)
    return list(groups.values())


def render_group(alerts: Sequence[Alert]) -> AlertText:
    """What alerts of one group (see group_key) say in one message; a group of one is `render`'s."""
    if len(alerts) == 1:
        return render(alerts[0])
    wording = WORDINGS[Event(alerts[0].event)]
    if wording.together is None:
        raise ValueError(f"{alerts[0].event} alerts are said one by one, not grouped")
    alerts = sorted(alerts, key=lambda a: sort_key(a.ip))
    if not wording.per_address:
        return replace(wording.together(alerts), thread=thread(alerts))
    every = tuple(a.key for a in alerts)  # each is marked as sent; an address watched by several targets is shown once
    shown = one_per_address(alerts)
    text = wording.alone(shown[0]) if len(shown) == 1 else wording.together(shown)
    return replace(text, keys=every, thread=thread(alerts))
