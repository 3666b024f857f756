"""The origin story as a local DNS world.

A company's Postfix server, mail.example.com, sends from 192.0.2.25 and 2001:db8::25 for
example.com. Office 365 refused its mail: 192.0.2.25 was on dnsbl.justspam.org; the SPF
record named only the IPv4 address, so mail over IPv6 softfailed; and Spamhaus refused to
answer the cloud resolver (127.255.255.254). Every catalogue list (address and domain lists)
is served with its test entries, so a default `senderwatch check` works against this world.

Beside it, three domains of the kind senderwatch's domain checks are for: bulk.example.net,
whose SPF record needs 12 DNS lookups and which has no DMARC record; and spammy.example.org,
on the domain lists.
"""

from __future__ import annotations

import ipaddress

from senderwatch.addresses import reverse_name
from senderwatch.zones import catalogue, domain_catalogue

from .dnsserver import Zone

IPV4 = "192.0.2.25"
IPV6 = "2001:db8::25"
DOMAIN = "example.com"
MAIL_HOST = "mail.example.com"
BULK_DOMAIN = "bulk.example.net"  # SPF needs 12 lookups; no DMARC
LISTED_DOMAIN = "spammy.example.org"  # on URIBL (black) and the DBL
DMARC = "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"

# Where the story began: Office 365 refusing the server's mail, as Postfix logs it.
STORY_BOUNCE = (
    "Nov 27 09:12:01 mail postfix/smtp[12345]: 4F3A21C0123: to=<anna@contoso.com>, "
    "relay=contoso-com.mail.protection.outlook.com[104.47.17.138]:25, delay=1.2, delays=0.1/0/0.6/0.5, "
    "dsn=5.7.606, status=bounced (host contoso-com.mail.protection.outlook.com[104.47.17.138] said: "
    "550 5.7.606 Access denied, banned sending IP [192.0.2.25]. To request removal from this list please "
    "visit https://sender.office.com/ and follow the directions. For more information please go to "
    "http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) [AM4PEPF00027A5F.eurprd04.prod.outlook.com "
    "2026-11-27T09:12:01.000Z 08DD0E0A8D7C3F1A] (in reply to RCPT TO command))"
)
# And the day its mail was accepted again.
STORY_ACCEPTED = (
    "Nov 28 10:02:11 mail postfix/smtp[22345]: 7C4D5E0126: to=<anna@contoso.com>, "
    "relay=contoso-com.mail.protection.outlook.com[104.47.17.138]:25, delay=0.8, delays=0.1/0/0.3/0.4, "
    "dsn=2.6.0, status=sent (250 2.6.0 <20261128100211.7C4D5E0126@mail.example.com> "
    "[InternalId=1234, Hostname=AM4PR04MB1234.eurprd04.prod.outlook.com] 10523 bytes in 0.215, 47.791 KB/sec "
    "Queued mail for delivery)"
)
_TEST_CODES = {"dbl.spamhaus.org": "127.0.1.2", "multi.surbl.org": "127.0.0.254", "multi.uribl.com": "127.0.0.14"}
JUSTSPAM_REASON = "Listed by JustSpam: spam trap hits from this IP, see http://www.justspam.org/check-an-ip"


DQS_KEY = "demo0dqs0key"


def story_world(*, listed: bool = True, spf_has_ipv6: bool = False, spamhaus_blocked: bool = True) -> dict:
    """Zone data (dnsserver shape) for the story; the flags are how the world changes once fixed.

    Spamhaus answers its DQS zone for DQS_KEY (as it does for a registered key) while it
    refuses plain zen.spamhaus.org queries from this "cloud resolver".
    """
    data: dict = {
        f"2.0.0.127.{DQS_KEY}.zen.dq.spamhaus.net": [{"A": "127.0.0.2"}],
        f"2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.{DQS_KEY}.zen.dq.spamhaus.net": [
            {"A": "127.0.0.2"}
        ],
    }
    for zone in catalogue().values():
        if zone.zone == "zen.spamhaus.org" and spamhaus_blocked:
            data[f"*.{zone.zone}"] = [{"A": "127.255.255.254"}]
            continue
        for family in zone.families:
            entry = zone.test_listed.get(family)
            if entry:
                code = next(iter(zone.codes), "127.0.0.2")
                name = f"{reverse_name(ipaddress.ip_address(entry))}.{zone.zone}"
                data[name] = [{"A": code}, {"TXT": f"{zone.zone} test entry (RFC 5782)"}]
    for zone in domain_catalogue().values():
        if zone.zone == "dbl.spamhaus.org" and spamhaus_blocked:
            data[f"*.{zone.zone}"] = [{"A": "127.255.255.254"}]
            continue
        data[f"{zone.test_listed[0]}.{zone.zone}"] = [{"A": _TEST_CODES.get(zone.zone, "127.0.0.2")}]
    data[f"dbltest.com.{DQS_KEY}.dbl.dq.spamhaus.net"] = [{"A": "127.0.1.2"}]
    data.update(_domains(spamhaus_blocked))
    if listed:
        data[f"{reverse_name(ipaddress.ip_address(IPV4))}.dnsbl.justspam.org"] = [
            {"A": "127.0.0.2"},
            {"TXT": JUSTSPAM_REASON},
        ]
    spf = f"v=spf1 ip4:{IPV4}" + (f" ip6:{IPV6}" if spf_has_ipv6 else "") + " ~all"
    data[DOMAIN] = [{"TXT": spf}, {"MX": [10, MAIL_HOST]}]
    data[f"_dmarc.{DOMAIN}"] = [{"TXT": DMARC}]
    data[MAIL_HOST] = [{"A": IPV4}, {"AAAA": IPV6}]
    data[ipaddress.ip_address(IPV4).reverse_pointer] = [{"PTR": MAIL_HOST}]
    data[ipaddress.ip_address(IPV6).reverse_pointer] = [{"PTR": MAIL_HOST}]
    return data


def world_with(**records) -> dict:
    """The story's world with some names' records replaced (a name: its list of records)."""
    return {**story_world(), **records}


def _domains(spamhaus_blocked: bool) -> dict:
    """The other domains: one whose SPF record breaks the lookup limit, one on the domain lists."""
    data: dict = {}
    # 12 lookups: 4 includes, each naming two hosts with "a:" (4 + 8).
    includes = [f"_spf{n}.{BULK_DOMAIN}" for n in range(1, 5)]
    data[BULK_DOMAIN] = [{"TXT": "v=spf1 " + " ".join(f"include:{i}" for i in includes) + " -all"}]
    for n, name in enumerate(includes, 1):
        hosts = [f"out{n}a.{BULK_DOMAIN}", f"out{n}b.{BULK_DOMAIN}"]
        data[name] = [{"TXT": "v=spf1 " + " ".join(f"a:{h}" for h in hosts) + " -all"}]
        for k, host in enumerate(hosts):
            data[host] = [{"A": f"198.51.100.{10 * n + k}"}, {"AAAA": f"2001:db8:100::{10 * n + k}"}]
    data[LISTED_DOMAIN] = [{"TXT": "v=spf1 ip4:203.0.113.0/24 -all"}]
    data[f"_dmarc.{LISTED_DOMAIN}"] = [{"TXT": "v=DMARC1; p=reject"}]
    data[f"{LISTED_DOMAIN}.multi.uribl.com"] = [{"A": "127.0.0.2"}]
    if not spamhaus_blocked:
        data[f"{LISTED_DOMAIN}.dbl.spamhaus.org"] = [{"A": "127.0.1.2"}]
    data[f"{LISTED_DOMAIN}.{DQS_KEY}.dbl.dq.spamhaus.net"] = [
        {"A": "127.0.1.2"},
        {"TXT": "spam domain, see https://check.spamhaus.org/"},
    ]
    return data


# -- the local stack's world: the story as a scenario file changes it -------------------------------

FAULTS = {"servfail": "SERVFAIL", "refused": "REFUSED", "timeout": "TIMEOUT"}  # how a list can break


def story_scenario() -> dict:
    """The scenario file the local stack starts from: the story as it began (the IPv4 address on
    JustSpam, the SPF record without the IPv6 address)."""
    return {"listed": {IPV4: ["dnsbl.justspam.org"]}, "broken": {}, "slow": 0, "records": {}}


def check_scenario(scenario) -> dict:
    """SCENARIO as the file holds it, every part checked: ValueError says, in a line, what is wrong."""
    if not isinstance(scenario, dict):
        raise ValueError("the world file holds one JSON object: listed, broken, slow, records")
    unknown = sorted(set(scenario) - set(story_scenario()))
    if unknown:
        raise ValueError(f"the world file has no part {unknown[0]!r}: its parts are listed, broken, slow, records")
    full = {**story_scenario(), "listed": {}, **scenario}
    listed, broken, slow, records = full["listed"], full["broken"], full["slow"], full["records"]
    if not isinstance(listed, dict) or not all(
        isinstance(zones, list) and all(isinstance(z, str) and z for z in zones) for zones in listed.values()
    ):
        raise ValueError('"listed" maps an address or a domain to the lists that list it: {"192.0.2.25": [ZONE]}')
    for name in listed:
        listing_name(name, "zone.example")
    if not isinstance(broken, dict) or not all(fault in FAULTS for fault in broken.values()):
        raise ValueError(f'"broken" maps a list to how it fails: {", ".join(FAULTS)}')
    if isinstance(slow, bool) or not isinstance(slow, (int, float)) or not 0 <= slow <= 30:
        raise ValueError('"slow" is how many seconds every answer is held back (0 to 30)')
    shape = '"records" maps a name to its records: {"example.com": [{"TXT": "v=spf1 -all"}]}'
    if not isinstance(records, dict) or not all(isinstance(r, list) for r in records.values()):
        raise ValueError(shape)
    try:
        Zone(records)  # each record one the DNS server can serve
    except (TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"{shape}: {exc}") from None
    return full


def listing_name(listed: str, zone: str) -> str:
    """The name ZONE answers for LISTED: the reversed address, or the domain, under the zone."""
    try:
        return f"{reverse_name(ipaddress.ip_address(listed))}.{zone}"
    except ValueError:
        if "." not in listed.strip(".") or " " in listed:
            raise ValueError(f"{listed!r} is neither an address nor a domain") from None
        return f"{listed.strip('.').lower()}.{zone}"


def scenario_world(scenario: dict) -> dict:
    """Zone data (dnsserver shape) for a checked SCENARIO: the story's world without its listing,
    then the addresses and domains listed, the lists broken and the names' records replaced. How
    slow the answers are is the server's delay, not zone data."""
    data = story_world(listed=False)
    domain_lists = {zone.zone for zone in domain_catalogue().values()}
    for listed, zones in scenario["listed"].items():
        for zone in zones:
            code = _TEST_CODES.get(zone, "127.0.0.2") if zone in domain_lists else "127.0.0.2"
            reason = JUSTSPAM_REASON if zone == "dnsbl.justspam.org" else f"{listed} listed by the local world file"
            data[listing_name(listed, zone)] = [{"A": code}, {"TXT": reason}]
    for zone, fault in scenario["broken"].items():
        zone = zone.strip(".").lower()
        for name in [n for n in data if n == zone or n.endswith("." + zone)]:
            del data[name]
        data[f"*.{zone}"] = [FAULTS[fault]]
    data.update(scenario["records"])
    return data


def describe(scenario: dict) -> str:
    """What SCENARIO changes in the story's world, in a line."""
    parts = [f"{name} listed on {', '.join(zones)}" for name, zones in scenario["listed"].items() if zones]
    parts += [f"{zone} answers {fault}" for zone, fault in scenario["broken"].items()]
    parts += [f"every answer {scenario['slow']} s late"] * bool(scenario["slow"])
    parts += [f"{name} has records of its own" for name in scenario["records"]]
    return "; ".join(parts) or "nothing listed, nothing broken"


WORLD_USAGE = (
    "list ADDRESS|DOMAIN ZONE | clear ADDRESS|DOMAIN [ZONE] | break ZONE [servfail|refused|timeout]"
    " | fix ZONE | slow SECONDS | show | reset"
)


def change_scenario(scenario: dict, change: list[str]) -> dict:
    """SCENARIO as the words of a change (WORLD_USAGE) leave it; ValueError says what is wrong."""
    verb, args = (change[0], change[1:]) if change else ("", [])
    arity = {"list": (2, 2), "clear": (1, 2), "break": (1, 2), "fix": (1, 1), "slow": (1, 1), "show": (0, 0)}
    arity["reset"] = (0, 0)
    if verb not in arity:
        raise ValueError(f"no world change {verb!r}" if verb else "say what to change")
    low, high = arity[verb]
    if not low <= len(args) <= high:
        raise ValueError(f"{verb} takes {low}{'' if low == high else f' or {high}'} argument(s)")
    listed, broken = scenario["listed"], scenario["broken"]
    if verb == "list":
        name, zone = args
        listing_name(name, zone)
        listed[name] = sorted({*listed.get(name, []), zone.strip(".").lower()})
    elif verb == "clear":
        if args[0] not in listed:
            raise ValueError(f"{args[0]} is not listed in the world")
        listed[args[0]] = [z for z in listed[args[0]] if len(args) == 2 and z != args[1].strip(".").lower()]
        if not listed[args[0]]:
            del listed[args[0]]
    elif verb == "break":
        fault = args[1].lower() if len(args) == 2 else "servfail"
        if fault not in FAULTS:
            raise ValueError(f"a list breaks as {', '.join(FAULTS)}, not {fault!r}")
        broken[args[0].strip(".").lower()] = fault
    elif verb == "fix":
        if broken.pop(args[0].strip(".").lower(), None) is None:
            raise ValueError(f"{args[0]} is not broken in the world")
    elif verb == "slow":
        try:
            scenario["slow"] = float(args[0])
        except ValueError:
            raise ValueError(f"slow takes seconds, not {args[0]!r}") from None
    elif verb == "reset":
        return story_scenario()
    return check_scenario(scenario)
