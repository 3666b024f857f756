"""What the alerts about the deployment itself say: a list it cannot use (for every address, or
for one) and its return, a DNS resolver that does not work and its return, and the test alert.

Each event is worded beside its twin; WORDINGS (before the test alert) says which function says which
event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..addresses import family_name
from ..findings import Alert, Event
from ..records import count as number  # a count as a record holds it
from ..text import counted
from ..zones import catalogue
from .model import (
    AlertText,
    Code,
    Facts,
    Lines,
    Rows,
    Step,
    Steps,
    Wording,
    alone,
    by_address,
    said,
)
from .phrases import (
    address_row,
    capped,
    clean,
    date,
    dead_letters_back,
    every_address,
    few,
    lasted,
    reminded,
    senderwatch,
    who,
)

TEST_EVENT = "TEST_ALERT"  # not a finding's event: `senderwatch test-alert` sends it

_UNUSABLE = {
    "blocked": "the list refuses queries from this deployment's resolver",
    "timeout": "the list does not answer: it may be down, or gone",
    "servfail": "the list fails to answer: it may be down, or gone",
    "refused": "the list refuses to answer",
    "bad-answer": "its answers are outside 127.0.0.0/8: a resolver rewrites them, or the list is gone",
    "lists-everything": "it lists its own 'clean' test entry: it lists everything",
    "lists-nothing": "it does not list its own 'listed' test entry: it lists nothing",
}


def _for_family(details: dict) -> str:
    return f" for {family_name(details['family'])} addresses" if details.get("family") else ""


# -- a list it cannot use: CHECK_FAILING, CHECK_RECOVERED -------------------------------------------


def _check_failing(alert: Alert) -> AlertText:
    """A list unusable for the whole deployment (no address), or one that fails for one address."""
    return _address_unchecked(alert) if alert.ip else _list_unusable(alert)


def _address_unchecked(alert: Alert) -> AlertText:
    d = clean(alert.details)
    ip, error, runs, prefix = alert.ip, d.get("error", "?"), number(d.get("error_runs")), reminded(alert)[1]
    named = who(ip, alert.label, alert.target, alert.also)
    what = (
        f"senderwatch could not check {ip} on {alert.zone} for {counted(runs, 'run')} in a row "
        f"(since {date(alert.since)}): {error}.",
        "The list answers for other addresses; for this one it did not. The last known verdict is kept;",
        "this is not a listing. If it stays so, the list may be rate-limiting this deployment.",
    )
    return said(
        [alert],
        [f"Cannot check {named} on {alert.zone}", f"Cannot check {ip} on {alert.zone}"],
        [
            f"{prefix} cannot check {ip} on {alert.zone} ({error}) for {counted(runs, 'run')}.",
            f"{prefix} cannot check {ip}.",
        ],
        [Lines(*what)],
    )


def _list_unusable(alert: Alert) -> AlertText:
    d = clean(alert.details)
    error, runs = d.get("error", "?"), number(d.get("runs"))
    family = _for_family(d)
    codes = f" ({', '.join(d['codes'])})" if d.get("codes") else ""
    zone = catalogue().get(alert.zone)
    if error == "blocked" and zone is not None and zone.dqs:
        fix = (
            "Store a free Spamhaus DQS key in SSM and set DqsKeyParameter "
            "(see 'Spamhaus through SSM' in docs/deploy.md)."
        )
    elif error == "blocked":
        fix = f"Register this deployment's resolver with {alert.zone} (see its terms), or remove the list."
    else:
        fix = f"If it stays so, remove {alert.zone} from the Zones parameter."
    return said(
        [alert],
        [f"senderwatch cannot use the list {alert.zone}{family}: {error}", f"senderwatch cannot use {alert.zone}"],
        [
            f"senderwatch: list {alert.zone} unusable{family} for {counted(runs, 'run')} ({error}). "
            "No address checked on it.",
            f"senderwatch: list {alert.zone} unusable ({error}).",
        ],
        [
            Lines(
                f"senderwatch could not use the DNS blocklist {alert.zone}{family} for {counted(runs, 'run')} "
                f"in a row (since {date(alert.since)}): {error}{codes}.",
                f"Why: {_UNUSABLE.get(error, d.get('detail') or error)}.",
            ),
            Lines(
                "No address was asked on this list meanwhile; each keeps its last verdict. This is about the",
                "deployment, not about any of your addresses: you get this once, not once per address.",
            ),
            Steps(Step(fix)),
        ],
    )


def _check_failing_together(alerts: Sequence[Alert]) -> AlertText:
    """A list that fails for several addresses (and answers for others): one message naming them."""
    first, count, ips = alerts[0], len(alerts), [a.ip for a in alerts]
    d = clean(first.details)
    error, prefix = d.get("error", "?"), reminded(first)[1]
    return said(
        alerts,
        [f"Cannot check {count} addresses on {first.zone} ({error})", f"Cannot check {count} addresses"],
        [
            f"{prefix} cannot check {count} addresses on {first.zone} ({error}): {few(ips, 2)}.",
            f"{prefix} cannot check.",
        ],
        [
            Lines(
                f"senderwatch could not check {count} of your addresses on {first.zone} for "
                f"{counted(number(d.get('error_runs')), 'run')} in a row (since {date(min(a.since for a in alerts))}): "
                f"{error}.",
                "The list answers for other addresses; for these it did not. Their last known verdicts are kept;",
                "this is not a listing. If it stays so, the list may be rate-limiting this deployment.",
            ),
            Rows(*capped([address_row(a, "") for a in alerts]), heading="Addresses:"),
        ],
        data=every_address(ips),
    )


def _by_error(alert: Alert) -> tuple:
    return (alert.event, alert.zone, alert.details.get("error"), bool(alert.reminder))


def _usable_again(alert: Alert) -> AlertText:
    """A list, or the resolver, that works again."""
    d = clean(alert.details)
    what = f"the list {alert.zone}{_for_family(d)}" if alert.zone else "its DNS resolver"
    failing = f"{counted(number(d.get('failed_runs')), 'failing run')} since {date(d.get('failed_since', ''))}"
    after = f"failing for {lasted(alert)} ({failing})" if lasted(alert) else failing
    works = Lines(
        f"senderwatch can use {what} again (since {date(alert.since)}), after {after}.",
        "Nothing to do for the checks to go on.",
    )
    return said([alert], f"senderwatch can use {what} again", f"senderwatch: {what} works again.", [works])


# -- its DNS resolver: RESOLVER_FAILING, RESOLVER_RECOVERED -----------------------------------------


def _resolver_failing(alert: Alert) -> AlertText:
    d = clean(alert.details)
    kind = d.get("error", "?")
    return said(
        [alert],
        "senderwatch could not check addresses: its DNS resolver does not work",
        f"senderwatch: DNS resolver not working ({kind}): addresses could not be checked, twice in a row.",
        [
            Lines(
                "senderwatch could not check addresses in its run: the DNS resolver it uses does not work,",
                "and did not when the checks were tried again half an hour later.",
            ),
            Facts(("Since", date(alert.since)), ("Problem", d.get("detail") or kind), width=10),
            Steps(
                Step("With the Nameservers parameter set: check that those resolvers answer from AWS Lambda."),
                Step(
                    "Without it: the VPC resolver failed; the checks are tried once more, then kept in the",
                    "check dead-letter queue.",
                ),
            ),
            Lines("No finding changes while this lasts, and nothing is reported as clean.", gap=False),
        ],
    )


def _resolver_recovered(alert: Alert) -> AlertText:
    """The resolver works again: what could not be checked meanwhile waits in the dead-letter queue."""
    command = dead_letters_back(alert)
    move_back = Step(
        "Checks that could not be done meanwhile went to the check dead-letter queue (its alarm says",
        "so); the next daily run checks every address again. To check them now, move them back"
        + (":" if command else " (the stack's CheckDeadLetterQueueUrl output names the queue)."),
        *([command] if command else []),
    )
    text = _usable_again(alert)
    return replace(text, body=(*text.body, Steps(move_back, heading="", bullet="", gap=False)))


# -- a mute that is over while what it silenced is still wrong: MUTE_ENDED --------------------------

_SCOPES = {"target": "the target", "zone": "the list", "event": "the event", "domain": "the domain"}


def _mute_ended(alert: Alert) -> AlertText:
    """A mute ended at its time, and what it silenced is still there: what, and how to go on."""
    d = clean(alert.details)
    what = f"{_SCOPES.get(str(d.get('scope')), 'the')} {alert.target}"
    rows = _still_rows([s for s in d.get("still") or [] if isinstance(s, dict)])
    count = counted(len(rows), "problem")
    return said(
        [alert],
        [f"Mute of {what} ended: {count} still there", f"Mute of {what} ended", "A senderwatch mute ended"],
        [f"senderwatch: mute of {what} ended; {count} still there.", "senderwatch: a mute ended; problems remain."],
        [
            Lines(
                f"The mute of {what} ended on {date(alert.since)}, and what it silenced is still wrong.",
                f"It was set by {d.get('by') or 'someone'} on {date(str(d.get('at', '')))}: {d.get('reason') or '-'}.",
                "Alerts about it are sent again from now on (its reminders too, when they are on).",
            ),
            Rows(*capped(rows), heading="Still there:"),
            Steps(
                Step("See where it stands:", senderwatch(alert.stack, "status", "--problems")),
                Step("Or silence it for another week, saying why:", _mute_command(alert, d)),
            ),
        ],
        about={"mute": str(d.get("id", ""))},
    )


def _still_rows(still: list[dict]) -> list[str]:
    """What a mute silenced that is still wrong, one row per problem: an address watched twice (by
    its host, and alone) is one row naming both targets, as the problem's own alerts name them."""
    same: dict[tuple[str, str, str], list[dict]] = {}
    for s in still:
        same.setdefault((str(s.get("event", "")), str(s.get("ip") or ""), str(s.get("zone") or "")), []).append(s)
    rows = []
    for (event, ip, zone), found in same.items():
        targets = list(dict.fromkeys(str(s.get("target") or "") for s in found))
        hosts = [t for t in targets if t and t != ip]
        alone = [ip] if hosts and len(hosts) < len(targets) else []  # the address watched on its own too
        shown = who(ip, "", ", ".join(hosts + alone)) if ip else ""
        since = min((str(s["since"]) for s in found if s.get("since")), default="")
        rows.append(" ".join(filter(None, (event, shown, zone))) + (f" (since {date(since)})" if since else ""))
    return rows


def _mute_command(alert: Alert, d: dict) -> Code:
    scope = str(d.get("scope", "target"))
    which = [alert.target] if scope == "target" else [f"--{scope}", alert.target]
    return senderwatch(alert.stack, "mute", *which, "--for", "7d", "--reason", "still being fixed")


WORDINGS = {
    Event.MUTE_ENDED: Wording(_mute_ended, alone),
    Event.CHECK_FAILING: Wording(_check_failing, by_address(_by_error), _check_failing_together, per_address=True),
    Event.CHECK_RECOVERED: Wording(_usable_again, alone, clears=Event.CHECK_FAILING),
    Event.RESOLVER_FAILING: Wording(_resolver_failing, alone),
    Event.RESOLVER_RECOVERED: Wording(_resolver_recovered, alone, clears=Event.RESOLVER_FAILING),
}


# -- the test alert ---------------------------------------------------------------------------------


def marked_test_alert(stack: str, stamp: str) -> AlertText:
    """What `senderwatch test-alert` sends through stack STACK's topic at STAMP: clearly marked."""
    name = stack if len(stack) <= 40 else stack[:37] + "..."  # the subject and the SMS stay in their limits
    return AlertText(
        event=TEST_EVENT,
        severity="info",
        title=(f"senderwatch TEST ALERT - nothing is wrong ({name})",),
        line=(f"senderwatch TEST ALERT ({name}, {stamp}): nothing is wrong; alerts will reach this phone.",),
        body=(
            Lines("TEST ALERT - nothing is wrong. This is what a senderwatch alert looks like where it arrives."),
            Facts(
                ("Sent by", f"senderwatch test-alert, stack {stack}, {stamp}"),
                ("Event", f"{TEST_EVENT} (a real alert says LISTED, SPF_FAILING, RECEIVER_BLOCKED, ...)"),
            ),
            Lines(
                "A real alert says what changed, since when, the list's or receiver's own words, and what to do,",
                "with your address filled in. This one changed nothing: no finding, no record of sent alerts.",
            ),
            Lines("If this reached you by email and by SMS, alerts will too."),
        ),
    )
