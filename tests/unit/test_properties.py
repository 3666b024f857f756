"""Property tests: for any input, parsing, query names and messages keep their promises."""

import ipaddress
import os
import string

import dns.flags
import dns.message
import dns.name
import dns.rrset
import pytest
from dnslib import DNSRecord
from hypothesis import example, given, settings
from hypothesis import strategies as st

from senderwatch import wire
from senderwatch.addresses import TEST_ENTRIES, address_text, parse_address, reverse_name, unrateable
from senderwatch.alerttext import render
from senderwatch.dnsbl import classify
from senderwatch.errors import InvalidInput
from senderwatch.findings import Alert
from senderwatch.text import clean_text
from senderwatch.zones import resolve_zones

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
@given(st.binary(max_size=600))
def test_any_bytes_from_the_network_are_an_answer_or_a_wire_error(data):
    qsection = wire.question("25.2.0.192.bl.example", wire.A)
    try:
        wire.read_answer(wire.parse_header(data), qsection, wire.A)
    except wire.WireError:
        pass


# -- differential: our reading of a DNSBL answer against dnspython's whole-message parser -----------

ZONE = resolve_zones(["bl.example"])[0]
QNAME = "25.2.0.192.bl.example"
QSECTION = wire.question(QNAME, wire.A)


def oracle(data: bytes) -> str:
    """The verdict dnspython's message-level parser supports: listed, clean, error, or 'not ours'.

    A verdict rests on the header's rcode and the answer section (NXDOMAIN or no A record: clean).
    The authority and additional records (an NXDOMAIN's SOA) are not part of it: senderwatch checks
    that they are framed within the packet (else the answer is an error), not what their data says,
    since reading an SOA's names for every NXDOMAIN would double the CPU of a check. So dnspython is
    asked to read the message as far as the answer section: their counts are set to 0, and what
    follows is trailing data."""
    if len(data) >= 12:
        data = data[:8] + bytes(4) + data[12:]
    try:
        message = dns.message.from_wire(data, ignore_trailing=True)
    except Exception:  # noqa: BLE001 - any failure: the packet is garbage
        return "garbage"
    if message.flags & dns.flags.QR == 0 or len(message.question) != 1:
        return "garbage"
    question = message.question[0]
    if (question.name, question.rdtype, question.rdclass) != (dns.name.from_text(QNAME), 1, 1):
        return "not ours"
    a_records = [rrset for rrset in message.answer if (rrset.rdtype, rrset.rdclass) == (1, 1)]
    records = tuple(("", wire.A, rd.address) for rrset in a_records for rd in rrset)
    return classify(ZONE, wire.Answer(int(message.rcode()), records)).status


def ours(data: bytes) -> str:
    try:
        answer = wire.read_answer(wire.parse_header(data), QSECTION, wire.A)
    except wire.WireError:
        return "error"
    return "not ours" if answer is None else classify(ZONE, answer).status


def response(rcode: int, codes: list[str], extra_txt: bool) -> bytes:
    query = dns.message.make_query(QNAME, "A", use_edns=False, id=0x7157)
    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    if codes:
        reply.answer.append(dns.rrset.from_text(dns.name.from_text(QNAME), 60, "IN", "A", *codes))
    if extra_txt:
        reply.answer.append(dns.rrset.from_text(dns.name.from_text(QNAME), 60, "IN", "TXT", '"listed for spam"'))
    return reply.to_wire()


CODES = ["127.0.0.2", "127.0.0.4", "127.255.255.254", "192.0.2.1"]
PACKETS = st.sampled_from(  # built once: dnspython draws random query IDs, which a strategy must not
    [
        response(rcode, [c for i, c in enumerate(CODES) if mask >> i & 1], extra)
        for rcode in (0, 2, 3, 5)
        for mask in range(16)
        for extra in (False, True)
    ]
)


@st.composite
def mutated(draw):
    data = bytearray(draw(PACKETS))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "count"]))
        if kind == "flip" and data:
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[draw(st.integers(0, len(data))) :]
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif len(data) >= 12:  # a count in the header
            at = draw(st.sampled_from([4, 6, 8, 10]))
            data[at : at + 2] = draw(st.integers(0, 5)).to_bytes(2, "big")
    return bytes(data)


@settings(max_examples=int(os.environ.get("SENDERWATCH_FUZZ_EXAMPLES", "1500")))
@given(mutated())
# NODATA whose authority record says CNAME with 4 bytes that are no name: the verdict is the answer's.
@example(
    b"qW\x81\x00\x00\x01\x00\x00\x00\x01\x00\x00\x0225\x012\x010\x03192\x02bl\x07example\x00\x00\x01\x00\x01"
    b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00<\x00\x04\x7f\x00\x00\x02"
)
def test_a_mutated_answer_is_read_right_or_as_an_error_never_as_a_false_clean(data):
    mine, truth = ours(data), oracle(data)
    assert mine in (truth, "error", "not ours"), (mine, truth)
    if mine == "clean":
        assert truth == "clean"


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
