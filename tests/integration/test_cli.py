"""`senderwatch check` against the story's DNS world: the JSON contract and the exit statuses."""

import ipaddress
import json
import os
import pty
import socket
import subprocess
import sys
import time

import pytest

from local.world import DOMAIN, IPV4, IPV6, JUSTSPAM_REASON, story_world
from senderwatch.addresses import reverse_name
from senderwatch.commands import main


def run_check(capsys, server, *extra):
    host, port = server.address
    status = main(["check", *extra, "--nameserver", f"{host}:{port}", "--timeout", "0.2"])
    out, err = capsys.readouterr()
    return status, out, err


def test_story_json_contract(dns_world, capsys):
    server = dns_world(story_world())
    status, out, _ = run_check(capsys, server, IPV4, IPV6, "--sender", DOMAIN, "--format", "json")
    assert status == 1
    results = json.loads(out)["results"]
    assert [r["ip"] for r in results] == [IPV4, IPV6]
    assert [r["version"] for r in results] == [4, 6]
    v4, v6 = results
    assert set(v4) == {"ip", "version", "status", "dnsbl", "spf", "helo_spf", "rdns"}
    assert (v4["status"], v6["status"]) == ("listed", "incomplete")  # Spamhaus refused this resolver
    justspam = next(z for z in v4["dnsbl"] if z["zone"] == "dnsbl.justspam.org")
    assert justspam["status"] == "listed" and justspam["codes"] == ["127.0.0.2"]
    assert justspam["reason"] == JUSTSPAM_REASON and justspam["delist_url"].startswith("http")
    delist = justspam["delist"]  # the list's own procedure, for this address
    assert delist["from_listed_ip"] is True and delist["expires"] is None and delist["url"].startswith("http")
    assert any(IPV4 in step for step in delist["steps"]) and f"remove+{IPV4}@db.justspam.org" in delist["command"]
    zen = next(z for z in v4["dnsbl"] if z["zone"] == "zen.spamhaus.org")
    assert zen == {
        "zone": "zen.spamhaus.org",
        "status": "error",
        "error": "blocked",
        "codes": ["127.255.255.254"],
        "meaning": zen["meaning"],
    }
    assert {z["status"] for z in v4["dnsbl"]} == {"listed", "error", "clean"}
    assert v6["spf"]["result"] == "softfail" and v6["spf"]["mechanism"] == "~all"
    assert v6["spf"]["sender"] == f"postmaster@{DOMAIN}"
    assert set(v6["spf"]) >= {"sender", "result", "mechanism", "explanation", "lookups"}
    assert v4["spf"]["result"] == "pass"
    assert v4["helo_spf"] is None
    assert v6["rdns"] == {"ptr": ["mail.example.com"], "forward_confirmed": True}
    assert all(z["zone"] != "dnsbl.justspam.org" for z in v6["dnsbl"])  # IPv4-only list


def test_spf_is_null_without_sender(dns_world, capsys):
    status, out, _ = run_check(
        capsys, dns_world(story_world(listed=False)), IPV4, "--format", "json", "--zone", "dnsbl.justspam.org"
    )
    assert status == 0
    assert json.loads(out)["results"][0]["spf"] is None


def test_fixed_world_exits_0(dns_world, capsys):
    server = dns_world(story_world(listed=False, spf_has_ipv6=True, spamhaus_blocked=False))
    status, out, _ = run_check(capsys, server, IPV4, IPV6, "--sender", DOMAIN)
    assert status == 0
    assert "nothing wrong found" in out


def test_only_errors_exit_3(dns_world, capsys):
    server = dns_world(story_world(listed=False))  # Spamhaus still refuses this resolver
    status, _, _ = run_check(capsys, server, IPV4, "--zone", "zen.spamhaus.org", "--zone", "dnsbl.justspam.org")
    assert status == 3


def test_table_puts_listings_first_with_the_delist_link(dns_world, capsys):
    status, out, _ = run_check(capsys, dns_world(story_world()), IPV4, IPV6, "--sender", DOMAIN)
    assert status == 1
    lines = out.splitlines()
    # Spamhaus refuses this resolver: said once, above the addresses, not once per address
    assert lines[0].startswith("Lists that could not be used this run")
    assert lines[1].split()[:2] == ["BLOCKED", "zen.spamhaus.org"] and "DQS" in lines[1]
    assert out.count("zen.spamhaus.org") == 1
    v4_rows = [line.split() for line in lines[lines.index(f"{IPV4}  (IPv4)") + 1 :]]
    assert v4_rows[0][:2] == ["LISTED", "dnsbl.justspam.org"]
    assert "http://www.justspam.org/check-an-ip" in out
    assert "Add ip6:2001:db8::25 to the SPF record of example.com" in out
    assert "\x1b[" not in out  # no colour when not on a terminal


def test_unknown_zone_from_the_command_line_is_asked_for_both_families(dns_world, capsys):
    world = {
        "2.0.0.127.bl.example.org": [{"A": "127.0.0.2"}],
        "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example.org": [{"A": "127.0.0.2"}],
        "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example.org": [{"A": "127.0.0.2"}],
    }
    status, out, _ = run_check(
        capsys, dns_world(world), IPV4, IPV6, "--zone", "bl.example.org", "--format", "json", "--no-rdns"
    )
    got = [r["dnsbl"][0]["status"] for r in json.loads(out)["results"]]
    assert (status, got) == (1, ["clean", "listed"])


def test_console_script_bad_input_never_shows_a_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "senderwatch", "check", "10.0.0.0/8"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


def test_an_ipv4_mapped_address_is_checked_as_the_ipv4_address(dns_world, capsys):
    server = dns_world(story_world())
    status, out, _ = run_check(capsys, server, f"::ffff:{IPV4}", IPV4, " 192.0.2.25 ", "--format", "json")
    results = json.loads(out)["results"]
    assert status == 1 and [r["ip"] for r in results] == [IPV4]  # the same address three ways: checked once
    assert any(v["status"] == "listed" for v in results[0]["dnsbl"])


def test_an_address_no_chosen_list_rates_is_unchecked_not_clean(dns_world, capsys):
    server = dns_world(story_world())
    status, out, _ = run_check(capsys, server, IPV6, "--zone", "dnsbl.justspam.org", "--format", "json", "--no-rdns")
    (result,) = json.loads(out)["results"]
    assert (status, result["status"], result["dnsbl"]) == (3, "unchecked", [])
    status, out, _ = run_check(capsys, server, IPV6, "--zone", "dnsbl.justspam.org", "--no-rdns")
    assert status == 3 and "none of the chosen lists rates IPv6 addresses" in out and "nothing wrong" not in out


def test_the_lists_own_test_entry_can_be_checked(dns_world, capsys):
    status, out, _ = run_check(capsys, dns_world(story_world()), "127.0.0.2", "--zone", "dnsbl.justspam.org")
    assert status == 1 and "LISTED" in out


def test_a_resolver_that_does_not_answer_is_named_within_two_timeouts(capsys):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        started = time.monotonic()
        status = main(
            ["check", IPV4, IPV6, "--sender", DOMAIN, "--nameserver", f"127.0.0.1:{port}", "--timeout", "0.3"]
        )
        elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert status == 3 and out == ""
    assert err.count("\n") == 1 and f"the DNS resolver 127.0.0.1:{port} cannot be used: no answer" in err
    assert elapsed < 0.3 * 2 + 1.0  # two timeouts, not one per address and list


def test_a_resolver_that_says_nothing_exists_is_named(dns_world, capsys):
    server = dns_world({})
    server.zone.resolve = lambda name, qtype: ("NXDOMAIN", [])  # a broken or filtering resolver
    status, out, err = run_check(capsys, server, IPV4, "--format", "json")
    assert status == 3 and "root of the DNS does not exist" in err
    document = json.loads(out)
    assert document["results"][0]["status"] == "unchecked" and "cannot be used" in document["error"]


def test_a_resolver_whose_own_upstream_fails_is_named_for_that(dns_world, capsys):
    server = dns_world({})
    server.zone.resolve = lambda name, qtype: ("SERVFAIL", [])  # a resolver that cannot reach the internet
    status, out, err = run_check(capsys, server, IPV4)
    assert status == 3 and out == ""
    assert "it answers SERVFAIL to every query: it cannot resolve names: its own upstream fails" in err
    assert "for this machine" not in err  # that is what REFUSED means


def test_the_senders_records_are_asked_once_for_every_address_and_the_lint(dns_world, capsys):
    """The SPF check of each address and the lint of the SPF record read the same TXT record:
    one query at the domain's servers, not one per address."""
    server = dns_world(story_world())
    status, out, _ = run_check(capsys, server, "192.0.2.16/28", "--sender", DOMAIN, "--no-rdns")
    assert "16 addresses" in out
    assert server.asked[DOMAIN] == 1


def test_a_dnsbl_mirror_is_used_for_the_lists_it_serves(dns_world, capsys):
    """rbldnsd fed by rsync, or a list's own server, knows only its lists: NXDOMAIN for the root
    and every other name, its lists' test entries right. Those lists give verdicts; what it cannot
    answer is not turned into "no PTR record" or "no SPF record"."""
    mirror = dns_world(
        {
            "": ["NXDOMAIN"],
            "2.0.0.127.dnsbl.justspam.org": [{"A": "127.0.0.2"}],
            "25.2.0.192.dnsbl.justspam.org": [{"A": "127.0.0.2"}],
        }
    )
    args = (IPV4, "--zone", "dnsbl.justspam.org", "--sender", DOMAIN, "--format", "json")
    status, out, err = run_check(capsys, mirror, *args)
    document = json.loads(out)
    (result,) = document["results"]
    assert [(v["zone"], v["status"]) for v in result["dnsbl"]] == [("dnsbl.justspam.org", "listed")]
    assert result["rdns"]["error"] == "refused" and result["spf"]["result"] == "temperror"
    (domain,) = document["domains"]
    assert domain["spf_record"]["error"] == "refused" and domain["dmarc"]["error"] == "refused"
    assert status == 1
    assert "says the root of the DNS does not exist: it serves only lists" in err
    assert "reverse DNS, SPF and host names cannot be checked through it" in err


def test_helo_without_spf_is_not_a_problem_but_a_missing_sender_record_is(dns_world, capsys):
    world = story_world(listed=False, spamhaus_blocked=False) | {"nospf.example": [{"A": "192.0.2.80"}]}
    server = dns_world(world)
    status, out, _ = run_check(capsys, server, IPV4, "--sender", DOMAIN, "--helo", "mail.example.com")
    assert status == 0 and "HELO SPF  none" in out
    status, out, _ = run_check(capsys, server, IPV4, "--sender", "nospf.example")
    assert status == 1
    assert "nospf.example publishes no SPF record" in out and f"v=spf1 ip4:{IPV4} ~all" in out
    assert "before the 'all' mechanism" not in out


def test_permerror_gets_advice_about_the_record(dns_world, capsys):
    includes = " ".join(f"include:s{n}.example" for n in range(12))
    world = story_world(listed=False, spamhaus_blocked=False) | {"big.example": [{"TXT": f"v=spf1 {includes} -all"}]}
    world |= {f"s{n}.example": [{"TXT": "v=spf1 -all"}] for n in range(12)}
    status, out, _ = run_check(capsys, dns_world(world), IPV4, "--sender", "big.example")
    assert status == 1 and "permerror" in out
    assert "more than 10 DNS lookups" in out and "before the 'all' mechanism" not in out


def run_console(*args, **options):
    return subprocess.run([sys.executable, "-m", "senderwatch", *args], capture_output=True, timeout=60, **options)


def test_a_closed_pipe_or_a_full_disk_is_not_a_traceback(dns_world):
    server = dns_world(story_world())
    args = [
        "check",
        IPV4,
        IPV6,
        "--sender",
        DOMAIN,
        "--nameserver",
        "{}:{}".format(*server.address),
        "--timeout",
        "0.3",
    ]
    reader, writer = os.pipe()
    os.close(reader)  # `| head -1` that has already gone away
    proc = subprocess.run(
        [sys.executable, "-m", "senderwatch", *args], stdout=writer, stderr=subprocess.PIPE, timeout=60
    )
    os.close(writer)
    assert (proc.returncode, proc.stderr) == (141, b"")  # as Unix tools end when the reader is gone
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "senderwatch", *args, "--format", "json"],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    assert proc.returncode == 4 and b"Traceback" not in proc.stderr
    assert proc.stderr.decode().strip() == "senderwatch: error: cannot write the output: No space left on device"


def test_a_terminal_that_is_not_utf8_gets_no_traceback(dns_world):
    server = dns_world(story_world())
    proc = run_console(
        "check", IPV4, "--nameserver", "{}:{}".format(*server.address), env={**os.environ, "PYTHONIOENCODING": "ascii"}
    )
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr and b"LISTED" in proc.stdout


def test_names_from_dns_reach_the_terminal_clean_and_visibly_odd(dns_world, capsys):
    """A PTR name with an escape sequence in it is shown in DNS presentation format (\\DDD), so it
    neither acts on the terminal nor passes for another, real name."""
    world = story_world(listed=False)
    world["25.2.0.192.in-addr.arpa"] = [{"PTR": "evil\x1b]0;pwned\x07.example"}]
    shown = "evil\\027]0\\;pwned\\007.example"
    status, out, _ = run_check(capsys, dns_world(world), IPV4, "--zone", "dnsbl.justspam.org")
    assert "\x1b" not in out and "\x07" not in out and f"rDNS      {shown} " in out
    status, out, _ = run_check(capsys, dns_world(world), IPV4, "--zone", "dnsbl.justspam.org", "--format", "json")
    assert "\x1b" not in out and json.loads(out)["results"][0]["rdns"]["ptr"] == [shown]


@pytest.mark.parametrize(
    ("args", "redirect", "status", "says"),
    [
        (["zones"], {"stdout": None, "close": 1}, 4, "standard output is closed"),
        (["--help"], {"stdout": "/dev/full"}, 4, "No space left on device"),
        (["--version"], {"stdout": "/dev/full"}, 4, "No space left on device"),
        (["targets", "import", "-", "--table", "t"], {"stdin": None, "close": 0}, 2, "standard input is closed"),
    ],
)
def test_closed_or_full_standard_streams_are_one_line(args, redirect, status, says):
    command = [sys.executable, "-m", "senderwatch", *args]
    if "close" in redirect:  # started with that descriptor closed, as `>&-` or `<&-` does
        fd = redirect["close"]
        proc = subprocess.run(
            ["bash", "-c", f'"$@" {fd}>&-', "bash", *command], stderr=subprocess.PIPE, timeout=60, text=True
        )
    else:
        with open(redirect["stdout"], "w") as out:
            proc = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, timeout=60, text=True)
    assert proc.returncode == status and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and says in proc.stderr


def test_an_address_a_list_failed_for_says_so(dns_world, capsys):
    name = f"{reverse_name(ipaddress.ip_address(IPV4))}.dnsbl.justspam.org"
    server = dns_world({**story_world(), name: ["SERVFAIL"]})
    status, out, _ = run_check(capsys, server, IPV4, "--zone", "dnsbl.justspam.org", "--no-rdns")
    assert status == 3 and "no list gave a verdict on this address this run (see the errors)" in out
    assert "1 address checked: no problem found, but some checks could not be completed" in out


def test_json_is_indented_on_a_terminal_and_a_result_a_line_on_a_pipe(dns_world):
    """A person at a terminal reads it indented; a program gets the same document with each result
    on a line of its own (which json's C encoder writes, several times faster for many addresses)."""
    server = dns_world(story_world())
    nameserver = "{}:{}".format(*server.address)
    args = ["check", IPV4, IPV6, "--nameserver", nameserver, "--timeout", "0.3", "--format", "json"]
    piped = run_console(*args).stdout.decode()
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "senderwatch", *args], stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    shown = b""
    with open(leader, "rb", buffering=0) as terminal:
        while True:
            try:
                chunk = terminal.read(65536)
            except OSError:  # EIO: the command has closed its end
                break
            if not chunk:
                break
            shown += chunk
    assert proc.wait(timeout=60) == 1
    on_terminal = shown.decode().replace("\r\n", "\n")
    assert json.loads(on_terminal) == json.loads(piped)
    assert f'\n    {{\n      "ip": "{IPV4}",\n      "version": 4,\n' in on_terminal
    lines = piped.splitlines()
    assert [json.loads(line.strip().removesuffix(","))["ip"] for line in lines[2:4]] == [IPV4, IPV6]


def test_what_was_not_asked_is_not_said_and_what_was_found_is_shown(dns_world, capsys):
    """No domain list asked (--zone names an address list): no "not listed on any domain list";
    a list outside the catalogue has no removal procedure here: no empty "what to do"; a PTR name
    found whose forward lookup failed is shown, with what could not be checked."""
    ptr = ipaddress.ip_address(IPV4).reverse_pointer
    world = story_world() | {
        ptr: [{"PTR": "slow.example.org"}],
        "slow.example.org": ["TIMEOUT"],
        "2.0.0.127.bl.example.org": [{"A": "127.0.0.2"}],
        "25.2.0.192.bl.example.org": [{"A": "127.0.0.2"}],
    }
    server = dns_world(world)
    status, out, _ = run_check(capsys, server, IPV4, "--sender", DOMAIN, "--zone", "dnsbl.justspam.org")
    assert "not listed on any domain list" not in out
    assert "slow.example.org (could not check that it resolves back: timeout)" in out
    status, out, _ = run_check(capsys, server, IPV4, "--zone", "bl.example.org", "--no-rdns")
    assert status == 1 and "LISTED" in out and "what to do:" not in out
