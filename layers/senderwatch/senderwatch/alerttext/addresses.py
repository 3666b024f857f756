"""What the alerts about a watched address say: a listing and its end, SPF failing and passing
again, a host that gains or loses an address, a host that no longer resolves and resolves again.

Each event is worded beside its twin; WORDINGS at the end says which function says which event,
alone and grouped (a list that starts listing 500 addresses is one message naming them all).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from ..advice import group_spf_advice, mechanism_for, spf_advice
from ..findings import Alert, Event, per_sender
from ..text import clean_text, counted
from .model import (
    AlertText,
    Block,
    Code,
    Facts,
    Line,
    Lines,
    Rows,
    Step,
    Steps,
    Wording,
    alone,
    by_address,
    by_list,
    said,
)
from .phrases import (
    WATCHING,
    address_row,
    capped,
    catalogue_zone,
    clean,
    date,
    every_address,
    few,
    how_long,
    lasted,
    reminded,
    senderwatch,
    who,
)

_FIND_WHY = (
    Step(
        "Find why: look for a compromised account or script sending spam, an open relay, or a",
        "bulk mailing to old addresses (check the mail log around the listing time).",
    ),
    Step("Fix the cause first; lists re-list quickly when the spam goes on."),
)
_NO_REASON, _NO_DELIST = "(the list gave no reason)", "(see the list operator’s site)"


# -- a listing: LISTED, DELISTED --------------------------------------------------------------------


def _removal(zone_name: str, codes: Sequence[str], address: str, also_listed: Sequence[str]) -> tuple[Step, str]:
    """The list's own removal procedure, with ADDRESS filled in; and its removal page."""
    zone = catalogue_zone(zone_name)
    if zone is None:
        return Step("Ask the list's operator for removal (see its web site)."), ""
    delist = zone.removal(codes).filled(address, [*also_listed, zone_name], zone_name)
    lines: list[Line] = []
    if delist.get("expires") and delist.get("on_request"):
        lines.append(f"{zone_name} removes listings by itself ({delist['expires']}); to be off it sooner, ask:")
    elif delist.get("expires"):
        lines.append(f"Nothing to ask for: {zone_name} removes listings by itself: {delist['expires']}.")
        if delist.get("steps"):
            lines.append("What the list itself says to do:")
    else:
        lines.append("Ask for removal:")
    if delist.get("clear_first"):
        first = ", ".join(delist["clear_first"])
        lines.append(f"First clear {first}, which also list it: this list waits for them.")
    lines += [f"- {s}" for s in delist["steps"]]
    if delist.get("command"):
        lines += [
            "On the mail server itself (the mail must leave from the listed address):",
            Code(delist["command"]),
            ("or, on a server with several addresses: ", Code(delist["command_from_address"])),
        ]
    if delist.get("note"):
        lines.append(f"({delist['note']})")
    url = delist.get("url") or ""
    if url and not any(url in s for s in delist["steps"]):
        lines.append(f"Removal page: {url}")
    return Step(*lines), url


def _delisting(alert: Alert) -> tuple[Steps, str]:
    """What to do about a listing (numbered: find why, fix it, the list's removal); its removal page."""
    removal, url = _removal(
        alert.zone, clean(alert.details).get("codes", []), alert.ip, alert.details.get("also_listed") or []
    )
    return Steps(*_FIND_WHY, removal, bullet="1"), url


def _listed(alert: Alert) -> AlertText:
    d = clean(alert.details)
    ip, named = alert.ip, who(alert.ip, alert.label, alert.target, alert.also)
    again, prefix = reminded(alert)
    sms = f"{prefix} {ip} LISTED on {alert.zone}."
    steps, url = _delisting(alert)
    facts = (
        ("Address", named),
        ("List", alert.zone),
        ("Since", f"{date(alert.since)} (first seen listed by senderwatch)"),
        ("Codes", f"{', '.join(d.get('codes', []))} — {d.get('meaning', '')}"),
        ("Reason", d.get("reason") or _NO_REASON),
        ("Delist", d.get("delist_url") or _NO_DELIST),
    )
    return said(
        [alert],
        [f"{again}{named} is listed on {alert.zone}", f"{again}{ip} is listed on {alert.zone}"],
        [f"{sms} Delist: {d['delist_url']}", sms] if d.get("delist_url") else sms,
        [
            Lines(f"{again}{ip} is listed on the DNS blocklist {alert.zone}."),
            Facts(*facts),
            steps,
            Lines(WATCHING, gap=False),
        ],
        links=(d.get("delist_url") or "", url),
    )


def _listed_together(alerts: Sequence[Alert]) -> AlertText:
    first, count, ips = alerts[0], len(alerts), [a.ip for a in alerts]
    d = clean(first.details)
    again, prefix = reminded(first)
    steps, url = _delisting(first)
    facts = (
        ("List", first.zone),
        ("Since", f"{date(min(a.since for a in alerts))} (first seen listed by senderwatch)"),
        ("Delist", d.get("delist_url") or _NO_DELIST),
    )
    return said(
        alerts,
        [f"{again}{count} addresses are listed on {first.zone}", f"{again}{count} addresses listed"],
        [f"{prefix} {count} addresses LISTED on {first.zone}: {few(ips, 2)}.", f"{prefix} {count} LISTED."],
        [
            Lines(f"{again}{count} of your addresses are listed on the DNS blocklist {first.zone}."),
            Facts(*facts),
            Rows(*capped([address_row(a, _listing_note(a)) for a in alerts]), heading="Addresses:"),
            steps,
            Lines(WATCHING, f"(The removal steps are shown for {first.ip}: do the same for each address.)", gap=False),
        ],
        links=(d.get("delist_url") or "", url),
        data=every_address(ips),
    )


def _listing_note(alert: Alert) -> str:
    d = clean(alert.details)
    reason = d.get("reason") or d.get("meaning") or ""
    return clean_text(f"{', '.join(d.get('codes', []))} {reason}", 120)


def _delisted(alert: Alert) -> AlertText:
    ip, named = alert.ip, who(alert.ip, alert.label, alert.target, alert.also)
    return said(
        [alert],
        [f"{named} is no longer listed on {alert.zone}", f"{ip} is no longer listed on {alert.zone}"],
        f"{reminded(alert)[1]} {ip} DELISTED from {alert.zone}"
        + (f" after {lasted(alert)}." if lasted(alert) else "."),
        [
            Lines(
                f"{ip} is no longer listed on {alert.zone} (clean since {date(alert.since)})."
                + how_long(alert, "It was listed")
            ),
            Facts(("Address", named), width=9),
            Lines("Nothing to do. senderwatch keeps watching.", gap=False),
        ],
    )


def _delisted_together(alerts: Sequence[Alert]) -> AlertText:
    first, count, ips = alerts[0], len(alerts), [a.ip for a in alerts]
    prefix = reminded(first)[1]
    since = date(min(a.since for a in alerts))
    return said(
        alerts,
        [f"{count} addresses are no longer listed on {first.zone}", f"{count} addresses delisted"],
        [f"{prefix} {count} addresses DELISTED from {first.zone}: {few(ips, 2)}.", f"{prefix} {count} DELISTED."],
        [
            Lines(f"{count} of your addresses are no longer listed on {first.zone} (since {since})."),
            Rows(*capped([address_row(a, _for(a, "listed")) for a in alerts]), heading="Addresses:"),
            Lines("Nothing to do. senderwatch keeps watching."),
        ],
        data=every_address(ips),
    )


# -- SPF for mail from an address: SPF_FAILING, SPF_RECOVERED ---------------------------------------


def _spf(details: dict) -> str:
    return "HELO SPF" if details.get("identity") == "helo" else "SPF"


def _identity(alert: Alert) -> dict[str, str | list[str]]:
    """Subscriptions filter on the identity checked (MAIL FROM or HELO) and its sender, not on a list
    (a relay sending for two domains: each domain's people may take only their own sender's alerts)."""
    sender = clean_text(str(alert.details.get("sender") or ""), 255)
    return {"identity": alert.details.get("identity", "mailfrom"), **({"sender": sender} if sender else {})}


def _as_sender(alert: Alert) -> str:
    """' as SENDER' in a subject, for a target with several senders (each sender's alert is its own:
    the alert is about that sender); nothing with one, where the body names it."""
    return f" as {clean_text(alert.zone, 60)}" if alert.zone and alert.zone != "helo" else ""


def _what_to_do(advice: Sequence[str], spf: str) -> list[Block]:
    return [
        Steps(*([Step(*advice)] if advice else []), bullet=""),
        Lines(f"senderwatch will tell you when {spf} passes again.", gap=False),
    ]


def _spf_failing(alert: Alert) -> AlertText:
    d = clean(alert.details)
    ip, named = alert.ip, who(alert.ip, alert.label, alert.target, alert.also)
    again, prefix = reminded(alert)
    record = d.get("record") or ""
    result, sender = d.get("result", "?"), d.get("sender", "")
    helo = d.get("identity") == "helo"
    domain = sender.rpartition("@")[2]
    spf = _spf(d)
    advice = spf_advice(result, ip, domain, record, d.get("explanation", ""), helo=helo)
    was = f" (was {d['previous']})" if d.get("previous") else ""
    as_what = f"with the HELO name {domain}" if helo else f"sent as {sender}"
    base = f"{prefix} {spf} {result} for {ip}"
    hint = f" {advice.sms}" if advice else ""
    facts = [
        ("Address", named),
        ("HELO name", domain) if helo else ("Sender", sender),
        ("Result", f"{result}{was}"),
        ("Matched", d.get("mechanism") or "(no mechanism matched)"),
        ("Since", date(alert.since)),
        ("Record", record or "(no SPF record found)"),
    ]
    if d.get("explanation"):
        facts.append(("Explanation", d["explanation"]))
    return said(
        [alert],
        [f"{again}{spf} {result} for {named}{_as_sender(alert)}", f"{again}{spf} {result} for {ip}{_as_sender(alert)}"],
        [f"{base} sending as {sender}.{hint}", f"{base}.{hint}", f"{base} sending as {sender}.", f"{base}."],
        [
            Lines(
                f"{again}{spf} now gives '{result}'{was} for mail from {ip} {as_what}.",
                "Receivers such as Office 365 and Gmail may reject or junk this mail.",
            ),
            Facts(*facts, width=13),
            *_what_to_do(advice.lines if advice else [], spf),
        ],
        about=_identity(alert),
    )


def _spf_failing_together(alerts: Sequence[Alert]) -> AlertText:
    first, count, ips = alerts[0], len(alerts), [a.ip for a in alerts]
    d = clean(first.details)
    again, prefix = reminded(first)
    result, sender = d.get("result", "?"), d.get("sender", "")
    domain = sender.rpartition("@")[2]
    spf = _spf(d)
    facts = (
        ("Sender", sender),
        ("Result", result),
        ("Since", date(min(a.since for a in alerts))),
        ("Record", d.get("record") or "(no SPF record found)"),
    )
    advice = group_spf_advice(result, domain, d.get("record"), d.get("explanation", ""), _mechanisms(alerts))
    line = f"{prefix} {spf} {result} for {count} addresses"
    hints = []
    if result == "permerror":  # what broke is the record's, not any address's: said as one alert says it
        one = spf_advice(result, first.ip, domain, d.get("record"), d.get("explanation", ""))
        hints = [f"{line} sending as {sender}. {one.sms}", f"{line}. {one.sms}"] if one else []
    return said(
        alerts,
        [f"{again}{spf} {result} for {count} addresses sending as {sender}", f"{again}{spf} {result}: {count}"],
        [
            *hints,
            f"{line} sending as {sender}: {few(ips, 2)}.",
            f"{prefix} {spf} {result}.",
        ],
        [
            Lines(
                f"{again}{spf} gives '{result}' for mail sent as {sender} from {count} of your addresses.",
                "Receivers such as Office 365 and Gmail may reject or junk this mail.",
            ),
            Facts(*facts, width=13),
            Rows(*capped([address_row(a, _previous(a)) for a in alerts]), heading="Addresses:"),
            *_what_to_do(advice, spf),
        ],
        about=_identity(first),
        data=every_address(ips),
    )


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


def _previous(alert: Alert) -> str:
    previous = alert.details.get("previous")
    return f"(was {clean_text(str(previous), 20)})" if previous else ""


def _spf_recovered(alert: Alert) -> AlertText:
    d = clean(alert.details)
    ip, named, spf = alert.ip, who(alert.ip, alert.label, alert.target, alert.also), _spf(d)
    return said(
        [alert],
        [f"{spf} passes again for {named}{_as_sender(alert)}", f"{spf} passes again for {ip}{_as_sender(alert)}"],
        f"{reminded(alert)[1]} {spf} passes again for {ip}.",
        [
            Lines(
                f"{spf} passes again for mail from {ip} sent as {d.get('sender', '')}."
                + how_long(alert, "It did not pass")
            ),
            Facts(("Record", d.get("record") or ""), width=8, gap=False),
            Lines("Nothing to do.", gap=False),
        ],
        about=_identity(alert),
    )


def _spf_recovered_together(alerts: Sequence[Alert]) -> AlertText:
    first, count, ips = alerts[0], len(alerts), [a.ip for a in alerts]
    d = clean(first.details)
    prefix = reminded(first)[1]
    return said(
        alerts,
        [f"SPF passes again for {count} addresses sending as {d.get('sender', '')}", "SPF passes again"],
        [f"{prefix} SPF passes again for {count} addresses: {few(ips, 2)}.", f"{prefix} SPF passes again."],
        [
            Lines(f"SPF passes again for mail sent as {d.get('sender', '')} from {count} of your addresses."),
            Facts(("Record", d.get("record") or ""), width=8, gap=False),
            Rows(*capped([address_row(a, _for(a, "failing")) for a in alerts]), heading="Addresses:"),
            Lines("Nothing to do."),
        ],
        about=_identity(first),
        data=every_address(ips),
    )


def _for(alert: Alert, was: str) -> str:
    """An address's row note in a clearing alert: how long it was so (listed for 2 days 21 hours)."""
    said = lasted(alert)
    return f"{was} for {said}" if said else ""


def _by_spf_result(alert: Alert) -> tuple:
    return (alert.event, alert.details.get("result"), alert.details.get("sender"), bool(alert.reminder))


# -- a host's addresses: ADDRESS_ADDED, ADDRESS_REMOVED ---------------------------------------------


def _host(alerts: Sequence[Alert]) -> tuple[str, str]:
    """The host the alerts are about, and as people know it (with its label)."""
    first = alerts[0]
    host = clean_text(first.target or first.details.get("host", ""), 120)
    label = clean_text(first.label, 40)
    return host, f"{host} ({label})" if label else host


def _address_data(ips: Sequence[str]) -> dict | None:
    return every_address(ips) if len(ips) > 1 else None


def _address_added(alerts: Sequence[Alert]) -> AlertText:
    """A host that resolves to new addresses: each with whether it is listed and SPF passes for it."""
    first, ips = alerts[0], [a.ip for a in alerts]
    host, named = _host(alerts)
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
    them = "it" if len(ips) == 1 else "them"
    if problems:
        check = Step(
            "If the server sends mail from it, fix what is said above: the SPF and listing alerts that",
            "come with this one have the details and the record to copy.",
        )
    else:
        check = Step("Nothing, if you expected it: it is not listed, and SPF passes for it.")
    return said(
        alerts,
        [f"{host} has {new}: {few(ips, 3)}{' - ' + worry if worry else ''}", f"{host} has {new}"],
        [
            f"senderwatch: {host} has {new}: {few(ips, 3)}{'; ' + worry if worry else ''}.",
            f"senderwatch: {host} has {new}.",
        ],
        [
            Lines(
                f"{named} now resolves to {new} (since {date(first.since)}).",
                f"senderwatch checks {them} from now on, with the host's other addresses.",
            ),
            *(_new_address(a) for a in alerts),
            Steps(check, Step("If you did not expect it, check who changed the DNS records of the host.")),
        ],
        data=_address_data(ips),
    )


def _new_address(alert: Alert) -> Facts:
    d = clean(alert.details)
    family = "IPv6" if ":" in alert.ip else "IPv4"
    listed = d.get("listed") or []
    asked = d.get("lists", 0)
    if listed:
        lists = f"listed on {', '.join(listed)}"
    else:
        lists = "not listed on the 1 list asked" if asked == 1 else f"not listed on any of the {asked} lists asked"
    if d.get("spf"):
        each = d.get("senders") or [{"sender": d.get("sender"), "result": d["spf"]}]  # each sender, when several
        spf = per_sender(each)
        failing = [str(e.get("sender") or "").rpartition("@")[2] for e in each if e.get("result") != "pass"]
        if d.get("spf_problem"):
            spf += f": add {mechanism_for(alert.ip)} to the SPF record of {' and '.join(dict.fromkeys(failing))}"
    else:
        spf = "not checked (the target has no sender)"
    ptr = ", ".join(clean_text(str(n), 120) for n in d.get("ptr") or []) or "no PTR record"
    return Facts(("Address", f"{alert.ip} ({family})"), ("Lists", lists), ("SPF", spf), ("rDNS", ptr), width=10)


def _address_removed(alerts: Sequence[Alert]) -> AlertText:
    """A host that no longer resolves to some of its addresses: how to keep watching one."""
    first, ips = alerts[0], [a.ip for a in alerts]
    host, named = _host(alerts)
    was_listed = [
        f"{a.ip}: it was listed on {', '.join(clean_text(z, 80) for z in a.details['listed'])}"
        for a in alerts
        if a.details.get("listed")
    ]
    more = [f"  (and {len(ips) - 5} more: senderwatch targets import takes a file of them)"] * (len(ips) > 5)
    watch = Step(
        "If the server still sends mail from it (an outgoing address that is not in the host's DNS),",
        "watch it on its own:",
        *(senderwatch(a.stack, "targets", "add", a.ip, *_as_the_host(a)) for a in alerts[:5]),
        *more,
    )
    return said(
        alerts,
        [f"{host} no longer resolves to {few(ips, 3)}", f"{host} lost {counted(len(ips), 'address')}"],
        f"senderwatch: {host} no longer resolves to {few(ips, 3)}.",
        [
            Lines(
                f"{named} no longer resolves to {few(ips, 3)} (since {date(first.since)}).",
                "senderwatch stops checking it with the host.",
            ),
            Rows(*was_listed),
            Steps(watch, heading="", bullet=""),
        ],
        data=_address_data(ips),
    )


def _as_the_host(alert: Alert) -> list[str]:
    """The options that watch an address as its host was: its sender, its label."""
    sender = clean_text(str(alert.details.get("sender") or ""), 255)
    label = clean_text(alert.label, 40)
    return [*(["--sender", sender] if sender else []), *(["--label", label] if label else [])]


def _by_host(alert: Alert) -> tuple:
    return (alert.event, alert.target)


# -- a host's name: HOST_UNRESOLVED, HOST_RESOLVED --------------------------------------------------


def _host_unresolved(alert: Alert) -> AlertText:
    d = clean(alert.details)
    host = clean_text(alert.target, 255)
    named = f"{host} ({clean_text(alert.label, 40)})" if alert.label else host
    earlier = [clean_text(str(a), 60) for a in alert.details.get("previous") or []]
    return said(
        [alert],
        f"{host} cannot be checked: {d.get('error', '?')}",
        f"senderwatch: {host} cannot be checked ({d.get('error', '?')}): no address to check.",
        [
            Lines(
                f"senderwatch cannot check {named}: {d.get('detail', '')} (since {date(alert.since)}).",
                "No address of it is checked while this lasts.",
            ),
            Lines(
                f"It resolved to: {', '.join(earlier)}" if earlier else "It has not resolved to an address since added."
            ),
            Steps(
                Step(
                    "If the name is mistyped, remove the target, then add the right name as you added this one",
                    "(senderwatch targets add, with its --sender and --label):",
                    senderwatch(alert.stack, "targets", "remove", host),
                ),
                Step("If the host's DNS records were changed by mistake, restore them."),
                Step("If the server sends from a private address behind NAT, watch its public address instead."),
            ),
            Lines("senderwatch will tell you when it resolves again.", gap=False),
        ],
    )


def _host_resolved(alert: Alert) -> AlertText:
    host = clean_text(alert.target, 255)
    addresses = [clean_text(str(a), 60) for a in alert.details.get("addresses") or []]
    return said(
        [alert],
        f"{host} resolves again",
        f"senderwatch: {host} resolves again ({counted(len(addresses), 'address')}).",
        [
            Lines(
                f"{host} resolves again, to {', '.join(addresses[:10])} (since {date(alert.since)})."
                + how_long(alert, "It did not resolve"),
                "Its addresses are checked from now on; anything wrong with them comes in its own alert.",
            )
        ],
    )


WORDINGS = {
    Event.LISTED: Wording(_listed, by_address(by_list), _listed_together, per_address=True),
    Event.DELISTED: Wording(_delisted, by_address(by_list), _delisted_together, Event.LISTED, per_address=True),
    Event.SPF_FAILING: Wording(_spf_failing, by_address(_by_spf_result), _spf_failing_together, per_address=True),
    Event.SPF_RECOVERED: Wording(
        _spf_recovered, by_address(_by_spf_result), _spf_recovered_together, Event.SPF_FAILING, per_address=True
    ),
    Event.ADDRESS_ADDED: Wording(lambda a: _address_added([a]), by_address(_by_host), _address_added),
    Event.ADDRESS_REMOVED: Wording(
        lambda a: _address_removed([a]), by_address(_by_host), _address_removed, Event.ADDRESS_ADDED
    ),
    Event.HOST_UNRESOLVED: Wording(_host_unresolved, alone),
    Event.HOST_RESOLVED: Wording(_host_resolved, alone, clears=Event.HOST_UNRESOLVED),
}
