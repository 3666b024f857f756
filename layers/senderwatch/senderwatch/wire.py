"""A small, fast DNS wire-format codec: exactly what senderwatch asks and reads.

dnspython's message objects cost far more CPU than a DNSBL lookup is worth, so the
hot path builds a query with a few byte joins and reads only the answer section.
"""

from __future__ import annotations

import re
import socket
import struct
from typing import NamedTuple

# Record types senderwatch asks for.
A, NS, CNAME, PTR, MX, TXT, AAAA, SPF = 1, 2, 5, 12, 15, 16, 28, 99
TYPE_CODES = {"A": A, "NS": NS, "CNAME": CNAME, "PTR": PTR, "MX": MX, "TXT": TXT, "AAAA": AAAA, "SPF": SPF}
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}

# Response codes, plus one of our own for "no answer at all".
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
TIMEOUT = -1

_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_U16 = struct.Struct("!H")
# EDNS0 OPT record: root name, type 41, UDP payload 1232 (the DNS flag day size).
_EDNS = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
_RD = 0x0100
_TC = 0x0200
_QR = 0x8000


class WireError(ValueError):
    """A name that cannot be put on the wire, or a response that cannot be read."""


class Answer(NamedTuple):
    """What a nameserver said: its rcode (or TIMEOUT) and the answer section."""

    rcode: int
    records: tuple = ()  # ((owner, type, value), ...)

    def values(self, rtype: int) -> list:
        return [value for _, kind, value in self.records if kind == rtype]


# DNS presentation format (RFC 1035 section 5.1): what a name looks like as text. Bytes that
# are not printable ASCII are written \DDD, so a name from the network can carry no escape
# sequence, no line break and nothing that is not text, and still goes back on the wire as it came.
_SPECIAL = frozenset(b'"().;\\@$')
_ESCAPE = re.compile(r"\\(\d{3}|.)", re.DOTALL)


def _label_text(raw: bytes) -> str:
    return "".join("\\" + chr(b) if b in _SPECIAL else chr(b) if 0x20 < b < 0x7F else f"\\{b:03d}" for b in raw)


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
    out = []
    labels = _split_labels(name)
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
        return read_name(encode_name(name), 0)[0]
    except WireError:
        return name


def question(name: str, rtype: int) -> bytes:
    """The question section for NAME/TYPE/IN."""
    return encode_name(name) + _U16.pack(rtype) + b"\x00\x01"


def query_packet(qid: int, qsection: bytes) -> bytes:
    """A recursive query with EDNS0, ready for UDP (prefix the length for TCP)."""
    return _HEADER.pack(qid, _RD, 1, 0, 0, 1) + qsection + _EDNS


def read_name(buf: bytes, off: int) -> tuple[str, int]:
    """Read a possibly compressed name at OFF; return it and the offset after it."""
    labels = []
    end = -1
    hops = 0
    while True:
        length = buf[off]
        if length >= 0xC0:
            if end < 0:
                end = off + 2
            off = ((length & 0x3F) << 8) | buf[off + 1]
            hops += 1
            if hops > 64:
                raise WireError("compression loop")
            continue
        if length == 0:
            off += 1
            break
        labels.append(_label_text(buf[off + 1 : off + 1 + length]))
        off += 1 + length
    return ".".join(labels), (end if end >= 0 else off)


def _skip_name(buf: bytes, off: int) -> int:
    while True:
        length = buf[off]
        if length >= 0xC0:
            return off + 2
        if length == 0:
            return off + 1
        off += 1 + length


def _rdata(buf: bytes, rtype: int, off: int, length: int):
    if rtype == A:
        return socket.inet_ntoa(buf[off : off + 4])
    if rtype == AAAA:
        return socket.inet_ntop(socket.AF_INET6, buf[off : off + 16])
    if rtype in (TXT, SPF):
        strings = []
        end = off + length
        while off < end:
            n = buf[off]
            strings.append(bytes(buf[off + 1 : off + 1 + n]))
            off += 1 + n
        return tuple(strings)
    if rtype in (PTR, CNAME, NS):
        return read_name(buf, off)[0]
    if rtype == MX:
        return (_U16.unpack_from(buf, off)[0], read_name(buf, off + 2)[0])
    return bytes(buf[off : off + length])


def parse_header(buf: bytes) -> tuple[int, int, int]:
    """(id, rcode, truncated) of a response; raises WireError when it is not one."""
    if len(buf) < 12:
        raise WireError("short packet")
    qid, flags = _HEADER.unpack_from(buf)[:2]
    if not flags & _QR:
        raise WireError("not a response")
    return qid, flags & 0x0F, bool(flags & _TC)


def parse_answer(buf: bytes, qlen: int, only: int = 0) -> Answer:
    """Read the answer section of a response whose question section is QLEN bytes.

    With ONLY set, records of other types are skipped without being decoded.
    """
    try:
        _, flags, qdcount, ancount = _HEADER.unpack_from(buf)[:4]
        off = 12 + qlen if qdcount == 1 else 12
        if qdcount != 1:
            for _ in range(qdcount):
                off = _skip_name(buf, off) + 4
        records = []
        for _ in range(ancount):
            start = off
            off = _skip_name(buf, off)
            rtype, _cls, _ttl, length = _RR.unpack_from(buf, off)
            off += 10
            if not only or rtype == only:
                owner = read_name(buf, start)[0] if not only else ""
                records.append((owner, rtype, _rdata(buf, rtype, off, length)))
            off += length
    except (IndexError, struct.error, UnicodeError, OSError, ValueError) as exc:
        raise WireError(f"malformed response: {exc}") from None
    return Answer(flags & 0x0F, tuple(records))
