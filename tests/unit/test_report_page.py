"""The HTML report's renderer: everything strangers wrote is escaped, each bar sits at its dates,
and the page names every target and says each bar's dates in words."""

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from senderwatch.commands import main
from senderwatch.history import History, Period
from senderwatch.report import MIN_WIDTH, render

START, END = "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"  # 30 days: a day is 3.333% of a strip


def _row(ip, **more):
    return {
        "ip": ip,
        "kind": "address",
        "label": "",
        "enabled": True,
        "checked": True,
        "rated": True,
        "listed": [],
        "spf": "pass",
        "rdns": "mail.example.com",
        "forward_confirmed": True,
        "not_checked": [],
        "changed_at": None,
        "error": None,
        "stale": None,
        "outcome": "problem" if more.get("listed") else "ok",  # as status judges it
    } | more


class Bars(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bars, self.sections = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "bar" in (a.get("class") or "").split():
            self.bars.append(a)
        if tag == "section" and a.get("data-target"):
            self.sections.append(a["data-target"])


def _parsed(page):
    parser = Bars()
    parser.feed(page)
    return parser


def test_a_bar_sits_at_its_dates_and_says_them():
    listed = Period(
        "192.0.2.25",
        "192.0.2.25",
        "listing",
        "dnsbl.justspam.org",
        "listed",
        "2026-11-04T00:00:00Z",
        "2026-11-10T00:00:00Z",
        6,
    )
    still = Period(
        "192.0.2.25", "192.0.2.25", "spf", "postmaster@example.com", "softfail", "2026-11-16T00:00:00Z", None, 15
    )
    page = render(History([listed, still], START, END, 30), [_row("192.0.2.25", spf="softfail")])
    bars = {b["data-from"]: b for b in _parsed(page).bars}
    assert bars[listed.start]["style"] == "left:10.0%;width:20.0%"  # day 3 to day 9 of 30
    assert bars[still.start]["style"] == "left:50.0%;width:50.0%"  # from day 15 to the end: still open
    label = bars[listed.start]["aria-label"]
    assert "on dnsbl.justspam.org: listed from 2026-11-04 00:00 to 2026-11-10 00:00 UTC, 6 runs" in label
    assert bars[listed.start]["title"] == label
    assert "still open" in bars[still.start]["aria-label"]  # said in words, not only by its look
    assert re.search(r">softfail \(open\)</span>", page)


def test_a_short_period_is_still_seen_and_a_period_from_before_starts_at_the_edge():
    blip = Period("192.0.2.25", "192.0.2.25", "rdns", "", "no-ptr", "2026-11-30T23:59:00Z", "2026-12-01T00:00:00Z", 1)
    old = Period(
        "192.0.2.25", "192.0.2.25", "listing", "b.example", "listed", "2026-10-01T00:00:00Z", "2026-11-02T00:00:00Z", 20
    )
    bars = {b["data-from"]: b for b in _parsed(render(History([blip, old], START, END, 30), [_row("192.0.2.25")])).bars}
    assert bars[blip.start]["style"] == f"left:{100 - MIN_WIDTH}%;width:{MIN_WIDTH}%"  # inside the strip
    assert bars[old.start]["style"] == "left:0.0%;width:3.333%"


def test_what_strangers_wrote_is_escaped():
    evil = '<script>alert(1)</script>"onmouseover="x'
    period = Period(evil, "192.0.2.25", "listing", "<img src=x>.example", "listed<b>", START, None, 1)
    row = _row(evil, label="</section><iframe src=//x>", listed=["<img src=x>.example"])
    domains = [
        {
            "domain": "<b>d</b>",
            "roles": ["sender"],
            "spf_record": None,
            "spf_problems": ["<i>"],
            "dmarc": None,
            "dmarc_policy": None,
            "dmarc_problems": [],
            "listed": [],
            "changed_at": None,
        }
    ]
    page = render(History([period], START, END, 1), [row], domains)
    assert "<script" not in page and "<img" not in page and "<iframe" not in page and "<b>d" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover=&quot;x" in page
    assert _parsed(page).sections == [evil]  # the attribute holds it whole, as text
    assert "\u202e" not in render(History([], START, END, 0), [_row("192.0.2.1", label="a\u202eb")])


def test_every_target_is_on_the_page_with_what_it_has_now():
    rows = [_row("192.0.2.25", listed=["dnsbl.justspam.org"]), _row("198.51.100.7", spf=None, rdns="")]
    page = render(History([], START, END, 30), rows)
    assert _parsed(page).sections == ["192.0.2.25", "198.51.100.7"]
    assert "no problem in the period" in page
    assert "not checked (no sender)" in page and "no PTR" in page
    assert "<b>2</b>targets watched" in page and "<b>1</b>targets with a problem now" in page


def test_a_target_with_two_senders_has_a_strip_for_each_and_says_each_senders_spf_now():
    a, b = "postmaster@example.com", "postmaster@example.org"
    failing = Period("192.0.2.25", "192.0.2.25", "spf", b, "softfail", "2026-11-16T00:00:00Z", None, 15)
    each = [{"sender": a, "result": "pass"}, {"sender": b, "result": "softfail"}]
    row = _row("192.0.2.25", sender=f"{a} {b}", senders=[a, b], spf="softfail", spf_senders=each)
    page = render(History([failing], START, END, 30), [row])
    assert f"192.0.2.25 SPF for {a}" in page and f"192.0.2.25 SPF for {b}" in page  # a strip each
    (bar,) = _parsed(page).bars  # b's softfail; a has passed all along
    assert f"SPF for {b}: softfail from 2026-11-16" in bar["aria-label"]
    assert f"pass for {a}, softfail for {b}" in page


def test_the_page_fetches_nothing():
    page = render(History([], START, END, 0), [_row("192.0.2.25")])
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)


# -- the command: bad input is one line and exit 2, before AWS is asked anything


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["report", "--table", "t", "--history-table", "h"], "say where to write the report: --html FILE"),
        (
            ["report", "--table", "t", "--html", "r.html", "--days", "0"],
            "argument --days: expected a whole number of days from 1 to 366, not '0'",
        ),
        (["report", "--table", "t", "--html", "r.html", "--days", "lots"], "not 'lots'"),
        (["report", "--table", "t", "--html", "r.html", "--days", "400"], "from 1 to 366"),
    ],
)
def test_bad_input_is_one_line(argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_a_folder_is_not_a_file_to_write(tmp_path, capsys):
    assert main(["report", "--table", "t", "--html", str(tmp_path)]) == 2
    assert "is a directory: name the file to write" in capsys.readouterr().err


def test_a_device_or_a_pipe_is_not_replaced_by_a_report(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe")
    for path in (tmp_path / "pipe", Path("/dev/null")):
        assert main(["report", "--table", "t", "--html", str(path)]) == 2
        assert "is not a regular file" in capsys.readouterr().err
    assert (tmp_path / "pipe").is_fifo() and Path("/dev/null").is_char_device()


def test_a_targets_domains_and_receivers_are_drawn_beside_it_and_the_lists_below():
    record = Period(
        "domain:example.com", None, "spf-record", "example.com", "too-many-lookups", "2026-11-05T00:00:00Z", None, 20
    )
    block = Period(
        "receiver:microsoft",
        "192.0.2.25",
        "receiver",
        "microsoft",
        "5.7.606",
        "2026-11-07T00:00:00Z",
        "2026-11-08T00:00:00Z",
        0,
    )
    other = Period("receiver:gmail", "203.0.113.9", "receiver", "gmail", "5.7.1", START, None, 0)
    unusable = Period(
        "zone:zen.spamhaus.org:4", None, "list-unusable", "zen.spamhaus.org", "blocked", "2026-11-20T00:00:00Z", None, 4
    )
    rows = [
        _row("192.0.2.25", sender="postmaster@example.com", senders=["postmaster@example.com"]),
        _row("198.51.100.7"),
    ]
    page = render(History([record, block, other, unusable], START, END, 30), rows)
    mine, theirs, deployment = (
        page.split('data-target="')[1],
        page.split('data-target="')[2],
        page.split('id="deployment"')[1],
    )
    assert "SPF record of example.com (too-many-lookups): too-many-lookups from 2026-11-05" in mine
    assert "microsoft refusing 192.0.2.25: 5.7.606 from 2026-11-07 00:00 to 2026-11-08 00:00 UTC" in mine
    assert "gmail" not in mine  # another address's receiver
    assert "SPF record of example.com" not in theirs.split("</section>")[0]  # no sender: not its domain
    assert "zen.spamhaus.org (IPv4) unusable for the deployment: blocked" in deployment
    assert "gmail refusing 203.0.113.9" in deployment


def test_an_address_without_ptr_is_drawn_but_not_counted_a_problem_open():
    no_ptr = Period("192.0.2.25", "192.0.2.25", "rdns", "", "no-ptr", "2026-11-16T00:00:00Z", None, 15)
    page = render(History([no_ptr], START, END, 30), [_row("192.0.2.25")])
    assert re.search(r"<li><b>0</b>problems open</li>", page)  # as status and check judge it
    assert [b["data-from"] for b in _parsed(page).bars] == [no_ptr.start]
