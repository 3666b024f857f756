import pytest
from dnslib import AAAA, MX, QTYPE, RCODE, RR, TXT, A, DNSRecord

from senderwatch import wire


def _response(name, qtype, *records, rcode="NOERROR"):
    request = DNSRecord.question(name, qtype)
    reply = request.reply()
    reply.header.rcode = getattr(RCODE, rcode)
    for rtype, rdata in records:
        reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=rdata))
    return reply.pack(), len(wire.question(name, getattr(QTYPE, qtype)))


def test_query_packet_asks_one_recursive_question_with_edns():
    packet = wire.query_packet(0x1234, wire.question("2.0.0.127.zen.spamhaus.org", wire.A))
    parsed = DNSRecord.parse(packet)
    assert parsed.header.id == 0x1234 and parsed.header.rd == 1
    assert str(parsed.q.qname) == "2.0.0.127.zen.spamhaus.org."
    assert parsed.q.qtype == QTYPE.A
    assert parsed.ar[0].rtype == QTYPE.OPT


def test_reads_a_txt_aaaa_and_mx_records_through_name_compression():
    data, qlen = _response(
        "example.com",
        "ANY",
        ("A", A("127.0.0.2")),
        ("AAAA", AAAA("2001:db8::25")),
        ("TXT", TXT([b"v=spf1 ", b"-all"])),
        ("MX", MX("mail.example.com", 10)),
    )
    answer = wire.parse_answer(data, qlen)
    assert answer.rcode == wire.NOERROR
    assert answer.values(wire.A) == ["127.0.0.2"]
    assert answer.values(wire.AAAA) == ["2001:db8::25"]
    assert answer.values(wire.TXT) == [(b"v=spf1 ", b"-all")]
    assert answer.values(wire.MX) == [(10, "mail.example.com")]
    assert {owner for owner, _, _ in answer.records} == {"example.com"}


def test_only_filter_keeps_just_the_asked_type():
    data, qlen = _response("x.example", "A", ("A", A("127.0.0.2")), ("TXT", TXT("why")))
    assert wire.parse_answer(data, qlen, only=wire.A).records == (("", wire.A, "127.0.0.2"),)


def test_nxdomain_has_no_records():
    data, qlen = _response("x.example", "A", rcode="NXDOMAIN")
    assert wire.parse_answer(data, qlen) == wire.Answer(wire.NXDOMAIN, ())


def test_truncated_packet_is_a_wire_error_not_a_crash():
    data, qlen = _response("x.example", "A", ("A", A("127.0.0.2")))
    with pytest.raises(wire.WireError):
        wire.parse_answer(data[:-2], qlen)


@pytest.mark.parametrize("name", ["a" * 64 + ".example", "a..example", ("a" * 60 + ".") * 5 + "example"])
def test_names_dns_cannot_carry_are_refused(name):
    with pytest.raises(wire.WireError):
        wire.encode_name(name)
