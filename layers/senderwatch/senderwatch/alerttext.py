"""Alert texts a person acts on: an email with the steps, an SMS of one line.

Everything from outside (list reasons, SPF records and explanations, labels) passes
through clean_text; the subject stays under 100 characters, the SMS under 160, and the
whole publish under SNS's 256 KB. Alerts of one kind from one run are grouped: one
message per event and list names every address (`render_group`), so a list that starts
listing 500 addresses is one email, not 500.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .addresses import sort_key
from .advice import group_spf_advice, mechanism_for, spf_advice
from .bounces import receiver_title
from .findings import Alert, Event
from .text import clean_text
from .zones import catalogue, domain_catalogue

SUBJECT_MAX, SMS_MAX = 99, 159
EMAIL_ADDRESSES = 200  # addresses listed in one grouped email; the rest are counted
DATA_ADDRESSES = 1000  # addresses carried in the JSON variant and the ip attribute (SNS caps a publish at 256 KB)
ATTRIBUTE_ADDRESSES = 100

_FIND_WHY = [
    "What to do:",
    "1. Find why: look for a compromised account or script sending spam, an open relay, or a",
    "   bulk mailing to old addresses (check the mail log around the listing time).",
    "2. Fix the cause first; lists re-list quickly when the spam goes on.",
]
_WATCHING = "senderwatch checks again every run and will tell you when the listing is gone."


def _removal_steps(zone_name: str, codes: Sequence[str], address: str, also_listed: Sequence[str]) -> list[str]:
    """Step 3 and on: this list's own removal procedure, with ADDRESS filled in."""
    zone = catalogue_zone(zone_name)
    if zone is None:
        return ["3. Ask the list's operator for removal (see its web site).", _WATCHING]
    delist = zone.removal(codes).filled(address, [*also_listed, zone_name], zone_name)
    lines = []
    if delist.get("expires"):
        lines.append(f"3. Nothing to ask for: {zone_name} removes listings by itself: {delist['expires']}.")
        if delist.get("steps"):
            lines.append("   What the list itself says to do:")
    else:
        lines.append("3. Ask for removal:")
    if delist.get("clear_first"):
        first = ", ".join(delist["clear_first"])
        lines.append(f"   First clear {first}, which also list it: this list waits for them.")
    lines += [f"   - {step}" for step in delist["steps"]]
    if delist.get("command"):
        lines += [
            "   On the mail server itself (the mail must leave from the listed address):",
            f"     {delist['command']}",
            f"   or, on a server with several addresses: {delist['command_from_address']}",
        ]
    if delist.get("note"):
        lines.append(f"   ({delist['note']})")
    if delist.get("url") and not any(delist["url"] in step for step in delist["steps"]):
        lines.append(f"   Removal page: {delist['url']}")
    return [*lines, _WATCHING]


_UNUSABLE = {
    "blocked": "the list refuses queries from this deployment's resolver",
    "timeout": "the list does not answer: it may be down, or gone",
    "servfail": "the list fails to answer: it may be down, or gone",
    "refused": "the list refuses to answer",
    "bad-answer": "its answers are outside 127.0.0.0/8: a resolver rewrites them, or the list is gone",
    "lists-everything": "it lists its own 'clean' test entry: it lists everything",
    "lists-nothing": "it does not list its own 'listed' test entry: it lists nothing",
}


@dataclass(frozen=True)
class AlertText:
    """One alert (or a group of alerts of one kind) as people read it, and as programs get it."""

    subject: str
    email: str
    sms: str
    attributes: dict[str, str | list[str]]  # event, severity, ip (a list when grouped), zone...
    keys: tuple[str, ...] = ()  # the alerts it carries: each is published once
    data: dict | None = None  # more for programs: every address, counts

    def document(self) -> dict:
        """The whole alert as data: what programs subscribed to the topic receive."""
        return {**self.attributes, **(self.data or {}), "subject": self.subject, "email": self.email, "sms": self.sms}


def _cap(text: str, limit: int, ellipsis: str = "…") -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - len(ellipsis)].rstrip() + ellipsis


def _fit(options: str | Sequence[str], limit: int, ellipsis: str) -> str:
    """The first of OPTIONS (the fullest first) that fits in LIMIT; else the last, cut short.

    Cutting is the last resort: an address or a mechanism cut in half is worse than one left out.
    """
    options = [options] if isinstance(options, str) else list(options)
    for option in options:
        text = " ".join(option.split())
        if len(text) <= limit:
            return text
    return _cap(options[-1], limit, ellipsis)


def _who(ip: str, label: str, target: str = "") -> str:
    """An address as people know it: with the host or network it belongs to, and its label."""
    about = ", ".join(filter(None, (clean_text(target, 120), clean_text(label, 40))))
    return f"{ip} ({about})" if about else ip


def _date(iso: str) -> str:
    return iso.replace("T", " ")[:16] + " UTC" if iso else "unknown"


def _clean(details: dict) -> dict:
    """Everything but our own fields came from strangers (DNS, SPF records) or a table row."""
    d = {k: clean_text(v, 450 if k == "record" else 300) if isinstance(v, str) else v for k, v in details.items()}
    d["codes"] = [clean_text(str(c), 40) for c in d.get("codes", [])]
    return d


def _message(
    alerts: Sequence[Alert],
    subject: str | Sequence[str],
    body: list[str],
    sms: str | Sequence[str],
    data: dict | None = None,
) -> AlertText:
    """SUBJECT and SMS may be alternatives, fullest first: the first that fits is sent."""
    first = alerts[0]
    ips = [a.ip for a in alerts if a.ip]
    attributes: dict[str, str | list[str]] = {"event": first.event, "severity": first.severity}
    if len(ips) == 1:
        attributes["ip"] = ips[0]
    elif ips:
        attributes["ip"] = ips[:ATTRIBUTE_ADDRESSES]
        attributes["count"] = str(len(ips))
    receiver = first.event in (Event.RECEIVER_BLOCKED, Event.RECEIVER_UNBLOCKED)
    if first.event in (Event.SPF_FAILING, Event.SPF_RECOVERED):
        attributes["identity"] = first.details.get("identity", "mailfrom")
    elif receiver:
        attributes["receiver"], attributes["code"] = first.target, first.zone
    elif first.zone:
        attributes["zone"] = first.zone
    targets = sorted({a.target for a in alerts if a.target})
    if targets and not receiver:
        name = "domain" if first.event in DOMAIN_EVENTS else "target"
        attributes[name] = targets[0] if len(targets) == 1 else targets[:ATTRIBUTE_ADDRESSES]
    if first.reminder:
        attributes["reminder"] = "true"
    return AlertText(
        subject=_fit(subject, SUBJECT_MAX, "…"),
        email="\n".join(body) + "\n",
        sms=_fit(sms, SMS_MAX, "..."),  # GSM has no "…": one would make the SMS three times dearer
        attributes=attributes,
        keys=tuple(a.key for a in alerts),
        data=data,
    )


# -- one alert --------------------------------------------------------------------------------------


def render(alert: Alert, label: str = "") -> AlertText:
    """The message for one alert (LABEL overrides the alert's own)."""
    subject: str | list[str]
    sms: str | list[str]
    d = _clean(alert.details)
    ip, who = alert.ip, _who(alert.ip, label or alert.label, alert.target)
    again = "Reminder: " if alert.reminder else ""
    prefix = "senderwatch reminder:" if alert.reminder else "senderwatch:"
    record = d.get("record") or ""
    if alert.event == Event.LISTED:
        subject = [f"{again}{who} is listed on {alert.zone}", f"{again}{ip} is listed on {alert.zone}"]
        sms = f"{prefix} {ip} LISTED on {alert.zone}."
        sms = [f"{sms} Delist: {d['delist_url']}", sms] if d.get("delist_url") else sms
        body = [
            f"{again}{ip} is listed on the DNS blocklist {alert.zone}.",
            "",
            f"Address:    {who}",
            f"List:       {alert.zone}",
            f"Since:      {_date(alert.since)} (first seen listed by senderwatch)",
            f"Codes:      {', '.join(d.get('codes', []))} — {d.get('meaning', '')}",
            f"Reason:     {d.get('reason') or '(the list gave no reason)'}",
            f"Delist:     {d.get('delist_url') or '(see the list operator’s site)'}",
            "",
            *_FIND_WHY,
            *_removal_steps(alert.zone, d.get("codes", []), ip, alert.details.get("also_listed") or []),
        ]
    elif alert.event == Event.DELISTED:
        subject = [f"{who} is no longer listed on {alert.zone}", f"{ip} is no longer listed on {alert.zone}"]
        sms = f"{prefix} {ip} DELISTED from {alert.zone}."
        body = [
            f"{ip} is no longer listed on {alert.zone} (clean since {_date(alert.since)}).",
            "",
            f"Address: {who}",
            "Nothing to do. senderwatch keeps watching.",
        ]
    elif alert.event == Event.SPF_FAILING:
        result, sender = d.get("result", "?"), d.get("sender", "")
        helo = d.get("identity") == "helo"
        domain = sender.rpartition("@")[2]
        spf = "HELO SPF" if helo else "SPF"
        advice = spf_advice(result, ip, domain, record, d.get("explanation", ""), helo=helo)
        was = f" (was {d['previous']})" if d.get("previous") else ""
        as_what = f"with the HELO name {domain}" if helo else f"sent as {sender}"
        subject = [f"{again}{spf} {result} for {who}", f"{again}{spf} {result} for {ip}"]
        base = f"{prefix} {spf} {result} for {ip}"
        hint = f" {advice.sms}" if advice else ""
        sms = [f"{base} sending as {sender}.{hint}", f"{base}.{hint}", f"{base} sending as {sender}.", f"{base}."]
        body = [
            f"{again}{spf} now gives '{result}'{was} for mail from {ip} {as_what}.",
            "Receivers such as Office 365 and Gmail may reject or junk this mail.",
            "",
            f"Address:     {who}",
            f"{'HELO name' if helo else 'Sender'}:{' ' * (3 if helo else 6)}{domain if helo else sender}",
            f"Result:      {result}{was}",
            f"Matched:     {d.get('mechanism') or '(no mechanism matched)'}",
            f"Since:       {_date(alert.since)}",
            f"Record:      {record or '(no SPF record found)'}",
        ]
        if d.get("explanation"):
            body.append(f"Explanation: {d['explanation']}")
        body += [
            "",
            "What to do:",
            *(advice.lines if advice else []),
            f"senderwatch will tell you when {spf} passes again.",
        ]
    elif alert.event == Event.SPF_RECOVERED:
        spf = "HELO SPF" if d.get("identity") == "helo" else "SPF"
        subject = [f"{spf} passes again for {who}", f"{spf} passes again for {ip}"]
        sms = f"{prefix} {spf} passes again for {ip}."
        body = [
            f"{spf} passes again for mail from {ip} sent as {d.get('sender', '')}.",
            f"Record: {record}",
            "Nothing to do.",
        ]
    elif alert.event == Event.CHECK_FAILING and alert.ip:
        error, runs = d.get("error", "?"), d.get("error_runs")
        subject = [f"Cannot check {who} on {alert.zone}", f"Cannot check {ip} on {alert.zone}"]
        sms = [f"{prefix} cannot check {ip} on {alert.zone} ({error}) for {runs} runs.", f"{prefix} cannot check {ip}."]
        body = [
            f"senderwatch could not check {ip} on {alert.zone} for {runs} runs in a row "
            f"(since {_date(alert.since)}): {error}.",
            "The list answers for other addresses; for this one it did not. The last known verdict is kept;",
            "this is not a listing. If it stays so, the list may be rate-limiting this deployment.",
        ]
    elif alert.event in (Event.CHECK_FAILING, Event.RESOLVER_FAILING):
        return _deployment_failing(alert, d)
    elif alert.event in (Event.ADDRESS_ADDED, Event.ADDRESS_REMOVED):
        return _address_change([alert])
    elif alert.event in DOMAIN_EVENTS:
        return _domain_message([alert])
    elif alert.event == Event.RECEIVER_BLOCKED:
        return _receiver_blocked(alert)
    elif alert.event == Event.RECEIVER_UNBLOCKED:
        receiver = receiver_title(alert.target)
        accepts = _verb(receiver, "accepts")
        who = f"{ip} " if ip else ""
        subject = f"{receiver} {accepts} mail {'from ' + ip + ' ' if ip else ''}again"
        sms = f"senderwatch: {receiver} {accepts} mail {'from ' + ip + ' ' if ip else ''}again ({alert.zone} is over)."
        body = [
            f"{receiver} accepted mail from this server again (since {_date(alert.since)}): its block {alert.zone}",
            f"of {who or 'the sender '}is over, as far as the mail log shows.",
            "Nothing to do.",
        ]
    elif alert.event == Event.HOST_UNRESOLVED:
        host = clean_text(alert.target, 255)
        named = f"{host} ({clean_text(alert.label, 40)})" if alert.label else host
        subject = f"{host} cannot be checked: {d.get('error', '?')}"
        sms = f"senderwatch: {host} cannot be checked ({d.get('error', '?')}): no address to check."
        earlier = [clean_text(str(a), 60) for a in alert.details.get("previous") or []]
        body = [
            f"senderwatch cannot check {named}: {d.get('detail', '')} (since {_date(alert.since)}).",
            "No address of it is checked while this lasts.",
            "",
            f"It resolved to: {', '.join(earlier)}" if earlier else "It has not resolved to an address since added.",
            "",
            "What to do:",
            "- If the name is mistyped, remove the target and add the right one:",
            f"  senderwatch targets remove {host}   then   senderwatch targets add <name>",
            "- If the host's DNS records were changed by mistake, restore them.",
            "- If the server sends from a private address behind NAT, watch its public address instead.",
            "senderwatch will tell you when it resolves again.",
        ]
    elif alert.event == Event.HOST_RESOLVED:
        host = clean_text(alert.target, 255)
        addresses = [clean_text(str(a), 60) for a in alert.details.get("addresses") or []]
        subject = f"{host} resolves again"
        sms = f"senderwatch: {host} resolves again ({len(addresses)} address(es))."
        body = [
            f"{host} resolves again, to {', '.join(addresses[:10])} (since {_date(alert.since)}).",
            "Its addresses are checked from now on; anything wrong with them comes in its own alert.",
        ]
    elif alert.event in (Event.CHECK_RECOVERED, Event.RESOLVER_RECOVERED):
        what = f"the list {alert.zone}{_family(d)}" if alert.zone else "its DNS resolver"
        subject = f"senderwatch can use {what} again"
        sms = f"senderwatch: {what} works again."
        body = [
            f"senderwatch can use {what} again (since {_date(alert.since)}), after "
            f"{d.get('failed_runs')} failing runs since {_date(d.get('failed_since', ''))}.",
            "Nothing to do for the checks to go on.",
        ]
        if alert.event == Event.RESOLVER_RECOVERED:
            body += [
                "Checks that could not be done meanwhile went to the check dead-letter queue (its alarm says",
                "so); the next daily run checks every address again. To check them now, move them back:",
                "  aws sqs start-message-move-task --source-arn <CheckDeadLetterQueue ARN>",
            ]
    else:  # pragma: no cover - every event is handled above
        raise ValueError(alert.event)
    return _message([alert], subject, body, sms)


def _address_change(alerts: Sequence[Alert]) -> AlertText:
    """A host that resolves to new addresses, or no longer to some: each with what it means."""
    subject: str | list[str]
    sms: str | list[str]
    first = alerts[0]
    host = clean_text(first.target or first.details.get("host", ""), 120)
    label = clean_text(first.label, 40)
    named = f"{host} ({label})" if label else host
    ips = [a.ip for a in alerts]
    shown = ", ".join(ips[:3]) + (f" +{len(ips) - 3} more" if len(ips) > 3 else "")
    if first.event == Event.ADDRESS_ADDED:
        problems = [a for a in alerts if a.details.get("spf_problem") or a.details.get("listed")]
        failing = [a.ip for a in alerts if a.details.get("spf_problem")]
        if not failing:
            worry = ""
        elif len(ips) == 1:
            worry = "SPF does not pass for it"
        elif len(failing) == len(ips):
            worry = "SPF does not pass for them"
        else:
            worry = f"SPF does not pass for {', '.join(failing[:2])}{' +more' if len(failing) > 2 else ''}"
        new = "a new address" if len(ips) == 1 else f"{len(ips)} new addresses"
        subject = [f"{host} has {new}: {shown}{' - ' + worry if worry else ''}", f"{host} has {new}"]
        sms = [
            f"senderwatch: {host} has {new}: {shown}{'; ' + worry if worry else ''}.",
            f"senderwatch: {host} has {new}.",
        ]
        body = [
            f"{named} now resolves to {'a new address' if len(ips) == 1 else f'{len(ips)} new addresses'} "
            f"(since {_date(first.since)}).",
            f"senderwatch checks {'it' if len(ips) == 1 else 'them'} from now on, with the host's other addresses.",
            "",
        ]
        for alert in alerts:
            body += _new_address_lines(alert)
        body += ["What to do:"]
        if problems:
            body.append("- If the server sends mail from it, fix what is said above: the SPF and listing alerts that")
            body.append("  come with this one have the details and the record to copy.")
        else:
            body.append("- Nothing, if you expected it: it is not listed, and SPF passes for it.")
        body.append("- If you did not expect it, check who changed the DNS records of the host.")
    else:
        subject = [f"{host} no longer resolves to {shown}", f"{host} lost {len(ips)} address(es)"]
        sms = f"senderwatch: {host} no longer resolves to {shown}."
        body = [
            f"{named} no longer resolves to {shown} (since {_date(first.since)}).",
            "senderwatch stops checking it with the host.",
            "",
        ]
        for alert in alerts:
            listed = alert.details.get("listed") or []
            if listed:
                body.append(f"  {alert.ip}: it was listed on {', '.join(clean_text(z, 80) for z in listed)}")
        body += [
            "",
            "If the server still sends mail from it (an outgoing address that is not in the host's DNS),",
            "watch it on its own:",
            *(f"  senderwatch targets add {ip}" for ip in ips[:5]),
        ]
        if len(ips) > 5:
            body.append(f"  (and {len(ips) - 5} more: senderwatch targets import takes a file of them)")
    data = {"ips": ips[:DATA_ADDRESSES], "count": len(ips)} if len(ips) > 1 else None
    return _message(alerts, subject, body, sms, data)


def _new_address_lines(alert: Alert) -> list[str]:
    d = _clean(alert.details)
    family = "IPv6" if ":" in alert.ip else "IPv4"
    listed = d.get("listed") or []
    lists = f"listed on {', '.join(listed)}" if listed else f"not listed on any of the {d.get('lists', 0)} lists asked"
    if d.get("spf"):
        domain = (d.get("sender") or "").rpartition("@")[2]
        spf = f"{d['spf']} for {d.get('sender')}"
        if d.get("spf_problem"):
            spf += f": add {mechanism_for(alert.ip)} to the SPF record of {domain}"
    else:
        spf = "not checked (the target has no sender)"
    ptr = ", ".join(clean_text(str(n), 120) for n in d.get("ptr") or []) or "no PTR record"
    return [
        f"Address:  {alert.ip} ({family})",
        f"Lists:    {lists}",
        f"SPF:      {spf}",
        f"rDNS:     {ptr}",
        "",
    ]


# -- a domain's own health ---------------------------------------------------------------------------

DOMAIN_EVENTS = (
    Event.DOMAIN_LISTED,
    Event.DOMAIN_DELISTED,
    Event.SPF_RECORD_BROKEN,
    Event.SPF_RECORD_FIXED,
    Event.DMARC_RECORD_BROKEN,
    Event.DMARC_RECORD_FIXED,
)
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


def _domain_message(alerts: Sequence[Alert]) -> AlertText:
    """A domain's listing on a domain list (several domains of one list in one message), or its
    SPF or DMARC record broken or fixed."""
    subject: str | list[str]
    sms: str | list[str]
    first = alerts[0]
    d = _clean(first.details)
    domain = clean_text(first.target, 255)
    names = [clean_text(a.target, 255) for a in alerts]
    shown = ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")
    event = first.event
    zone = catalogue_zone(first.zone)
    if event == Event.DOMAIN_LISTED:
        subject = [f"{shown} listed on the domain list {first.zone}", f"{len(names)} domain(s) listed on {first.zone}"]
        sms = [f"senderwatch: domain {shown} LISTED on {first.zone}.", "senderwatch: domain LISTED."]
        body = [
            f"The domain list {first.zone} lists {'these domains' if len(alerts) > 1 else domain}.",
            "Receivers that use it may reject or junk mail sent as, or with links to, a listed domain.",
            "",
        ]
        for alert in alerts:
            a = _clean(alert.details)
            body += [
                f"Domain:     {clean_text(alert.target, 255)} ({_roles(a)})",
                f"Since:      {_date(alert.since)} (first seen listed by senderwatch)",
                f"Codes:      {', '.join(a.get('codes', []))} — {a.get('meaning', '')}",
                f"Reason:     {a.get('reason') or '(the list gave no reason)'}",
                "",
            ]
        body += [
            f"Delist:     {d.get('delist_url') or '(see the list operator’s site)'}",
            "",
            "What to do:",
            "1. Find why: a compromised account or website on the domain, or mail (or links in mail) the list",
            "   saw as spam. Fix that first; lists re-list quickly when it goes on.",
            "2. Ask for removal at the delist link above.",
        ]
        if zone is not None and zone.terms:
            body.append(f"About this list: {clean_text(zone.terms, 400)}")
        body.append("senderwatch checks again every run and will tell you when the listing is gone.")
    elif event == Event.DOMAIN_DELISTED:
        subject = [f"{shown} no longer listed on {first.zone}", f"{len(names)} domain(s) delisted"]
        sms = f"senderwatch: domain {shown} DELISTED from {first.zone}."
        body = [f"{shown} {'is' if len(alerts) == 1 else 'are'} no longer listed on {first.zone}.", "Nothing to do."]
    elif event in (Event.SPF_RECORD_BROKEN, Event.DMARC_RECORD_BROKEN):
        what = "SPF" if event == Event.SPF_RECORD_BROKEN else "DMARC"
        problems = [p for p in first.details.get("problems", []) if isinstance(p, dict)]
        codes = list(dict.fromkeys(str(p.get("code")) for p in problems if p.get("code") != "policy-none"))
        if what == "DMARC" and codes == ["no-record"]:
            subject = f"{domain} has no DMARC record"
        else:
            subject = f"The {what} record of {domain} has a problem: {', '.join(codes)}"
        sms = [
            f"senderwatch: {what} record of {domain}: {', '.join(codes)}.",
            f"senderwatch: {what} record of {domain}.",
        ]
        body = [
            f"The {what} record of {domain} ({_roles(d)}) has {'a problem' if len(codes) == 1 else 'problems'}.",
            "",
            f"Record:   {d.get('record') or '(none)'}",
            "",
        ]
        for problem in problems:
            body.append(
                f"- {clean_text(str(problem.get('code')), 40)}: {clean_text(str(problem.get('detail', '')), 600)}"
            )
        body += ["", "What to do:"]
        if what == "SPF":
            body += [f"- {_RECORD_FIXES[c]}" for c in dict.fromkeys(codes) if c in _RECORD_FIXES]
            body.append("Receivers turn most of these into permerror, which fails every address at once: fix it before")
            body.append("it bites. senderwatch checks the record every run and tells you when it is fixed.")
        else:
            body += [f"- {_DMARC_FIXES[c].format(domain=domain)}" for c in dict.fromkeys(codes) if c in _DMARC_FIXES]
            body.append("senderwatch checks the record every run and tells you when it is fixed.")
    else:  # SPF_RECORD_FIXED, DMARC_RECORD_FIXED
        what = "SPF" if event == Event.SPF_RECORD_FIXED else "DMARC"
        subject = f"The {what} record of {domain} has no problem any more"
        sms = f"senderwatch: {what} record of {domain} fixed."
        was = ", ".join(map(str, first.details.get("previous", [])))
        body = [
            f"The {what} record of {domain} has no problem any more (it had: {was}).",
            f"Record: {d.get('record') or '(none)'}",
            "Nothing to do.",
        ]
    data = {"domains": names, "count": len(names)} if len(alerts) > 1 else None
    return _message(alerts, subject, body, sms, data)


def catalogue_zone(name: str):
    return catalogue().get(name) or domain_catalogue().get(name)


def _receiver_blocked(alert: Alert) -> AlertText:
    """A receiver's own refusal of the sender, read from the mail log: what it said, what to do."""
    d = _clean(alert.details)
    receiver = clean_text(receiver_title(alert.target), 80)
    ip = alert.ip
    whom = ip or "this server"
    delist = alert.details.get("delist") or {}
    refuses, blocks = _refusal(receiver, alert.details)
    accepts = _verb(receiver, "accepts")
    subject = [f"{receiver} {refuses} mail from {whom}: {alert.zone}", f"{receiver} {refuses} mail: {alert.zone}"]
    url = clean_text(str(delist.get("url") or ""), 200)
    short = f"senderwatch: {receiver} {blocks} {whom} ({alert.zone})."
    sms = [f"{short} {url}", short] if url else [short]
    meaning = str(d.get("meaning") or "").rstrip(". ")
    body = [
        f"{receiver} {refuses} mail from {whom} ({alert.zone}).",
        *([f"{meaning}."] if meaning else []),
        "",
        f"Receiver:   {receiver} ({clean_text(str(d.get('relay') or ''), 120)})",
        f"Code:       {alert.zone}",
        f"Address:    {ip or '(the rejection does not name it)'}",
        f"Since:      {_date(alert.since)} (first seen in the mail log)",
        *([f"It said:    {d['reply']}"] if d.get("reply") else []),
        "",
        "What to do:",
    ]
    body += [f"{n}. {clean_text(str(step), 300)}" for n, step in enumerate(delist.get("steps") or [], 1)]
    if delist.get("command"):
        body.append(f"   On the mail server itself: {delist['command']}")
    if url and not any(url in str(step) for step in delist.get("steps") or []):
        body.append(f"Removal page: {url}")
    if delist.get("fallback"):
        body.append(f"If that does not work: {clean_text(str(delist['fallback']), 300)}")
    body.append(f"senderwatch tells you when {receiver} {accepts} mail from this server again.")
    return _message([alert], subject, body, sms)


def _verb(receiver: str, verb: str) -> str:
    """A receiver's verb: "Gmail refuses", "Yahoo and AOL refuse"."""
    return verb[:-1] if " and " in receiver and verb.endswith("s") else verb


def _refusal(receiver: str, details: dict) -> tuple[str, str]:
    """How to say what the receiver does: refuse the mail, or defer it (it is retried)."""
    if details.get("status_of_reply") == "deferred":
        return _verb(receiver, "defers"), _verb(receiver, "defers").upper()
    return _verb(receiver, "refuses"), _verb(receiver, "blocks").upper()


def _receiver_group(alerts: Sequence[Alert]) -> AlertText:
    """One receiver's one code for several of the server's addresses (a ban of a network's
    addresses, a Yahoo deferral of both of a host's): one message naming them all."""
    first, count = alerts[0], len(alerts)
    receiver = clean_text(receiver_title(first.target), 80)
    accepts = _verb(receiver, "accepts")
    ips = [a.ip or "(address not given)" for a in alerts]
    shown = ", ".join(ips[:2]) + (f" +{count - 2} more" if count > 2 else "")
    rows = [f"  {a.ip or '(address not given)':<40} since {_date(a.since)}" for a in alerts]
    if first.event == Event.RECEIVER_UNBLOCKED:
        subject = [f"{receiver} {accepts} mail from {count} addresses again", f"{receiver} {accepts} mail again"]
        sms = [
            f"senderwatch: {receiver} {accepts} mail again from {shown} ({first.zone} is over).",
            f"senderwatch: {receiver} {accepts} mail again ({first.zone} is over).",
        ]
        body = [
            f"{receiver} accepted mail from this server again: its block {first.zone} of {count} addresses is over,",
            "as far as the mail log shows.",
            "",
            *rows,
            "",
            "Nothing to do.",
        ]
        return _message(alerts, subject, body, sms)
    d = _clean(first.details)
    delist = first.details.get("delist") or {}
    url = clean_text(str(delist.get("url") or ""), 200)
    refuses, blocks = _refusal(receiver, first.details)
    subject = [
        f"{receiver} {refuses} mail from {count} addresses: {first.zone}",
        f"{receiver} {refuses} mail: {first.zone}",
    ]
    short = f"senderwatch: {receiver} {blocks} {count} addresses ({first.zone}): {shown}."
    sms = [f"{short} {url}", short, f"senderwatch: {receiver} {blocks} {count} addresses ({first.zone})."]
    meaning = str(d.get("meaning") or "").rstrip(". ")
    body = [
        f"{receiver} {refuses} mail from {count} of your addresses ({first.zone}).",
        *([f"{meaning}."] if meaning else []),
        "",
        f"Receiver:   {receiver} ({clean_text(str(d.get('relay') or ''), 120)})",
        f"Code:       {first.zone}",
        "Addresses (first seen in the mail log):",
        *rows,
        "",
        f"What to do, for each address (shown for {ips[0]}):",
        *[f"{n}. {clean_text(str(step), 300)}" for n, step in enumerate(delist.get("steps") or [], 1)],
    ]
    if url and not any(url in str(step) for step in delist.get("steps") or []):
        body.append(f"Removal page: {url}")
    if delist.get("fallback"):
        body.append(f"If that does not work: {clean_text(str(delist['fallback']), 300)}")
    body.append(f"senderwatch tells you when {receiver} {accepts} mail from this server again.")
    return _message(alerts, subject, body, sms)


def _family(details: dict) -> str:
    return f" for IPv{details['family']} addresses" if details.get("family") else ""


def _deployment_failing(alert: Alert, d: dict) -> AlertText:
    if alert.event == Event.RESOLVER_FAILING:
        kind = d.get("error", "?")
        subject = "senderwatch could not check addresses: its DNS resolver does not work"
        sms = f"senderwatch: DNS resolver not working ({kind}): addresses could not be checked, twice in a row."
        body = [
            "senderwatch could not check addresses in its run: the DNS resolver it uses does not work,",
            "and did not when the checks were tried again half an hour later.",
            "",
            f"Since:    {_date(alert.since)}",
            f"Problem:  {d.get('detail') or kind}",
            "",
            "What to do:",
            "- With the Nameservers parameter set: check that those resolvers answer from AWS Lambda.",
            "- Without it: the VPC resolver failed; the checks are tried once more, then kept in the",
            "  check dead-letter queue.",
            "No finding changes while this lasts, and nothing is reported as clean.",
        ]
        return _message([alert], subject, body, sms)
    error = d.get("error", "?")
    family = _family(d)
    codes = f" ({', '.join(d['codes'])})" if d.get("codes") else ""
    subjects = [
        f"senderwatch cannot use the list {alert.zone}{family}: {error}",
        f"senderwatch cannot use {alert.zone}",
    ]
    texts = [
        f"senderwatch: list {alert.zone} unusable{family} for {d.get('runs')} runs ({error}). "
        "No address checked on it.",
        f"senderwatch: list {alert.zone} unusable ({error}).",
    ]
    body = [
        f"senderwatch could not use the DNS blocklist {alert.zone}{family} for {d.get('runs')} runs in a row "
        f"(since {_date(alert.since)}): {error}{codes}.",
        f"Why: {_UNUSABLE.get(error, d.get('detail') or error)}.",
        "",
        "No address was asked on this list meanwhile; each keeps its last verdict. This is about the",
        "deployment, not about any of your addresses: you get this once, not once per address.",
        "",
        "What to do:",
    ]
    zone = catalogue().get(alert.zone)
    if error == "blocked" and zone is not None and zone.dqs:
        body.append("- Store a free Spamhaus DQS key in SSM and set DqsKeyParameter (see the README).")
    elif error == "blocked":
        body.append(f"- Register this deployment's resolver with {alert.zone} (see its terms), or remove the list.")
    else:
        body.append(f"- If it stays so, remove {alert.zone} from the Zones parameter.")
    return _message([alert], subjects, body, texts)


# -- many alerts of one kind ------------------------------------------------------------------------


def group_key(alert: Alert) -> tuple:
    """Alerts with the same key go into one message."""
    if alert.event in (Event.DOMAIN_LISTED, Event.DOMAIN_DELISTED):
        return (alert.event, alert.zone, bool(alert.reminder))  # one message per list
    if not alert.ip:
        return (alert.event, alert.zone, alert.key)  # about the deployment: each alone
    if alert.event in (Event.ADDRESS_ADDED, Event.ADDRESS_REMOVED):
        return (alert.event, alert.target)  # one message per host
    if alert.event in (Event.RECEIVER_BLOCKED, Event.RECEIVER_UNBLOCKED):
        return (alert.event, alert.target, alert.zone)  # one message per receiver and code
    if alert.event in (Event.SPF_FAILING, Event.SPF_RECOVERED):
        return (alert.event, alert.details.get("result"), alert.details.get("sender"), bool(alert.reminder))
    if alert.event == Event.CHECK_FAILING:
        return (alert.event, alert.zone, alert.details.get("error"), bool(alert.reminder))
    return (alert.event, alert.zone, bool(alert.reminder))


def group(alerts: Sequence[Alert]) -> list[list[Alert]]:
    groups: dict[tuple, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(group_key(alert), []).append(alert)
    return list(groups.values())


def render_group(alerts: Sequence[Alert]) -> AlertText:
    """One message for alerts of one group (see group_key); a group of one is `render`'s message."""
    if len(alerts) == 1:
        return render(alerts[0])
    alerts = sorted(alerts, key=lambda a: sort_key(a.ip))
    if alerts[0].event in (Event.ADDRESS_ADDED, Event.ADDRESS_REMOVED):
        return _address_change(alerts)
    if alerts[0].event in DOMAIN_EVENTS:
        return _domain_message(sorted(alerts, key=lambda a: a.target))
    if alerts[0].event in (Event.RECEIVER_BLOCKED, Event.RECEIVER_UNBLOCKED):
        return _receiver_group(alerts)
    every = alerts  # each is marked as sent; an address watched by several targets is shown once
    alerts = _one_per_address(alerts)
    if len(alerts) == 1:
        return replace(render(alerts[0]), keys=tuple(a.key for a in every))
    subject: str | list[str]
    sms: str | list[str]
    first, count = alerts[0], len(alerts)
    d = _clean(first.details)
    again = "Reminder: " if first.reminder else ""
    prefix = "senderwatch reminder:" if first.reminder else "senderwatch:"
    since = min(a.since for a in alerts)
    ips = [a.ip for a in alerts]
    shown = ", ".join(ips[:2]) + (f" +{count - 2} more" if count > 2 else "")
    if first.event == Event.LISTED:
        subject = [f"{again}{count} addresses are listed on {first.zone}", f"{again}{count} addresses listed"]
        sms = [f"{prefix} {count} addresses LISTED on {first.zone}: {shown}.", f"{prefix} {count} LISTED."]
        rows = [_address_row(a, _listing_note(a)) for a in alerts]
        body = [
            f"{again}{count} of your addresses are listed on the DNS blocklist {first.zone}.",
            "",
            f"List:       {first.zone}",
            f"Since:      {_date(since)} (first seen listed by senderwatch)",
            f"Delist:     {d.get('delist_url') or '(see the list operator’s site)'}",
            "",
            "Addresses:",
            *_listed(rows),
            "",
            *_FIND_WHY,
            *_removal_steps(first.zone, d.get("codes", []), first.ip, first.details.get("also_listed") or []),
            f"(The removal steps are shown for {first.ip}: do the same for each address.)",
        ]
    elif first.event == Event.DELISTED:
        subject = [f"{count} addresses are no longer listed on {first.zone}", f"{count} addresses delisted"]
        sms = [
            f"{prefix} {count} addresses DELISTED from {first.zone}: {shown}.",
            f"{prefix} {count} DELISTED.",
        ]
        body = [
            f"{count} of your addresses are no longer listed on {first.zone} (since {_date(since)}).",
            "",
            "Addresses:",
            *_listed([_address_row(a, "") for a in alerts]),
            "",
            "Nothing to do. senderwatch keeps watching.",
        ]
    elif first.event == Event.SPF_FAILING:
        result, sender = d.get("result", "?"), d.get("sender", "")
        domain = sender.rpartition("@")[2]
        mechanisms = _mechanisms(alerts)
        spf = "HELO SPF" if d.get("identity") == "helo" else "SPF"
        subject = [
            f"{again}{spf} {result} for {count} addresses sending as {sender}",
            f"{again}{spf} {result}: {count}",
        ]
        sms = [
            f"{prefix} {spf} {result} for {count} addresses sending as {sender}: {shown}.",
            f"{prefix} {spf} {result}.",
        ]
        body = [
            f"{again}{spf} gives '{result}' for mail sent as {sender} from {count} of your addresses.",
            "Receivers such as Office 365 and Gmail may reject or junk this mail.",
            "",
            f"Sender:      {sender}",
            f"Result:      {result}",
            f"Since:       {_date(since)}",
            f"Record:      {d.get('record') or '(no SPF record found)'}",
            "",
            "Addresses:",
            *_listed([_address_row(a, _previous(a)) for a in alerts]),
            "",
            "What to do:",
            *group_spf_advice(result, domain, d.get("record"), d.get("explanation", ""), mechanisms),
            f"senderwatch will tell you when {spf} passes again.",
        ]
    elif first.event == Event.SPF_RECOVERED:
        subject = [f"SPF passes again for {count} addresses sending as {d.get('sender', '')}", "SPF passes again"]
        sms = [f"{prefix} SPF passes again for {count} addresses: {shown}.", f"{prefix} SPF passes again."]
        body = [
            f"SPF passes again for mail sent as {d.get('sender', '')} from {count} of your addresses.",
            f"Record: {d.get('record') or ''}",
            "",
            "Addresses:",
            *_listed([_address_row(a, "") for a in alerts]),
            "",
            "Nothing to do.",
        ]
    else:  # Event.CHECK_FAILING for addresses
        error = d.get("error", "?")
        subject = [f"Cannot check {count} addresses on {first.zone} ({error})", f"Cannot check {count} addresses"]
        sms = [
            f"{prefix} cannot check {count} addresses on {first.zone} ({error}): {shown}.",
            f"{prefix} cannot check.",
        ]
        body = [
            f"senderwatch could not check {count} of your addresses on {first.zone} for "
            f"{d.get('error_runs')} runs in a row (since {_date(since)}): {error}.",
            "The list answers for other addresses; for these it did not. Their last known verdicts are kept;",
            "this is not a listing. If it stays so, the list may be rate-limiting this deployment.",
            "",
            "Addresses:",
            *_listed([_address_row(a, "") for a in alerts]),
        ]
    data = {"ips": ips[:DATA_ADDRESSES], "count": count}
    return replace(_message(alerts, subject, body, sms, data), keys=tuple(a.key for a in every))


def _one_per_address(alerts: Sequence[Alert]) -> list[Alert]:
    """Alerts of one group, one per address: an address several targets watch (a host, and the
    network it is in) names them all."""
    by_address: dict[str, Alert] = {}
    for alert in alerts:
        seen = by_address.get(alert.ip)
        if seen is None:
            by_address[alert.ip] = alert
        elif alert.target and alert.target not in seen.target.split(", "):
            by_address[alert.ip] = replace(seen, target=", ".join(filter(None, (seen.target, alert.target))))
    return list(by_address.values())


def _mechanisms(alerts: Sequence[Alert]) -> list[str]:
    """The SPF terms that would authorise these addresses: a network's range where most of the
    network fails, each address otherwise."""
    out: list[str] = []
    done: set[str] = set()
    by_network: dict[str, list[Alert]] = {}
    for alert in alerts:
        for target in alert.target.split(", "):
            if "/" in target:
                by_network.setdefault(target, []).append(alert)
    for network, members in by_network.items():
        try:
            size = ipaddress.ip_network(network).num_addresses
        except ValueError:
            continue
        if 2 * len(members) > size:
            out.append(mechanism_for(network))
            done.update(a.ip for a in members)
    return out + [mechanism_for(a.ip) for a in alerts if a.ip not in done]


def _address_row(alert: Alert, note: str) -> str:
    who = _who(alert.ip, alert.label, alert.target)
    return f"  {who}  {note}".rstrip()


def _listing_note(alert: Alert) -> str:
    d = _clean(alert.details)
    reason = d.get("reason") or d.get("meaning") or ""
    return clean_text(f"{', '.join(d.get('codes', []))} {reason}", 120)


def _previous(alert: Alert) -> str:
    previous = alert.details.get("previous")
    return f"(was {clean_text(str(previous), 20)})" if previous else ""


def _listed(rows: list[str]) -> list[str]:
    if len(rows) <= EMAIL_ADDRESSES:
        return rows
    rest = len(rows) - EMAIL_ADDRESSES
    return [*rows[:EMAIL_ADDRESSES], f"  ... and {rest:,} more: senderwatch status shows them all"]
