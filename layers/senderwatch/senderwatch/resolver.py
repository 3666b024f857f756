"""The DNS client senderwatch runs on: many queries in flight over a few UDP sockets.

One event loop, a handful of connected UDP sockets per nameserver, a bounded window of
queries in flight, one timer for every query, and TCP when an answer is truncated. A query
always ends in an `Answer`: a timeout is `Answer(TIMEOUT)`, never an exception and never an
empty "clean" answer.

Production asks through a recursive resolver (the VPC resolver, unbound, BIND), which may
take seconds to answer a name it must look up at a list far away, and which turns each packet
it gets into work, and often a query, at the list: every resend costs the list's quota. So:
- a query has one deadline, `timeout` after it was first sent; an answer to any of its
  transmissions counts until then (each goes out under an ID of its own, and none is
  forgotten when another is sent);
- a transmission is sent again only when its answer is overdue for the servers it is bound
  for (its pace: a list's zone): after a few round trips measured on answers from those
  servers (RFC 6298), when the list has since answered a query sent after it, or sent
  within a round trip before it (it was overtaken, as RFC 8985 finds a lost packet); and
  otherwise no sooner than _TAIL, for a list that is merely slow answers nothing early - or,
  once many answers show how long the list takes, than two of its retransmission timeouts
  (the last of a batch, which nothing can overtake). Only answers to first transmissions
  count: a resend is often answered at once from the resolver's cache, which says nothing of
  the list;
- an overdue query is still sent again every _MAX_GAP or so until its deadline: a recursive
  resolver drops an answer it took longer than about 2 s to find (Debian's unbound: its
  discard-timeout, 1.9 s), because a client would have asked again by then; that answer is
  in its cache, and the next packet gets it;
- a resend goes to the next nameserver when there is one, and a nameserver that leaves
  several transmissions in a row unanswered is asked last.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections import deque
from collections.abc import Iterable

from . import wire
from .errors import ResolverUnusable
from .nameservers import DNS_TIMEOUT, server_text, system_nameservers
from .wire import Answer

_RCVBUF = 1 << 20
_MIN_RTO = 0.1  # seconds: never resend sooner than this
_TAIL = 2.0  # seconds: a resend no list has shown to be due waits at least this long
_MAX_GAP = 2.0  # seconds between the transmissions of an overdue query at most (unless the list is slower)
_KNOWN = 32  # answers from a list after which its pace is known: its own round trips time the last of a batch
_BURST = 64  # queries sent per event at most
_ROTATE = 256  # queries per socket before it is replaced: source ports change during a run (RFC 5452)
_SILENT = 3  # transmissions in a row a nameserver leaves unanswered before the others are asked first
ATTEMPTS = 8  # transmissions of a query at most

Question = tuple[str, int] | tuple[str, int, str]  # (name, type) or (name, type, pace)


def _within(name: str, zones: set[str]) -> bool:
    name = name.rstrip(".").lower()
    return any(name == zone or name.endswith("." + zone) for zone in zones)


def pace_of(name: str) -> str:
    """The pace of a query without one: its name's last two labels (the servers of an organisation)."""
    return ".".join(name.rstrip(".").lower().rsplit(".", 2)[-2:])


class _Batch:
    __slots__ = ("results", "remaining", "future")

    def __init__(self, size: int, future: asyncio.Future):
        self.results: list = [None] * size
        self.remaining = size
        self.future = future


class _Pace:
    """How long one set of servers takes to answer through the resolver, learnt from answers."""

    __slots__ = ("srtt", "rttvar", "samples", "newest_answered", "late", "tail", "limit")

    def __init__(self, tail: float, limit: float):
        self.srtt = -1.0  # no sample yet
        self.rttvar = 0.0
        self.samples = 0
        self.newest_answered = 0.0  # when the most recently sent of the answered first transmissions went out
        self.late = -1.0  # how long queries took that only a resend got answered, from their first transmission
        self.tail = tail
        self.limit = limit

    def sample(self, rtt: float, sent: float) -> None:
        """RFC 6298 2.2-2.3, with alpha 1/8 and beta 1/4, for the answer to a query's first
        transmission, sent at SENT (each has its own ID: no ambiguity)."""
        if self.srtt < 0:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar += (abs(self.srtt - rtt) - self.rttvar) / 4
            self.srtt += (rtt - self.srtt) / 8
        self.samples += 1
        if sent > self.newest_answered:
            self.newest_answered = sent

    def answered_late(self, elapsed: float) -> None:
        """A query got its answer only through a resend, ELAPSED after it was first sent: the
        resolver took that long (and dropped, or never had, the first transmission's answer)."""
        self.late = elapsed if self.late < 0 else self.late + (elapsed - self.late) / 4

    def wait(self, sent: float, transmissions: int) -> float:
        """How long a query's latest transmission, sent at SENT, the TRANSMISSIONS-th, may go
        unanswered before the query is sent again.

        Overtaken (a first transmission sent after it, or less than a round trip before it, is
        answered): its retransmission timeout. Otherwise no less than _TAIL - or, once _KNOWN
        answers show how long the list takes, two retransmission timeouts - nor than queries
        answered late took. Doubled at each resend (RFC 6298 5.5), but no longer than _MAX_GAP,
        or two round trips of a list that is slower than that.
        """
        if self.srtt >= 0:
            rto = max(min(_MIN_RTO, self.tail), self.srtt + 4 * self.rttvar)
            overtaken = self.newest_answered > sent - self.srtt
        else:
            rto, overtaken = self.tail, False
        if not overtaken:
            tail = min(self.tail, 2 * rto) if self.samples >= _KNOWN else self.tail
            rto = max(rto, tail, self.late)
        if transmissions == 1:
            return min(rto, self.limit)
        return min(rto * (1 << (transmissions - 1)), max(_MAX_GAP, 2 * self.srtt))


class _Query:
    __slots__ = (
        "qsection",
        "only",
        "batch",
        "slot",
        "pace",
        "deadline",
        "keys",
        "sent",
        "first_sent",
        "last_sent",
        "tried",
        "fallback",
    )

    def __init__(self, qsection: bytes, only: int, batch: _Batch, slot: int, pace: _Pace):
        self.qsection = qsection
        self.only = only
        self.batch = batch
        self.slot = slot
        self.pace = pace
        self.deadline = 0.0
        self.keys: list[int] = []  # its transmissions still waiting for an answer
        self.sent = 0  # transmissions so far
        self.first_sent = 0.0
        self.last_sent = 0.0
        self.tried = 0  # the nameservers asked so far, as bits
        self.fallback: Answer | None = None  # a SERVFAIL or REFUSED kept while another nameserver is asked


class Resolver:
    """An asynchronous stub resolver tuned for thousands of small queries.

    timeout: seconds a query may take in all, resends included, before it counts as timed out;
    attempts: how many times a query is sent at most;
    concurrency: how many queries may be in flight at once.
    """

    def __init__(
        self,
        nameservers: Iterable[tuple[str, int]] | None = None,
        *,
        timeout: float = DNS_TIMEOUT,
        attempts: int = ATTEMPTS,
        concurrency: int = 256,
        sockets_per_server: int | None = None,
    ):
        self.nameservers = list(nameservers) if nameservers else system_nameservers()
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.concurrency = max(1, concurrency)
        # Answers arrive in bursts as large as the window; one socket's receive buffer
        # (~200 KB by default, a few hundred packets) overflows and drops them. Spread the
        # window so each socket holds at most ~32 queries in flight.
        self.sockets_per_server = sockets_per_server or min(16, max(2, -(-self.concurrency // 32)))
        self.sent = 0  # packets sent, resends and TCP included
        self.unreachable: set[int] = set()  # nameservers (by index) that answered with ICMP "port unreachable"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socks: list[list[socket.socket]] = []
        self._uses: list[list[int]] = []
        self._retiring: set[socket.socket] = set()
        self._order: list[int] = []  # which nameserver a first transmission goes to, then a resend, ...
        self._silent: list[int] = []  # per nameserver: transmissions unanswered since its last answer
        self._next_sock = 0
        # transmission key -> (query, when it was sent, whether it was the query's first)
        self._inflight: dict[int, tuple[_Query, float, bool]] = {}
        self._active: dict[_Query, None] = {}  # queries waiting for an answer over UDP, oldest first
        self._waiting: deque[_Query] = deque()
        self._tcp: set[asyncio.Task] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._tick = min(0.05, timeout / 8)
        self._tail = min(_TAIL, timeout / 4)  # a short timeout still leaves room for resends
        self._paces: dict[str, _Pace] = {}
        self._once: dict[tuple[str, int], asyncio.Task[Answer]] = {}
        # Set when the nameservers serve only some zones (a DNSBL mirror): a name outside them is
        # not asked, and gets REFUSED, for the nameserver's NXDOMAIN there would be no verdict.
        self.scope: set[str] | None = None

    # -- public API ---------------------------------------------------------------

    async def query(self, name: str, rtype: int, *, only: int = 0, pace: str = "") -> Answer:
        return (await self.query_many([(name, rtype, pace)], only=only))[0]

    async def ask_once(self, name: str, rtype: int) -> Answer:
        """The answer for (NAME, RTYPE), asked once for the resolver's life (one run): the SPF
        checks of every address and the lint of the SPF record ask the same names, and each
        query is another one at the domain's servers. A fault is kept too: one run, one view."""
        key = (wire.name_text(name).rstrip(".").lower(), rtype)
        task = self._once.get(key)
        if task is None:
            task = self._once[key] = self.loop.create_task(self.query(name, rtype))
        return await asyncio.shield(task)

    async def query_many(self, questions: Iterable[Question], *, only: int = 0) -> list[Answer]:
        """Ask every (name, type) or (name, type, pace); answers come back in the same order.

        PACE names the servers the question is bound for in the end (a list's zone): resends
        are timed by their answers. Without one, the name's last two labels.
        With ONLY set, answer records of other types are not decoded (and have no owner).
        A name that cannot be encoded gets FORMERR without being sent.
        """
        if self._loop is None:
            self._open()
        questions = list(questions)
        batch = _Batch(len(questions), self.loop.create_future())
        if not questions:
            return []
        paces = self._paces
        for slot, question in enumerate(questions):
            name, rtype = question[0], question[1]
            try:
                qsection = wire.question(name, rtype)
            except wire.WireError:
                self._finish_batch_slot(batch, slot, Answer(wire.FORMERR))
                continue
            if self.scope is not None and not _within(name, self.scope):
                self._finish_batch_slot(batch, slot, Answer(wire.REFUSED))
                continue
            key = question[2] if len(question) > 2 and question[2] else pace_of(name)
            pace = paces.get(key)
            if pace is None:
                pace = paces[key] = _Pace(self._tail, self.timeout / 2)
            self._waiting.append(_Query(qsection, only, batch, slot, pace))
        self._pump()
        return await batch.future if batch.remaining else batch.results

    async def close(self) -> None:
        for task in list(self._tcp):
            task.cancel()
        if self._timer:
            self._timer.cancel()
            self._timer = None
        for task in self._once.values():
            task.cancel()
        self._once.clear()
        for sock in [s for group in self._socks for s in group] + list(self._retiring):
            self._retire(sock)
        self._socks = []
        self._loop = None

    async def __aenter__(self) -> Resolver:
        self._open()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- machinery ----------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the resolver is not open")
        return self._loop

    def _open(self) -> None:
        """A group of connected sockets per nameserver; one that cannot be reached at all is left out."""
        self._loop = asyncio.get_running_loop()
        self._socks, self._uses = [], []
        usable: list[tuple[str, int]] = []
        problems: list[str] = []
        for host, port in self.nameservers:
            group: list[socket.socket] = []
            try:
                for i in range(self.sockets_per_server):
                    group.append(self._socket(len(usable), i, host, port))
            except OSError as exc:
                for sock in group:
                    self._retire(sock)
                problems.append(f"cannot use nameserver {server_text(host, port)}: {exc.strerror or exc}")
                continue
            usable.append((host, port))
            self._socks.append(group)
            self._uses.append([0] * len(group))
        if not usable:
            self._loop = None
            raise ResolverUnusable("; ".join(problems))
        self.nameservers = usable
        self._order = list(range(len(usable)))
        self._silent = [0] * len(usable)

    def _socket(self, server: int, sock_index: int, host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)  # the kernel caps it
            sock.connect((host, port))  # a new ephemeral source port
        except OSError:
            sock.close()
            raise
        self.loop.add_reader(sock.fileno(), self._on_readable, sock, server, sock_index)
        return sock

    def _rotate(self, server: int, sock_index: int) -> None:
        """Replace a socket that has carried _ROTATE queries by one on a new source port.

        The old one keeps listening until the queries sent on it can no longer be answered in time.
        """
        old = self._socks[server][sock_index]
        try:
            self._socks[server][sock_index] = self._socket(server, sock_index, *self.nameservers[server])
        except OSError:
            return  # keep the old socket; try again after the next _ROTATE queries
        self._retiring.add(old)
        self.loop.call_later(self.timeout + 1, self._retire, old)

    def _retire(self, sock: socket.socket) -> None:
        self._retiring.discard(sock)
        if sock.fileno() >= 0:
            self.loop.remove_reader(sock.fileno())
            sock.close()

    def _pump(self) -> None:
        """Send waiting queries while the window has room, at most a burst at a time.

        Answers clock out new queries; a whole window sent at once would overflow the
        server's socket buffer and turn into losses.
        """
        room = min(_BURST, self.concurrency - len(self._active) - len(self._tcp))
        now = time.monotonic()
        while room > 0 and self._waiting:
            q = self._waiting.popleft()
            q.deadline = now + self.timeout
            self._active[q] = None
            self._send(q, now)
            room -= 1
        if self._active and self._timer is None:
            self._timer = self.loop.call_later(self._tick, self._on_tick)

    def _server(self, q: _Query) -> int:
        """The nameserver for Q's next transmission: one not asked yet, the silent ones last."""
        for server in self._order:
            if not q.tried >> server & 1:
                return server
        return self._order[q.sent % len(self._order)]

    def _send(self, q: _Query, now: float) -> None:
        server = self._server(q)
        q.tried |= 1 << server
        group = self._socks[server]
        self._next_sock = (self._next_sock + 1) % len(group)
        sock_index = self._next_sock
        uses = self._uses[server]
        uses[sock_index] += 1
        if uses[sock_index] >= _ROTATE:
            uses[sock_index] = 0
            self._rotate(server, sock_index)
        base = (server << 20) | (sock_index << 16)
        inflight = self._inflight
        while True:
            qid = secrets.randbits(16)
            key = base | qid
            if key not in inflight:
                break
        inflight[key] = (q, now, not q.sent)
        if not q.sent:
            q.first_sent = now
        q.keys.append(key)
        q.sent += 1
        q.last_sent = now
        self.sent += 1
        try:
            group[sock_index].send(wire.query_packet(qid, q.qsection))
        except OSError:
            pass  # counted as sent; the timer sends it again

    def _forget(self, q: _Query) -> None:
        """Q has its answer (or none is coming): its transmissions are no longer waited for."""
        inflight = self._inflight
        for key in q.keys:
            inflight.pop(key, None)
        q.keys.clear()
        self._active.pop(q, None)

    def _on_readable(self, sock: socket.socket, server: int, sock_index: int) -> None:
        inflight = self._inflight
        base = (server << 20) | (sock_index << 16)
        while True:
            try:
                data = sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionRefusedError:  # ICMP port unreachable: nothing listens on that port
                self._unreachable(server)
                continue
            except OSError:
                break
            try:
                header = wire.parse_header(data)
            except wire.WireError:
                continue
            key = base | header.id
            found = inflight.get(key)
            if found is None:
                continue  # an answer to a query already answered, or not ours
            q, sent_at, first = found
            try:
                answer = wire.read_answer(header, q.qsection, q.only)
            except wire.WireError:
                answer = Answer(wire.SERVFAIL)  # broken: a fault, never "no data"
            if answer is None:
                continue  # not the question we asked: ignore, keep waiting
            self._silent[server] = 0
            now = time.monotonic()
            if first:
                q.pace.sample(now - sent_at, sent_at)
            else:
                q.pace.answered_late(now - q.first_sent)
            if header.truncated:
                self._forget(q)
                task = self.loop.create_task(self._ask_tcp(q, server))
                self._tcp.add(task)
                task.add_done_callback(self._tcp.discard)
                continue
            if answer.rcode in (wire.SERVFAIL, wire.REFUSED) and len(self.nameservers) > 1:
                # Another nameserver may know better: wait for one asked already, or ask one.
                del inflight[key]
                q.keys.remove(key)
                q.fallback = answer
                if not q.keys and not self._resend(q, now):
                    self._finish(q, answer)
                continue
            self._finish(q, answer)
        self._pump()

    def _resend(self, q: _Query, now: float) -> bool:
        """Send Q once more if its attempts and its time allow; False when they do not."""
        if q.sent >= self.attempts or q.deadline - now < self._tick:
            return False
        self._send(q, now)
        return True

    def _unreachable(self, server: int) -> None:
        """Nothing listens where SERVER should be: none of its transmissions will be answered."""
        self.unreachable.add(server)
        now = time.monotonic()
        for key in [k for k in self._inflight if k >> 20 == server]:
            q = self._inflight.pop(key)[0]
            q.keys.remove(key)
            if not q.keys and not self._resend(q, now):
                self._finish(q, q.fallback or Answer(wire.TIMEOUT))

    def _on_tick(self) -> None:
        """Give up on queries past their deadline; send again what is overdue.

        A transmission is overdue after its pace's wait; the earlier transmissions stay answerable.
        """
        self._timer = None
        now = time.monotonic()
        expired = []
        for q in self._active:
            if q.deadline <= now:
                expired.append(q)
            elif q.sent < self.attempts and now - q.last_sent >= q.pace.wait(q.last_sent, q.sent):
                self._overdue(q)
                self._resend(q, now)
        for q in expired:
            self._overdue(q)
            self._finish(q, q.fallback or Answer(wire.TIMEOUT))
        self._pump()

    def _overdue(self, q: _Query) -> None:
        """Q's latest transmission went unanswered: its nameserver may be dead.

        A nameserver that leaves _SILENT transmissions in a row unanswered goes to the end of
        the order, so that a dead first entry of resolv.conf costs a few waits, not one per query.
        """
        if not q.keys:
            return
        server = q.keys[-1] >> 20
        self._silent[server] += 1
        if self._silent[server] >= _SILENT and len(self._order) > 1 and self._order[0] == server:
            self._order.append(self._order.pop(0))

    def _finish(self, q: _Query, answer: Answer) -> None:
        self._forget(q)
        self._finish_batch_slot(q.batch, q.slot, answer)

    async def _ask_tcp(self, q: _Query, server: int) -> None:
        host, port = self.nameservers[server]  # the nameserver whose answer was truncated
        packet = wire.query_packet(secrets.randbits(16), q.qsection)
        self.sent += 1
        writer = None
        try:
            async with asyncio.timeout(max(q.deadline - time.monotonic(), min(self.timeout, 1.0))):
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(len(packet).to_bytes(2, "big") + packet)
                size = int.from_bytes(await reader.readexactly(2), "big")
                data = await reader.readexactly(size)
            answer = wire.read_answer(wire.parse_header(data), q.qsection, q.only) or Answer(wire.SERVFAIL)
        except TimeoutError:
            answer = Answer(wire.TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, wire.WireError):
            answer = Answer(wire.SERVFAIL)
        finally:
            if writer is not None:
                writer.close()
        self._finish_batch_slot(q.batch, q.slot, answer)
        self._pump()

    @staticmethod
    def _finish_batch_slot(batch: _Batch, slot: int, answer: Answer) -> None:
        batch.results[slot] = answer
        batch.remaining -= 1
        if batch.remaining == 0 and not batch.future.done():
            batch.future.set_result(batch.results)
