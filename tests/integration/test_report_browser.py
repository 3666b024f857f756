"""`senderwatch report` on a deployment (in-process moto) with a scripted month of history, opened
in a real browser (Debian's Chromium, headless): every target is there, each bar is drawn at its
dates, the page logs no error and fetches nothing, it reflows on a phone's width and prints; the
screenshots and the PDF are kept in .artifacts/report/ to look at."""

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import boto3
import pytest

from senderwatch.aws import History
from senderwatch.history import stamp
from tests.support.browser import load

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "report"
DAYS = 30
SENDER = "postmaster@example.com"
MEASURE = """<script>
for (const bar of document.querySelectorAll('.bar')) {
  const track = bar.parentElement.getBoundingClientRect(), box = bar.getBoundingClientRect();
  bar.dataset.measuredLeft = ((box.left - track.left) / track.width * 100).toFixed(2);
  bar.dataset.measuredRight = ((box.right - track.left) / track.width * 100).toFixed(2);
}
const page = document.documentElement;
page.dataset.overflows = page.scrollWidth > page.clientWidth;
const first = document.querySelector('section.t');
const timeline = first.querySelector('.timeline').getBoundingClientRect();
page.dataset.stacked = first.querySelector('aside').getBoundingClientRect().top >= timeline.bottom;
</script>"""


def _result(ip, *, listed=False, spf="pass", ptr=True):
    return {
        "ip": ip,
        "version": 6 if ":" in ip else 4,
        "dnsbl": [{"zone": "dnsbl.justspam.org", "status": "listed" if listed else "clean"}],
        "spf": {"sender": SENDER, "result": spf},
        "rdns": {"ptr": ["mail.example.com"] if ptr else [], "forward_confirmed": ptr},
    }


def _scripted(now):
    """A month of daily runs: 192.0.2.25 listed from day 10 to day 13; the host's IPv6 address
    softfailing SPF from day 20 on, still; 198.51.100.7 without a PTR record on days 5 and 6.
    Gives the items and the periods expected, as (target, from, to) in datetimes."""
    items, start = [], now - timedelta(days=DAYS)
    for day in range(DAYS):
        when = start + timedelta(days=day, hours=6)
        run = {"checked_at": stamp(when), "run": f"run-{when:%Y%m%dT%H%M}", "scheduled": True}
        address = _result("192.0.2.25", listed=10 <= day < 13)
        host = {"results": [_result("192.0.2.25"), _result("2001:db8::25", spf="softfail" if day >= 20 else "pass")]}
        items += [
            {"ip": "192.0.2.25", "result": json.dumps(address), **run},
            {"ip": "mail.example.com", "result": json.dumps(host), **run},
            {"ip": "198.51.100.7", "result": json.dumps(_result("198.51.100.7", ptr=not 5 <= day < 7)), **run},
        ]
    at = lambda day: start + timedelta(days=day, hours=6)  # noqa: E731
    expected = {
        ("192.0.2.25", "listed"): (at(10), at(13)),
        ("mail.example.com", "softfail"): (at(20), None),
        ("198.51.100.7", "no-ptr"): (at(5), at(7)),
    }
    return items, expected


class Page(HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.targets, self.bars, self.root = [], [], {}
        self.section = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = a
        if tag == "section" and "data-target" in a:
            self.section = a["data-target"]
            self.targets.append(self.section)
        if "bar" in (a.get("class") or "").split():
            self.bars.append(dict(a, target=self.section))


@pytest.fixture
def report(local, cli, tmp_path):
    targets = [
        ("192.0.2.25", "--sender", "example.com", "--label", "postfix-1 <relay>"),
        ("mail.example.com", "--sender", "example.com"),
        ("198.51.100.7", "--label", '"><script>alert(1)</script>'),
    ]
    for target in targets:
        assert cli("targets", "add", *target, "--table", local.table_name)[0] == 0
    now = datetime.now(UTC)
    for ip, ptr in (("192.0.2.25", ["mail.example.com"]), ("198.51.100.7", [])):  # what the last run found
        findings = {
            "dnsbl": {"dnsbl.justspam.org": {"status": "clean"}},
            "spf": {"sender": SENDER, "result": "pass"} if ip == "192.0.2.25" else None,
            "rdns": {"ptr": ptr, "forward_confirmed": bool(ptr)},
        }
        boto3.resource("dynamodb").Table(local.table_name).update_item(
            Key={"ip": ip}, UpdateExpression="SET findings = :f", ExpressionAttributeValues={":f": findings}
        )
    items, expected = _scripted(now)
    History.named(local.history_table_name).record(items, int((now + timedelta(days=90)).timestamp()))
    path = tmp_path / "report.html"
    status, out, err = cli(
        "report", "--table", local.table_name, "--history-table", local.history_table_name,
        "--html", str(path), "--days", str(DAYS),
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert out.startswith(f"wrote {path}: 3 targets, 3 problem periods")
    return path, now, expected


def test_the_report_shows_every_target_and_each_problem_at_its_dates(report):
    path, now, expected = report
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shown = load(path, width=1280, height=1400, screenshot=ARTIFACTS / "report.png")
    assert (shown.console, shown.requests) == ([], [])  # no error, no request leaves the file
    assert (ARTIFACTS / "report.png").read_bytes().startswith(b"\x89PNG")
    printed = load(path, pdf=ARTIFACTS / "report.pdf")  # as it prints (its print style)
    assert (printed.console, printed.requests) == ([], [])
    assert (ARTIFACTS / "report.pdf").read_bytes().startswith(b"%PDF")
    loaded = load(path)
    assert (loaded.console, loaded.requests) == ([], [])
    page = Page(loaded.dom)
    assert sorted(page.targets) == ["192.0.2.25", "198.51.100.7", "mail.example.com"]
    assert "<script>alert(1)" not in loaded.dom  # a label is text, not markup
    bars = {(b["target"], b["aria-label"].split(": ")[1].split(" ")[0]): b for b in page.bars}
    assert set(bars) == set(expected)
    for key, (start, end) in expected.items():
        bar = bars[key]
        assert bar["data-from"] == f"{start:%Y-%m-%dT%H:%M:%SZ}"
        assert bar["data-to"] == (f"{end:%Y-%m-%dT%H:%M:%SZ}" if end else "")
        assert f"from {start:%Y-%m-%d %H:%M}" in bar["aria-label"] == bar["title"]
        assert ("still open" if end is None else f"to {end:%Y-%m-%d %H:%M}") in bar["aria-label"]
    assert "2001:db8::25 SPF for postmaster@example.com" in bars[("mail.example.com", "softfail")]["aria-label"]


@pytest.mark.parametrize("width", [1280, 500])  # a desktop's window, and Chromium's narrowest (a phone's)
def test_the_browser_draws_the_bars_where_their_dates_are(report, tmp_path, width):
    path, now, expected = report
    measured = tmp_path / "measured.html"
    text = path.read_text("utf-8")
    head, csp, rest = text.partition('<meta http-equiv="Content-Security-Policy"')
    measured.write_text(head + rest.split(">", 1)[1].replace("</body>", MEASURE + "</body>"), "utf-8")
    loaded = load(measured, width=width, height=1200)
    assert csp  # the page's own policy is taken out of this copy, for the measuring script to run
    assert (loaded.console, loaded.requests) == ([], [])
    page = Page(loaded.dom)
    since = now - timedelta(days=DAYS)
    where = lambda moment: (moment - since) / timedelta(days=DAYS) * 100  # noqa: E731
    for bar in page.bars:
        start, end = expected[(bar["target"], bar["aria-label"].split(": ")[1].split(" ")[0])]
        assert float(bar["data-measured-left"]) == pytest.approx(where(start), abs=0.6)
        assert float(bar["data-measured-right"]) == pytest.approx(where(end) if end else 100, abs=0.6)
    assert page.root["data-overflows"] == "false"  # nothing wider than the window
    assert page.root["data-stacked"] == ("true" if width < 720 else "false")  # findings under the timeline
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    load(path, width=width, height=1400, screenshot=ARTIFACTS / f"report-{width}.png")


def test_the_browser_checks_would_see_a_page_that_fetches_or_fails(tmp_path):
    """The checks above are not vacuous: a page that asks for a font and logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'
        '</head><body><script>console.error("broken")</script></body></html>'
    )
    loaded = load(page)
    assert any("fonts.googleapis.com" in request for request in loaded.requests)
    assert any("broken" in message for message in loaded.console)


def test_a_report_goes_through_a_link_to_its_file_and_to_standard_output_for_a_dash(local, cli, tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "latest.html").symlink_to(tmp_path / "reports" / "r.html")
    where = ["--table", local.table_name, "--history-table", local.history_table_name]
    status, _, _ = cli("report", *where, "--html", str(tmp_path / "latest.html"))
    assert status == 0 and (tmp_path / "latest.html").is_symlink()  # the link stays, its file is the report
    assert (tmp_path / "reports" / "r.html").read_text().startswith("<!DOCTYPE html>")
    status, out, _ = cli("report", *where, "--html", "-")
    assert status == 0 and out.startswith("<!DOCTYPE html>") and not (tmp_path / "-").exists()


def test_a_report_that_cannot_be_written_is_one_line_and_leaves_nothing(local, cli, tmp_path):
    (tmp_path / "locked").mkdir(mode=0o500)
    where = ["--table", local.table_name, "--history-table", local.history_table_name]
    status, out, err = cli("report", *where, "--html", str(tmp_path / "missing" / "r.html"))
    assert (status, out) == (2, "") and "does not exist" in err and err.count("\n") == 1  # a typo in the path
    status, _, err = cli("report", *where, "--html", str(tmp_path / "locked" / "r.html"))
    assert status == 4 or (status == 0 and err == "")  # root may write in a read-only folder
    assert [p.name for p in (tmp_path / "locked").iterdir()] in ([], ["r.html"])  # no half-written file beside it


def test_the_stack_names_every_table_the_report_reads(report, local, cli, tmp_path):
    local.register_stack("senderwatch-report")
    path = tmp_path / "stack.html"
    status, out, err = cli("report", "--stack", "senderwatch-report", "--html", str(path), "--days", str(DAYS))
    assert (status, err) == (0, "") and out.startswith(f"wrote {path}: 3 targets, 3 problem periods")
    page = path.read_text("utf-8")
    assert "give --health-table" not in page  # the health table was found and read: the domains are there
    assert sorted(Page(page).targets) == ["192.0.2.25", "198.51.100.7", "mail.example.com"]
