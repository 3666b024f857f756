"""SPF advice: each result its own fix, in RFC 7208's words."""

import pytest

from senderwatch.advice import spf_advice, suggest_record, worse


def test_an_address_missing_from_the_record_gets_the_mechanism_and_the_record_with_it():
    advice = spf_advice("softfail", "2001:db8::25", "example.com", "v=spf1 ip4:192.0.2.25 ~all")
    assert advice.lines == [
        "Add ip6:2001:db8::25 to the SPF record of example.com, before the 'all' mechanism",
        "e.g. v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 ~all",
    ]


def test_a_redirect_gets_the_mechanism_before_it():
    assert suggest_record("v=spf1 mx redirect=_spf.example.com", ["ip4:192.0.2.1"]) == (
        "v=spf1 mx ip4:192.0.2.1 redirect=_spf.example.com"
    )


def test_no_record_gets_a_record_to_publish():
    advice = spf_advice("none", "192.0.2.25", "example.com")
    assert "  v=spf1 ip4:192.0.2.25 ~all" in advice.lines
    assert advice.sms == "example.com has no SPF record: publish TXT 'v=spf1 ip4:192.0.2.25 ~all'."


@pytest.mark.parametrize(
    ("explanation", "code", "says"),
    [
        ("SPF Permanent Error: Too many DNS lookups", "too-many-lookups", "more than 10 DNS lookups"),
        ("SPF Permanent Error: More than 40 DNS lookups", "too-many-lookups", "more than 10 DNS lookups"),
        ("SPF Permanent Error: Void lookup limit of 2 exceeded", "too-many-void-lookups", "More than 2"),
        ("SPF Permanent Error: Two or more type TXT spf records found.", "multiple-records", "Merge them"),
        ("SPF Permanent Error: No valid SPF record for included domain: x", "include-without-record", "includes"),
        ("SPF Permanent Error: Unknown mechanism found: moo", "syntax-error", "Unknown mechanism found: moo"),
        ("SPF Permanent Error: Non-ascii characters found: b'v=spf1 \\xc3'", "syntax-error", "outside ASCII"),
    ],
)
def test_permerror_says_what_broke(explanation, code, says):
    advice = spf_advice("permerror", "192.0.2.25", "example.com", "v=spf1 moo -all", explanation)
    assert advice.code == code and says in " ".join(advice.lines)
    assert len(advice.sms) < 120


def test_no_advice_where_nothing_is_wrong():
    assert spf_advice("pass", "192.0.2.25", "example.com") is None
    assert spf_advice("temperror", "192.0.2.25", "example.com") is None
    assert spf_advice("none", "192.0.2.25", "mail.example.com", helo=True) is None  # HELO without SPF is fine


def test_worse_is_a_move_down_the_ladder():
    assert worse(None, "softfail") and worse("pass", "none") and worse("softfail", "fail")
    assert worse("neutral", "permerror")
    assert not worse("fail", "softfail") and not worse("none", "neutral") and not worse("softfail", "softfail")


def test_an_include_loop_is_named_as_such_not_as_too_many_lookups():
    advice = spf_advice(
        "permerror",
        "192.0.2.25",
        "example.com",
        "v=spf1 include:a.example -all",
        "SPF Permanent Error: Too many levels of recursion",
    )
    assert advice is not None and advice.code == "include-loop" and "loop" in advice.sms
