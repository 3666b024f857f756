"""The origin story as a local DNS world.

A company's Postfix server sends from 192.0.2.25 and 2001:db8::25 for example.com.
Office 365 refused its mail: 192.0.2.25 was on dnsbl.justspam.org; the SPF record
named only the IPv4 address, so mail over IPv6 softfailed; and Spamhaus refused to
answer the cloud resolver (127.255.255.254). Every catalogue zone is served with its
RFC 5782 test entries, so a default `senderwatch check` works against this world.
"""

from __future__ import annotations

import ipaddress

from senderwatch.addresses import reverse_name
from senderwatch.zones import catalogue

IPV4 = "192.0.2.25"
IPV6 = "2001:db8::25"
DOMAIN = "example.com"
MAIL_HOST = "mail.example.com"
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
    if listed:
        data[f"{reverse_name(ipaddress.ip_address(IPV4))}.dnsbl.justspam.org"] = [
            {"A": "127.0.0.2"},
            {"TXT": JUSTSPAM_REASON},
        ]
    spf = f"v=spf1 ip4:{IPV4}" + (f" ip6:{IPV6}" if spf_has_ipv6 else "") + " ~all"
    data[DOMAIN] = [{"TXT": spf}, {"MX": [10, MAIL_HOST]}]
    data[MAIL_HOST] = [{"A": IPV4}, {"AAAA": IPV6}]
    data[ipaddress.ip_address(IPV4).reverse_pointer] = [{"PTR": MAIL_HOST}]
    data[ipaddress.ip_address(IPV6).reverse_pointer] = [{"PTR": MAIL_HOST}]
    return data
