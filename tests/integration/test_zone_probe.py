"""`targets add` with a list the catalogue does not know: its RFC 5782 test entries asked through
the local DNS world, before anything is written to the table on moto."""

import ipaddress

from local.world import IPV4, IPV6, MAIL_HOST, story_world, world_with
from senderwatch.addresses import reverse_name
from senderwatch.commands import main

V4_LISTED = reverse_name(ipaddress.ip_address("127.0.0.2"))
V4_CLEAN = reverse_name(ipaddress.ip_address("127.0.0.1"))


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def where(local):
    return ["--table", local.table_name, "--nameserver", "{}:{}".format(*local.dns_server.address), "--timeout", "2"]


def test_a_list_whose_test_entry_is_not_listed_is_refused_with_the_reason_and_nothing_written(local, capsys):
    status, out, err = run(capsys, "targets", "add", IPV4, "--zone", "bl.exmaple.org", *where(local))
    assert (status, out) == (2, "")
    assert err == (
        "senderwatch: error: bl.exmaple.org is not a list senderwatch knows, and it does not list its test entry "
        f"127.0.0.2, which every DNSBL lists (RFC 5782) (asked through {local.dns_server.address[0]}:"
        f"{local.dns_server.address[1]}): is the name right? Nothing was changed\n"
    )
    assert local.item(IPV4) is None
    status, _, err = run(capsys, "targets", "add", IPV4, "--zone", "+bl.exmaple.org", *where(local))
    assert status == 2 and "bl.exmaple.org is not a list senderwatch knows" in err  # added to the defaults too


def test_a_list_that_lists_everything_is_refused(local, capsys):
    everything = {
        f"{V4_LISTED}.all.example.org": [{"A": "127.0.0.2"}],
        f"{V4_CLEAN}.all.example.org": [{"A": "127.0.0.2"}],
    }
    local.dns_server.load(world_with(**everything))
    status, _, err = run(capsys, "targets", "add", IPV4, "--zone", "all.example.org", *where(local))
    assert status == 2 and "it lists its clean test entry 127.0.0.1 too, so it would call every address listed" in err


def test_a_list_whose_test_entries_answer_right_is_accepted_and_a_known_one_needs_no_probe(local, capsys):
    local.dns_server.load(world_with(**{f"{V4_LISTED}.bl.example.org": [{"A": "127.0.0.2"}]}))
    status, out, err = run(capsys, "targets", "add", IPV4, "--zone", "bl.example.org", *where(local))
    assert (status, err) == (0, "") and out.startswith(f"{IPV4} added")
    assert local.item(IPV4)["zones"] == ["bl.example.org"]
    # The host has an IPv6 address too: the list answers for IPv4 only, and that is said.
    changes = ["--zone", "-bl.spamcop.net", "--zone", "+bl.example.org"]
    status, _, err = run(capsys, "targets", "add", MAIL_HOST, *changes, *where(local))
    assert status == 0
    assert err.splitlines()[0] == (
        "senderwatch: note: bl.example.org answers its test entries right for IPv4 only: "
        "it does not list its test entry ::ffff:7f00:2, which every DNSBL lists (RFC 5782)"
    )
    # the host resolved through --nameserver: its address watched directly is said before its first check
    assert err.splitlines()[1:] == [
        f"senderwatch: note: {IPV4} of {MAIL_HOST} is watched through {IPV4} too: alerts about it name both"
    ]
    local.dns_server.load(story_world())
    status, _, err = run(capsys, "targets", "add", IPV6, "--zone", "zen.spamhaus.org", "--table", local.table_name)
    assert (status, err) == (0, "")  # a list the catalogue knows: DNS is not asked


def test_no_answer_from_the_resolver_is_a_fault_not_a_verdict(local, capsys):
    dead = ["--table", local.table_name, "--nameserver", "127.0.0.1:1", "--timeout", "0.5"]
    status, out, err = run(capsys, "targets", "add", IPV4, "--zone", "bl.example.org", *dead)
    assert (status, out) == (4, "") and "the DNS resolver 127.0.0.1:1 cannot be used" in err
    assert "nothing was changed" in err and local.item(IPV4) is None
