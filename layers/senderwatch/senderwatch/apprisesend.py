"""Apprise, behind one function: send one message to one URL. Only the Apprise function imports
this module; Apprise is in that function's package, not in the layer, so no other function's cold
start carries it.

Apprise's own logger says URLs (`Sent ntfy notification to 'https://...'`, a webhook's full path
with its token): it is cut off from every handler here, and what a failure was is said by the relay
stage in its own words, naming the channel, never its URL.
"""

from __future__ import annotations

import logging

import apprise

from .relay import Message, Sent

_APPRISE_LOG = logging.getLogger("apprise")  # the root of every logger Apprise has
_APPRISE_LOG.handlers[:] = [logging.NullHandler()]
_APPRISE_LOG.propagate = False  # not to the root logger, which Lambda's runtime prints
_APPRISE_LOG.setLevel(logging.CRITICAL + 1)

TIMEOUT = 10.0  # seconds one try may take; the relay tries again


def send(message: Message) -> Sent:
    """One try: OK when the service took it, FAILED when it refused or did not answer, UNUSABLE
    when the URL is not one Apprise knows (no try will do better)."""
    sender = apprise.Apprise()
    if not sender.add(message.url):
        return Sent.UNUSABLE
    result = sender.notify(
        body=message.body,
        title=message.title,
        notify_type=message.notify_type,
        body_format=message.body_format,
        timeout=TIMEOUT,
        log_level=logging.CRITICAL + 1,  # its captured log would hold the URL too
    )
    return Sent.OK if result else Sent.FAILED
