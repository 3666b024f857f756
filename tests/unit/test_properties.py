"""Property tests: for any input, parsing, query names and messages keep their promises."""

import ipaddress
import string

import pytest
from dnslib import DNSRecord
from hypothesis import given, settings
from hypothesis import strategies as st

from senderwatch import wire
from senderwatch.addresses import TEST_ENTRIES, address_text, parse_address, reverse_name, unrateable
from senderwatch.errors import InvalidInput
from senderwatch.findings import Alert
from senderwatch.messages import render
from senderwatch.text import clean_text

# Any text, with the characters an attacker would use over-represented.
HOSTILE = st.sampled_from(["\x1b", "\x1b[2J", "\x00", "\x9b", "\u202e", "\n", "\r", "\x07", "<b>"])
ANY_TEXT = st.lists(st.one_of(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), HOSTILE), max_size=12).map(
    "".join
)


@given(st.ip_addresses())
def test_every_address_is_checked_as_itself_or_refused_with_the_reason(ip):
    expected = ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped and ip not in TEST_ENTRIES else ip
    if unrateable(expected):
        with pytest.raises(InvalidInput, match="blocklists only rate public addresses"):
            parse_address(str(ip))
        return
    assert parse_address(str(ip)) == expected
    assert parse_address(f" {ip.exploded} ") == expected
    assert parse_address(address_text(expected)) == expected


@given(ANY_TEXT)
def test_any_text_is_an_address_or_a_one_line_error(text):
    try:
        parse_address(text)
    except ValueError as exc:
        assert "\n" not in str(exc)


@given(st.ip_addresses())
def test_query_label_is_the_address_reversed(ip):
    labels = reverse_name(ip).split(".")
    if ip.version == 4:
        assert ipaddress.ip_address(".".join(reversed(labels))) == ip
    else:
        assert len(labels) == 32 and all(len(n) == 1 and n in string.hexdigits for n in labels)
        assert int("".join(reversed(labels)), 16) == int(ip)


@given(st.ip_addresses(), st.sampled_from(["dnsbl.justspam.org", "zen.spamhaus.org", "k3y.zen.dq.spamhaus.net"]))
def test_query_packets_carry_exactly_the_name_asked(ip, zone):
    name = f"{reverse_name(ip)}.{zone}"
    parsed = DNSRecord.parse(wire.query_packet(7, wire.question(name, wire.A)))
    assert str(parsed.q.qname) == name + "."


@settings(max_examples=300)
@given(st.binary(max_size=600), st.integers(min_value=0, max_value=80))
def test_any_bytes_from_the_network_are_an_answer_or_a_wire_error(data, qlen):
    try:
        wire.parse_answer(data, qlen)
    except wire.WireError:
        pass


@given(ANY_TEXT)
def test_cleaned_text_has_no_controls_and_a_bounded_length(text):
    cleaned = clean_text(text, limit=120)
    assert len(cleaned) <= 120
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in cleaned)


@given(
    event=st.sampled_from(["LISTED", "DELISTED", "SPF_FAILING", "SPF_RECOVERED", "CHECK_FAILING"]),
    ip=st.ip_addresses(),
    zone=st.from_regex(r"[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63}){1,3}", fullmatch=True),
    reason=ANY_TEXT,
    record=ANY_TEXT,
    label=ANY_TEXT,
    sender=ANY_TEXT,
    url=ANY_TEXT,
)
def test_any_alert_renders_within_limits_and_without_escapes(event, ip, zone, reason, record, label, sender, url):
    details = {
        "codes": ["127.0.0.2"],
        "meaning": reason,
        "reason": reason,
        "delist_url": url,
        "record": record,
        "sender": sender,
        "result": "softfail",
        "explanation": reason,
        "error": "timeout",
        "error_runs": 3,
    }
    message = render(Alert(event, str(ip), "2026-11-27T06:00:00+00:00", zone, details), label=label)
    assert len(message.subject) < 100 and len(message.sms) < 160
    for text in (message.subject, message.sms, message.email):
        assert not any(ord(c) < 32 and c != "\n" or 0x7F <= ord(c) <= 0x9F for c in text)
        assert "\u202e" not in text
