"""Every DNSBL verdict rule, end to end against an authoritative server on 127.0.0.1."""

import ipaddress

from senderwatch.addresses import reverse_name
from senderwatch.dnsbl import DnsblChecker
from senderwatch.zones import resolve_zones

V4 = ipaddress.ip_address("192.0.2.25")
V6 = ipaddress.ip_address("2001:db8::25")


def healthy(zone, v6=True):
    data = {f"2.0.0.127.{zone}": [{"A": "127.0.0.2"}]}
    if v6:
        data[f"{reverse_name(ipaddress.ip_address('::ffff:7f00:2'))}.{zone}"] = [{"A": "127.0.0.2"}]
    return data


def check(run_with_resolver, server, zones, addresses, dqs_key=None, **options):
    async def go(resolver):
        return await DnsblChecker(resolver, resolve_zones(zones), dqs_key).check(addresses)

    return run_with_resolver(server, go, **options)


def by_zone(verdicts):
    return {v.zone: v for v in verdicts}


def test_listed_with_reason_and_clean(dns_world, run_with_resolver):
    data = healthy("bl.test") | {
        "25.2.0.192.bl.test": [{"A": "127.0.0.2"}, {"TXT": "Spam trap hit 2026-11-20 \x1b[31mred"}],
        f"{reverse_name(V6)}.bl.test": [{"A": "127.0.0.3"}],
    }
    server = dns_world(data)
    (v4,), (v6,) = check(run_with_resolver, server, ["bl.test"], [V4, V6])
    assert v4.status == "listed" and v4.codes == ("127.0.0.2",)
    assert v4.reason == "Spam trap hit 2026-11-20 red"
    assert v6.status == "listed" and v6.codes == ("127.0.0.3",)
    ((clean,),) = check(run_with_resolver, server, ["bl.test"], [ipaddress.ip_address("198.51.100.1")])
    assert clean.status == "clean"


def test_ipv6_is_asked_with_32_reversed_nibbles(dns_world, run_with_resolver):
    name = "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test"
    server = dns_world(healthy("bl.test") | {name: [{"A": "127.0.0.2"}]})
    ((verdict,),) = check(run_with_resolver, server, ["bl.test"], [V6])
    assert verdict.status == "listed"


def test_ipv4_only_zone_is_not_asked_about_ipv6(dns_world, run_with_resolver):
    server = dns_world(healthy("dnsbl.justspam.org", v6=False))
    (v4_verdicts, v6_verdicts) = check(run_with_resolver, server, ["dnsbl.justspam.org"], [V4, V6])
    assert [v.zone for v in v4_verdicts] == ["dnsbl.justspam.org"]
    assert v6_verdicts == []


def test_blocked_resolver_is_an_error_never_a_listing(dns_world, run_with_resolver):
    server = dns_world({"*.zen.spamhaus.org": [{"A": "127.255.255.254"}]})
    (verdicts,) = check(run_with_resolver, server, ["zen.spamhaus.org"], [V4])
    assert verdicts[0].status == "error" and verdicts[0].error == "blocked"
    assert verdicts[0].codes == ("127.255.255.254",)


def test_faults_are_errors_never_clean(dns_world, run_with_resolver):
    data = {}
    for zone, marker in (("slow.test", "TIMEOUT"), ("broken.test", "SERVFAIL"), ("closed.test", "REFUSED")):
        data |= {f"*.{zone}": [marker]}
    data |= {"*.rewritten.test": [{"A": "198.51.100.80"}]}
    server = dns_world(data)
    zones = ["slow.test", "broken.test", "closed.test", "rewritten.test"]
    (verdicts,) = check(run_with_resolver, server, zones, [V4], timeout=0.05, attempts=1)
    got = {v.zone: (v.status, v.error) for v in verdicts}
    assert got == {
        "slow.test": ("error", "timeout"),
        "broken.test": ("error", "servfail"),
        "closed.test": ("error", "refused"),
        "rewritten.test": ("error", "bad-answer"),
    }


def test_zone_that_lists_everything_or_nothing_is_unhealthy_and_not_trusted(dns_world, run_with_resolver):
    server = dns_world({"*.all.test": [{"A": "127.0.0.2"}], "25.2.0.192.none.test": [{"A": "127.0.0.2"}]})
    (verdicts,) = check(run_with_resolver, server, ["all.test", "none.test"], [V4])
    got = by_zone(verdicts)
    assert (got["all.test"].status, got["all.test"].error) == ("unhealthy", "lists-everything")
    assert (got["none.test"].status, got["none.test"].error) == ("unhealthy", "lists-nothing")
    # An unhealthy zone's answers are not asked for at all that run.
    assert server.queries == 2 * 2 + 1  # two IPv4 test entries per zone and the DNS root, nothing else


def test_test_entries_are_asked_once_per_zone_per_run_not_per_address(dns_world, run_with_resolver):
    server = dns_world(healthy("bl.test"))
    addresses = [ipaddress.ip_address(f"198.51.100.{i}") for i in range(1, 51)]
    results = check(run_with_resolver, server, ["bl.test"], addresses)
    assert all(v.status == "clean" for (v,) in results)
    assert server.queries == 2 + 1 + 50  # the IPv4 test entries and the root, then one query per address


def test_spamhaus_dqs_key_sends_queries_to_the_dqs_zone(dns_world, run_with_resolver):
    server = dns_world(
        healthy("k3y.zen.dq.spamhaus.net")
        | {
            "25.2.0.192.k3y.zen.dq.spamhaus.net": [{"A": "127.0.0.4"}],
            "*.zen.spamhaus.org": [{"A": "127.255.255.254"}],
        }
    )
    ((verdict,),) = check(run_with_resolver, server, ["zen.spamhaus.org"], [V4], dqs_key="k3y")
    assert verdict.zone == "zen.spamhaus.org"
    assert verdict.status == "listed" and "XBL" in verdict.meaning
