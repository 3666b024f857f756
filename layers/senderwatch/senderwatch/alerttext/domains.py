"""What the alerts about a domain's own health say: a listing on a domain list and its end (the
domains one list starts listing in one run in one message), an SPF or a DMARC record broken and
fixed.

Each event is worded beside its twin; WORDINGS at the end says which function says which event.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..findings import Alert, Event, failed_by_record
from ..text import clean_text, counted
from .model import AlertText, Block, Facts, Lines, Rows, Step, Steps, Wording, alone, by_list, said
from .phrases import WATCHING, capped, catalogue_zone, clean, date, few, how_long, lasted

_ROLES = {"sender": "your sender domain", "helo": "your HELO name", "ptr": "a PTR name of your addresses"}
_RECORD_FIXES = {
    "no-record": "Publish the record that is missing, or remove the term that points at it.",
    "multiple-records": "Merge the SPF records into one TXT record: receivers use none of several.",
    "syntax-error": "Correct the term named above (a typo, a stray comma, a CIDR length out of range).",
    "too-many-lookups": "Remove include:, a, mx, ptr and exists: terms you no longer need, or replace an "
    "include with the ip4:/ip6: ranges it stands for, until the record needs at most 10 lookups.",
    "too-many-void-lookups": "Remove the terms that name hosts or domains without records (or give those hosts "
    "the missing A or AAAA record).",
    "plus-all": "End the record with -all (or ~all while you find every sender), never +all.",
    "ptr-mechanism": "Replace ptr with ip4:/ip6: terms for the servers it was meant to match.",
    "include-loop": "Remove the include (or redirect) that leads back to a record already on the way.",
    "record-too-long": "Shorten what is published at that name: drop terms and TXT records no longer "
    "needed, or move part of the record into an include.",
}
_DMARC_FIXES = {
    "no-record": "Publish one TXT record at _dmarc.{domain}, as the problem above says.",
    "multiple-records": "Keep one TXT record starting with v=DMARC1 at the name above: receivers discard them all.",
    "syntax-error": "Correct the tag named above (a typo, a tag written twice, a report address that is not a URI).",
    "report-destination-unauthorized": "Ask the owner of the report address's domain to publish the authorization "
    "record named above (TXT 'v=DMARC1'), or send the reports to an address of your own domain.",
}


def _roles(details: dict) -> str:
    roles = [_ROLES.get(str(r), str(r)) for r in details.get("roles", [])]
    return ", ".join(roles)


def _said(alerts: Sequence[Alert], title, line, body, links: Sequence[str] = ()) -> AlertText:
    """Subscriptions filter on the domains, by that name."""
    names = [clean_text(a.target, 255) for a in alerts]
    data = {"domains": names, "count": len(names)} if len(alerts) > 1 else None
    return said(alerts, title, line, body, targets="domain", links=links, data=data)


def _names(alerts: Sequence[Alert]) -> str:
    return few([clean_text(a.target, 255) for a in alerts], 3)


# -- a domain list: DOMAIN_LISTED, DOMAIN_DELISTED --------------------------------------------------


def _domain_listed(alerts: Sequence[Alert]) -> AlertText:
    first, count, names = alerts[0], len(alerts), _names(alerts)
    d, domain = clean(first.details), clean_text(first.target, 255)
    zone = catalogue_zone(first.zone)
    about = [f"About this list: {clean_text(zone.terms, 400)}"] if zone is not None and zone.terms else []
    return _said(
        alerts,
        [f"{names} listed on the domain list {first.zone}", f"{counted(count, 'domain')} listed on {first.zone}"],
        [f"senderwatch: domain {names} LISTED on {first.zone}.", "senderwatch: domain LISTED."],
        [
            Lines(
                f"The domain list {first.zone} lists {'these domains' if count > 1 else domain}.",
                "Receivers that use it may reject or junk mail sent as, or with links to, a listed domain.",
            ),
            *(_listing(alert) for alert in alerts),
            Facts(("Delist", d.get("delist_url") or "(see the list operator’s site)")),
            Steps(
                Step(
                    "Find why: a compromised account or website on the domain, or mail (or links in mail) the list",
                    "saw as spam. Fix that first; lists re-list quickly when it goes on.",
                ),
                Step("Ask for removal at the delist link above."),
                bullet="1",
            ),
            Lines(*about, WATCHING, gap=False),
        ],
        links=[d.get("delist_url") or ""],
    )


def _listing(alert: Alert) -> Facts:
    d = clean(alert.details)
    return Facts(
        ("Domain", f"{clean_text(alert.target, 255)} ({_roles(d)})"),
        ("Since", f"{date(alert.since)} (first seen listed by senderwatch)"),
        ("Codes", f"{', '.join(d.get('codes', []))} — {d.get('meaning', '')}"),
        ("Reason", d.get("reason") or "(the list gave no reason)"),
    )


def _domain_delisted(alerts: Sequence[Alert]) -> AlertText:
    first, names = alerts[0], _names(alerts)
    return _said(
        alerts,
        [f"{names} no longer listed on {first.zone}", f"{counted(len(alerts), 'domain')} delisted"],
        f"senderwatch: domain {names} DELISTED from {first.zone}.",
        [
            Lines(
                f"{names} {'is' if len(alerts) == 1 else 'are'} no longer listed on {first.zone}."
                + (how_long(first, "It was listed") if len(alerts) == 1 else ""),
                *(_was_listed(a) for a in alerts if len(alerts) > 1 and lasted(a)),
                "Nothing to do.",
            )
        ],
    )


def _was_listed(alert: Alert) -> str:
    return f"{clean_text(alert.target, 255)} was listed for {lasted(alert)}, since {date(alert.details['began'])}."


def _by_target(alerts: Sequence[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: a.target)


# -- its SPF and DMARC records: SPF_RECORD_BROKEN, SPF_RECORD_FIXED, DMARC_RECORD_BROKEN, ... -------


def _record_broken(alert: Alert, what: str) -> AlertText:
    """WHAT ("SPF", "DMARC") record of the alert's domain has a new kind of problem: each, and its fix."""
    d = clean(alert.details)
    domain = clean_text(alert.target, 255)
    problems = [p for p in alert.details.get("problems", []) if isinstance(p, dict)]
    codes = list(dict.fromkeys(str(p.get("code")) for p in problems if p.get("code") != "policy-none"))
    if what == "DMARC" and codes == ["no-record"]:
        title = f"{domain} has no DMARC record"
    else:
        title = f"The {what} record of {domain} has a problem: {', '.join(codes)}"
    line = f"senderwatch: {what} record of {domain}: {', '.join(codes)}"
    lines = [f"{line}.", f"senderwatch: {what} record of {domain}."]
    affects: list[Block] = []
    if what == "SPF":
        fixes = [_RECORD_FIXES[c] for c in codes if c in _RECORD_FIXES]
        then: tuple[str, ...] = (
            "Receivers turn most of these into permerror for the senders they reach: fix it before it",
            "bites. senderwatch checks the record every run and tells you when it is fixed.",
        )
        if failed_by_record(alert.details) is not None:  # checked with watched addresses: which it fails
            affects, lines = _affected(alert), [*_affected_sms(alert, line), *lines]
    else:
        fixes = [_DMARC_FIXES[c].format(domain=domain) for c in codes if c in _DMARC_FIXES]
        then = ("senderwatch checks the record every run and tells you when it is fixed.",)
    return _said(
        [alert],
        title,
        lines,
        [
            Lines(f"The {what} record of {domain} ({_roles(d)}) has {'a problem' if len(codes) == 1 else 'problems'}."),
            Facts(("Record", d.get("record") or "(none)"), width=10),
            Rows(
                *(
                    f"{clean_text(str(p.get('code')), 40)}: {clean_text(str(p.get('detail', '')), 600)}"
                    for p in problems
                ),
                prefix="- ",
            ),
            *affects,
            Steps(*(Step(fix) for fix in fixes)),
            Lines(*then, gap=False),
        ],
    )


def _watched(alert: Alert) -> tuple[dict[str, str], list[str]]:
    """The watched addresses checked with the record (each with its SPF result), and those its
    problems fail (SPF gives them permerror)."""
    watched = {clean_text(str(ip), 60): clean_text(str(r), 20) for ip, r in alert.details.get("watched", {}).items()}
    return watched, [ip for ip, result in watched.items() if result == "permerror"]


def _affected(alert: Alert) -> list[Block]:
    """Which watched addresses the record's problems fail, and which it still passes: the mechanisms
    are evaluated in order, so an address matched by ip4:/ip6: before the lookups run out passes,
    and only those matched after them fail."""
    watched, failed = _watched(alert)
    if not failed:
        said = (
            f"It fails no watched address yet: SPF for {few(list(watched), 3)} (checked with it) is decided",
            "before the problem is reached, as the mechanisms are evaluated in order. Mail from a sender",
            "matched after it gets permerror.",
        )
        return [Lines(*said)]
    rows = [f"{ip}  {result}" + ("" if ip in failed else " (not affected)") for ip, result in watched.items()]
    domain = clean_text(alert.target, 255)
    return [
        Lines(
            f"Receivers give permerror for mail sent as {domain} from {counted(len(failed), 'address')} of those",
            "checked with it (an address matched before the problem is reached still passes):",
        ),
        Rows(*capped(rows), gap=False),
    ]


def _affected_sms(alert: Alert, line: str) -> list[str]:
    failed = _watched(alert)[1]
    if not failed:
        return [f"{line}; no watched address fails SPF for it yet."]
    return [f"{line}; SPF permerror for {counted(len(failed), 'address')}: {few(failed, 2)}."]


def _record_fixed(alert: Alert, what: str) -> AlertText:
    d = clean(alert.details)
    domain = clean_text(alert.target, 255)
    was = ", ".join(map(str, alert.details.get("previous", [])))
    return _said(
        [alert],
        f"The {what} record of {domain} has no problem any more",
        f"senderwatch: {what} record of {domain} fixed.",
        [
            Lines(
                f"The {what} record of {domain} has no problem any more (it had: {was})."
                + how_long(alert, "It had problems")
            ),
            Facts(("Record", d.get("record") or "(none)"), width=8, gap=False),
            Lines("Nothing to do.", gap=False),
        ],
    )


WORDINGS = {
    Event.DOMAIN_LISTED: Wording(
        lambda a: _domain_listed([a]), by_list, lambda alerts: _domain_listed(_by_target(alerts))
    ),
    Event.DOMAIN_DELISTED: Wording(
        lambda a: _domain_delisted([a]),
        by_list,
        lambda alerts: _domain_delisted(_by_target(alerts)),
        Event.DOMAIN_LISTED,
    ),
    Event.SPF_RECORD_BROKEN: Wording(lambda a: _record_broken(a, "SPF"), alone),
    Event.SPF_RECORD_FIXED: Wording(lambda a: _record_fixed(a, "SPF"), alone, clears=Event.SPF_RECORD_BROKEN),
    Event.DMARC_RECORD_BROKEN: Wording(lambda a: _record_broken(a, "DMARC"), alone),
    Event.DMARC_RECORD_FIXED: Wording(lambda a: _record_fixed(a, "DMARC"), alone, clears=Event.DMARC_RECORD_BROKEN),
}
