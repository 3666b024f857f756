"""senderwatch as production runs it: through a recursive resolver (Debian's unbound, as shipped),
which iterates from the test world's root through delegations to the lists' own servers.

The lists: the story's JustSpam on rbldnsd, a list 150 ms away, one 1.5 s away (its servers
answer that late: a cold recursion to it takes seconds, and unbound drops an answer it took
longer than 1.9 s to find), and one that is down. The domains and the other catalogue lists are
on the in-process authoritative server.
"""

import ipaddress
import json

import pytest

from local.recursive import List, RecursiveWorld
from local.world import IPV4, IPV6, JUSTSPAM_REASON, MAIL_HOST, story_world

NEAR, SLOW, DOWN = "near.lists.example", "slow.lists.example", "down.lists.example"
NETWORK = ipaddress.ip_network("192.0.2.0/24")
LISTED = "192.0.2.0/25"  # the lower half of the network is on the near and the slow list
BIG = "big.example.com"  # an SPF answer too large for UDP: unbound, then senderwatch, ask over TCP


def world_data() -> dict:
    data = story_world()
    data[BIG] = [{"TXT": f"v=spf1 ip4:{IPV4} -all"}] + [
        {"TXT": f"google-site-verification={n:02d}" + "x" * 200} for n in range(8)
    ]
    return data


@pytest.fixture(scope="module")
def world():
    lists = {
        "dnsbl.justspam.org": List({"ip4set": [f"{IPV4} :127.0.0.2:{JUSTSPAM_REASON}"]}),
        NEAR: List({"ip4set": [f"{LISTED} :127.0.0.2:near $"]}, delay=0.15),
        SLOW: List({"ip4set": [f"{LISTED} :127.0.0.2:slow $"]}, delay=1.5),
        DOWN: List(down=True),
    }
    with RecursiveWorld(world_data(), lists=lists) as running:
        yield running


def check(cli, world, *args):
    status, out, err = cli("check", *args, "--nameserver", "{}:{}".format(*world.resolver), "--format", "json")
    return status, json.loads(out), err


def verdicts(document, zone):
    return {r["ip"]: v for r in document["results"] for v in r["dnsbl"] if v["zone"] == zone}


def test_the_story_through_a_recursive_resolver(cli, world):
    status, document, _ = check(cli, world, MAIL_HOST, "--sender", "example.com")
    by_ip = {r["ip"]: r for r in document["results"]}
    justspam = verdicts(document, "dnsbl.justspam.org")
    assert justspam[IPV4]["status"] == "listed" and justspam[IPV4]["reason"] == JUSTSPAM_REASON
    assert by_ip[IPV6]["spf"]["result"] == "softfail"  # the forgotten IPv6 address
    assert by_ip[IPV4]["spf"]["result"] == "pass"
    assert by_ip[IPV4]["rdns"] == {"ptr": [MAIL_HOST], "forward_confirmed": True, "matches_host": True}
    zen = verdicts(document, "zen.spamhaus.org")[IPV4]
    assert (zen["status"], zen["error"]) == ("error", "blocked")
    assert status == 1


def test_a_slow_list_gives_verdicts_for_one_address_then_for_a_network(cli, world):
    status, document, _ = check(cli, world, IPV4, "--zone", SLOW)
    assert verdicts(document, SLOW)[IPV4]["status"] == "listed"
    assert status == 1
    status, document, _ = check(cli, world, str(NETWORK), "--zone", SLOW)
    found = verdicts(document, SLOW)
    listed = {str(ip) for ip in ipaddress.ip_network(LISTED)}
    assert {ip for ip, v in found.items() if v["status"] == "listed"} == listed
    assert {ip for ip, v in found.items() if v["status"] == "clean"} == {str(ip) for ip in NETWORK} - listed
    assert status == 1


def test_a_list_150_ms_away_is_asked_about_once_per_address(cli, world):
    """Every resend reaches the list (unbound turns each packet into a recursion of its own) and
    counts against the list's quota: a list that answers in 150 ms is not asked twice."""
    before = world.asked(NEAR)
    status, document, _ = check(cli, world, "198.51.100.0/24", "--zone", NEAR)
    assert {v["status"] for v in verdicts(document, NEAR).values()} == {"clean"}
    after = world.asked(NEAR)
    asked = sum(n - before.get(key, 0) for key, n in after.items() if key[0].endswith(".100.51.198." + NEAR))
    assert 256 <= asked <= 256 * 1.1
    assert status == 0


def test_a_down_list_is_an_error_and_the_others_still_give_verdicts(cli, world):
    status, document, _ = check(cli, world, IPV4, "--zone", DOWN, "--zone", NEAR)
    down = verdicts(document, DOWN)[IPV4]
    assert down["status"] == "error" and down["error"] in ("timeout", "servfail")
    assert verdicts(document, NEAR)[IPV4]["status"] == "listed"
    assert status == 1


def test_an_spf_answer_too_big_for_udp_is_read_over_tcp(cli, world):
    status, document, _ = check(cli, world, IPV4, "--sender", BIG, "--zone", NEAR, "--no-rdns")
    (result,) = document["results"]
    assert result["spf"]["result"] == "pass"
    (domain,) = document["domains"]
    assert domain["spf_record"]["record"] == f"v=spf1 ip4:{IPV4} -all"
    # every TXT record at the name was read: together they are over what fits UDP (RFC 7208 3.4)
    assert [p["code"] for p in domain["spf_record"]["problems"]] == ["record-too-long"]
    assert status == 1
