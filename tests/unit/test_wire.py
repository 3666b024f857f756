"""The queries we build, and responses read through dnspython: faults come out as faults."""

import struct

import pytest
from dnslib import AAAA, MX, PTR, QTYPE, RCODE, RR, TXT, A, DNSRecord

from senderwatch import wire


def _response(name, qtype, *records, rcode="NOERROR"):
    request = DNSRecord.question(name, qtype)
    reply = request.reply()
    reply.header.rcode = getattr(RCODE, rcode)
    for rtype, rdata in records:
        reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=rdata))
    return bytes(reply.pack()), wire.question(name, getattr(QTYPE, qtype))


def read(data, qsection, only=0):
    return wire.read_answer(wire.parse_header(data), qsection, only)


def test_query_packet_asks_one_recursive_question_with_edns():
    packet = wire.query_packet(0x1234, wire.question("2.0.0.127.zen.spamhaus.org", wire.A))
    parsed = DNSRecord.parse(packet)
    assert parsed.header.id == 0x1234 and parsed.header.rd == 1
    assert str(parsed.q.qname) == "2.0.0.127.zen.spamhaus.org."
    assert parsed.q.qtype == QTYPE.A
    assert parsed.ar[0].rtype == QTYPE.OPT


def test_reads_a_txt_aaaa_and_mx_records_through_name_compression():
    data, qsection = _response(
        "example.com",
        "ANY",
        ("A", A("127.0.0.2")),
        ("AAAA", AAAA("2001:db8::25")),
        ("TXT", TXT([b"v=spf1 ", b"-all"])),
        ("MX", MX("mail.example.com", 10)),
    )
    answer = read(data, qsection)
    assert answer.rcode == wire.NOERROR
    assert answer.values(wire.A) == ["127.0.0.2"]
    assert answer.values(wire.AAAA) == ["2001:db8::25"]
    assert answer.values(wire.TXT) == [(b"v=spf1 ", b"-all")]
    assert answer.values(wire.MX) == [(10, "mail.example.com")]
    assert {owner for owner, _, _ in answer.records} == {"example.com"}


def test_only_filter_keeps_just_the_asked_type():
    data, qsection = _response("x.example", "A", ("A", A("127.0.0.2")), ("TXT", TXT("why")))
    assert read(data, qsection, only=wire.A).records == (("", wire.A, "127.0.0.2"),)


def test_nxdomain_has_no_records():
    data, qsection = _response("x.example", "A", rcode="NXDOMAIN")
    assert read(data, qsection) == wire.Answer(wire.NXDOMAIN, ())


def test_a_truncated_answer_is_a_wire_error_never_no_data():
    data, qsection = _response("x.example", "A", ("A", A("127.0.0.2")))
    for cut in range(len(qsection) + 12, len(data)):
        with pytest.raises(wire.WireError):
            read(data[:cut], qsection)


def test_a_record_whose_data_is_bad_is_skipped_and_counted():
    data, qsection = _response("x.example", "A", ("A", A("127.0.0.2")), ("A", A("127.0.0.3")))
    start = data.rindex(b"\x7f\x00\x00\x03") - 2  # the second record's rdlength
    broken = data[:start] + struct.pack("!H", 3) + b"\x7f\x00\x00"  # an A record of three bytes
    answer = read(broken, qsection)
    assert answer.values(wire.A) == ["127.0.0.2"] and answer.skipped == 1


def test_an_answer_to_another_question_is_not_ours():
    data, _ = _response("x.example", "A", ("A", A("127.0.0.2")))
    assert read(data, wire.question("y.example", wire.A)) is None
    upper = data.replace(b"\x01x\x07example", b"\x01X\x07EXAMPLE")  # the same name, 0x20 case
    assert read(upper, wire.question("x.example", wire.A)).values(wire.A) == ["127.0.0.2"]


def test_a_ptr_name_that_is_not_text_comes_out_in_presentation_format():
    data, qsection = _response("25.2.0.192.in-addr.arpa", "PTR", ("PTR", PTR((b"evil\x1b[31m", b"example"))))
    assert read(data, qsection).values(wire.PTR) == ["evil\\027[31m.example"]
    assert wire.encode_name("evil\\027[31m.example") == b"\x09evil\x1b[31m\x07example\x00"  # and back


def test_not_a_response_or_too_short_is_a_wire_error():
    packet = wire.query_packet(1, wire.question("x.example", wire.A))
    for data in (packet, packet[:5]):
        with pytest.raises(wire.WireError):
            wire.parse_header(data)


@pytest.mark.parametrize("name", ["a" * 64 + ".example", "a..example", ("a" * 60 + ".") * 5 + "example"])
def test_names_dns_cannot_carry_are_refused(name):
    with pytest.raises(wire.WireError):
        wire.encode_name(name)
