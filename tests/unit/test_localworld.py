"""The local stack's DNS world: the scenario a user changes (make local-world) and what it serves."""

import ipaddress
import re
import shlex
from pathlib import Path

import pytest
from dnslib import QTYPE

from local.dnsserver import Zone
from local.world import IPV4, change_scenario, check_scenario, scenario_world, story_scenario, story_world
from senderwatch.addresses import reverse_name

DEVELOPING = Path(__file__).resolve().parents[2] / "docs" / "developing.md"


def answer(scenario: dict, name: str) -> tuple[str, list] | None:
    return Zone(scenario_world(scenario)).resolve(name, QTYPE.A)


def listing(address: str, zone: str) -> str:
    return f"{reverse_name(ipaddress.ip_address(address))}.{zone}"


def test_the_world_begins_as_the_story_did():
    assert scenario_world(story_scenario()) == story_world()  # the demo's world, record for record
    assert answer(story_scenario(), listing(IPV4, "dnsbl.justspam.org"))[0] == "NOERROR"
    assert answer(story_scenario(), listing("192.0.2.77", "dnsbl.justspam.org")) == ("NXDOMAIN", [])


def test_an_address_listed_is_answered_and_cleared_is_not():
    listed = change_scenario(story_scenario(), ["list", "192.0.2.77", "dnsbl.justspam.org"])
    rcode, records = answer(listed, listing("192.0.2.77", "dnsbl.justspam.org"))
    assert rcode == "NOERROR" and str(records[0][1]) == "127.0.0.2"
    cleared = change_scenario(listed, ["clear", "192.0.2.77"])
    assert answer(cleared, listing("192.0.2.77", "dnsbl.justspam.org")) == ("NXDOMAIN", [])
    assert answer(cleared, listing(IPV4, "dnsbl.justspam.org"))[0] == "NOERROR"  # the story's listing stays


def test_a_domain_can_be_listed_on_a_domain_list():
    listed = change_scenario(story_scenario(), ["list", "example.com", "multi.uribl.com"])
    assert answer(listed, "example.com.multi.uribl.com")[0] == "NOERROR"


@pytest.mark.parametrize(("fault", "answered"), [("servfail", ("SERVFAIL", [])), ("timeout", None)])
def test_a_broken_list_fails_for_every_name_its_test_entries_too(fault, answered):
    broken = change_scenario(story_scenario(), ["break", "dnsbl.justspam.org", fault])
    assert answer(broken, listing(IPV4, "dnsbl.justspam.org")) == answered
    assert answer(broken, "2.0.0.127.dnsbl.justspam.org") == answered
    fixed = change_scenario(broken, ["fix", "dnsbl.justspam.org"])
    assert answer(fixed, listing(IPV4, "dnsbl.justspam.org"))[0] == "NOERROR"


def test_slow_holds_answers_back_and_reset_is_the_story_again():
    slow = change_scenario(story_scenario(), ["slow", "0.3"])
    assert slow["slow"] == 0.3
    assert change_scenario(slow, ["reset"]) == story_scenario()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ([], "say what to change"),
        (["lists", "192.0.2.77"], "no world change 'lists'"),
        (["list", "192.0.2.77"], "list takes 2 argument(s)"),
        (["list", "not a name", "dnsbl.justspam.org"], "is neither an address nor a domain"),
        (["clear", "192.0.2.99"], "192.0.2.99 is not listed"),
        (["break", "dnsbl.justspam.org", "slowly"], "not 'slowly'"),
        (["fix", "dnsbl.justspam.org"], "is not broken"),
        (["slow", "fast"], "slow takes seconds"),
        (["slow", "99"], '"slow" is how many seconds'),
    ],
)
def test_a_wrong_change_says_what_is_wrong_in_a_line(change, says):
    with pytest.raises(ValueError, match=re.escape(says)) as caught:
        change_scenario(story_scenario(), change)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ([], "one JSON object"),
        ({"listed": {}, "lists": {}}, "no part 'lists'"),
        ({"listed": {"192.0.2.77": "dnsbl.justspam.org"}}, '"listed" maps'),
        ({"broken": {"dnsbl.justspam.org": "down"}}, '"broken" maps'),
        ({"records": {"example.com": {"TXT": "v=spf1 -all"}}}, '"records" maps'),
        ({"records": {"example.com": [{"SRV": "0 0 25 mail.example.com"}]}}, "unsupported record type SRV"),
        ({"records": {"example.com": ["DOWN"]}}, "unknown marker 'DOWN'"),
    ],
)
def test_a_world_file_that_does_not_read_says_why(scenario, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        check_scenario(scenario)


def test_every_world_change_the_docs_show_is_one_the_stack_takes():
    text = DEVELOPING.read_text(encoding="utf-8")
    shown = re.findall(r"^make local-world (CHANGE=(?:'[^']*'|\S+))", text, re.MULTILINE)
    assert len(shown) >= 4
    scenario = story_scenario()
    for assignment in shown:
        scenario = change_scenario(scenario, shlex.split(shlex.split(assignment)[0].partition("=")[2]))
