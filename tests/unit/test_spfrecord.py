"""spfrecord: each rule from RFC 7208's own wording, against a fake zone (no network)."""

from __future__ import annotations

import asyncio

from senderwatch import wire
from senderwatch.spfrecord import Problem, SpfRecordReport, lint_spf


class Zone:
    """A fake async lookup: {(name, type): [values]}; TXT values may be given as text.

    Unknown names are NXDOMAIN; a name that exists with other types answers NOERROR, empty.
    """

    def __init__(self, records: dict, *, timeout=(), servfail=(), refused=(), broken=()):
        self.records = {
            (name.lower(), rtype): [_txt(v) if rtype == wire.TXT else v for v in values]
            for (name, rtype), values in records.items()
        }
        self.failing = {name: wire.TIMEOUT for name in timeout} | {name: wire.SERVFAIL for name in servfail}
        self.failing |= {name: wire.REFUSED for name in refused}
        self.broken = set(broken)
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, name: str, rtype: int) -> wire.Answer:
        name = name.lower()
        self.asked.append((name, rtype))
        if name in self.failing:
            return wire.Answer(self.failing[name])
        values = self.records.get((name, rtype), [])
        answer = tuple((name, rtype, value) for value in values)
        if name in self.broken:
            return wire.Answer(wire.NOERROR, answer, skipped=1)
        if values or any(owner == name for owner, _ in self.records):
            return wire.Answer(wire.NOERROR, answer)
        return wire.Answer(wire.NXDOMAIN)


def _txt(value):
    if isinstance(value, tuple):
        return value
    raw = value.encode() if isinstance(value, str) else value
    return tuple(raw[i : i + 255] for i in range(0, len(raw), 255)) or (b"",)


def lint(zone: Zone, domain: str = "example.com", **options) -> SpfRecordReport:
    return asyncio.run(lint_spf(zone, domain, **options))


def spf_zone(record: str, extra: dict | None = None, **options) -> Zone:
    return Zone({("example.com", wire.TXT): [record], **(extra or {})}, **options)


def codes(report: SpfRecordReport) -> list[str]:
    return [problem.code for problem in report.problems]


def hosts(*names: str, aaaa: bool = True) -> dict:
    """Names with an A (and an AAAA) record."""
    zone: dict = {}
    for name in names:
        zone[(name, wire.A)] = ["192.0.2.10"]
        if aaaa:
            zone[(name, wire.AAAA)] = ["2001:db8::10"]
    return zone


# -- records ---------------------------------------------------------------------------------


def test_a_clean_record_passes_with_no_problem():
    report = lint(spf_zone("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"))
    assert report.problems == ()
    assert not report.broken
    assert (report.lookups, report.void_lookups, report.error) == (0, 0, "")
    assert report.to_dict() == {
        "record": "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all",
        "lookups": 0,
        "void_lookups": 0,
        "problems": [],
    }


def test_no_record():
    """RFC 7208 4.5: "If the resultant record set includes no records, check_host() produces the
    "none" result." Other TXT records are not SPF records."""
    report = lint(Zone({("example.com", wire.TXT): ["google-site-verification=abc"]}))
    assert codes(report) == ["no-record"]
    assert report.record is None
    assert report.broken


def test_nxdomain_is_no_record():
    """RFC 7208 4.3: if the lookup returns "Name Error" (RCODE 3), check_host() returns "none"."""
    assert codes(lint(Zone({}))) == ["no-record"]


def test_a_helo_name_without_spf_is_normal():
    report = lint(Zone({}), "mail.example.com", helo=True)
    assert (report.problems, report.record, report.error) == ((), None, "")


def test_the_version_must_be_exactly_v_spf1_then_a_space_or_the_end():
    """RFC 7208 4.5: "discard records that do not begin with a version section of exactly
    "v=spf1". Note that the version section is terminated by either an SP character or the end of
    the record." ABNF strings are case-insensitive."""
    assert codes(lint(spf_zone("v=spf10 -all"))) == ["no-record"]
    assert codes(lint(spf_zone("v=spf1"))) == []
    report = lint(spf_zone("V=SPF1 -all"))
    assert (report.record, report.problems) == ("V=SPF1 -all", ())


def test_txt_strings_are_joined_without_a_space():
    """RFC 7208 3.3: strings of one TXT record are concatenated together without adding spaces."""
    zone = Zone({("example.com", wire.TXT): [(b"v=spf1 ip4:192.0.2.0/24", b" -all")]})
    assert lint(zone).record == "v=spf1 ip4:192.0.2.0/24 -all"


def test_multiple_records():
    """RFC 7208 4.5: "If the resultant record set includes more than one record, check_host()
    produces the "permerror" result.\""""
    report = lint(Zone({("example.com", wire.TXT): ["v=spf1 -all", "v=spf1 mx -all"]}))
    assert codes(report) == ["multiple-records"]
    assert report.record is None
    assert "2 SPF records" in report.problems[0].detail


# -- the lookup limit ---------------------------------------------------------------------------


def _lookup_terms(count: int) -> tuple[str, dict]:
    names = [f"h{i}.example.com" for i in range(count)]
    return "v=spf1 " + " ".join(f"a:{name}" for name in names) + " -all", hosts(*names)


def test_ten_lookups_are_fine():
    """RFC 7208 4.6.4: "SPF implementations MUST limit the total number of those terms to 10
    during SPF evaluation"."""
    record, extra = _lookup_terms(10)
    report = lint(spf_zone(record, extra))
    assert (report.lookups, report.problems) == (10, ())


def test_eleven_lookups_are_too_many():
    """RFC 7208 4.6.4: "If this limit is exceeded, the implementation MUST return "permerror".\""""
    record, extra = _lookup_terms(11)
    report = lint(spf_zone(record, extra))
    assert report.lookups == 11
    assert codes(report) == ["too-many-lookups"]
    assert "needs 11 DNS lookups" in report.problems[0].detail


def test_lookups_are_counted_through_includes_and_the_detail_names_who_uses_them():
    """RFC 7208 4.6.4: the following terms cause DNS queries: the "include", "a", "mx", "ptr",
    and "exists" mechanisms, and the "redirect" modifier - through included records too."""
    inner = [f"i{i}.b.example" for i in range(5)]
    zone = Zone(
        {
            ("example.com", wire.TXT): ["v=spf1 mx a include:_spf.a.example include:b.example ip4:192.0.2.1 -all"],
            ("example.com", wire.MX): [(10, "mx.example.com")],
            **hosts("example.com", "mx.example.com"),
            ("_spf.a.example", wire.TXT): ["v=spf1 include:c.a.example exists:%{i}.x.a.example a:h.a.example -all"],
            ("c.a.example", wire.TXT): ["v=spf1 a:h.a.example a:h.a.example ~all"],
            **hosts("h.a.example"),
            ("b.example", wire.TXT): ["v=spf1 " + " ".join(f"a:{n}" for n in inner[:3]) + " ?all"],
            **hosts(*inner),
        }
    )
    report = lint(zone)
    assert report.lookups == 12
    assert codes(report) == ["too-many-lookups"]
    assert "needs 12 DNS lookups (include:_spf.a.example 6, include:b.example 4, mx 1, a 1)" in (
        report.problems[0].detail
    )


def test_the_real_total_is_reported_past_the_limit_but_the_work_is_capped():
    """The walk keeps counting past 10, but a chain of includes is not followed without end."""
    chain = {(f"n{i}.example", wire.TXT): [f"v=spf1 a include:n{i + 1}.example -all"] for i in range(200)}
    chain |= {(f"n{i}.example", wire.A): ["192.0.2.1"] for i in range(200)}
    chain |= {(f"n{i}.example", wire.AAAA): ["2001:db8::1"] for i in range(200)}
    zone = Zone({("example.com", wire.TXT): ["v=spf1 include:n0.example -all"], **chain})
    report = lint(zone)
    assert 11 < report.lookups < 60
    assert "needs at least" in report.problems[0].detail
    assert len(zone.asked) < 100


def test_more_than_ten_mx_names_is_a_permerror():
    """RFC 7208 4.6.4: "the evaluation of each "MX" record MUST NOT result in querying more than 10
    address records ... If this limit is exceeded, the "mx" mechanism MUST produce a "permerror"
    result.\""""
    exchanges = [(10, f"mx{i}.example.com") for i in range(11)]
    report = lint(spf_zone("v=spf1 mx -all", {("example.com", wire.MX): exchanges}))
    assert codes(report) == ["too-many-lookups"]
    assert "11 MX records" in report.problems[0].detail
    ten = lint(
        spf_zone("v=spf1 mx -all", {("example.com", wire.MX): exchanges[:10], **hosts(*(n for _, n in exchanges))})
    )
    assert ten.problems == ()


def test_terms_after_all_are_not_counted():
    """RFC 7208 5.1: "Mechanisms after "all" will never be tested. Mechanisms listed after "all"
    MUST be ignored.\""""
    zone = spf_zone("v=spf1 a -all " + " ".join(f"include:i{i}.example" for i in range(12)), hosts("example.com"))
    report = lint(zone)
    assert (report.lookups, report.problems) == (1, ())
    assert not any(name.startswith("i") for name, _ in zone.asked)


def test_redirect_is_ignored_when_the_record_has_all():
    """RFC 7208 6.1: "Any "redirect" modifier MUST be ignored if there is an "all" mechanism
    anywhere in the record.\""""
    zone = spf_zone("v=spf1 redirect=_spf.example.net ip4:192.0.2.1 ~all")
    report = lint(zone)
    assert (report.lookups, report.problems) == (0, ())
    assert ("_spf.example.net", wire.TXT) not in zone.asked


def test_redirect_counts_and_is_followed_without_all():
    zone = spf_zone(
        "v=spf1 ip4:192.0.2.1 redirect=_spf.example.net",
        {("_spf.example.net", wire.TXT): ["v=spf1 a:h.example.net -all"], **hosts("h.example.net")},
    )
    report = lint(zone)
    assert (report.lookups, report.problems) == (2, ())


# -- void lookups ---------------------------------------------------------------------------


def test_two_void_lookups_are_fine_three_are_not():
    """RFC 7208 4.6.4: "SPF implementations SHOULD limit "void lookups" to two. ... Exceeding the
    limit produces a "permerror" result.\""""
    two = lint(spf_zone("v=spf1 a:gone1.example.com a:gone2.example.com -all"))
    assert (two.void_lookups, two.problems) == (2, ())
    three = lint(spf_zone("v=spf1 a:gone1.example.com a:gone2.example.com include:gone3.example.com -all"))
    assert three.void_lookups == 3
    assert codes(three) == ["no-record", "too-many-void-lookups"]
    detail = three.problems[1].detail
    assert "3 void lookups for IPv4 and IPv6 senders" in detail
    assert "a:gone1.example.com, a:gone2.example.com, include:gone3.example.com" in detail


def test_a_name_without_aaaa_is_void_for_every_ipv6_sender():
    """RFC 7208 4.6.4: void lookups are DNS queries that return "a positive answer (RCODE 0) with
    an answer count of 0" - an IPv6 sender makes "a" look up AAAA records."""
    names = ["m1.example.com", "m2.example.com", "m3.example.com"]
    report = lint(spf_zone("v=spf1 " + " ".join(f"a:{n}" for n in names) + " -all", hosts(*names, aaaa=False)))
    assert report.void_lookups == 3
    assert codes(report) == ["too-many-void-lookups"]
    assert "for IPv6 senders" in report.problems[0].detail
    assert "IPv4" not in report.problems[0].detail
    assert "a:m1.example.com" in report.problems[0].detail


def test_mx_voids_count_the_mx_query_and_each_exchange():
    extra = {
        ("example.com", wire.MX): [(10, "mx1.example.com"), (20, "mx2.example.com")],
        ("mx2.example.com", wire.A): ["192.0.2.2"],
    }
    report = lint(spf_zone("v=spf1 mx a:gone.example.com -all", extra))
    assert report.void_lookups == 3
    assert [p.code for p in report.problems] == ["too-many-void-lookups"]
    detail = report.problems[0].detail
    assert "IPv6" in detail and "mx1.example.com (MX of example.com)" in detail


def test_exists_answering_nothing_is_not_void():
    """exists' "no match" is an empty answer: a sender that is not listed, not a broken record."""
    zone = spf_zone("v=spf1 exists:a.example.com exists:b.example.com exists:c.example.com -all")
    report = lint(zone)
    assert (report.lookups, report.void_lookups, report.problems) == (3, 0, ())


# -- syntax ---------------------------------------------------------------------------------


def test_a_syntax_error_anywhere_is_a_permerror():
    """RFC 7208 4.6: "If there are any syntax errors anywhere in the record, check_host() returns
    immediately with the result "permerror", without further interpretation or evaluation." -
    so a bad term after "all" counts too, and nothing is looked up."""
    zone = spf_zone("v=spf1 a -all ip4:192.0.2.444")
    report = lint(zone)
    assert codes(report) == ["syntax-error"]
    assert "ip4:192.0.2.444" in report.problems[0].detail
    assert "Invalid IP4 address" in report.problems[0].detail  # pyspf's own message
    assert report.lookups == 0


def test_unknown_mechanisms_are_syntax_errors():
    """RFC 7208 4.6.1: unknown mechanisms cause "permerror"."""
    assert codes(lint(spf_zone("v=spf1 ipv4:192.0.2.1 -all"))) == ["syntax-error"]


def test_redirect_and_exp_at_most_once_unknown_modifiers_allowed():
    """RFC 7208 6: "These two modifiers MUST NOT appear in a record more than once each. If they
    do, then check_host() exits with a result of "permerror"." and "Unrecognized modifiers MUST be
    ignored no matter where, or how often, they appear in a record.\""""
    assert codes(lint(spf_zone("v=spf1 redirect=a.example redirect=b.example"))) == ["syntax-error"]
    assert codes(lint(spf_zone("v=spf1 exp=a.example exp=b.example -all"))) == ["syntax-error"]
    assert lint(spf_zone("v=spf1 foo=bar foo=baz -all")).problems == ()


def test_a_non_ascii_record_is_a_syntax_error():
    report = lint(Zone({("example.com", wire.TXT): [("v=spf1 a:mäil.example.com -all".encode(),)]}))
    assert codes(report) == ["syntax-error"]


def test_a_target_made_of_the_senders_macros_is_counted_but_not_followed():
    """RFC 7208 7: macros are "replaced by parameters of the message or of the connection", and 7.2:
    "s = <sender>, l = local-part of <sender>, i = <ip>, p = the validated domain name of <ip>, v =
    the string "in-addr" if <ip> is ipv4, or "ip6" if <ip> is ipv6, h = HELO/EHLO domain" - only a
    real message gives their targets, so they are counted, not looked up."""
    record = "v=spf1 include:%{l}._spf.example.net a:%{s}.example.com mx:%{h}.example.com "
    record += "exists:%{i}._spf.%{d} include:%{ir}.%{v}._spf.example.net ptr:%{p}.example.com -all"
    zone = spf_zone(record)
    report = lint(zone)
    assert (report.lookups, report.void_lookups, codes(report)) == (6, 0, ["ptr-mechanism"])
    assert zone.asked == [("example.com", wire.TXT)]
    redirect = spf_zone("v=spf1 ip4:192.0.2.1 redirect=%{l}.spf.example.net")
    assert lint(redirect).lookups == 1 and redirect.asked == [("example.com", wire.TXT)]


def _eleven_lookups(name: str) -> dict:
    record, extra = _lookup_terms(10)
    return {(name, wire.TXT): [record], **extra}


def test_an_include_of_the_domain_macro_is_expanded_and_followed():
    """RFC 7208 7.2: "d = <domain>", the domain whose record is being evaluated - known without a
    sender, so include:%{d}.spf.example names one record: the 10 lookups behind it count, 11 in all
    (4.6.4: "SPF implementations MUST limit the total number of those terms to 10")."""
    zone = spf_zone("v=spf1 include:%{d}.spf.example -all", _eleven_lookups("example.com.spf.example"))
    report = lint(zone)
    assert (report.lookups, codes(report)) == (11, ["too-many-lookups"])
    assert "include:%{d}.spf.example 11" in report.problems[0].detail
    assert ("example.com.spf.example", wire.TXT) in zone.asked
    missing = lint(spf_zone("v=spf1 include:%{d}.spf.example -all"))
    assert codes(missing) == ["no-record"] and "include:example.com.spf.example" in missing.problems[0].detail


def test_d_is_the_included_domain_o_stays_the_senders():
    """RFC 7208 7.2: "d = <domain>" and "o = domain of <sender>"; 4.1: "For recursive evaluations,
    the domain portion of <sender> might not be the same as the <domain> argument" - inside an
    include, %{d} is the included domain while %{o} is still the linted one."""
    zone = spf_zone(
        "v=spf1 include:_spf.example.net -all",
        {
            ("_spf.example.net", wire.TXT): ["v=spf1 include:%{d}.d.example include:%{o}.o.example -all"],
            ("_spf.example.net.d.example", wire.TXT): ["v=spf1 ip4:192.0.2.0/24 -all"],
            ("example.com.o.example", wire.TXT): ["v=spf1 a:%{d2}.hosts.example -all"],  # %{d2}: o.example
            **hosts("o.example.hosts.example"),
        },
    )
    report = lint(zone)
    assert (report.lookups, report.void_lookups, report.problems) == (4, 0, ())
    assert ("o.example.hosts.example", wire.A) in zone.asked


def test_a_redirect_and_a_and_mx_of_d_and_o_macros_are_followed():
    """RFC 7208 6.1 redirect= and 5.3/5.4 a and mx take a domain-spec, expanded like any other (7.3);
    their lookups and void lookups count (4.6.4)."""
    redirect = spf_zone("v=spf1 redirect=%{D}.spf.example", _eleven_lookups("example.com.spf.example"))
    report = lint(redirect)
    assert (report.lookups, codes(report)) == (11, ["too-many-lookups"])
    voids = lint(spf_zone("v=spf1 a:%{d}.gone1.example a:%{o}.gone2.example mx:%{d}.gone3.example -all"))
    assert (voids.void_lookups, codes(voids)) == (3, ["too-many-void-lookups"])
    assert "example.com.gone1.example" in voids.problems[0].detail


def test_an_include_of_d_itself_is_a_loop():
    """RFC 7208 5.2: an include of the domain being evaluated recurses until the lookup limit."""
    assert codes(lint(spf_zone("v=spf1 include:%{d} -all"))) == ["include-loop"]


def test_an_invalid_macro_is_a_syntax_error():
    """RFC 7208 7.2: the c, r and t macros are only allowed in "exp" text."""
    assert codes(lint(spf_zone("v=spf1 a:%{c}.example.com -all"))) == ["syntax-error"]


# -- includes and redirect --------------------------------------------------------------------


def test_include_of_a_domain_without_spf_is_a_permerror():
    """RFC 7208 5.2: an included check_host() result of "none" makes the include "return
    "permerror"" (in its table)."""
    zone = spf_zone("v=spf1 include:x.example -all", {("x.example", wire.TXT): ["hello"]})
    report = lint(zone)
    assert codes(report) == ["no-record"]
    assert report.problems[0].detail.startswith("include:x.example has no SPF record: receivers return permerror")


def test_redirect_to_a_domain_without_spf_is_a_permerror():
    """RFC 7208 6.1: "if no SPF record is found, or if the <target-name> is malformed, the result is
    a "permerror" rather than "none".\""""
    report = lint(spf_zone("v=spf1 redirect=nothing.example"))
    assert codes(report) == ["no-record"]
    assert report.problems[0].detail.startswith("redirect=nothing.example has no SPF record")


def test_problems_in_an_included_record_name_the_include():
    zone = spf_zone(
        "v=spf1 include:a.example include:b.example -all",
        {
            ("a.example", wire.TXT): ["v=spf1 ip4:300.0.0.1 -all"],
            ("b.example", wire.TXT): ["v=spf1 -all", "v=spf1 ~all"],
        },
    )
    report = lint(zone)
    assert codes(report) == ["multiple-records", "syntax-error"]
    assert report.problems[0].detail.startswith("include:b.example has 2 SPF records")
    assert report.problems[1].detail.startswith("include:a.example has an invalid term 'ip4:300.0.0.1'")


def test_an_include_loop_through_two_domains():
    zone = spf_zone(
        "v=spf1 include:a.example -all",
        {
            ("a.example", wire.TXT): ["v=spf1 include:b.example -all"],
            ("b.example", wire.TXT): ["v=spf1 include:example.com -all"],
        },
    )
    report = lint(zone)
    assert codes(report) == ["include-loop"]
    assert report.problems[0].detail.startswith(
        "example.com -> include:a.example -> include:b.example -> include:example.com"
    )


def test_a_record_that_includes_itself_is_a_loop():
    report = lint(spf_zone("v=spf1 include:example.com -all"))
    assert codes(report) == ["include-loop"]
    assert report.problems[0].detail.startswith("example.com -> include:example.com")


def test_a_redirect_back_to_the_domain_is_a_loop():
    zone = spf_zone("v=spf1 redirect=a.example", {("a.example", wire.TXT): ["v=spf1 redirect=example.com"]})
    assert codes(lint(zone)) == ["include-loop"]


# -- all and ptr ----------------------------------------------------------------------------


def test_plus_all_and_bare_all_pass_everyone():
    """RFC 7208 5.1: "The "all" mechanism is a test that always matches." and 4.6.2: "The qualifier
    is optional and defaults to "+"." - so "all" alone passes any address."""
    assert codes(lint(spf_zone("v=spf1 +all"))) == ["plus-all"]
    assert codes(lint(spf_zone("v=spf1 ip4:192.0.2.1 all"))) == ["plus-all"]
    assert lint(spf_zone("v=spf1 ?all")).problems == ()
    included = lint(spf_zone("v=spf1 include:a.example -all", {("a.example", wire.TXT): ["v=spf1 +all"]}))
    assert codes(included) == ["plus-all"]
    assert included.problems[0].detail.startswith("include:a.example has '+all'")


def test_ptr_should_not_be_used():
    """RFC 7208 5.5: "This mechanism SHOULD NOT be used." Two of the same problem show once."""
    zone = spf_zone("v=spf1 ptr ptr -all")
    report = lint(zone)
    assert codes(report) == ["ptr-mechanism"]
    assert report.lookups == 2


# -- record size ----------------------------------------------------------------------------


def _sized(total: int) -> Zone:
    """example.com (11 octets) with SPF and another TXT record: TOTAL octets in all."""
    record = "v=spf1 ip4:192.0.2.1 -all"
    other = "x" * (total - len("example.com") - len(record))
    return Zone({("example.com", wire.TXT): [record, other]})


def test_450_octets_of_name_and_txt_are_fine_451_are_not():
    """RFC 7208 3.4: "If the size of the DNS message, the combined length of the DNS name and the
    text of all the records of a given type is under 450 octets, then DNS answers ought to fit in
    UDP packets." Other TXT records at the name count too."""
    assert lint(_sized(450)).problems == ()
    report = lint(_sized(451))
    assert codes(report) == ["record-too-long"]
    assert "451 octets" in report.problems[0].detail


# -- DNS failures ---------------------------------------------------------------------------


def test_a_timeout_is_never_no_record():
    """RFC 7208 4.4: a lookup that times out makes check_host() return "temperror" - a failed
    lookup says nothing about the record."""
    report = lint(Zone({}, timeout=["example.com"]))
    assert (report.error, report.problems, report.record) == ("timeout", (), None)
    assert report.to_dict()["error"] == "timeout"
    included = lint(spf_zone("v=spf1 ptr include:slow.example -all", timeout=["slow.example"]))
    assert included.error == "timeout"
    assert codes(included) == ["ptr-mechanism"]  # found before the failure


def test_each_kind_of_dns_failure():
    assert lint(Zone({}, servfail=["example.com"])).error == "servfail"
    assert lint(Zone({}, refused=["example.com"])).error == "refused"
    broken = lint(spf_zone("v=spf1 a:h.example.com -all", hosts("h.example.com"), broken=["h.example.com"]))
    assert (broken.error, broken.problems) == ("bad-answer", ())


def test_problems_are_in_a_stable_order_and_serialise():
    report = lint(spf_zone("v=spf1 ptr include:gone.example +all"))
    assert codes(report) == ["no-record", "plus-all", "ptr-mechanism"]
    assert all(isinstance(p, Problem) for p in report.problems)
    assert report.to_dict()["problems"][0] == {"code": "no-record", "detail": report.problems[0].detail}
