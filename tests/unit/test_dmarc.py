"""dmarc: each rule from RFC 9989's (and RFC 9990's) own wording, against a fake zone (no network)."""

from __future__ import annotations

import asyncio

import pytest

from senderwatch import wire
from senderwatch.alerttext import render
from senderwatch.dmarc import MAX_DESTINATIONS, MAX_QUERIES, DmarcReport, check_dmarc, policy_names
from senderwatch.domainhealth import PROBLEM, DomainReport
from senderwatch.findings import decide_domain, merge_domain


class Zone:
    """A fake async lookup of TXT records: {name: [text, ...]}. Names in EXISTS exist without TXT
    records; any other name is NXDOMAIN."""

    def __init__(self, records: dict[str, list[str]], *, exists=(), timeout=(), servfail=()):
        self.records = records
        self.exists = set(exists)
        self.failing = {name: wire.TIMEOUT for name in timeout} | {name: wire.SERVFAIL for name in servfail}
        self.asked: list[str] = []

    async def __call__(self, name: str, rtype: int) -> wire.Answer:
        assert rtype == wire.TXT
        self.asked.append(name)
        if name in self.failing:
            return wire.Answer(self.failing[name])
        if name not in self.records:
            return wire.Answer(wire.NOERROR if name in self.exists else wire.NXDOMAIN)
        return wire.Answer(wire.NOERROR, tuple((name, wire.TXT, (text.encode(),)) for text in self.records[name]))

    @property
    def dmarc_asked(self) -> list[str]:
        return [name for name in self.asked if name.startswith("_dmarc.")]


def check(zone: Zone, domain: str = "example.com") -> DmarcReport:
    return asyncio.run(check_dmarc(zone, domain))


def record(text: str, **zone) -> DmarcReport:
    return check(Zone({"_dmarc.example.com": [text]}, **zone))


def codes(report: DmarcReport) -> list[str]:
    return [problem.code for problem in report.problems]


def test_p_reject_is_clean():
    zone = Zone({"_dmarc.example.com": ["v=DMARC1; p=reject; rua=mailto:dmarc@example.com"]})
    report = check(zone)
    assert (report.policy, report.problems, report.broken) == ("reject", (), False)
    assert report.found_at == "_dmarc.example.com"
    assert report.to_dict() == {
        "record": "v=DMARC1; p=reject; rua=mailto:dmarc@example.com",
        "policy": "reject",
        "problems": [],
    }
    assert zone.asked == ["_dmarc.example.com"]  # reports to the domain itself need no more lookups


def test_whitespace_around_tags_and_a_final_semicolon_are_fine():
    """RFC 9989 4.8: dmarc-sep = *WSP ";" *WSP, equals = *WSP "=" *WSP, and dmarc-record ends
    with [dmarc-sep]."""
    report = record("v = DMARC1 ;p = quarantine ; adkim = s;")
    assert (report.policy, report.problems) == ("quarantine", ())


def test_no_record():
    """RFC 9989 4.10.1: "If the set produced by the DNS Tree Walk contains no DMARC Policy Record
    ..., Mail Receivers MUST NOT apply the DMARC mechanism to the message.\""""
    zone = Zone({"_dmarc.example.com": ["some other text"]})
    report = check(zone)
    assert codes(report) == ["no-record"]
    assert (report.record, report.policy) == (None, None)
    assert "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com" in report.problems[0].detail
    assert "Gmail, Yahoo and Microsoft" in report.problems[0].detail
    assert zone.asked == ["_dmarc.example.com", "_dmarc.com"]  # the walk goes up to the top-level label


def test_p_none_is_information_not_breakage():
    """RFC 9989 4.7 p: "none: The Domain Owner offers no expression of preference.\""""
    report = record("v=DMARC1; p=none; rua=mailto:dmarc@example.com")
    assert (report.policy, codes(report), report.broken) == ("none", ["policy-none"], False)
    assert "p=quarantine" in report.problems[0].detail
    assert "add rua=" not in report.problems[0].detail
    assert "add rua=mailto:dmarc-reports@example.com" in record("v=DMARC1; p=none").problems[0].detail


def test_a_timeout_is_never_no_record():
    """RFC 9989 4.10.1: no record is "any indication that there is no such record as opposed to a
    transient DNS error" - a failed lookup is not one."""
    report = check(Zone({}, timeout=["_dmarc.example.com"]))
    assert (report.error, report.problems, report.policy) == ("timeout", (), None)
    at_parent = check(Zone({}, timeout=["_dmarc.example.com"]), "mail.example.com")
    assert (at_parent.error, at_parent.problems) == ("timeout", ())
    assert at_parent.to_dict()["error"] == "timeout"
    assert check(Zone({}, servfail=["_dmarc.example.com"])).error == "servfail"
    at_the_top = check(Zone({}, servfail=["_dmarc.com"]))
    assert (at_the_top.error, at_the_top.problems) == ("servfail", ())


# -- the DNS Tree Walk and policy discovery --------------------------------------------------------


def test_found_at_the_parent():
    """RFC 9989 4.10.1: "If no valid DMARC Policy Record is found by the first query, then perform a
    DNS Tree Walk to find the Author Domain's Organizational Domain or its Public Suffix Domain.\""""
    zone = Zone({"_dmarc.example.com": ["v=DMARC1; p=reject"]})
    report = check(zone, "mail.example.com")
    assert (report.policy, report.found_at, report.problems) == ("reject", "_dmarc.example.com", ())
    assert zone.asked == ["_dmarc.mail.example.com", "_dmarc.example.com", "_dmarc.com"]
    assert report.to_dict()["found_at"] == "_dmarc.example.com"


def test_the_record_with_the_fewest_labels_is_the_organizational_domains():
    """RFC 9989 4.10.2: "3. Otherwise, select the DMARC Policy Record found at the name with the
    fewest number of labels. This is the Organizational Domain", and 4.10.1: its record applies.
    A p=none record at _dmarc.b.example.com does not hide example.com's p=reject from a.b.example.com."""
    zone = Zone({"_dmarc.b.example.com": ["v=DMARC1; p=none"], "_dmarc.example.com": ["v=DMARC1; p=reject"]})
    report = check(zone, "a.b.example.com")
    assert (report.policy, report.found_at, report.problems) == ("reject", "_dmarc.example.com", ())
    assert zone.dmarc_asked == ["_dmarc.a.b.example.com", "_dmarc.b.example.com", "_dmarc.example.com", "_dmarc.com"]
    # b.example.com's own mail is under its own record: "The Author Domain" comes first.
    assert check(zone, "b.example.com").policy == "none"


def test_psd_n_marks_the_organizational_domain_and_stops_the_walk():
    """RFC 9989 4.10 step 6: "If a single record remains and it contains a "psd=n" or "psd=y" tag,
    stop", and 4.10.2: "1. If a valid DMARC Policy Record contains the "psd" tag set to "n"
    ("psd=n"), this is the Organizational Domain".'"""
    zone = Zone({"_dmarc.b.example.com": ["v=DMARC1; p=reject; psd=n"], "_dmarc.example.com": ["v=DMARC1; p=none"]})
    report = check(zone, "a.b.example.com")
    assert (report.policy, report.found_at) == ("reject", "_dmarc.b.example.com")
    assert zone.asked == ["_dmarc.a.b.example.com", "_dmarc.b.example.com"]


def test_psd_y_makes_the_domain_one_label_below_it_the_organizational_domain():
    """RFC 9989 4.10.2: "2. If a valid DMARC Policy Record, other than the one for the domain where
    the tree walk started, contains the "psd" tag set to "y" ("psd=y"), the Organizational Domain is
    the domain one label below this one in the DNS hierarchy" (appendix B.4.3's giant.bank.example)."""
    zone = Zone(
        {
            "_dmarc.bank.example": ["v=DMARC1; p=reject; psd=y; rua=mailto:psd@bank.example"],
            "_dmarc.giant.bank.example": ["v=DMARC1; p=quarantine"],
        }
    )
    report = check(zone, "mail.giant.bank.example")
    assert (report.policy, report.found_at, report.problems) == ("quarantine", "_dmarc.giant.bank.example", ())
    assert "_dmarc.example" not in zone.asked  # psd=y stopped the walk


def test_the_public_suffix_domains_record_applies_when_the_organizational_domain_has_none():
    """RFC 9989 4.10.1: the record applied is the one at "The Author Domain; The Organizational
    Domain of the Author Domain; The Public Suffix Domain of the Author Domain", and for a subdomain
    of it the policy "is taken from the "sp" tag (if any) if the Author Domain exists"."""
    zone = Zone({"_dmarc.bank.example": ["v=DMARC1; p=reject; sp=quarantine; psd=y"]}, exists=["mega.bank.example"])
    report = check(zone, "mega.bank.example")
    assert (report.policy, report.found_at) == ("quarantine", "_dmarc.bank.example")


def test_a_public_suffix_domains_record_never_overrides_the_domains_own():
    """RFC 9989 4.10.1: "Note: PSD policy is not used for Organizational Domains that have published
    a DMARC Policy Record.\""""
    zone = Zone({"_dmarc.example": ["v=DMARC1; p=reject; psd=y"], "_dmarc.foo.example": ["v=DMARC1; p=none"]})
    report = check(zone, "foo.example")
    assert (report.policy, report.found_at, codes(report)) == ("none", "_dmarc.foo.example", ["policy-none"])


def test_sp_applies_to_a_subdomain_that_exists_np_to_one_that_does_not():
    """RFC 9989 4.10.1: "the Domain Owner Assessment Policy is taken from the "sp" tag (if any) if the
    Author Domain exists, or the "np" tag (if any) if the Author Domain does not exist. In the absence
    of applicable "sp" or "np" tags, the "p" tag policy is used for subdomains"; 3.2.13: a name is
    non-existent when its query answers NXDOMAIN."""
    text = "v=DMARC1; p=reject; sp=none; np=quarantine"
    existing = check(Zone({"_dmarc.example.com": [text]}, exists=["mail.example.com"]), "mail.example.com")
    assert (existing.policy, codes(existing)) == ("none", ["policy-none"])
    assert "sp=none" in existing.problems[0].detail
    missing = check(Zone({"_dmarc.example.com": [text]}), "typo.example.com")
    assert (missing.policy, missing.problems) == ("quarantine", ())
    only_np = check(Zone({"_dmarc.example.com": ["v=DMARC1; p=reject; np=none"]}), "gone.example.com")
    assert only_np.policy == "none"
    without_np = Zone({"_dmarc.example.com": ["v=DMARC1; p=reject; sp=quarantine"]})
    assert check(without_np, "gone.example.com").policy == "quarantine"  # "If the np tag is absent ... sp"
    assert "gone.example.com" not in without_np.asked  # existence only matters to np
    assert record(text).policy == "reject"  # the domain itself: p
    failed = check(Zone({"_dmarc.example.com": [text]}, timeout=["mail.example.com"]), "mail.example.com")
    assert (failed.error, failed.policy, failed.problems) == ("timeout", None, ())


def test_t_y_asks_for_one_level_less():
    """RFC 9989 4.7 t: "if the policy is "quarantine" and the value of the "t" tag is "y", a policy of
    "none" will be applied to failing messages; if the policy is "reject" and the value of the "t" tag
    is "y", a policy of "quarantine" will be applied to failing messages\""""
    assert (record("v=DMARC1; p=reject; t=y").policy, record("v=DMARC1; p=reject; t=y").problems) == ("quarantine", ())
    testing = record("v=DMARC1; p=quarantine; t=y; rua=mailto:d@example.com")
    assert (testing.policy, codes(testing)) == ("none", ["policy-none"])
    assert "t=y (test mode)" in testing.problems[0].detail and "drop t=y once" in testing.problems[0].detail
    assert record("v=DMARC1; p=reject; t=n").policy == "reject"


def test_the_walk_is_bounded_at_eight_names_as_the_rfc_lists_them():
    """RFC 9989 4.10: "for a message with the arbitrary Author Domain of
    "a.b.c.d.e.f.g.h.i.j.mail.example.com", a full DNS Tree Walk would require the following eight
    queries", and appendix B.4.2's deep walk."""
    assert policy_names("a.b.c.d.e.f.g.h.i.j.mail.example.com") == [
        "a.b.c.d.e.f.g.h.i.j.mail.example.com",
        "g.h.i.j.mail.example.com",
        "h.i.j.mail.example.com",
        "i.j.mail.example.com",
        "j.mail.example.com",
        "mail.example.com",
        "example.com",
        "com",
    ]
    zone = Zone({"_dmarc.example.com": ["v=DMARC1; p=reject"]})
    report = check(zone, "a.b.c.d.e.f.g.h.i.j.k.example.com")
    assert (report.policy, report.found_at) == ("reject", "_dmarc.example.com")
    assert zone.asked == [f"_dmarc.{name}" for name in policy_names("a.b.c.d.e.f.g.h.i.j.k.example.com")]
    assert len(zone.asked) == MAX_QUERIES == 8
    assert len(policy_names("a.b.c.d.e.f.example.com")) == 8  # eight labels: every parent, still eight
    assert policy_names("example.com") == ["example.com", "com"]


def test_an_ignored_record_at_the_domain_lets_receivers_use_the_parent():
    """RFC 9989 4.10 step 2: "Records that do not start with a "v" tag that identifies the current
    version of DMARC are discarded", and the walk goes on."""
    zone = Zone({"_dmarc.mail.example.com": ["v=DMARC1 p=none"], "_dmarc.example.com": ["v=DMARC1; p=reject"]})
    report = check(zone, "mail.example.com")
    assert (report.policy, report.found_at, codes(report)) == ("reject", "_dmarc.example.com", ["syntax-error"])


def test_multiple_records_are_discarded_and_the_walk_goes_on():
    """RFC 9989 4.10 step 2: "If multiple DMARC Policy Records are returned for a single target, they
    are all discarded." Unlike RFC 7489 6.6.3, discovery does not end there: the parents are asked."""
    zone = Zone(
        {
            "_dmarc.mail.example.com": ["v=DMARC1; p=none", "v=DMARC1; p=reject"],
            "_dmarc.example.com": ["v=DMARC1; p=reject; sp=quarantine"],
        },
        exists=["mail.example.com"],
    )
    report = check(zone, "mail.example.com")
    assert (codes(report), report.policy, report.found_at) == (["multiple-records"], "quarantine", "_dmarc.example.com")
    assert "discard them all" in report.problems[0].detail and report.broken
    alone = check(Zone({"_dmarc.example.com": ["v=DMARC1; p=none", "v=DMARC1; p=reject"]}))
    assert (codes(alone), alone.record, alone.policy) == (["multiple-records"], None, None)


# -- the record's syntax ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("p=reject; v=DMARC1", "not the first tag"),
        ("v=dmarc1; p=reject", "not exactly v=DMARC1"),
        ("v=DMARC1 p=reject", "separate them with ';'"),
    ],
)
def test_the_version_tag(text, words):
    """RFC 9989 4.7 v: "This tag MUST be the first tag in the list. The tag value is case sensitive,
    and the only possible value is "DMARC1". If the tag is not the first in the list, or the tag is
    absent, or the value is not "DMARC1", then the entire record MUST be ignored.\""""
    report = record(text)
    assert codes(report) == ["syntax-error"]
    assert words in report.problems[0].detail
    assert "ignore the whole record (RFC 9989 section 4.7)" in report.problems[0].detail
    assert report.policy is None


def test_a_duplicate_tag_invalidates_the_whole_record():
    """RFC 9989 4.7: records "follow the extensible "tag-value" syntax for DNS-based key records
    defined in DKIM [RFC6376]", and RFC 6376 3.2: "if a tag name does occur more than once, the
    entire tag-list is invalid" - not the first value taken as the policy."""
    report = record("v=DMARC1; p=reject; p=none")
    assert (codes(report), report.policy, report.record) == (["syntax-error"], None, None)
    assert (
        "p= appears more than once" in report.problems[0].detail and "RFC 6376 section 3.2" in report.problems[0].detail
    )
    zone = Zone(
        {"_dmarc.mail.example.com": ["v=DMARC1; p=none; P=reject"], "_dmarc.example.com": ["v=DMARC1; p=reject"]}
    )
    above = check(zone, "mail.example.com")
    assert (above.policy, above.found_at, codes(above)) == ("reject", "_dmarc.example.com", ["syntax-error"])


def test_a_record_without_p_is_p_none_not_a_syntax_error():
    """RFC 9989 4.7 p: "(plain-text; RECOMMENDED for DMARC Policy Records) ... If this tag is not
    present in an otherwise syntactically valid DMARC Policy Record, then the record is treated as if
    it included "p=none" (see Section 4.10.1)"; 4.10.1: with "at least one syntactically valid
    reporting URI, the Mail Receiver MUST act as if a record containing "p=none" was retrieved"."""
    report = record("v=DMARC1; rua=mailto:dmarc@example.com")
    assert (report.policy, codes(report), report.broken) == ("none", ["policy-none"], False)
    assert "no p=" in report.problems[0].detail and "RFC 9989 sections 4.7 and 4.10.1" in report.problems[0].detail
    assert record("v=DMARC1; rua=https://reports.example.com/dmarc").policy == "none"  # any URI is one


def test_without_p_and_without_rua_receivers_apply_no_dmarc_processing():
    """RFC 9989 4.10.1: without a valid "p" tag and without a valid rua URI, "the Mail Receiver
    applies no DMARC processing to this message" - information like p=none, not a syntax error."""
    report = record("v=DMARC1; adkim=s")
    assert (report.policy, codes(report), report.broken) == (None, ["policy-none"], False)
    assert "no DMARC processing" in report.problems[0].detail


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("v=DMARC1; p=block", "p=block"),
        ("v=DMARC1; p=reject; sp=drop", "sp=drop"),
        ("v=DMARC1; p=reject; np=maybe", "np=maybe"),
        ("v=DMARC1; p=", "p= is not"),
    ],
)
def test_an_invalid_p_sp_or_np_is_p_none_with_rua_and_no_dmarc_without(text, tag):
    """RFC 9989 4.10.1: "If a retrieved DMARC Policy Record does not contain a valid "p" tag, or
    contains an "sp" or "np" tag that is not valid, then: * If a "rua" tag is present and contains at
    least one syntactically valid reporting URI, the Mail Receiver MUST act as if a record containing
    "p=none" was retrieved and continue processing; * Otherwise, the Mail Receiver applies no DMARC
    processing to this message." That holds for the domain itself too, whatever p= says."""
    without = record(text)
    assert (without.policy, codes(without)) == (None, ["syntax-error"])
    assert tag in without.problems[0].detail and "no DMARC processing" in without.problems[0].detail
    with_rua = record(text + "; rua=mailto:d@example.com")
    assert (with_rua.policy, codes(with_rua)) == ("none", ["syntax-error", "policy-none"])
    assert "act as if it said p=none" in with_rua.problems[0].detail and with_rua.broken


@pytest.mark.parametrize(
    ("text", "tag", "default"),
    [
        ("v=DMARC1; p=reject; adkim=strict", "adkim=strict", "r"),
        ("v=DMARC1; p=reject; aspf=x", "aspf=x", "r"),
        ("v=DMARC1; p=reject; t=maybe", "t=maybe", "n"),
        ("v=DMARC1; p=reject; psd=yes", "psd=yes", "u"),
        ("v=DMARC1; p=reject; fo=2", "fo=2", "0"),
        ("v=DMARC1; p=reject; fo=0:1", "fo=0:1", "0"),
    ],
)
def test_other_invalid_values_fall_back_to_the_default(text, tag, default):
    """RFC 9989 4.8: "Syntax errors in the remainder of the record MUST be discarded in favor of
    default values (if any) or ignored outright"; dmarc-fo: "0" and "1" are mutually exclusive."""
    report = record(text)
    assert (report.policy, codes(report)) == ("reject", ["syntax-error"])
    assert tag in report.problems[0].detail and f"the default, {default}" in report.problems[0].detail


def test_a_part_without_equals_is_ignored():
    report = record("v=DMARC1; p=reject; quarantine")
    assert (report.policy, codes(report)) == ("reject", ["syntax-error"])
    assert "'quarantine' is not a tag=value pair" in report.problems[0].detail


@pytest.mark.parametrize("removed", ["pct=0", "pct=50", "pct=half", "pct=-1", "rf=afrf", "rf=", "ri=daily", "ri=3600"])
def test_pct_rf_and_ri_are_removed_tags_ignored_whatever_their_value(removed):
    """RFC 9989 appendix C.5.2 removes pct, rf and ri (the registry marks them historic, 9.3), and
    4.7: "Only tags defined in that registry are to be processed; unknown tags MUST be ignored" -
    so p=reject applies to all failing mail, pct=0 or not (appendix A.6)."""
    report = record(f"v=DMARC1; p=reject; {removed}")
    assert (report.policy, report.problems) == ("reject", ())


def test_unknown_tags_are_ignored():
    """RFC 9989 4.7: "unknown tags MUST be ignored.\""""
    report = record("v=DMARC1; p=quarantine; x-custom=1; bimi=whatever; rua=mailto:a@example.com")
    assert (report.policy, report.problems) == ("quarantine", ())


def test_valid_optional_tags_pass():
    text = "v=DMARC1; p=quarantine; sp=reject; np=reject; adkim=s; aspf=r; fo=1:d:s; t=n; psd=n; "
    text += "rua=mailto:a@example.com!10m,mailto:b@example.com; ruf=mailto:f@example.com"
    report = record(text)
    assert (report.policy, report.problems) == ("quarantine", ())


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("v=DMARC1; p=reject; rua=dmarc@example.com", "rua= entry 'dmarc@example.com'"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com,b@example.com", "rua= entry 'b@example.com'"),
        ("v=DMARC1; p=reject; ruf=mailto:", "ruf= entry 'mailto:'"),
        ("v=DMARC1; p=reject; rua=mailto:nobody", "rua= entry 'mailto:nobody'"),
        ("v=DMARC1; p=reject; rua=http://exa mple.com/r", "rua= entry 'http://exa mple.com/r'"),
    ],
)
def test_an_entry_that_is_not_a_uri_is_ignored(text, entry):
    """RFC 9989 4.8: dmarc-uri = URI (RFC 3986), with commas and exclamation points encoded."""
    report = record(text)
    assert (report.policy, codes(report)) == ("reject", ["syntax-error"])
    assert entry in report.problems[0].detail and "not a URI" in report.problems[0].detail


def test_any_valid_uri_is_a_reporting_address():
    """RFC 9989 4.7 rua: "Any valid URI can be specified. ... URIs involving schemes not supported by
    Mail Receivers MUST be ignored" - ignored by them, not a syntax error of the record."""
    report = record("v=DMARC1; p=reject; rua=https://example.com/dmarc, mailto:d@example.com; ruf=urn:x-dmarc:reports")
    assert (report.policy, report.problems) == ("reject", ())


def test_messages_cite_rfc_9989_not_rfc_7489():
    texts = [
        "v=dmarc1; p=reject",
        "v=DMARC1; p=block",
        "v=DMARC1; p=reject; sp=x; rua=mailto:d@example.com",
        "v=DMARC1; p=reject; p=none",
        "v=DMARC1; rua=mailto:d@example.com",
        "v=DMARC1; p=reject; adkim=x; rua=mailto:d@elsewhere.example",
    ]
    details = [p.detail for text in texts for p in record(text).problems]
    details += [p.detail for p in check(Zone({"_dmarc.example.com": ["v=DMARC1", "v=DMARC1"]})).problems]
    assert all("7489" not in detail for detail in details)
    assert sum("RFC 9989 section" in detail for detail in details) >= 6


# -- report destinations at another domain (RFC 9990, Verifying External Destinations) --------------

EXTERNAL = "v=DMARC1; p=reject; rua=mailto:dmarc@reports.example.net"
GRANT = "example.com._report._dmarc.reports.example.net"


def test_reports_to_another_domain_need_its_authorization_record():
    """RFC 9990: when "the Organizational Domain at which that record was discovered is not identical
    to the Organizational Domain of the host part of the authority component" of a rua URI, receivers
    query "<policy domain>._report._dmarc.<destination host>"; "Where the above algorithm fails to
    confirm that the external reporting was authorized by the Report Consumer, the URI MUST be ignored"."""
    zone = Zone({"_dmarc.example.com": [EXTERNAL]})
    report = check(zone)
    assert (report.policy, codes(report), report.broken) == ("reject", ["report-destination-unauthorized"], True)
    detail = report.problems[0].detail
    assert "rua=mailto:dmarc@reports.example.net" in detail and "receivers send no reports there" in detail
    assert f"publish the TXT record 'v=DMARC1' at {GRANT}" in detail
    assert zone.asked == ["_dmarc.example.com", "_dmarc.com", GRANT]
    authorized = check(Zone({"_dmarc.example.com": [EXTERNAL], GRANT: ["v=DMARC1"]}))
    assert (authorized.policy, authorized.problems) == ("reject", ())


def test_an_authorization_record_must_start_with_v_dmarc1():
    """RFC 9990 step 6: "the "v=DMARC1" tag is mandatory and MUST appear first in the list. Discard
    any that do not pass this test."; a trailing ";" is optional."""
    assert codes(check(Zone({"_dmarc.example.com": [EXTERNAL], GRANT: ["DMARC1"]}))) == [
        "report-destination-unauthorized"
    ]
    assert codes(check(Zone({"_dmarc.example.com": [EXTERNAL], GRANT: ["some text", "v=DMARC1;"]}))) == []


def test_an_override_to_another_host_means_no_reports_at_all():
    """RFC 9990 step 9: "the overriding URI MUST use the same destination host", and "if the
    confirming record includes a URI whose host is again different than the domain publishing that
    override, the Mail Receiver generating the report MUST NOT generate a report to either the original
    or the override URI.\""""
    same_host = Zone({"_dmarc.example.com": [EXTERNAL], GRANT: ["v=DMARC1; rua=mailto:other@reports.example.net"]})
    assert check(same_host).problems == ()
    moved = check(Zone({"_dmarc.example.com": [EXTERNAL], GRANT: ["v=DMARC1; rua=mailto:x@elsewhere.example"]}))
    assert codes(moved) == ["report-destination-unauthorized"]
    assert "elsewhere.example, another host" in moved.problems[0].detail


def test_reports_inside_the_organizational_domain_need_no_authorization():
    zone = Zone({"_dmarc.example.com": ["v=DMARC1; p=reject; rua=mailto:d@reports.example.com"]})
    assert check(zone).problems == ()
    assert not [name for name in zone.asked if "_report" in name]
    # A subdomain's own record sending reports to its parent: one Organizational Domain (4.10.2, rule 3).
    zone = Zone(
        {
            "_dmarc.mail.example.com": ["v=DMARC1; p=reject; rua=mailto:d@example.com"],
            "_dmarc.example.com": ["v=DMARC1; p=none"],
        }
    )
    assert check(zone, "mail.example.com").problems == ()


def test_a_host_inside_the_domain_with_its_own_organizational_domain_needs_authorization():
    """RFC 9989 4.10.2: a psd=n record makes its name an Organizational Domain of its own, so RFC
    9990's check applies to a destination under it even inside the policy's domain; and a subdomain
    whose parent publishes no record is its own Organizational Domain ("select the DMARC Policy
    Record found at the name with the fewest number of labels")."""
    zone = Zone(
        {
            "_dmarc.example.com": ["v=DMARC1; p=reject; rua=mailto:d@reports.example.com"],
            "_dmarc.reports.example.com": ["v=DMARC1; p=none; psd=n"],
        }
    )
    assert codes(check(zone)) == ["report-destination-unauthorized"]
    assert "example.com._report._dmarc.reports.example.com" in zone.asked
    lone = Zone({"_dmarc.mail.example.com": ["v=DMARC1; p=reject; rua=mailto:d@example.com"]})
    report = check(lone, "mail.example.com")
    assert codes(report) == ["report-destination-unauthorized"]
    assert "mail.example.com._report._dmarc.example.com" in report.problems[0].detail


def test_failure_report_destinations_are_verified_too_except_a_public_suffix_domains():
    """RFC 9991: receivers "MUST use the Verifying External Destinations procedure described in
    [RFC9990] ..., substituting the "ruf" tag where the "rua" tag appears", and "MUST NOT consider
    "ruf" tags in DMARC Policy Records having a "psd=y" tag\""""
    report = record("v=DMARC1; p=reject; ruf=mailto:f@forensics.example.org")
    assert codes(report) == ["report-destination-unauthorized"] and "failure reports" in report.problems[0].detail
    psd = Zone({"_dmarc.example": ["v=DMARC1; p=reject; psd=y; ruf=mailto:f@forensics.example.org"]})
    assert check(psd, "example").problems == ()


def test_a_name_too_long_for_dns_cannot_be_authorized():
    """RFC 9990 step 4: "If the length of the constructed name exceed DNS limits, a positive
    determination of the external reporting relationship cannot be made; stop.\""""
    host = ".".join(["r" * 60] * 3 + ["s" * 40]) + ".example.net"  # 235 characters: a name, but not with the prefix
    zone = Zone({"_dmarc.example.com": [f"v=DMARC1; p=reject; rua=mailto:d@{host}"]})
    report = check(zone)
    assert codes(report) == ["report-destination-unauthorized"] and "too long for DNS" in report.problems[0].detail
    assert not [name for name in zone.asked if "_report" in name]


def test_a_failed_authorization_lookup_is_no_verdict():
    """RFC 9990 step 5: "If the result of this request is a temporary DNS error of some kind (e.g., a
    timeout), the Mail Receiver MAY elect to temporarily fail the delivery so the verification test
    can be repeated later" - a timeout says nothing about the authorization."""
    report = check(Zone({"_dmarc.example.com": [EXTERNAL]}, timeout=[GRANT]))
    assert (report.error, report.policy, report.problems) == ("timeout", "reject", ())
    assert report.to_dict()["error"] == "timeout"


def test_the_destinations_checked_are_bounded():
    hosts = [f"r{n}.example.net" for n in range(MAX_DESTINATIONS + 3)]
    zone = Zone({"_dmarc.example.com": ["v=DMARC1; p=reject; rua=" + ",".join(f"mailto:d@{h}" for h in hosts)]})
    report = check(zone)
    assert len([name for name in zone.asked if "._report._dmarc." in name]) == MAX_DESTINATIONS
    assert codes(report) == ["report-destination-unauthorized"] * MAX_DESTINATIONS


# -- in the pipeline: which of these are news ---------------------------------------------------

DAY1, DAY2, DAY3 = (f"2026-11-{d:02d}T06:00:00+00:00" for d in (20, 21, 22))


def findings(previous, zone: Zone, day: str) -> dict:
    return merge_domain(previous, DomainReport("example.com", ("sender",), None, check(zone), []), day)


def test_an_unauthorized_destination_is_broken_until_authorized_and_a_timeout_changes_nothing():
    broken = findings(None, Zone({"_dmarc.example.com": [EXTERNAL]}), DAY1)
    (alert,) = decide_domain("example.com", None, broken)
    text = render(alert)
    assert (alert.event, text.subject) == (
        "DMARC_RECORD_BROKEN",
        "The DMARC record of example.com has a problem: report-destination-unauthorized",
    )
    assert "publish the authorization record named above" in text.email and GRANT in text.email
    assert (
        DomainReport("example.com", ("sender",), None, check(Zone({"_dmarc.example.com": [EXTERNAL]}))).outcome()
        == PROBLEM
    )
    failed = findings(broken, Zone({"_dmarc.example.com": [EXTERNAL]}, timeout=[GRANT]), DAY2)
    assert decide_domain("example.com", broken, failed) == []  # no verdict from a failed lookup
    assert failed["dmarc"]["problems"] == broken["dmarc"]["problems"]
    fixed = findings(failed, Zone({"_dmarc.example.com": [EXTERNAL], GRANT: ["v=DMARC1"]}), DAY3)
    assert [a.event for a in decide_domain("example.com", failed, fixed)] == ["DMARC_RECORD_FIXED"]


def test_a_record_without_p_or_with_a_removed_tag_is_no_alert():
    for text in ("v=DMARC1; rua=mailto:d@example.com", "v=DMARC1; p=reject; pct=half", "v=DMARC1"):
        assert decide_domain("example.com", None, findings(None, Zone({"_dmarc.example.com": [text]}), DAY1)) == []
