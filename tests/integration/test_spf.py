"""SPF for the story's addresses: the IPv6 softfail that started this project."""

import asyncio
import ipaddress

from local.world import DOMAIN, IPV4, IPV6, MAIL_HOST, story_world
from senderwatch.resolver import Resolver
from senderwatch.spfresult import check_spf


def spf(server, ip, sender="", helo="", timeout=0.2):
    async def run():
        async with Resolver([server.address], timeout=timeout, attempts=1) as resolver:
            return await check_spf(resolver, ipaddress.ip_address(ip), sender, helo)

    return asyncio.run(run())


def test_ipv4_passes_and_ipv6_softfails_when_the_record_lacks_it(dns_world):
    server = dns_world(story_world())
    v4 = spf(server, IPV4, f"postmaster@{DOMAIN}")
    v6 = spf(server, IPV6, f"postmaster@{DOMAIN}")
    assert (v4.result, v4.mechanism) == ("pass", f"ip4:{IPV4}")
    assert (v6.result, v6.mechanism) == ("softfail", "~all")
    assert v6.record == f"v=spf1 ip4:{IPV4} ~all"
    assert v6.sender == f"postmaster@{DOMAIN}"
    assert v6.lookups == 0


def test_adding_the_ipv6_address_fixes_it(dns_world):
    server = dns_world(story_world(spf_has_ipv6=True))
    assert spf(server, IPV6, f"postmaster@{DOMAIN}").result == "pass"


def test_helo_identity_is_checked_on_its_own(dns_world):
    server = dns_world(story_world() | {MAIL_HOST: [{"TXT": "v=spf1 a -all"}, {"A": IPV4}, {"AAAA": IPV6}]})
    result = spf(server, IPV6, "", MAIL_HOST)
    assert result.result == "pass" and result.sender == f"postmaster@{MAIL_HOST}"
    assert result.lookups == 1


def test_dns_timeout_is_temperror_not_a_verdict(dns_world):
    server = dns_world({DOMAIN: ["TIMEOUT"]})
    assert spf(server, IPV4, f"postmaster@{DOMAIN}", timeout=0.05).result == "temperror"


def test_hostile_explanation_is_made_safe(dns_world):
    server = dns_world(
        {
            DOMAIN: [{"TXT": "v=spf1 -all exp=why.example.com"}],
            "why.example.com": [{"TXT": "Denied \x1b[2J\x1b[31mcall us"}],
        }
    )
    result = spf(server, IPV4, f"postmaster@{DOMAIN}")
    assert result.result == "fail"
    assert result.explanation == "Denied call us"


def test_a_record_over_the_lookup_limit_fails_only_the_senders_matched_after_the_limit(dns_world):
    """What SPF_RECORD_BROKEN's count of failing addresses rests on: the terms are evaluated in order,
    so an address the record's ip4: term matches before the eleventh lookup still passes."""
    includes = {f"s{n}.ex.org": [{"TXT": "v=spf1 ip4:203.0.113.99 -all"}] for n in range(12)}
    record = f"v=spf1 ip4:{IPV4} " + " ".join(f"include:s{n}.ex.org" for n in range(12)) + " -all"
    server = dns_world({DOMAIN: [{"TXT": record}], **includes})
    first = spf(server, IPV4, f"postmaster@{DOMAIN}")
    after = spf(server, "192.0.2.26", f"postmaster@{DOMAIN}")
    assert (first.result, first.mechanism) == ("pass", f"ip4:{IPV4}")
    assert after.result == "permerror" and "lookups" in after.explanation.lower()
