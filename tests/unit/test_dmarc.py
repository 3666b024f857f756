"""dmarc: each rule from RFC 7489's own wording, against a fake zone (no network)."""

from __future__ import annotations

import asyncio

import pytest

from senderwatch import wire
from senderwatch.dmarc import DmarcReport, check_dmarc, policy_names


class Zone:
    """A fake async lookup of TXT records: {name: [text, ...]}; unknown names are NXDOMAIN."""

    def __init__(self, records: dict[str, list[str]], *, timeout=(), servfail=()):
        self.records = records
        self.failing = {name: wire.TIMEOUT for name in timeout} | {name: wire.SERVFAIL for name in servfail}
        self.asked: list[str] = []

    async def __call__(self, name: str, rtype: int) -> wire.Answer:
        assert rtype == wire.TXT
        self.asked.append(name)
        if name in self.failing:
            return wire.Answer(self.failing[name])
        if name not in self.records:
            return wire.Answer(wire.NXDOMAIN)
        return wire.Answer(wire.NOERROR, tuple((name, wire.TXT, (text.encode(),)) for text in self.records[name]))


def check(zone: Zone, domain: str = "example.com") -> DmarcReport:
    return asyncio.run(check_dmarc(zone, domain))


def record(text: str) -> DmarcReport:
    return check(Zone({"_dmarc.example.com": [text]}))


def codes(report: DmarcReport) -> list[str]:
    return [problem.code for problem in report.problems]


def test_p_reject_is_clean():
    report = record("v=DMARC1; p=reject; rua=mailto:dmarc@example.com")
    assert (report.policy, report.problems, report.broken) == ("reject", (), False)
    assert report.found_at == "_dmarc.example.com"
    assert report.to_dict() == {
        "record": "v=DMARC1; p=reject; rua=mailto:dmarc@example.com",
        "policy": "reject",
        "problems": [],
    }


def test_whitespace_around_tags_and_a_final_semicolon_are_fine():
    """RFC 7489 6.4: dmarc-sep = *WSP %x3b *WSP, and the record may end with a separator."""
    report = record("v = DMARC1 ;p = quarantine ; pct=50;")
    assert (report.policy, report.problems) == ("quarantine", ())


def test_no_record():
    """RFC 7489 6.6.3: with no record, "DMARC processing is not applied to this message"."""
    report = check(Zone({"_dmarc.example.com": ["some other text"]}))
    assert codes(report) == ["no-record"]
    assert (report.record, report.policy) == (None, None)
    assert "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com" in report.problems[0].detail
    assert "Gmail, Yahoo and Microsoft" in report.problems[0].detail


def test_multiple_records():
    """RFC 7489 6.6.3: "If the remaining set contains multiple records or no records, policy
    discovery terminates and DMARC processing is not applied to this message.\""""
    zone = Zone(
        {
            "_dmarc.mail.example.com": ["v=DMARC1; p=none", "v=DMARC1; p=reject"],
            "_dmarc.example.com": ["v=DMARC1; p=reject"],
        }
    )
    report = check(zone, "mail.example.com")
    assert codes(report) == ["multiple-records"]
    assert (report.record, report.policy, report.found_at) == (None, None, "_dmarc.mail.example.com")
    assert zone.asked == ["_dmarc.mail.example.com"]  # no walk past it


def test_p_none_is_information_not_breakage():
    """RFC 7489 6.3: "none: The Domain Owner requests no specific action be taken regarding
    delivery of messages.\""""
    report = record("v=DMARC1; p=none; rua=mailto:dmarc@example.com")
    assert (report.policy, codes(report), report.broken) == ("none", ["policy-none"], False)
    assert "p=quarantine" in report.problems[0].detail
    assert "add rua=" not in report.problems[0].detail
    assert "add rua=mailto:dmarc-reports@example.com" in record("v=DMARC1; p=none").problems[0].detail


def test_found_at_the_parent():
    """DMARCbis tree walk: with no record at the domain, receivers ask its parents."""
    zone = Zone({"_dmarc.example.com": ["v=DMARC1; p=reject"]})
    report = check(zone, "mail.example.com")
    assert (report.policy, report.found_at, report.problems) == ("reject", "_dmarc.example.com", ())
    assert zone.asked == ["_dmarc.mail.example.com", "_dmarc.example.com"]
    assert report.to_dict()["found_at"] == "_dmarc.example.com"


def test_sp_applies_to_a_subdomain():
    """RFC 7489 6.3: sp is the "Requested Mail Receiver policy for all subdomains"."""
    report = check(Zone({"_dmarc.example.com": ["v=DMARC1; p=reject; sp=none"]}), "mail.example.com")
    assert (report.policy, codes(report)) == ("none", ["policy-none"])
    assert "sp=none" in report.problems[0].detail
    assert record("v=DMARC1; p=reject; sp=none").policy == "reject"


def test_the_walk_stops_before_the_top_level_label_and_at_five_lookups():
    """The domain itself, then its shortest parents (where the organizational domain is), never
    the top-level label alone."""
    zone = Zone({})
    assert codes(check(zone, "a.b.c.d.e.f.example.com")) == ["no-record"]
    assert zone.asked == [
        "_dmarc.a.b.c.d.e.f.example.com",
        "_dmarc.d.e.f.example.com",
        "_dmarc.e.f.example.com",
        "_dmarc.f.example.com",
        "_dmarc.example.com",
    ]
    assert policy_names("example.com") == ["example.com"]


def test_a_timeout_is_never_no_record():
    """RFC 7489 6.6.3: no record means "any indication that there is no such record as opposed to a
    transient DNS error" - a failed lookup is not one."""
    report = check(Zone({}, timeout=["_dmarc.example.com"]))
    assert (report.error, report.problems, report.policy) == ("timeout", (), None)
    at_parent = check(Zone({}, timeout=["_dmarc.example.com"]), "mail.example.com")
    assert (at_parent.error, at_parent.problems) == ("timeout", ())
    assert at_parent.to_dict()["error"] == "timeout"
    assert check(Zone({}, servfail=["_dmarc.example.com"])).error == "servfail"


# -- syntax ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("p=reject; v=DMARC1", "not the first tag"),
        ("v=dmarc1; p=reject", "not exactly v=DMARC1"),
        ("v=DMARC1 p=reject", "separate them with ';'"),
    ],
)
def test_the_version_tag(text, words):
    """RFC 7489 6.3: v "MUST have the value of "DMARC1". The value of this tag MUST match precisely;
    if it does not or it is absent, the entire retrieved record MUST be ignored. It MUST be the
    first tag in the list.\""""
    report = record(text)
    assert codes(report) == ["syntax-error"]
    assert words in report.problems[0].detail
    assert "ignore the whole record" in report.problems[0].detail
    assert report.policy is None


def test_an_ignored_record_at_the_domain_lets_receivers_use_the_parent():
    """RFC 7489 6.6.3: records that do not start with v=DMARC1 "are discarded", and with the set
    empty receivers go on to the organizational domain."""
    zone = Zone({"_dmarc.mail.example.com": ["v=DMARC1 p=none"], "_dmarc.example.com": ["v=DMARC1; p=reject"]})
    report = check(zone, "mail.example.com")
    assert (report.policy, report.found_at, codes(report)) == ("reject", "_dmarc.example.com", ["syntax-error"])


def test_p_missing_without_rua_ignores_the_record():
    """RFC 7489 6.6.3: without a valid "p" tag and without rua, "the Mail Receiver applies no DMARC
    processing to this message.\""""
    report = record("v=DMARC1; adkim=s")
    assert (report.policy, codes(report)) == (None, ["syntax-error"])
    assert "p= is missing" in report.problems[0].detail


def test_p_missing_with_rua_is_p_none_but_still_reported():
    """RFC 7489 6.6.3: "if a "rua" tag is present and contains at least one syntactically valid
    reporting URI, the Mail Receiver SHOULD act as if a record containing a valid "v" tag and
    "p=none" was retrieved\""""
    report = record("v=DMARC1; rua=mailto:dmarc@example.com")
    assert (report.policy, codes(report)) == ("none", ["syntax-error", "policy-none"])
    assert report.broken


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("v=DMARC1; p=block", "p=block"),
        ("v=DMARC1; p=reject; sp=drop", "sp=drop"),
        ("v=DMARC1; p=reject; np=maybe", "np=maybe"),
        ("v=DMARC1; p=reject; pct=101", "pct=101"),
        ("v=DMARC1; p=reject; pct=-1", "pct=-1"),
        ("v=DMARC1; p=reject; pct=half", "pct=half"),
        ("v=DMARC1; p=reject; adkim=strict", "adkim=strict"),
        ("v=DMARC1; p=reject; aspf=x", "aspf=x"),
        ("v=DMARC1; p=reject; rua=dmarc@example.com", "rua= entry 'dmarc@example.com'"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com,b@example.com", "rua= entry 'b@example.com'"),
        ("v=DMARC1; p=reject; ruf=https://example.com/r", "ruf= entry 'https://example.com/r'"),
        ("v=DMARC1; p=reject; fo=2", "fo=2"),
        ("v=DMARC1; p=reject; ri=daily", "ri=daily"),
        ("v=DMARC1; p=reject; quarantine", "'quarantine' is not a tag=value pair"),
        ("v=DMARC1; p=reject; p=none", "p= appears more than once"),
    ],
)
def test_each_syntax_rule_names_its_tag(text, tag):
    report = record(text)
    assert codes(report)[0] == "syntax-error"
    assert tag in report.problems[0].detail
    assert report.broken


def test_an_invalid_p_with_rua_is_p_none():
    report = record("v=DMARC1; p=block; rua=mailto:d@example.com")
    assert (report.policy, codes(report)) == ("none", ["syntax-error", "policy-none"])


def test_valid_optional_tags_pass():
    """RFC 7489 6.3: "Unknown tags MUST be ignored.\""""
    text = "v=DMARC1; p=quarantine; sp=reject; np=reject; pct=0; adkim=s; aspf=r; fo=0:d:s; ri=3600; t=y; "
    text += "rua=mailto:a@example.com!10m,mailto:b@example.net; ruf=mailto:f@example.com"
    report = record(text)
    assert (report.policy, report.problems) == ("quarantine", ())
