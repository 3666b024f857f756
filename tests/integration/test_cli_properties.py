"""Random arguments and files at every command: never a traceback, never exit 1 without a finding.

`check` runs against the story's DNS world (or a closed port on 127.0.0.1); `targets`,
`status`, `mute` and `report` against tables on in-process moto. Whatever is thrown, the command ends in one of
its documented exit statuses, a failure is one line on stderr, and exit 1 means it found
something.
"""

import contextlib
import gzip
import io
import json
import os
import re
import socket
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from local.dnsserver import DNSServer
from local.pipeline import create_table
from local.world import BULK_DOMAIN, DOMAIN, IPV4, IPV6, LISTED_DOMAIN, MAIL_HOST, story_world
from senderwatch.commands import main

EXIT_STATUSES = {0, 1, 2, 3, 4, 130, 141}
MAILLOGS = Path(__file__).resolve().parents[1] / "data" / "maillogs"
HOSTILE = st.sampled_from(
    ["", " ", "\x1b]0;owned\x07", "\x1b[2J", "\x00", "\u202e", "x" * 5000, "--", "-", "::ffff:192.0.2.25", "é"]
)
ANY_TEXT = st.one_of(HOSTILE, st.text(max_size=30))


def mostly(valid, odd=ANY_TEXT):
    """VALID most of the time, so that most examples get past the parsing into the real work."""
    return st.integers(0, 9).flatmap(lambda n: odd if n == 9 else valid)


ADDRESSES = mostly(
    st.sampled_from(
        [IPV4, IPV6, f"::ffff:{IPV4}", "127.0.0.2", "198.51.100.7", "2001:db8::99", MAIL_HOST, "192.0.2.16/29"]
    ),
    st.one_of(
        st.sampled_from(["10.0.0.1", "::1", "fe80::1%lo", "192.0.2.0/23", "10.0.0.0/24", "nohost.example.com"]),
        st.ip_addresses().map(str),
        ANY_TEXT,
    ),
)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def world():
    """The story's DNS world and a targets table on moto, shared by every example."""
    saved = dict(os.environ)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "SPAMHAUS_DQS_KEY", "SENDERWATCH_TABLE"):
        os.environ.pop(name, None)
    with mock_aws(), DNSServer(story_world()) as dns, tempfile.TemporaryDirectory() as folder:
        create_table("TargetsTable", "targets")
        create_table("HistoryTable", "history")
        create_table("HealthTable", "health")
        yield {"dns": "{}:{}".format(*dns.address), "closed": f"127.0.0.1:{closed_port()}", "folder": folder}
    os.environ.clear()
    os.environ.update(saved)


@st.composite
def check_argv(draw, world):
    argv = ["check", *draw(st.lists(ADDRESSES, min_size=draw(mostly(st.just(1), st.just(0))), max_size=3))]
    for option, values in (
        (
            "--sender",
            mostly(st.sampled_from([DOMAIN, f"bounce@{DOMAIN}", "nospf.example", BULK_DOMAIN, LISTED_DOMAIN])),
        ),
        ("--helo", mostly(st.just("mail.example.com"))),
        (
            "--zone",
            mostly(st.sampled_from(["dnsbl.justspam.org", "bl.example.org", "zen.spamhaus.org", "multi.uribl.com"])),
        ),
        ("--timeout", mostly(st.just("0.2"), st.one_of(st.sampled_from(["0", "-1", "nan", "inf", "1e9"]), ANY_TEXT))),
        ("--format", mostly(st.sampled_from(["table", "json"]))),
    ):
        if draw(st.booleans()):
            # `--zone=--`: argparse would hand the command [] for its value
            argv += draw(mostly(st.just([option, draw(values)]), st.just([f"{option}=--"])))
    nameserver = draw(
        mostly(
            st.sampled_from([world["dns"], world["dns"], world["closed"]]),
            st.one_of(st.sampled_from(["255.255.255.255", "[fe80::1]:53", "0.0.0.0", "127.0.0.1:0"]), ANY_TEXT),
        )
    )
    argv += ["--nameserver", nameserver]
    if nameserver in (world["dns"], world["closed"]) and "--timeout" not in argv:
        argv += ["--timeout", "0.2"]
    if draw(st.integers(0, 9)) == 9:
        argv.append(draw(st.sampled_from(["--bogus", "-x", "--help"])))
    elif draw(st.booleans()):
        argv.append("--no-rdns")
    return argv


@st.composite
def admin_argv(draw, world):
    where = draw(
        mostly(
            st.just(["--table", "targets"]),
            st.sampled_from([["--table", "no-such-table"], ["--stack", "no-such-stack"], [], ["--region", "x y"]]),
        )
    )
    action = draw(
        st.sampled_from(
            ["add", "add", "remove", "list", "import", "import", "status", "none", "doctor", "test-alert", "report"]
            + ["mute", "mute", "unmute", "mutes"]
        )
    )
    if action in ("mute", "unmute", "mutes"):
        health = draw(mostly(st.just(["--health-table", "health"]), st.sampled_from([[], ["--health-table", "nope"]])))
        if action == "mutes":
            return ["mutes", *where, *health, *draw(st.sampled_from([[], ["--all"], ["--format", "json"]]))]
        named = draw(mostly(st.sampled_from([IPV4, "dnsbl.justspam.org", "LISTED"]), ANY_TEXT))
        if action == "unmute":
            return ["unmute", named, *where, *health]
        scope = draw(st.sampled_from([[draw(ADDRESSES)], ["--zone"], ["--event"], ["--domain"], []]))
        if scope and scope[0].startswith("--"):
            values = {"--zone": "bl.spamcop.net", "--event": "DELISTED", "--domain": DOMAIN}
            scope.append(draw(mostly(st.just(values[scope[0]]))))
        how = draw(
            mostly(
                st.sampled_from([["--for", "7d"], ["--until", "2030-01-01"], ["--until-clear"]]),
                st.sampled_from([["--for", "0d"], ["--until", "2020-01-01"], ["--for", "7d", "--until-clear"], []]),
            )
        )
        reason = draw(mostly(st.just(["--reason", "known"]), st.sampled_from([[], ["--reason", ""]])))
        return ["mute", *scope, *how, *reason, *where, *health]
    if action == "report":
        html = draw(
            mostly(
                st.just(f"{world['folder']}/report.html"), st.sampled_from(["", world["folder"], "/nonexistent/r.html"])
            )
        )
        history = draw(
            mostly(st.just(["--history-table", "history"]), st.sampled_from([[], ["--history-table", "nope"]]))
        )
        days = draw(mostly(st.sampled_from([[], ["--days", "7"]]), st.just(["--days"]).map(lambda d: [*d, "x"])))
        return ["report", *where, *history, "--html", html, *days]
    if action in ("doctor", "test-alert"):
        return [action, *where, *draw(st.sampled_from([[], ["--format", "json"], ["--format", "x"]]))]
    if action == "status":
        return [
            "status",
            *where,
            *draw(mostly(st.sampled_from([[], ["--format", "json"]]), st.just(["--format", "x"]))),
        ]
    if action == "none":
        return ["targets", *where]
    if action == "list":
        return ["targets", "list", *where]
    if action in ("add", "remove"):
        argv = ["targets", action, draw(ADDRESSES), *where]
        if action == "add":
            for option, value in (
                ("--sender", DOMAIN),
                ("--helo", "mail.example.com"),
                ("--label", "relay 1"),
                ("--zone", "dnsbl.justspam.org"),
            ):
                if draw(st.booleans()):
                    argv += [option, draw(mostly(st.sampled_from([value, ""])))]
                elif draw(st.integers(0, 4)) == 4:
                    argv.append(f"{option}=--")
            argv += draw(st.sampled_from([[], ["--disabled"], ["--enabled"]]))
        return argv
    row = st.builds(lambda a, s, lab: f"{a},{s},{lab}", ADDRESSES, mostly(st.just(DOMAIN)), mostly(st.just("x")))
    odd = st.one_of(
        st.sampled_from(["ip,sender,label", "label,ip", "# comment", "", f"{IPV4},{DOMAIN}", '"unclosed']), ANY_TEXT
    )
    lines = draw(st.lists(mostly(row, odd), max_size=6))
    content = draw(
        mostly(
            st.just("\n".join(lines).encode("utf-8", "surrogatepass")),
            st.one_of(st.just("\r\n".join(lines).encode("latin-1", "replace")), st.binary(max_size=200)),
        )
    )
    path = os.path.join(world["folder"], "import.csv")
    with open(path, "wb") as handle:
        handle.write(content)
    missing = os.path.join(world["folder"], "missing.csv")
    return ["targets", "import", draw(mostly(st.just(path), st.just(missing))), *where]


@st.composite
def bounces_argv(draw, world):
    """Real logs cut anywhere, lines of them mangled, random bytes, gzip whole or broken, a
    directory, a missing file, standard input."""
    real = b"".join(path.read_bytes() for path in sorted(MAILLOGS.glob("*.log")))
    lines = real.splitlines(keepends=True)
    chosen = draw(st.lists(st.sampled_from(lines), max_size=12))
    mangled = draw(st.lists(st.tuples(st.integers(0, 400), st.binary(max_size=8)), max_size=3))
    content = b"".join(chosen)
    for at, junk in mangled:
        content = content[:at] + junk + content[at:]
    kind = draw(st.sampled_from(["plain", "plain", "gzip", "cut-gzip", "binary", "text"]))
    if kind == "gzip":
        content = gzip.compress(content)
    elif kind == "cut-gzip":
        content = gzip.compress(content)[: draw(st.integers(0, 30))]
    elif kind == "binary":
        content = draw(st.binary(max_size=300))
    elif kind == "text":
        content = draw(ANY_TEXT).encode("utf-8", "surrogatepass")
    path = os.path.join(world["folder"], "mail.log")
    with open(path, "wb") as handle:
        handle.write(content)
    files = draw(
        st.lists(
            mostly(st.just(path), st.sampled_from(["-", world["folder"], os.path.join(world["folder"], "gone.log")])),
            max_size=2,
        )
    )
    options = draw(st.sampled_from([[], ["--format", "json"], ["--format", "table"], ["--format", "yaml"]]))
    return ["bounces", *files, *options], content


def run(argv, stdin: bytes = b""):
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)  # --help and --version return too: the command never raises SystemExit
    finally:
        sys.stdin = saved
    return status, out.getvalue(), err.getvalue()


def found_something(out: str) -> bool:
    """What exit 1 must mean: a listing, an SPF problem, or a problem of a domain's records or
    listings, in either output format."""
    if out.lstrip().startswith("{"):
        document = json.loads(out)
        results, domains = document["results"], document.get("domains") or []
        return (
            any(v["status"] == "listed" for r in results for v in r["dnsbl"])
            or any(r["spf"] and r["spf"]["result"] not in ("pass", "temperror") for r in results)
            or any(r["helo_spf"] and r["helo_spf"]["result"] not in ("pass", "temperror", "none") for r in results)
            or any(v["status"] == "listed" for d in domains for v in d["dnsbl"])
            or any(d["spf_record"] and d["spf_record"]["problems"] for d in domains)
            or any(d["dmarc"] and {p["code"] for p in d["dmarc"]["problems"]} - {"policy-none"} for d in domains)
        )
    return "listing(s)" in out and ("LISTED" in out or "SPF" in out or "domain(s) with a problem" in out)


def rejections_found(out: str) -> bool:
    if out.lstrip().startswith("{"):
        return bool(json.loads(out)["rejections"])
    return re.search(r"^[\d,]+ rejections? about the sender", out, re.MULTILINE) is not None


def assert_well_behaved(argv, status, out, err):
    assert status in EXIT_STATUSES, (argv, status, err)
    assert "Traceback" not in err, (argv, err)
    if status in (2, 4) and argv:
        lines = err.splitlines()
        # one line; `bounces` says one per log it could not read, after what it could; a file of
        # targets, each bad line (up to 20, then how many more and the end: nothing was written)
        many = argv[0] == "bounces" and len(lines) <= len(argv)
        many = many or (argv[:2] in (["targets", "import"], ["targets", "remove"]) and len(lines) <= 22)
        assert len(lines) == 1 or many, (argv, err)
        assert all(line.startswith("senderwatch: error: ") for line in lines) and err.endswith("\n"), (argv, err)
        assert "\x1b" not in err and "\x07" not in err, (argv, err)
    if status == 1:
        if argv[0] == "doctor":  # something to fix, said with its fix
            assert "FIX " in out or '"status": "fix"' in out, (argv, out, err)
            return
        found = found_something if argv[0] == "check" else rejections_found
        assert argv[0] in ("check", "bounces") and found(out), (argv, out, err)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_check_with_anything(world, data):
    argv = data.draw(check_argv(world))
    assert_well_behaved(argv, *run(argv))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_targets_and_status_with_anything(world, data):
    argv = data.draw(admin_argv(world))
    assert_well_behaved(argv, *run(argv))


@settings(max_examples=60, deadline=None)
@given(argv=st.lists(ANY_TEXT, max_size=4))
def test_any_words_at_all(world, argv):
    assert_well_behaved(argv, *run(argv))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bounces_with_anything(world, data):
    argv, content = data.draw(bounces_argv(world))
    assert_well_behaved(argv, *run(argv, stdin=content))
