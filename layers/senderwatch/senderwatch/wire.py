"""DNS on the wire: the queries senderwatch builds, and what comes back, read by dnspython.

The bytes of a query are ours (a few joins on the hot path). Everything that comes off the
network - the header, the echoed question, names and their compression, every record's data,
the rcode - is parsed by dnspython's wire-level API (`dns.wire.Parser`, `dns.name`,
`dns.rdata`); its message objects cost far more CPU than a DNSBL lookup is worth.

A record whose data does not parse is skipped and counted (`Answer.skipped`); a response whose
framing is broken (truncated, a count that runs past the end) is a WireError, never "no data".
"""

from __future__ import annotations

import re
import struct
from typing import NamedTuple

import dns.exception
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.wire

from .errors import WireError

# Record types senderwatch asks for (dnspython's numbers).
A, NS, CNAME, PTR, MX, TXT, AAAA, SPF = (
    int(dns.rdatatype.RdataType.make(t)) for t in ("A", "NS", "CNAME", "PTR", "MX", "TXT", "AAAA", "SPF")
)
TYPE_CODES = {"A": A, "NS": NS, "CNAME": CNAME, "PTR": PTR, "MX": MX, "TXT": TXT, "AAAA": AAAA, "SPF": SPF}
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}

# Response codes (dnspython's), plus one of our own for "no answer at all".
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = (
    int(dns.rcode.NOERROR),
    int(dns.rcode.FORMERR),
    int(dns.rcode.SERVFAIL),
    int(dns.rcode.NXDOMAIN),
    int(dns.rcode.NOTIMP),
    int(dns.rcode.REFUSED),
)
TIMEOUT = -1

_HEADER = struct.Struct("!HHHHHH")
_IN = int(dns.rdataclass.IN)
_U16 = struct.Struct("!H")
# EDNS0 OPT record: root name, type 41, UDP payload 1232 (the DNS flag day size).
_EDNS = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
_RD = 0x0100
_TC = 0x0200
_QR = 0x8000
_BROKEN = (dns.exception.DNSException, struct.error, ValueError, IndexError)


def rcode_text(rcode: int) -> str:
    """An rcode as DNS people write it (REFUSED, SERVFAIL), or TIMEOUT."""
    return "TIMEOUT" if rcode == TIMEOUT else dns.rcode.to_text(dns.rcode.Rcode(rcode))


class Answer(NamedTuple):
    """What a nameserver said: its rcode (or TIMEOUT), the answer section, and how many
    of its records did not parse (and were skipped)."""

    rcode: int
    records: tuple = ()  # ((owner, type, value), ...)
    skipped: int = 0

    def values(self, rtype: int) -> list:
        return [value for _, kind, value in self.records if kind == rtype]


# Names as text are in DNS presentation format (RFC 1035 section 5.1), as dnspython writes them:
# a byte that is not printable ASCII is \DDD. A name from the network (a PTR target) then
# carries no escape sequence and no line break, and goes back on the wire as it came.
_ESCAPE = re.compile(r"\\(\d{3}|.)", re.DOTALL)


_LENGTHS = [bytes((n,)) for n in range(64)]


def _label_bytes(label: str) -> bytes:
    if "\\" not in label:
        return label.encode("utf-8", "surrogateescape")
    out, pos = bytearray(), 0
    for match in _ESCAPE.finditer(label):
        out += label[pos : match.start()].encode("utf-8", "surrogateescape")
        code = match.group(1)
        if code.isdigit() and int(code) > 255:
            raise WireError(f"invalid escape in DNS name: \\{code}")
        out += bytes((int(code),)) if code.isdigit() else code.encode("utf-8", "surrogateescape")
        pos = match.end()
    return bytes(out + label[pos:].encode("utf-8", "surrogateescape"))


def _split_labels(name: str) -> list[str]:
    """Labels of a name in presentation format: '\\.' is a dot inside a label."""
    labels, current, chars = [], [], iter(name)
    for char in chars:
        if char == "\\":
            current.append(char + next(chars, ""))
        elif char == ".":
            labels.append("".join(current))
            current = []
        else:
            current.append(char)
    labels.append("".join(current))
    return labels


def encode_name(name: str) -> bytes:
    """Encode a domain name (presentation format, \\DDD escapes allowed) as length-prefixed labels."""
    if name in ("", "."):
        return b"\x00"  # the root
    if name.isascii() and "\\" not in name:  # what nearly every query is: a few bytes' work, on the hot path
        raw = name.encode("ascii")
        parts = (raw[:-1] if raw.endswith(b".") else raw).split(b".")
        if all(0 < len(part) < 64 for part in parts) and len(raw) < 254:
            return b"".join([_LENGTHS[len(part)] + part for part in parts]) + b"\x00"
    out = []
    labels = _split_labels(name) if "\\" in name else name.split(".")
    if labels[-1] == "":
        labels.pop()  # a trailing dot: the name is absolute
    for label in labels:
        raw = _label_bytes(label)
        if not raw or len(raw) > 63:
            raise WireError(f"invalid DNS name: {name!r}")
        out.append(bytes((len(raw),)) + raw)
    out.append(b"\x00")
    wire = b"".join(out)
    if len(wire) > 255:
        raise WireError(f"DNS name too long: {name!r}")
    return wire


def name_text(name: str) -> str:
    """NAME in presentation format, as names read from the network are written."""
    try:
        return _name(dns.name.from_wire(encode_name(name), 0)[0])
    except (WireError, *_BROKEN):
        return name


def question(name: str, rtype: int) -> bytes:
    """The question section for NAME/TYPE/IN."""
    return encode_name(name) + _U16.pack(rtype) + b"\x00\x01"


def query_packet(qid: int, qsection: bytes) -> bytes:
    """A recursive query with EDNS0, ready for UDP (prefix the length for TCP)."""
    return _HEADER.pack(qid, _RD, 1, 0, 0, 1) + qsection + _EDNS


class Header(NamedTuple):
    """A response's header, and dnspython's parser standing after it."""

    id: int
    flags: int
    questions: int
    answers: int
    others: int  # authority and additional records
    parser: dns.wire.Parser

    @property
    def truncated(self) -> bool:
        return bool(self.flags & _TC)


def parse_header(data: bytes) -> Header:
    """The header of a response; WireError when DATA is not one."""
    parser = dns.wire.Parser(data)
    try:
        qid, flags, questions, answers, authority, additional = parser.get_struct("!HHHHHH")
    except _BROKEN:
        raise WireError("short packet") from None
    if not flags & _QR:
        raise WireError("not a response")
    if dns.opcode.from_flags(flags) != dns.opcode.QUERY:
        raise WireError("not a response to a query (another opcode)")
    return Header(qid, flags, questions, answers, authority + additional, parser)


def read_answer(header: Header, qsection: bytes, only: int = 0) -> Answer | None:
    """The answer to the question QSECTION (our own bytes), or None when the response echoes
    another question (not ours: ignore it). With ONLY set, only records of that type are kept
    (every record is still read: a broken one of another type is counted as skipped).

    WireError when the response is broken; a record whose data alone is bad is skipped.
    """
    parser = header.parser
    data = parser.wire
    try:
        if header.questions != 1:
            return None
        start = parser.current
        if data[start : start + len(qsection)] == qsection:
            parser.seek(start + len(qsection))  # our own bytes, echoed: nothing to read in them
        else:  # another case (0x20), another name, or garbage: dnspython reads it
            parser.get_name()  # no compression in a question: the first name of a message
            parser.get_struct("!HH")
            if data[start : parser.current].lower() != qsection.lower():
                return None
        rcode = int(dns.rcode.from_flags(header.flags, 0))
        records, skipped = [], 0
        for _ in range(header.answers):
            owner = parser.get_name(decompress=True)
            rtype, rclass, _ttl, length = parser.get_struct("!HHIH")
            end = parser.current + length
            if end > parser.end:
                raise WireError("a record runs past the end of the response")
            try:
                if rclass != _IN:
                    raise WireError("a record of another class than IN")
                with parser.restrict_to(length):
                    rdata = dns.rdata.from_wire_parser(rclass, rtype, parser)
            except _BROKEN:
                parser.seek(end)  # the framing is sound: only this record is bad
                skipped += 1
                continue
            if not only or rtype == only:
                records.append(("" if only else owner.to_text(omit_final_dot=True), rtype, _value(rtype, rdata)))
        for _ in range(header.others):  # authority, additional: not read, but they must be there
            parser.get_name(decompress=True)
            length = parser.get_struct("!HHIH")[3]
            parser.seek(parser.current + length)  # past the end: FormError
    except _BROKEN as exc:
        raise WireError(f"malformed response: {type(exc).__name__}") from None
    return Answer(rcode, tuple(records), skipped)


def _value(rtype: int, rdata):
    if rtype in (A, AAAA):
        return rdata.address
    if rtype in (TXT, SPF):
        return tuple(rdata.strings)
    if rtype in (PTR, CNAME, NS):
        return _name(rdata.target)
    if rtype == MX:
        return (rdata.preference, _name(rdata.exchange))
    return rdata.to_text()


def _name(name: dns.name.Name) -> str:
    return "" if name == dns.name.root else name.to_text(omit_final_dot=True)
