"""`senderwatch check` against the story's DNS world: the JSON contract and the exit statuses."""

import json
import subprocess
import sys

from senderwatch.cli import main
from senderwatch.testing.world import DOMAIN, IPV4, IPV6, JUSTSPAM_REASON, story_world


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
    assert set(v4) == {"ip", "version", "dnsbl", "spf", "helo_spf", "rdns"}
    justspam = next(z for z in v4["dnsbl"] if z["zone"] == "dnsbl.justspam.org")
    assert justspam["status"] == "listed" and justspam["codes"] == ["127.0.0.2"]
    assert justspam["reason"] == JUSTSPAM_REASON and justspam["delist_url"].startswith("http")
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
    rows = [line.split() for line in out.splitlines() if line.startswith("  ") and line.split()]
    v4_rows = rows[: rows.index(next(r for r in rows if r[0] == "SPF"))]
    assert v4_rows[0][:2] == ["LISTED", "dnsbl.justspam.org"]
    assert "http://www.justspam.org/check-an-ip" in out
    assert "add ip6:2001:db8::25" in out
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
