"""An authoritative DNS server on 127.0.0.1 for tests and the demo (UDP and TCP).

Zone data uses the shape of the RFC 7208 test suite, so one server serves both the SPF
conformance scenarios and senderwatch's own worlds:

    {"example.com": [{"TXT": "v=spf1 -all"}, {"A": "192.0.2.1"}],
     "slow.example": ["TIMEOUT"]}

- A name that exists but lacks the asked type answers NOERROR with no records (NODATA),
  never NXDOMAIN. A name that does not exist answers NXDOMAIN.
- "TIMEOUT": queries for types the name has no records of get no answer at all.
- "SERVFAIL" / "REFUSED" / "NXDOMAIN": every query for the name gets that rcode (the root too:
  {"": ["NXDOMAIN"]} is a server that says the root does not exist).
- "SPF" records are also served as TXT, unless the name has TXT records of its own
  (as the test suite's drivers do); {"TXT": "NONE"} means "no TXT records".
- "*.zone" matches any name under zone that is not itself in the data.
- A UDP answer larger than the client's buffer is sent truncated, so clients retry on TCP.

Given an `apex`, the server is authoritative for that zone as a recursive resolver expects
(`Authority`): answers carry AA, a name outside the zone is REFUSED, a name in a delegated
subzone gets a referral (NS and glue), a name that only has names below it is NODATA rather
than NXDOMAIN (an empty non-terminal), and negative answers carry the zone's SOA.
"""

from __future__ import annotations

import collections
import socket
import socketserver
import struct
import threading
import time

from dnslib import AAAA, CNAME, MX, NS, PTR, QTYPE, RCODE, RR, SOA, TXT, A, DNSRecord

_MARKERS = {"TIMEOUT", "SERVFAIL", "REFUSED", "NXDOMAIN"}


def _key(name: str) -> str:
    return name.rstrip(".").lower()


def _labels(name: str) -> tuple[bytes, ...]:
    return tuple(part.encode("utf-8", "surrogateescape") for part in name.rstrip(".").split("."))


def _txt(value) -> TXT:
    strings = [value] if isinstance(value, (str, bytes)) else list(value)
    return TXT([s if isinstance(s, bytes) else _bytes(s) for s in strings])


def _bytes(text: str) -> bytes:
    try:
        return text.encode("latin-1")  # the test suite writes raw bytes as \xNN escapes
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _rdata(rtype: str, value):
    if rtype == "A":
        return QTYPE.A, A(value)
    if rtype == "AAAA":
        return QTYPE.AAAA, AAAA(value)
    if rtype in ("TXT", "SPF"):
        return getattr(QTYPE, rtype), _txt(value)
    if rtype == "PTR":
        return QTYPE.PTR, PTR(_labels(value))
    if rtype == "CNAME":
        return QTYPE.CNAME, CNAME(_labels(value))
    if rtype == "MX":
        preference, exchange = value if isinstance(value, (list, tuple)) else (10, value)
        return QTYPE.MX, MX(_labels(exchange), int(preference))
    raise ValueError(f"unsupported record type {rtype}")


class Zone:
    """Zone data compiled for lookups: name -> {qtype: [rdata]} plus markers."""

    def __init__(self, data: dict):
        self.records: dict[str, dict[int, list]] = {}
        self.markers: dict[str, set[str]] = {}
        for name, entries in data.items():
            key = _key(name)
            types = self.records.setdefault(key, {})
            marks = self.markers.setdefault(key, set())
            spf, has_txt = [], False
            for entry in entries:
                if isinstance(entry, str):
                    if entry not in _MARKERS:
                        raise ValueError(f"unknown marker {entry!r} for {name}")
                    marks.add(entry)
                    continue
                for rtype, value in entry.items():
                    if rtype == "TXT":
                        has_txt = True
                    if value == "NONE":
                        continue
                    if value == "TIMEOUT":
                        marks.add(f"TIMEOUT:{rtype}")
                        continue
                    code, rdata = _rdata(rtype, value)
                    types.setdefault(code, []).append(rdata)
                    if rtype == "SPF":
                        spf.append(rdata)
            if spf and not has_txt:
                types.setdefault(QTYPE.TXT, []).extend(spf)

    def resolve(self, name: str, qtype: int) -> tuple[str, list] | None:
        """(rcode name, [(qtype, rdata)]) or None for "do not answer"."""
        key = _key(name)
        if key == "" and key not in self.records:
            return "NOERROR", []  # the root exists in every world (resolvers are asked for it)
        if key not in self.records:
            wild = "*." + key.partition(".")[2]
            while wild != "*." and wild not in self.records:
                wild = "*." + wild[2:].partition(".")[2]
            if wild == "*.":
                return "NXDOMAIN", []
            key = wild
        marks = self.markers[key]
        if "SERVFAIL" in marks:
            return "SERVFAIL", []
        if "REFUSED" in marks:
            return "REFUSED", []
        if "NXDOMAIN" in marks:
            return "NXDOMAIN", []
        types = self.records[key]
        qname = QTYPE.get(qtype)
        if f"TIMEOUT:{qname}" in marks:
            return None
        if qtype in types:
            return "NOERROR", [(qtype, rdata) for rdata in types[qtype]]
        if QTYPE.CNAME in types and qtype != QTYPE.CNAME:
            return "NOERROR", [(QTYPE.CNAME, rdata) for rdata in types[QTYPE.CNAME]]
        if "TIMEOUT" in marks:
            return None
        return "NOERROR", []


def _within(key: str, zone: str) -> bool:
    return not zone or key == zone or key.endswith("." + zone)


class Authority:
    """An authoritative server's view of its zones: which names it answers for, where its zones
    are cut (a delegated subzone is answered with a referral), and which names exist only
    because names below them do (empty non-terminals: NODATA, never NXDOMAIN).

    apexes: the zones it serves ("" is the root); delegations: subzone -> its nameserver's
    IPv4 address, or (name, address) for a nameserver named elsewhere (the name is then
    resolved as any other; ns.SUBZONE, the default, comes with glue).
    """

    def __init__(self, apexes, delegations: dict[str, str | tuple[str, str]], names) -> None:
        self.apexes = sorted((_key(a) for a in apexes), key=lambda a: -a.count(".") - bool(a))
        self.delegations = {
            _key(zone): server if isinstance(server, tuple) else (f"ns.{_key(zone)}", server)
            for zone, server in delegations.items()
        }
        self.parents: set[str] = set()
        for name in [*map(_key, names), *self.delegations]:
            labels = name.split(".")
            self.parents.update(".".join(labels[i:]) for i in range(1, len(labels)))

    def apex(self, key: str) -> str | None:
        return next((apex for apex in self.apexes if _within(key, apex)), None)

    def cut(self, key: str, apex: str) -> str | None:
        """The deepest delegated zone at or above KEY inside APEX: the server refers the asker there."""
        found = [zone for zone in self.delegations if _within(key, zone) and zone != apex and _within(zone, apex)]
        return max(found, key=len) if found else None

    @staticmethod
    def ns_name(zone: str) -> str:
        return f"ns.{zone}" if zone else "ns.root-servers.test"

    def soa(self, apex: str) -> RR:
        origin = apex + "." if apex else "."
        return RR(
            origin,
            QTYPE.SOA,
            rdata=SOA(self.ns_name(apex) + ".", f"hostmaster.{origin}".replace("..", "."), (1, 600, 300, 86400, 30)),
            ttl=30,
        )


class DNSServer:
    """Serve zone data on 127.0.0.1 on a free port (UDP and TCP, same port).

    Use as a context manager; `address` is (host, port); `load()` swaps the data;
    `delay` (seconds) holds every answer back; `queries` counts what was asked.
    `port` binds a given port (53 for a server a recursive resolver iterates to); `authority`
    makes the server authoritative for its zones (see Authority).
    """

    def __init__(
        self,
        data: dict | None = None,
        *,
        delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        authority: Authority | None = None,
    ):
        self.zone = Zone(data or {})
        self.host = host  # 0.0.0.0 for a local stack that containers (sam local invoke) must reach
        self.port = port
        self.authority = authority
        self.delay = delay
        self.queries = 0
        self.ports: set[int] = set()  # the source ports queries came from (UDP)
        self.asked: collections.Counter[str] = collections.Counter()  # how often each name was asked
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._udp: socket.socket | None = None
        self._tcp: socketserver.ThreadingTCPServer | None = None
        self._threads: list[threading.Thread] = []
        self.address: tuple[str, int] = ("127.0.0.1", 0)

    def load(self, data: dict) -> None:
        self.zone = Zone(data)

    def answer(self, packet: bytes, limit: int | None) -> bytes | None:
        request = DNSRecord.parse(packet)
        with self._lock:
            self.queries += 1
        reply = request.reply()
        qname = b".".join(request.q.qname.label).decode("utf-8", "surrogateescape")
        with self._lock:
            self.asked[qname.lower()] += 1
        if self.authority is not None:
            if not self._authoritative(reply, _key(qname), request.q.qtype):
                return None
        else:
            found = self.zone.resolve(qname, request.q.qtype)
            if found is None:
                return None
            rcode, records = found
            reply.header.rcode = getattr(RCODE, rcode)
            for qtype, rdata in records:
                reply.add_answer(RR(request.q.qname, qtype, rdata=rdata, ttl=60))
        wire = reply.pack()
        if limit is not None and len(wire) > limit:
            reply = request.reply()
            reply.header.tc = 1
            wire = reply.pack()
        return wire

    def _authoritative(self, reply: DNSRecord, key: str, qtype: int) -> bool:
        """Fill REPLY as an authoritative server of its zones would; False: send nothing."""
        authority = self.authority
        assert authority is not None
        apex = authority.apex(key)
        if apex is None:
            reply.header.rcode = RCODE.REFUSED
            return True
        qname = reply.q.qname
        cut = authority.cut(key, apex)
        if cut is not None:  # a referral: not ours to answer
            name, address = authority.delegations[cut]
            reply.add_auth(RR(cut + ".", QTYPE.NS, rdata=NS(name + "."), ttl=60))
            if _within(name, cut):  # in the subzone: glue, or the resolver could never find it
                reply.add_ar(RR(name + ".", QTYPE.A, rdata=A(address), ttl=60))
            return True
        reply.header.aa = 1
        if key == apex and qtype in (QTYPE.NS, QTYPE.SOA):
            if qtype == QTYPE.SOA:
                reply.add_answer(authority.soa(apex))
            else:
                ns = authority.ns_name(apex) + "."
                reply.add_answer(RR(qname, QTYPE.NS, rdata=NS(ns), ttl=60))
                reply.add_ar(RR(ns, QTYPE.A, rdata=A(self.address[0]), ttl=60))
            return True
        if key == authority.ns_name(apex) and qtype in (QTYPE.A, QTYPE.AAAA):
            if qtype == QTYPE.A:
                reply.add_answer(RR(qname, QTYPE.A, rdata=A(self.address[0]), ttl=60))
            else:
                reply.add_auth(authority.soa(apex))
            return True
        found = self.zone.resolve(key, qtype)
        if found is None:
            return False
        rcode, records = found
        if rcode == "NXDOMAIN" and (key in authority.parents or key == apex):
            rcode = "NOERROR"  # an empty non-terminal exists (RFC 8020)
        reply.header.rcode = getattr(RCODE, rcode)
        for rtype, rdata in records:
            reply.add_answer(RR(qname, rtype, rdata=rdata, ttl=60))
        if rcode in ("NXDOMAIN", "NOERROR") and not records:
            reply.add_auth(authority.soa(apex))  # RFC 2308: a negative answer carries the SOA
        return True

    def _udp_limit(self, packet: bytes) -> int:
        request = DNSRecord.parse(packet)
        for rr in request.ar:
            if rr.rtype == QTYPE.OPT:
                return max(512, rr.rclass)
        return 512

    def _serve_udp(self) -> None:
        while not self._stopped.is_set():
            try:
                packet, peer = self._udp.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.ports.add(peer[1])
            try:
                wire = self.answer(packet, self._udp_limit(packet))
            except Exception:  # noqa: BLE001, S112 - a malformed query gets no answer
                continue
            if wire is None:
                continue
            if self.delay:
                threading.Timer(self.delay, self._sendto, (wire, peer)).start()
            else:
                self._sendto(wire, peer)

    def _sendto(self, wire: bytes, peer) -> None:
        try:
            self._udp.sendto(wire, peer)
        except OSError:
            pass

    def __enter__(self) -> DNSServer:
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    size = struct.unpack("!H", self.request.recv(2))[0]
                    packet = b""
                    while len(packet) < size:
                        chunk = self.request.recv(size - len(packet))
                        if not chunk:
                            return
                        packet += chunk
                    wire = server.answer(packet, None)
                    if wire is None:
                        time.sleep(5)
                        return
                    if server.delay:
                        time.sleep(server.delay)
                    self.request.sendall(struct.pack("!H", len(wire)) + wire)
                except (OSError, struct.error):
                    return

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        for attempt in range(20):  # a free UDP port may be taken for TCP: try another
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._udp.bind((self.host, self.port))
            self._udp.settimeout(0.1)
            self.address = self._udp.getsockname()
            try:
                self._tcp = socketserver.ThreadingTCPServer(self.address, Handler)
                break
            except OSError:
                self._udp.close()
                if attempt == 19 or self.port:
                    raise
        self._tcp.daemon_threads = True
        self._threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._tcp.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
        self._threads[0].join()
        self._udp.close()
        if self._tcp:
            self._tcp.shutdown()
            self._tcp.server_close()
