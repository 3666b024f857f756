"""The DNS client against a real server on 127.0.0.1: faults come back as faults."""

import contextlib
import errno
import socket

import pytest

from senderwatch import resolver as resolver_module
from senderwatch import wire
from senderwatch.errors import ResolverUnusable

WORLD = {
    "listed.example": [{"A": "127.0.0.2"}],
    "slow.example": ["TIMEOUT"],
    "broken.example": ["SERVFAIL"],
    "closed.example": ["REFUSED"],
    "big.example": [{"TXT": "v=spf1 " + "x" * 240} for _ in range(12)],
    "*.many.example": [{"A": "127.0.0.3"}],
}


def test_nxdomain_nodata_and_answers_are_told_apart(dns_world, run_with_resolver):
    server = dns_world(WORLD)
    answers = run_with_resolver(
        server,
        lambda r: r.query_many(
            [("listed.example", wire.A), ("listed.example", wire.AAAA), ("missing.example", wire.A)]
        ),
    )
    assert answers[0].values(wire.A) == ["127.0.0.2"]
    assert answers[1] == wire.Answer(wire.NOERROR, ())
    assert answers[2].rcode == wire.NXDOMAIN


def test_no_answer_is_a_timeout_after_every_attempt(dns_world, run_with_resolver):
    """Sent `attempts` times within its timeout (the resends spread over it), then TIMEOUT."""
    server = dns_world(WORLD)
    answer = run_with_resolver(server, lambda r: r.query("slow.example", wire.A), timeout=1.0, attempts=3)
    assert answer.rcode == wire.TIMEOUT
    assert server.queries == 3


def test_servfail_and_refused_are_reported(dns_world, run_with_resolver):
    server = dns_world(WORLD)
    answers = run_with_resolver(
        server, lambda r: r.query_many([("broken.example", wire.A), ("closed.example", wire.A)])
    )
    assert [a.rcode for a in answers] == [wire.SERVFAIL, wire.REFUSED]


def test_truncated_answer_is_fetched_again_over_tcp(dns_world, run_with_resolver):
    server = dns_world(WORLD)
    answer = run_with_resolver(server, lambda r: r.query("big.example", wire.TXT))
    assert answer.rcode == wire.NOERROR
    assert len(answer.values(wire.TXT)) == 12


def test_thousands_of_queries_in_flight_all_get_their_own_answer(dns_world, run_with_resolver):
    server = dns_world(WORLD)
    names = [(f"q{i}.many.example", wire.A) for i in range(2000)]
    names[::7] = [("missing.example", wire.A)] * len(names[::7])
    answers = run_with_resolver(server, lambda r: r.query_many(names), timeout=1.0, concurrency=100)
    for (name, _), answer in zip(names, answers, strict=True):
        expected = wire.NXDOMAIN if name == "missing.example" else wire.NOERROR
        assert answer.rcode == expected, name


def test_a_dead_nameserver_is_skipped_for_the_next_one(dns_world, run_with_resolver):
    server = dns_world(WORLD)
    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))  # bound but never answers
    try:
        answers = run_with_resolver(
            [dead.getsockname(), server],
            lambda r: r.query_many([("listed.example", wire.A)] * 4),
            timeout=0.1,
            attempts=2,
        )
    finally:
        dead.close()
    assert all(a.values(wire.A) == ["127.0.0.2"] for a in answers)


def test_answer_to_another_question_is_ignored(run_with_resolver):
    """A spoofed reply with the right ID but another question must not be taken."""
    import threading

    from dnslib import RR, A, DNSRecord

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def liar():
        packet, peer = sock.recvfrom(4096)
        request = DNSRecord.parse(packet)
        forged = DNSRecord.question("other.example")
        forged.header.id = request.header.id
        reply = forged.reply()
        reply.add_answer(RR("other.example", rdata=A("127.0.0.2")))
        sock.sendto(reply.pack(), peer)

    thread = threading.Thread(target=liar, daemon=True)
    thread.start()
    try:
        answer = run_with_resolver(
            sock.getsockname(), lambda r: r.query("victim.example", wire.A), timeout=0.2, attempts=1
        )
    finally:
        thread.join(1)
        sock.close()
    assert answer.rcode == wire.TIMEOUT


def lossy_server(drop, answer_after=lambda name: 0.0):
    """A server on 127.0.0.1 that drops the packets DROP(name, nth) says to, and answers the
    others after ANSWER_AFTER(name) seconds; `.seen` counts the packets per name."""
    import collections
    import threading

    from dnslib import RR, A, DNSRecord

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    seen, stop = collections.Counter(), threading.Event()

    def serve():
        while not stop.is_set():
            try:
                packet, peer = sock.recvfrom(4096)
            except OSError:
                continue
            request = DNSRecord.parse(packet)
            name = str(request.q.qname)
            seen[name] += 1
            if drop(name, seen[name]):
                continue
            reply = request.reply()
            reply.add_answer(RR(request.q.qname, rdata=A("127.0.0.2")))
            threading.Timer(answer_after(name), sock.sendto, (reply.pack(), peer)).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    class Server:
        address = sock.getsockname()

        def close(self):
            stop.set()
            thread.join(1)
            sock.close()

    server = Server()
    server.seen = seen
    return server


def test_a_lost_packet_is_sent_again_before_the_query_times_out(run_with_resolver):
    """A server that loses the first packet of every query: the resend gets each its answer."""
    server = lossy_server(lambda name, nth: nth == 1)
    try:
        answers = run_with_resolver(
            server.address, lambda r: r.query_many([(f"q{i}.lossy.example", wire.A) for i in range(20)]), timeout=3.0
        )
    finally:
        server.close()
    assert [a.values(wire.A) for a in answers] == [["127.0.0.2"]] * 20
    assert set(server.seen.values()) == {2}


def test_an_answer_to_an_earlier_transmission_still_counts(run_with_resolver):
    """A recursive resolver answers the first packet late, once it has the answer, and not the
    resend (BIND, the VPC resolver): that late answer is the query's answer."""
    server = lossy_server(lambda name, nth: nth > 1, answer_after=lambda name: 0.8)
    try:
        answer = run_with_resolver(server.address, lambda r: r.query("late.example", wire.A), timeout=3.0)
    finally:
        server.close()
    assert answer.values(wire.A) == ["127.0.0.2"]
    assert server.seen["late.example."] >= 2  # it was sent again before the late answer came


def test_a_slow_list_is_asked_once_per_name_though_its_cached_names_answer_at_once(run_with_resolver):
    """Through a recursive resolver, what it has cached (a list's test entries) answers at once
    and the rest takes the list's own time: 0.3 s here. Every resend is another query on the
    list's quota, so none goes out before the list itself is late."""
    cached = {f"{i}.0.0.127.slow.example." for i in range(20)}
    server = lossy_server(lambda name, nth: False, answer_after=lambda name: 0.0 if name in cached else 0.3)

    async def go(resolver):
        await resolver.query_many([(name, wire.A, "slow.example") for name in cached])
        return await resolver.query_many([(f"{i}.2.0.192.slow.example", wire.A, "slow.example") for i in range(50)])

    try:
        answers = run_with_resolver(server.address, go, timeout=6.0)
    finally:
        server.close()
    assert all(a.values(wire.A) == ["127.0.0.2"] for a in answers)
    assert sum(count for name, count in server.seen.items() if name not in cached) == 50


def test_source_ports_change_during_a_run(dns_world, run_with_resolver):
    """RFC 5452: a spoofer must guess the port as well as the ID, and not once for a whole run."""
    server = dns_world(WORLD)
    names = [(f"q{i}.many.example", wire.A) for i in range(3000)]
    answers = run_with_resolver(server, lambda r: r.query_many(names), timeout=1.0, concurrency=64)
    assert all(a.rcode == wire.NOERROR for a in answers)
    resolver_sockets = 2  # concurrency 64 spreads over two sockets
    assert len(server.ports) > resolver_sockets * 5


def test_a_nameserver_that_cannot_be_reached_at_all_is_one_clear_error(run_with_resolver, monkeypatch):
    class Unroutable(socket.socket):
        def connect(self, address):
            raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(resolver_module.socket, "socket", Unroutable)
    with pytest.raises(ResolverUnusable, match="cannot use nameserver \\[2001:db8::53\\]: Network is unreachable"):
        run_with_resolver([("2001:db8::53", 53)], lambda r: r.query("example.com", wire.A))


def test_a_silent_first_nameserver_is_asked_last_after_a_few_timeouts(dns_world, run_with_resolver):
    """A dead first entry of resolv.conf costs a few timeouts, not one per query."""
    server = dns_world(WORLD)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dead:
        dead.bind(("127.0.0.1", 0))
        dead.setblocking(False)
        names = [(f"q{i}.many.example", wire.A) for i in range(2000)]
        answers = run_with_resolver(
            [dead.getsockname(), server], lambda r: r.query_many(names), timeout=0.2, concurrency=64
        )
        asked_dead = 0
        with contextlib.suppress(BlockingIOError):
            while dead.recv(512):
                asked_dead += 1
    assert all(a.rcode == wire.NOERROR for a in answers)
    assert asked_dead < len(names) // 4  # the first window, not every query


def test_a_nameserver_port_nothing_listens_on_is_left_at_once(dns_world, run_with_resolver):
    server = dns_world(WORLD)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()
    answers = run_with_resolver(
        [closed, server], lambda r: r.query_many([("listed.example", wire.A)] * 50), timeout=30, attempts=2
    )  # a 30 s timeout: this test would take minutes if it waited for the closed port
    assert all(a.values(wire.A) == ["127.0.0.2"] for a in answers)
