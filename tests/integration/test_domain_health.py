"""The domains' health end to end: `senderwatch check` on the local DNS server, and the pipeline
(moto + the story's DNS world) from `targets add` to the alerts - each once - and `status`."""

import json

from local.dnsserver import DNSServer
from local.world import BULK_DOMAIN, DOMAIN, LISTED_DOMAIN, story_world, world_with

SENDER_IP = "203.0.113.5"


# -- senderwatch check --------------------------------------------------------------------------------


def test_check_names_what_is_wrong_with_the_sender_domains_records(cli):
    with DNSServer(story_world()) as dns:
        ns = "{}:{}".format(*dns.address)
        argv = ["check", SENDER_IP, "--sender", BULK_DOMAIN, "--nameserver", ns, "--format", "json"]
        status, out, _ = cli(*argv)
    assert status == 1
    (domain,) = json.loads(out)["domains"]
    assert domain["domain"] == BULK_DOMAIN and domain["roles"] == ["sender"]
    assert domain["spf_record"]["lookups"] == 12
    assert [p["code"] for p in domain["spf_record"]["problems"]] == ["too-many-lookups"]
    assert domain["dmarc"]["record"] is None and [p["code"] for p in domain["dmarc"]["problems"]] == ["no-record"]


def test_check_a_domain_on_the_domain_lists_through_dqs(cli, monkeypatch):
    monkeypatch.setenv("SPAMHAUS_DQS_KEY", "demo0dqs0key")
    with DNSServer(story_world()) as dns:
        ns = "{}:{}".format(*dns.address)
        argv = ["check", SENDER_IP, "--sender", LISTED_DOMAIN, "--nameserver", ns, "--no-rdns"]
        status, out, _ = cli(*argv, "--format", "json")
        table = cli(*argv)[1]
    assert status == 1
    (domain,) = json.loads(out)["domains"]
    verdicts = {v["zone"]: v["status"] for v in domain["dnsbl"]}
    assert verdicts == {"dbl.spamhaus.org": "listed", "multi.surbl.org": "clean", "multi.uribl.com": "listed"}
    assert "LISTED    multi.uribl.com  127.0.0.2: black: domain owned and used by spammers" in table


def test_without_a_dqs_key_spamhaus_dbl_is_a_list_that_cannot_be_used_not_a_clean_verdict(cli):
    with DNSServer(story_world()) as dns:
        ns = "{}:{}".format(*dns.address)
        argv = ["check", SENDER_IP, "--sender", LISTED_DOMAIN, "--nameserver", ns, "--no-rdns"]
        status, out, _ = cli(*argv, "--format", "json")
        table = cli(*argv)[1]
    (domain,) = json.loads(out)["domains"]
    (dbl,) = [v for v in domain["dnsbl"] if v["zone"] == "dbl.spamhaus.org"]
    assert (dbl["status"], dbl["error"]) == ("error", "blocked")
    assert "BLOCKED   dbl.spamhaus.org  127.255.255.254" in table.split("\n\n")[0]  # said once, at the top


def test_zone_restricts_the_domain_lists_too(cli):
    with DNSServer(story_world()) as dns:
        ns = "{}:{}".format(*dns.address)
        argv = ["check", SENDER_IP, "--sender", LISTED_DOMAIN, "--nameserver", ns, "--no-rdns", "--format", "json"]
        only_ip = json.loads(cli(*argv, "--zone", "dnsbl.justspam.org")[1])["domains"][0]["dnsbl"]
        only_uribl = json.loads(cli(*argv, "--zone", "dnsbl.justspam.org,multi.uribl.com")[1])
    assert only_ip == []
    assert [v["zone"] for v in only_uribl["domains"][0]["dnsbl"]] == ["multi.uribl.com"]
    assert [v["zone"] for v in only_uribl["results"][0]["dnsbl"]] == ["dnsbl.justspam.org"]


def test_check_judges_a_subdomain_by_the_standards_as_published(cli):
    """RFC 9989 4.10.2: the Organizational Domain's record is the one at the name with the fewest
    labels, so _dmarc.b.example.net's p=none does not hide _dmarc.example.net's p=reject from
    a.b.example.net; RFC 9990: its reports to reports.example.org go nowhere until that domain
    authorizes them (here with the wildcard record the RFC shows); RFC 7208 7.2: include:%{d}... is
    the domain's own include, and its 10 lookups count."""
    sender = "a.b.example.net"
    world = world_with(
        **{
            sender: [{"TXT": "v=spf1 include:%{d}._spf.example.net -all"}],
            f"{sender}._spf.example.net": [
                {"TXT": "v=spf1 " + " ".join(f"a:h{n}.example.net" for n in range(10)) + " -all"}
            ],
            **{f"h{n}.example.net": [{"A": f"198.51.100.{n}"}, {"AAAA": f"2001:db8:1::{n}"}] for n in range(10)},
            "_dmarc.b.example.net": [{"TXT": "v=DMARC1; p=none"}],
            "_dmarc.example.net": [{"TXT": "v=DMARC1; p=reject; rua=mailto:dmarc@reports.example.org"}],
        }
    )
    argv = ["check", SENDER_IP, "--sender", sender, "--no-rdns", "--zone", "dnsbl.justspam.org", "--format", "json"]
    with DNSServer(world) as dns:
        ns = "{}:{}".format(*dns.address)
        status, out, _ = cli(*argv, "--nameserver", ns)
        table = cli(*argv[:-2], "--nameserver", ns)[1]
        dns.load({**world, "*._report._dmarc.reports.example.org": [{"TXT": "v=DMARC1"}]})
        authorized = json.loads(cli(*argv, "--nameserver", ns)[1])["domains"][0]
    assert status == 1
    (domain,) = json.loads(out)["domains"]
    spf = domain["spf_record"]
    assert (spf["lookups"], [p["code"] for p in spf["problems"]]) == (11, ["too-many-lookups"])
    dmarc = domain["dmarc"]
    assert (dmarc["policy"], dmarc["found_at"]) == ("reject", "_dmarc.example.net")
    assert [p["code"] for p in dmarc["problems"]] == ["report-destination-unauthorized"]
    assert "example.net._report._dmarc.reports.example.org" in dmarc["problems"][0]["detail"]
    assert "policy reject  (found at _dmarc.example.net)" in table
    assert "report-destination-unauthorized: _dmarc.example.net: rua=mailto:dmarc@reports.example.org" in table
    assert (authorized["dmarc"]["policy"], authorized["dmarc"]["problems"]) == ("reject", [])


# -- the pipeline -----------------------------------------------------------------------------------


def test_a_broken_record_is_one_alert_until_it_is_fixed_and_a_timeout_changes_nothing(local, cli):
    table = ["--table", local.table_name, "--health-table", local.health_table_name]
    for n in (5, 6, 7):  # three addresses, one domain: one alert about the record
        assert cli("targets", "add", f"203.0.113.{n}", "--sender", BULK_DOMAIN, *table[:2])[0] == 0
    local.settle()
    alerts = local.inbox("email")
    events = sorted(a["event"] for a in alerts)
    assert events == ["DMARC_RECORD_BROKEN", "SPF_FAILING", "SPF_RECORD_BROKEN"]  # 3 addresses: one SPF message
    broken = next(a for a in alerts if a["event"] == "SPF_RECORD_BROKEN")
    assert broken["domain"] == BULK_DOMAIN and "needs 12 DNS lookups" in broken["email"]
    local.run()
    assert local.inbox("email") == []

    local.dns_server.load(world_with(**{BULK_DOMAIN: ["SERVFAIL"], f"_dmarc.{BULK_DOMAIN}": ["SERVFAIL"]}))
    local.run()
    assert local.inbox("email") == []  # no verdict from a failed lookup: the last state stands

    fixed = {
        BULK_DOMAIN: [{"TXT": "v=spf1 ip4:203.0.113.0/24 -all"}],
        f"_dmarc.{BULK_DOMAIN}": [{"TXT": "v=DMARC1; p=quarantine"}],
    }
    local.dns_server.load(world_with(**fixed))
    local.run()
    events = sorted(a["event"] for a in local.inbox("email"))
    assert events == ["DMARC_RECORD_FIXED", "SPF_RECORD_FIXED", "SPF_RECOVERED"]

    status, out, _ = cli("status", *table)
    assert status == 0
    (row,) = [line for line in out.splitlines() if line.startswith(BULK_DOMAIN)]
    assert row.split()[:4] == [BULK_DOMAIN, "sender", "ok", "p=quarantine"]


def test_a_listed_sender_domain_is_news_once_through_dqs(local, cli):
    table = ["--table", local.table_name, "--health-table", local.health_table_name]
    cli("targets", "add", SENDER_IP, "--sender", LISTED_DOMAIN, *table[:2])
    local.settle()
    listed = sorted((a["event"], a["zone"]) for a in local.inbox("email") if a["event"] == "DOMAIN_LISTED")
    assert listed == [("DOMAIN_LISTED", "dbl.spamhaus.org"), ("DOMAIN_LISTED", "multi.uribl.com")]
    local.run()
    assert local.inbox("email") == []
    document = json.loads(cli("status", "--format", "json", *table)[1])
    (domain,) = [d for d in document["domains"] if d["domain"] == LISTED_DOMAIN]
    assert domain["listed"] == ["dbl.spamhaus.org", "multi.uribl.com"]


def test_the_story_domain_is_fine_but_its_dmarc_policy_is_only_information(local, cli):
    table = ["--table", local.table_name, "--health-table", local.health_table_name]
    cli("targets", "add", "192.0.2.25", "--sender", DOMAIN, *table[:2])
    local.settle()
    assert not [a for a in local.inbox("email") if a["event"].startswith(("DMARC", "SPF_RECORD", "DOMAIN"))]
    out = cli("status", *table)[1]
    (row,) = [line for line in out.splitlines() if line.startswith(f"{DOMAIN} ")]
    assert row.split()[:4] == [DOMAIN, "sender", "ok", "p=none"]


def test_status_shows_the_domains_of_the_targets_watched_now(local, cli):
    table = ["--table", local.table_name, "--health-table", local.health_table_name]
    cli("targets", "add", SENDER_IP, "--sender", BULK_DOMAIN, *table[:2])
    local.settle()
    assert BULK_DOMAIN in cli("status", *table)[1]
    cli("targets", "remove", SENDER_IP, *table[:2])
    document = json.loads(cli("status", "--format", "json", *table)[1])
    # its record stays in the table, but nothing watches it
    assert (document["targets"], document["domains"]) == ([], [])


def test_a_name_too_long_to_ask_under_a_list_is_not_listed_there_and_not_an_error(cli):
    long_domain = ".".join(["a" * 60] * 3 + ["b" * 50]) + ".example"  # 241 characters: fits DNS
    with DNSServer(story_world()) as dns:
        ns = "{}:{}".format(*dns.address)
        argv = ["check", SENDER_IP, "--sender", long_domain, "--nameserver", ns, "--no-rdns", "--format", "json"]
        (domain,) = json.loads(cli(*argv)[1])["domains"]
    verdicts = {v["zone"]: v["status"] for v in domain["dnsbl"]}
    assert verdicts["multi.surbl.org"] == "clean" and verdicts["multi.uribl.com"] == "clean"


def test_status_without_the_health_table_says_where_the_domains_are(local, cli):
    cli("targets", "add", SENDER_IP, "--sender", BULK_DOMAIN, "--table", local.table_name)
    out = cli("status", "--table", local.table_name)[1]
    assert out.rstrip().endswith("give --health-table NAME, or use --stack)")
