"""The DNS client senderwatch runs on: many queries in flight over a few UDP sockets.

One event loop, a handful of connected UDP sockets per nameserver, a bounded window of
queries in flight, one timer for every timeout, retries that move to the next
nameserver, and TCP when an answer is truncated. A query always ends in an `Answer`:
a timeout is `Answer(TIMEOUT)`, never an exception and never an empty "clean" answer.
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
from .nameservers import server_text, system_nameservers
from .wire import Answer

_RCVBUF = 1 << 20
_MIN_RESEND = 0.1  # seconds: never resend sooner than this
_BURST = 64  # queries sent per event at most
_ROTATE = 256  # queries per socket before it is replaced: source ports change during a run (RFC 5452)
_SILENT = 3  # attempts in a row a nameserver leaves unanswered before the others are asked first


class _Batch:
    __slots__ = ("results", "remaining", "future")

    def __init__(self, size: int, future: asyncio.Future):
        self.results: list = [None] * size
        self.remaining = size
        self.future = future


class _Query:
    __slots__ = ("qsection", "only", "batch", "slot", "attempt", "deadline", "key", "resends", "next_resend", "tried")

    def __init__(self, qsection: bytes, only: int, batch: _Batch, slot: int):
        self.qsection = qsection
        self.only = only
        self.batch = batch
        self.slot = slot
        self.attempt = 0
        self.deadline = 0.0
        self.key = 0
        self.resends = 0
        self.next_resend = 0.0
        self.tried = 0  # the nameservers asked so far, as bits


class Resolver:
    """An asynchronous stub resolver tuned for thousands of small queries.

    timeout: seconds to wait for one answer before asking again;
    attempts: how many times a query is sent before it counts as timed out;
    concurrency: how many queries may be in flight at once.
    """

    def __init__(
        self,
        nameservers: Iterable[tuple[str, int]] | None = None,
        *,
        timeout: float = 2.0,
        attempts: int = 2,
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
        self.sent = 0  # packets sent, retries and TCP included
        self.unreachable: set[int] = set()  # nameservers (by index) that answered with ICMP "port unreachable"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socks: list[list[socket.socket]] = []
        self._uses: list[list[int]] = []
        self._retiring: set[socket.socket] = set()
        self._order: list[int] = []  # which nameserver a first attempt goes to, then a retry, ...
        self._silent: list[int] = []  # per nameserver: attempts unanswered since its last answer
        self._next_sock = 0
        self._inflight: dict[int, _Query] = {}
        self._waiting: deque[_Query] = deque()
        self._tcp: set[asyncio.Task] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._tick = min(0.05, timeout / 4)
        self._srtt = timeout / 8  # smoothed round-trip time, learnt from answers

    # -- public API ---------------------------------------------------------------

    async def query(self, name: str, rtype: int, *, only: int = 0) -> Answer:
        return (await self.query_many([(name, rtype)], only=only))[0]

    async def query_many(self, questions: Iterable[tuple[str, int]], *, only: int = 0) -> list[Answer]:
        """Ask every (name, type); answers come back in the same order.

        With ONLY set, answer records of other types are not decoded (and have no owner).
        A name that cannot be encoded gets FORMERR without being sent.
        """
        if self._loop is None:
            self._open()
        questions = list(questions)
        batch = _Batch(len(questions), self.loop.create_future())
        if not questions:
            return []
        for slot, (name, rtype) in enumerate(questions):
            try:
                qsection = wire.question(name, rtype)
            except wire.WireError:
                self._finish_batch_slot(batch, slot, Answer(wire.FORMERR))
                continue
            self._waiting.append(_Query(qsection, only, batch, slot))
        self._pump()
        return await batch.future if batch.remaining else batch.results

    async def close(self) -> None:
        for task in list(self._tcp):
            task.cancel()
        if self._timer:
            self._timer.cancel()
            self._timer = None
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

        The old one keeps listening until its queries can no longer be answered in time;
        resends of them go out on the new socket under the same ID, which still matches.
        """
        old = self._socks[server][sock_index]
        try:
            self._socks[server][sock_index] = self._socket(server, sock_index, *self.nameservers[server])
        except OSError:
            return  # keep the old socket; try again after the next _ROTATE queries
        self._retiring.add(old)
        self.loop.call_later(self.timeout * self.attempts, self._retire, old)

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
        room = min(_BURST, self.concurrency - len(self._inflight) - len(self._tcp))
        while room > 0 and self._waiting:
            self._send(self._waiting.popleft())
            room -= 1
        if self._inflight and self._timer is None:
            self._timer = self.loop.call_later(self._tick, self._on_tick)

    def _server(self, q: _Query) -> int:
        """The nameserver for Q's next attempt: one not asked yet, the silent ones last."""
        for server in self._order:
            if not q.tried >> server & 1:
                return server
        return self._order[q.attempt % len(self._order)]

    def _send(self, q: _Query) -> None:
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
        q.key = key
        q.resends = 0
        now = time.monotonic()
        q.deadline = now + self.timeout
        q.next_resend = now + self._resend_after()
        inflight[key] = q
        self.sent += 1
        try:
            group[sock_index].send(wire.query_packet(qid, q.qsection))
        except OSError:
            pass  # counted as sent; the timer retries it

    def _on_readable(self, sock: socket.socket, server: int, sock_index: int) -> None:
        inflight = self._inflight
        base = (server << 20) | (sock_index << 16)
        while True:
            try:
                data = sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionRefusedError:  # ICMP port unreachable: nothing listens on that port
                self.unreachable.add(server)
                for key in [k for k in inflight if k >> 20 == server]:
                    self._attempt_failed(inflight.pop(key), server)  # no need to wait for any of these
                continue
            except OSError:
                break
            try:
                header = wire.parse_header(data)
            except wire.WireError:
                continue
            key = base | header.id
            q = inflight.get(key)
            if q is None:
                continue  # late answer to a retried query, or not ours
            try:
                answer = wire.read_answer(header, q.qsection, q.only)
            except wire.WireError:
                answer = Answer(wire.SERVFAIL)  # broken: a fault, never "no data"
            if answer is None:
                continue  # not the question we asked: ignore, keep waiting
            del inflight[key]
            self._silent[server] = 0
            if not q.resends:
                sample = time.monotonic() - (q.deadline - self.timeout)
                self._srtt += (sample - self._srtt) / 8
            if header.truncated:
                task = self.loop.create_task(self._ask_tcp(q))
                self._tcp.add(task)
                task.add_done_callback(self._tcp.discard)
                continue
            if (
                answer.rcode in (wire.SERVFAIL, wire.REFUSED)
                and len(self.nameservers) > 1
                and q.attempt + 1 < self.attempts
            ):
                q.attempt += 1
                self._send(q)
                continue
            self._finish_batch_slot(q.batch, q.slot, answer)
        self._pump()

    def _resend_after(self) -> float:
        return max(_MIN_RESEND, 4 * self._srtt)

    def _on_tick(self) -> None:
        """Give up on attempts past their deadline; resend what is late.

        A lost UDP packet should not cost a whole timeout: a query unanswered after a few
        round-trip times is sent again on the same socket with the same ID, backing off
        each time. The attempt still lasts `timeout`, so a slow list is not called dead
        early.
        """
        self._timer = None
        now = time.monotonic()
        oldest_late = now - self._resend_after()
        expired = []
        for key, q in self._inflight.items():
            if q.deadline <= now:
                expired.append(key)
                continue
            if q.deadline - self.timeout > oldest_late:
                break  # sent in send order: everything after this is on time
            if q.next_resend <= now:
                q.resends += 1
                q.next_resend = now + self._resend_after() * (2**q.resends)
                self.sent += 1
                server, sock_index = key >> 20, (key >> 16) & 0xF
                try:
                    self._socks[server][sock_index].send(wire.query_packet(key & 0xFFFF, q.qsection))
                except OSError:
                    pass
        for key in expired:
            self._attempt_failed(self._inflight.pop(key), key >> 20)
        self._pump()

    def _attempt_failed(self, q: _Query, server: int) -> None:
        """No answer from SERVER: ask again (the next nameserver), or give the query up as TIMEOUT.

        A nameserver that leaves _SILENT attempts in a row unanswered goes to the end of the
        order, so that a dead first entry of resolv.conf costs a few timeouts, not one per query.
        """
        self._silent[server] += 1
        if self._silent[server] >= _SILENT and len(self._order) > 1 and self._order[0] == server:
            self._order.append(self._order.pop(0))
        q.attempt += 1
        if q.attempt < self.attempts:
            self._send(q)
        else:
            self._finish_batch_slot(q.batch, q.slot, Answer(wire.TIMEOUT))

    async def _ask_tcp(self, q: _Query) -> None:
        host, port = self.nameservers[q.key >> 20]  # the nameserver whose answer was truncated
        packet = wire.query_packet(secrets.randbits(16), q.qsection)
        self.sent += 1
        writer = None
        try:
            async with asyncio.timeout(self.timeout * self.attempts):
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
