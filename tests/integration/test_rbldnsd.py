"""Interop with rbldnsd, the server real DNSBLs run. CI installs it; a missing rbldnsd fails."""

import ipaddress
import time

import pytest

from local.rbldnsd import Rbldnsd
from senderwatch.dnsbl import DnsblChecker
from senderwatch.errors import ResolverUnusable
from senderwatch.zones import resolve_zones

pytestmark = pytest.mark.rbldnsd

LISTED_V4 = ipaddress.ip_address("192.0.2.25")
LISTED_V6 = ipaddress.ip_address("2001:db8::25")
CLEAN_V4 = ipaddress.ip_address("198.51.100.1")
CLEAN_V6 = ipaddress.ip_address("2001:db8::99")

ZONES = {
    "dnsbl.justspam.org": {
        "ip4set": [":127.0.0.2:Listed by JustSpam: $ hit our traps", "127.0.0.2", "192.0.2.0/24 :127.0.0.2"]
    },
    "bl.example.org": {
        "ip4set": [":127.0.0.2:", "127.0.0.2", "192.0.2.25 :127.0.0.3:v4 $"],
        "ip6trie": [":127.0.0.2:", "::ffff:7f00:2", "2001:db8::25 :127.0.0.4:v6 $"],
    },
    "everything.example.org": {"ip4set": [":127.0.0.2:", "0.0.0.0/1", "128.0.0.0/1"]},
    "nothing.example.org": {"ip4set": [":127.0.0.2:", "203.0.113.7"]},
    "zen.spamhaus.org": {"ip4set": [":127.255.255.254:open resolver", "0.0.0.0/1", "128.0.0.0/1"]},
    "hosts.example.org": {"generic": ["mx A 192.0.2.25"]},
}


@pytest.fixture(scope="module")
def rbldnsd():
    with Rbldnsd(ZONES) as server:
        yield server


def check(run_with_resolver, server, zones, addresses):
    async def go(resolver):
        return await DnsblChecker(resolver, resolve_zones(zones)).check(addresses)

    return run_with_resolver(server, go, timeout=0.5)


def test_listing_with_rbldnsd_txt_reason_and_substitution(rbldnsd, run_with_resolver):
    ((listed,), (clean,)) = check(run_with_resolver, rbldnsd, ["dnsbl.justspam.org"], [LISTED_V4, CLEAN_V4])
    assert listed.status == "listed" and listed.codes == ("127.0.0.2",)
    assert listed.reason == "Listed by JustSpam: 192.0.2.25 hit our traps"
    assert listed.delist_url.startswith("http")
    assert clean.status == "clean"


def test_ipv6_listing_from_an_ip6trie(rbldnsd, run_with_resolver):
    results = check(run_with_resolver, rbldnsd, ["bl.example.org"], [LISTED_V4, LISTED_V6, CLEAN_V6])
    assert [(v.status, v.codes) for (v,) in results] == [
        ("listed", ("127.0.0.3",)),
        ("listed", ("127.0.0.4",)),
        ("clean", ()),
    ]
    assert results[1][0].reason == "v6 2001:db8::25"


def test_zones_failing_their_test_entries_are_unhealthy(rbldnsd, run_with_resolver):
    (verdicts,) = check(run_with_resolver, rbldnsd, ["everything.example.org", "nothing.example.org"], [CLEAN_V4])
    assert [(v.status, v.error) for v in verdicts] == [
        ("unhealthy", "lists-everything"),
        ("unhealthy", "lists-nothing"),
    ]


def test_blocked_resolver_answer_is_an_error(rbldnsd, run_with_resolver):
    ((verdict,),) = check(run_with_resolver, rbldnsd, ["zen.spamhaus.org"], [LISTED_V4])
    assert (verdict.status, verdict.error, verdict.codes) == ("error", "blocked", ("127.255.255.254",))


def test_zone_rbldnsd_does_not_serve_is_refused(rbldnsd, run_with_resolver):
    (verdicts,) = check(run_with_resolver, rbldnsd, ["dnsbl.justspam.org", "unserved.example.org"], [LISTED_V4])
    assert [(v.zone, v.status, v.error) for v in verdicts] == [
        ("dnsbl.justspam.org", "listed", ""),
        ("unserved.example.org", "error", "refused"),
    ]


def test_a_server_that_refuses_everything_is_named_as_the_problem(rbldnsd, run_with_resolver):
    with pytest.raises(ResolverUnusable, match="REFUSED to every query"):
        check(run_with_resolver, rbldnsd, ["unserved.example.org"], [LISTED_V4])


def test_new_data_is_served_after_a_reload(run_with_resolver):
    zones = {"bl.test": {"ip4set": [":127.0.0.2:", "127.0.0.2"]}}
    with Rbldnsd(zones) as server:
        ((before,),) = check(run_with_resolver, server, ["bl.test"], [LISTED_V4])
        server.reload({"bl.test": {"ip4set": [":127.0.0.2:", "127.0.0.2", str(LISTED_V4)]}})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ((after,),) = check(run_with_resolver, server, ["bl.test"], [LISTED_V4])
            if after.status == "listed":
                break
            time.sleep(0.05)
    assert (before.status, after.status) == ("clean", "listed")


def test_rbldnsd_as_the_nameserver_answers_what_it_serves_besides_its_lists(rbldnsd, capsys):
    """rbldnsd refuses the root and what it does not serve, and answers the rest: a host name it
    serves is resolved through it and its address checked (a refusal is not "nothing exists")."""
    import json

    from senderwatch.commands import main

    host, port = rbldnsd.address
    argv = ["check", "mx.hosts.example.org", "--zone", "dnsbl.justspam.org", "--no-rdns", "--format", "json"]
    status = main([*argv, "--nameserver", f"{host}:{port}"])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert (result["ip"], result["host"], result["dnsbl"][0]["status"]) == (
        "192.0.2.25",
        "mx.hosts.example.org",
        "listed",
    )
    assert status == 1


def test_through_rbldnsd_a_list_it_does_not_serve_is_said_as_the_mirrors_refusal(rbldnsd, capsys):
    """rbldnsd refuses a zone it does not carry: that is said of the mirror, not of the list; and a
    zone it does not carry, asked alone (a typo), is named beside the refusal."""
    from senderwatch.commands import main

    host, port = rbldnsd.address
    nameserver = f"{host}:{port}"
    status = main(["check", "198.51.100.1", "--zone", "dnsbl.justspam.org", "--zone", "zen.spamhaus.org.x", "--no-rdns",
                   "--nameserver", nameserver])  # fmt: skip
    out = capsys.readouterr().out
    assert f"{nameserver} refused: it does not serve this list" in out and status == 3
    status = main(["check", "198.51.100.1", "--zone", "dnsbl.justpam.org", "--nameserver", nameserver])
    err = capsys.readouterr().err
    assert status == 3 and "nor answers for the lists asked: dnsbl.justpam.org" in err
