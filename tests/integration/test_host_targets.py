"""Host and network targets end to end: `senderwatch check` on the local DNS server, and the
pipeline (moto + the story's DNS world) from `targets add` to the alerts in the inbox."""

import json

from local.dnsserver import DNSServer
from local.world import DOMAIN, IPV4, IPV6, MAIL_HOST, story_world, world_with

NEW_V6 = "2001:db8::26"


# -- senderwatch check --------------------------------------------------------------------------------


def test_check_a_host_finds_the_ipv6_address_nobody_typed_and_its_softfail(cli):
    with DNSServer(story_world()) as dns:
        ns = "{}:{}".format(*dns.address)
        status, out, _ = cli("check", MAIL_HOST, "--sender", DOMAIN, "--nameserver", ns, "--format", "json")
    assert status == 1
    results = {r["ip"]: r for r in json.loads(out)["results"]}
    assert set(results) == {IPV4, IPV6} and {r["host"] for r in results.values()} == {MAIL_HOST}
    assert results[IPV6]["spf"]["result"] == "softfail"
    assert results[IPV6]["rdns"] == {"ptr": [MAIL_HOST], "forward_confirmed": True, "matches_host": True}
    assert [v["zone"] for v in results[IPV4]["dnsbl"] if v["status"] == "listed"] == ["dnsbl.justspam.org"]


def test_a_host_that_does_not_resolve_is_said_and_checks_nothing(cli):
    world = world_with(**{"v6only.example.com": [{"AAAA": IPV6}], "broken.example.com": ["SERVFAIL"]})
    with DNSServer(world) as dns:
        ns = "{}:{}".format(*dns.address)
        argv = ["check", "nohost.example.com", "broken.example.com", "v6only.example.com", "--nameserver", ns]
        status, out, _ = cli(*argv, "--format", "json", "--no-rdns")
        table = cli(*argv, "--no-rdns")[1]
    assert status == 3  # nothing wrong found, but some checks could not be done
    results = json.loads(out)["results"]
    problems = {(r["host"], r["version"], r["error"]) for r in results if r["ip"] is None}
    assert problems == {
        ("nohost.example.com", None, "no-such-host"),
        ("broken.example.com", 4, "servfail"),
        ("broken.example.com", 6, "servfail"),
    }
    assert [r["ip"] for r in results if r["ip"]] == [IPV6]  # an IPv6-only host is fine as it is
    assert "nohost.example.com does not exist in DNS (NXDOMAIN)" in table
    assert "the IPv4 addresses of broken.example.com could not be found (servfail)" in table


def test_check_a_network_sums_it_up_and_gives_one_fix_for_the_range(cli):
    with DNSServer(story_world()) as dns:
        ns = "{}:{}".format(*dns.address)
        argv = ["check", "192.0.2.16/28", "--sender", DOMAIN, "--nameserver", ns, "--no-rdns"]
        status, out, _ = cli(*argv)
        document = json.loads(cli(*argv, "--format", "json")[1])
    assert status == 1
    assert len(document["results"]) == 16 and {r["network"] for r in document["results"]} == {"192.0.2.16/28"}
    assert "192.0.2.25  LISTED    dnsbl.justspam.org" in out  # the one listed address, on one line
    assert "SPF       softfail for postmaster@example.com from 15 addresses" in out
    assert "Add ip4:192.0.2.16/28 to the SPF record of example.com" in out  # most of the range: the range
    addresses = out.split("== domain")[0]
    assert addresses.count("CLEAN") == 0  # 16 addresses x 17 clean lists are not printed


# -- the pipeline -----------------------------------------------------------------------------------


def test_a_host_target_alerts_on_its_listing_its_ipv6_softfail_and_its_new_address_each_once(local, cli):
    table = ["--table", local.table_name]
    status, out, _ = cli("targets", "add", MAIL_HOST, "--sender", DOMAIN, "--label", "postfix", *table)
    assert status == 0 and "its addresses are looked up at every check" in out
    local.settle()  # the first check, at once
    first = {(a["event"], a["ip"]) for a in local.inbox("email")}
    assert first == {("LISTED", IPV4), ("SPF_FAILING", IPV6)}  # no "new address" on the first check
    local.run()
    assert local.inbox("email") == []  # nothing changed: nothing sent

    local.dns_server.load(world_with(**{MAIL_HOST: [{"A": IPV4}, {"AAAA": IPV6}, {"AAAA": NEW_V6}]}))
    local.run()
    alerts = {(a["event"], a["ip"]): a for a in local.inbox("email")}
    assert set(alerts) == {("ADDRESS_ADDED", NEW_V6), ("SPF_FAILING", NEW_V6)}
    added = alerts[("ADDRESS_ADDED", NEW_V6)]
    assert added["target"] == MAIL_HOST and f"add ip6:{NEW_V6} to the SPF record of {DOMAIN}" in added["email"]

    local.dns_server.load(world_with(**{MAIL_HOST: ["SERVFAIL"]}))
    local.run()
    assert local.inbox("email") == []  # DNS failing for the host: its addresses and findings stand
    assert set(local.item(MAIL_HOST)["findings"]["addresses"]) == {IPV4, IPV6, NEW_V6}

    local.dns_server.load(story_world())
    local.run()
    assert [(a["event"], a["ip"]) for a in local.inbox("email")] == [("ADDRESS_REMOVED", NEW_V6)]

    status, out, _ = cli("status", *table)
    lines = out.splitlines()
    assert lines[1].split()[:4] == [MAIL_HOST, "postfix", "host:", "2"]
    assert lines[2].split()[:3] == [IPV4, "dnsbl.justspam.org", "pass"]
    assert lines[3].split()[:3] == [IPV6, "-", "softfail"]


def test_a_network_target_is_one_item_and_one_grouped_alert(local, cli):
    table = ["--table", local.table_name]
    assert cli("targets", "add", "192.0.2.0/26", "--sender", DOMAIN, *table)[0] == 0
    local.settle()
    emails = local.inbox("email")
    assert sorted(a["event"] for a in emails) == ["LISTED", "SPF_FAILING"]  # 63 softfails: one message
    spf = next(a for a in emails if a["event"] == "SPF_FAILING")
    assert spf["count"] == 63 and spf["target"] == "192.0.2.0/26"
    status = json.loads(cli("status", "--format", "json", *table)[1])["targets"]
    (row,) = status
    assert (row["kind"], len(row["addresses"]), row["listed"]) == ("network", 64, ["dnsbl.justspam.org"])


def test_a_dead_resolver_is_named_before_any_host_is_asked(cli):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"
    argv = ["check", MAIL_HOST, "192.0.2.0/30", "--nameserver", closed, "--timeout", "0.3", "--format", "json"]
    status, out, err = cli(*argv)
    assert status == 3 and "cannot be used" in err and err.count("\n") == 1
    results = json.loads(out)["results"]
    assert results[0] == {**results[0], "host": MAIL_HOST, "ip": None, "error": "resolver-unusable"}
    assert [r["ip"] for r in results[1:]] == ["192.0.2.0", "192.0.2.1", "192.0.2.2", "192.0.2.3"]


def test_nothing_a_host_resolves_to_is_left_out_without_a_word(cli):
    many = [{"A": f"198.51.100.{n}"} for n in range(1, 256)] + [{"A": f"203.0.113.{n}"} for n in range(1, 11)]
    world = world_with(**{"many.example.com": many, "mixed.example.com": [{"A": "10.0.0.5"}, {"A": "203.0.113.7"}]})
    with DNSServer(world) as dns:
        ns = "{}:{}".format(*dns.address)
        argv = ["check", "many.example.com", "mixed.example.com", "--zone", "dnsbl.justspam.org", "--no-rdns"]
        status, out, _ = cli(*argv, "--nameserver", ns, "--format", "json")
        table = cli(*argv, "--nameserver", ns)[1]
    assert status == 3  # nothing listed, but not everything could be checked
    results = json.loads(out)["results"]
    problems = {(r["host"], r["error"]) for r in results if r["ip"] is None}
    assert problems == {("many.example.com", "too-many-addresses"), ("mixed.example.com", "not-public")}
    assert sum(1 for r in results if r["ip"] and r["host"] == "many.example.com") == 256
    assert "many.example.com has 265 IPv4 addresses: the first 256 are checked, 9 are not" in table
    assert "mixed.example.com resolves to addresses no list rates: 10.0.0.5 (a private address" in table


def test_a_host_that_does_not_exist_is_one_alert_and_a_note_in_status(local, cli):
    table = ["--table", local.table_name]
    cli("targets", "add", "mial.example.com", "--sender", DOMAIN, *table)
    local.settle()
    (alert,) = local.inbox("email")
    assert (alert["event"], alert["target"]) == ("HOST_UNRESOLVED", "mial.example.com")
    local.run()
    assert local.inbox("email") == []
    out = cli("status", *table)[1]
    assert "not checked: mial.example.com does not exist in DNS (NXDOMAIN)" in out


def test_a_host_inside_a_checked_network_is_under_both_and_counted_once(cli):
    with DNSServer(story_world()) as dns:
        ns = "{}:{}".format(*dns.address)
        argv = ["check", MAIL_HOST, "192.0.2.16/28", "--zone", "dnsbl.justspam.org", "--no-rdns", "--nameserver", ns]
        status, out, _ = cli(*argv)
        document = json.loads(cli(*argv, "--format", "json")[1])
    assert status == 1
    assert "== network 192.0.2.16/28: 16 addresses" in out and "15 of 16 addresses not listed" in out
    assert out.rstrip().endswith(
        "17 addresses checked: 1 listing(s), 0 SPF problem(s), 1 without a verdict from any list."
    )
    listed = [(r.get("host"), r.get("network")) for r in document["results"] if r["status"] == "listed"]
    assert listed == [(MAIL_HOST, None), (None, "192.0.2.16/28")]
