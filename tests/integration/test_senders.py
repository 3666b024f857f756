"""A relay that sends for two domains, against the story's DNS world: example.com's record forgot
the IPv6 address (softfail), example.org's names both (pass). `check` with both senders, `targets
add` with both, the import and the export, and the stack's checker and notifier on moto."""

import json

import pytest

from local.world import DOMAIN, IPV4, IPV6, MAIL_HOST, story_world
from senderwatch.commands import main

OTHER = "example.org"
A, B = f"postmaster@{DOMAIN}", f"postmaster@{OTHER}"


def two_domains() -> dict:
    """The story once delisted, and a second domain the relay sends for, whose record is right."""
    return {
        **story_world(listed=False),
        OTHER: [{"TXT": f"v=spf1 ip4:{IPV4} ip6:{IPV6} -all"}],
        f"_dmarc.{OTHER}": [{"TXT": "v=DMARC1; p=reject; rua=mailto:dmarc@example.org"}],
    }


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def check(capsys, server, *argv):
    host, port = server.address
    return run(capsys, "check", *argv, "--nameserver", f"{host}:{port}", "--timeout", "0.3")


# -- check ----------------------------------------------------------------------------------------


def test_check_with_two_senders_evaluates_spf_per_sender_and_exits_1(dns_world, capsys):
    server = dns_world(two_domains())
    status, out, _ = check(capsys, server, IPV4, IPV6, "--sender", DOMAIN, "--sender", OTHER, "--format", "json")
    assert status == 1  # example.com softfails over IPv6
    document = json.loads(out)
    v4, v6 = document["results"]
    assert [(s["sender"], s["result"]) for s in v4["spf"]] == [(A, "pass"), (B, "pass")]
    assert [(s["sender"], s["result"]) for s in v6["spf"]] == [(A, "softfail"), (B, "pass")]
    assert {d["domain"] for d in document["domains"]} >= {DOMAIN, OTHER}
    other = next(d for d in document["domains"] if d["domain"] == OTHER)
    assert other["spf_record"]["problems"] == [] and other["spf_record"]["record"].startswith("v=spf1")

    status, table, _ = check(capsys, server, IPV4, IPV6, "--sender", DOMAIN, "--sender", OTHER)
    assert status == 1
    assert f"SPF       softfail for {A}" in table and f"SPF       pass for {B}" in table
    assert table.count(f"for {B}") == 2  # each address names each sender on its SPF line

    # A network: each sender's SPF summed up on lines of its own.
    network = check(capsys, server, "192.0.2.16/28", "--sender", DOMAIN, "--sender", OTHER, "--no-rdns")[1]
    assert f"SPF       pass for {A} from 1 address: 192.0.2.25" in network
    assert f"SPF       pass for {B} from 1 address: 192.0.2.25" in network
    assert f"SPF       fail for {B} from 15 addresses" in network and f"softfail for {A} from 15 addresses" in network

    # Both senders fine: nothing wrong (Spamhaus refuses this resolver: incomplete, exit 3).
    assert check(capsys, server, IPV4, "--sender", DOMAIN, "--sender", OTHER)[0] == 3


def test_check_with_one_sender_gives_the_json_it_always_gave(dns_world, capsys):
    """The contract tests outside the project rely on: `spf` one object, field by field as before;
    a second sender adds a list, and changes nothing else of the document."""
    server = dns_world(two_domains())
    one = json.loads(check(capsys, server, IPV4, IPV6, "--sender", DOMAIN, "--format", "json")[1])
    two = json.loads(check(capsys, server, IPV4, IPV6, "--sender", DOMAIN, "--sender", OTHER, "--format", "json")[1])
    for alone, both in zip(one["results"], two["results"]):
        assert set(alone) == {"ip", "version", "status", "dnsbl", "spf", "helo_spf", "rdns"}
        assert isinstance(alone["spf"], dict)
        assert set(alone["spf"]) == {"sender", "result", "mechanism", "explanation", "lookups", "record"}
        for field in alone:
            expected = [alone["spf"], both["spf"][1]] if field == "spf" else alone[field]
            assert both[field] == expected, field
    assert one["results"][1]["spf"] == {
        "sender": A,
        "result": "softfail",
        "mechanism": "~all",
        "explanation": one["results"][1]["spf"]["explanation"],
        "lookups": 0,
        "record": f"v=spf1 ip4:{IPV4} ~all",
    }
    assert [d for d in two["domains"] if d["domain"] != OTHER] == one["domains"]


def test_a_repeated_sender_is_checked_once_and_a_bad_one_is_refused_in_one_line(dns_world, capsys):
    server = dns_world(two_domains())
    out = json.loads(check(capsys, server, IPV4, "--sender", DOMAIN, "--sender", A, "--format", "json")[1])
    assert out["results"][0]["spf"]["sender"] == A  # one sender: the one object
    status, _, err = check(capsys, server, IPV4, "--sender", DOMAIN, "--sender", "not a domain")
    assert status == 2 and err.startswith("senderwatch: error: invalid sender") and err.count("\n") == 1


# -- the deployment: targets add, import, export, the checker and the notifier ----------------------


@pytest.fixture
def table(local):
    local.dns_server.load(two_domains())
    return ["--table", local.table_name]


def test_targets_add_with_two_senders_watches_spf_for_both_and_alerts_for_the_one_failing(local, table, capsys):
    status, out, _ = run(capsys, "targets", "add", MAIL_HOST, "--sender", DOMAIN, "--sender", OTHER, *table)
    assert status == 0 and out.startswith(f"{MAIL_HOST} added")
    assert local.item(MAIL_HOST)["senders"] == [A, B] and "sender" not in local.item(MAIL_HOST)
    listed = json.loads(run(capsys, "targets", "list", "--format", "json", *table)[1])["targets"]
    assert (listed[0]["sender"], listed[0]["senders"]) == (f"{A} {B}", [A, B])
    assert run(capsys, "targets", "add", MAIL_HOST, "--sender", DOMAIN, "--sender", OTHER, *table)[1] == (
        f"{MAIL_HOST} unchanged\n"
    )
    local.settle()  # the first check, and its alerts
    findings = local.item(MAIL_HOST)["findings"]["addresses"]
    assert [(s["sender"], s["result"]) for s in findings[IPV6]["spf"]] == [(A, "softfail"), (B, "pass")]
    spf = [a for a in local.inbox("email") if a["event"] == "SPF_FAILING"]
    assert [a["subject"] for a in spf] == [f"SPF softfail for {IPV6} ({MAIL_HOST}) as {A}"]
    assert f"sent as {A}" in spf[0]["email"]

    rows = json.loads(run(capsys, "status", "--format", "json", *table)[1])["targets"]
    v6 = next(a for a in rows[0]["addresses"] if a["ip"] == IPV6)
    assert v6["spf"] == "softfail" and v6["spf_senders"] == [
        {"sender": A, "result": "softfail"},
        {"sender": B, "result": "pass"},
    ]
    status, out, _ = run(capsys, "status", *table)
    assert f"softfail for {A}" in out and rows[0]["senders"] == [A, B]

    # example.com's record is fixed: its alert clears, and only its own.
    local.dns_server.load({**two_domains(), DOMAIN: [{"TXT": f"v=spf1 ip4:{IPV4} ip6:{IPV6} ~all"}]})
    local.run()
    assert [a["subject"] for a in local.inbox("email")] == [f"SPF passes again for {IPV6} ({MAIL_HOST}) as {A}"]

    tables = ["--history-table", local.history_table_name, "--health-table", local.health_table_name]
    periods = json.loads(run(capsys, "history", "--format", "json", *table, *tables)[1])["history"]
    spf_periods = [(p["ip"], p["about"], p["state"]) for p in periods if p["kind"] == "spf"]
    assert spf_periods == [(IPV6, A, "softfail")]

    # One sender again: the item is as the README's put-item line writes it.
    run(capsys, "targets", "add", MAIL_HOST, "--sender", OTHER, *table)
    assert local.item(MAIL_HOST)["sender"] == B and "senders" not in local.item(MAIL_HOST)


def test_an_upgrade_from_one_sender_sends_nothing(local, table, capsys):
    """A target an earlier version watched (the put-item line's `sender`, findings of one sender)
    is checked by this one: the same findings, no alert from the change of version."""
    local.put_target({"ip": IPV6, "sender": DOMAIN, "label": "postfix-1"})
    local.settle()
    assert [a["event"] for a in local.inbox("email")] == ["SPF_FAILING"]
    spf = local.item(IPV6)["findings"]["spf"]
    assert isinstance(spf, dict) and (spf["sender"], spf["result"]) == (A, "softfail")  # as ever
    local.run()
    local.run()
    assert local.inbox("email") == []


def test_an_import_takes_several_senders_and_the_export_writes_them_back(local, table, capsys, tmp_path):
    path = tmp_path / "relays.csv"
    path.write_text(
        f'{MAIL_HOST},"{DOMAIN} {OTHER}",relay\n{IPV4},{DOMAIN};bounce@{OTHER},postfix-1\n{IPV6},{DOMAIN},\n'
    )
    status, out, _ = run(capsys, "targets", "import", str(path), *table)
    assert status == 0 and out.startswith("3 added")
    assert local.item(IPV4)["senders"] == [A, f"bounce@{OTHER}"] and local.item(IPV6)["sender"] == A
    exported = run(capsys, "targets", "export", *table)[1]
    assert f"{MAIL_HOST},{A} {B},relay,,,yes" in exported.splitlines()
    assert f"{IPV6},{A},,,,yes" in exported.splitlines()
    document = json.loads(run(capsys, "targets", "export", "--format", "json", *table)[1])
    assert {t["ip"]: t["sender"] for t in document["targets"]} == {
        MAIL_HOST: [A, B],
        IPV4: [A, f"bounce@{OTHER}"],
        IPV6: A,
    }
    (tmp_path / "back.csv").write_text(exported)
    (tmp_path / "back.json").write_text(json.dumps(document))
    for back in ("back.csv", "back.json"):
        assert run(capsys, "targets", "import", str(tmp_path / back), *table)[1] == (
            "0 added, 0 updated, 3 already up to date\n"
        )
