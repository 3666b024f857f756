"""A DNS world as production sees it: a recursive resolver iterating from a root.

Debian's unbound (or BIND 9), with its shipped defaults (module-config, qname minimisation, its own
retransmissions), resolves from a test root through delegations to the test servers: the
in-process authoritative server for the domains and the lists it holds, rbldnsd for the
story's list, and lists behind a delay (a list far away) or gone silent (a list that is down).
Every server has a loopback address of its own and port 53, because a resolver asks
delegated servers on port 53; unbound listens on a loopback address of its own too.

    with RecursiveWorld(story_world(), lists={"slow.lists.example": List(delay=1.5)}) as world:
        world.resolver        # (address, port) of unbound: senderwatch's --nameserver
        world.lists["slow.lists.example"].queries  # what reached that list

Binding port 53 needs root (or CAP_NET_BIND_SERVICE), as CI has; unbound (and bind9) come
from Debian (.ci/run installs unbound).
"""

from __future__ import annotations

import contextlib
import heapq
import os
import random
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

from dnslib import QTYPE, DNSRecord

from senderwatch import wire

from .dnsserver import Authority, DNSServer
from .rbldnsd import Rbldnsd

DNS_PORT = 53


RESOLVERS = {"unbound": ("unbound", "unbound"), "bind": ("named", "bind9")}  # what it is: (binary, package)


class ResolverMissing(RuntimeError):
    pass


def resolver_binary(kind: str) -> str:
    binary, package = RESOLVERS[kind]
    found = shutil.which(binary) or (f"/usr/sbin/{binary}" if os.path.exists(f"/usr/sbin/{binary}") else None)
    if found is None:
        raise ResolverMissing(f"{binary} is not installed: apt-get install {package} (.ci/run installs unbound)")
    return found


def loopback_address() -> str:
    """A loopback address of 127.0.0.0/8 whose port 53 is free, UDP and TCP (all of 127/8 is lo's)."""
    for _ in range(50):
        # 127.53.x.y: clear of 127.0.0.1 and of systemd-resolved's 127.0.0.53 and 127.0.0.54
        address = f"127.53.{random.randrange(1, 255)}.{random.randrange(1, 255)}"  # noqa: S311  # nosec B311
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
                udp.bind((address, DNS_PORT))
                tcp.bind((address, DNS_PORT))
        except PermissionError:
            raise PermissionError(
                "the recursive DNS world binds port 53 on loopback addresses: run the tests as root "
                "(as CI does) or give Python CAP_NET_BIND_SERVICE"
            ) from None
        except OSError:
            continue
        return address
    raise RuntimeError("no loopback address with a free port 53")


def _free_port() -> int:
    """A port free for UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


class DelayProxy:
    """A list's servers far away: every query is held DELAY seconds on its way to UPSTREAM, and
    counted (`queries`, and `asked` per name and type) - what the list's own servers would see."""

    def __init__(self, host: str, upstream: tuple[str, int], delay: float):
        self.host, self.upstream, self.delay = host, upstream, delay
        self.address = (host, DNS_PORT)
        self.queries = 0
        self.asked: dict[tuple[str, str], int] = {}
        self._clients: dict[int, tuple[tuple[str, int], bytes]] = {}
        self._next_id = 0
        self._due: list[tuple[float, int, bytes]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> DelayProxy:
        self._front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._front.bind(self.address)
        self._back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._back.connect(self.upstream)
        for sock in (self._front, self._back):
            sock.setblocking(False)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._front, selectors.EVENT_READ, "front")
        selector.register(self._back, selectors.EVENT_READ, "back")
        while not self._stop.is_set():
            now = time.monotonic()
            while self._due and self._due[0][0] <= now:
                _, _, packet = heapq.heappop(self._due)
                with contextlib.suppress(OSError):
                    self._back.send(packet)
            wait = min(0.05, max(0.0, self._due[0][0] - now)) if self._due else 0.05
            for key, _ in selector.select(wait):
                with contextlib.suppress(BlockingIOError, OSError):
                    if key.data == "front":
                        data, peer = self._front.recvfrom(65535)
                        self._forward(data, peer)
                    else:
                        data = self._back.recv(65535)
                        client = self._clients.pop(int.from_bytes(data[:2], "big"), None)
                        if client:
                            self._front.sendto(client[1] + data[2:], client[0])
        selector.close()

    def _forward(self, data: bytes, peer: tuple[str, int]) -> None:
        if len(data) < 12:
            return
        self.queries += 1
        with contextlib.suppress(Exception):
            question = DNSRecord.parse(data).q
            key = (str(question.qname).rstrip(".").lower(), QTYPE.get(question.qtype))
            self.asked[key] = self.asked.get(key, 0) + 1
        # Rewrite the ID: the resolver's queries on several sockets may share one.
        self._next_id = (self._next_id + 1) & 0xFFFF
        self._clients[self._next_id] = (peer, data[:2])
        packet = self._next_id.to_bytes(2, "big") + data[2:]
        heapq.heappush(self._due, (time.monotonic() + self.delay, self.queries, packet))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        self._front.close()
        self._back.close()


class Silent:
    """A list that is down: its server's address takes every packet and never answers."""

    def __init__(self, host: str):
        self.address = (host, DNS_PORT)
        self.queries = 0

    def __enter__(self) -> Silent:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(self.address)
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()
        return self

    def _drain(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self._sock.recv(65535)
                self.queries += 1

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


@dataclass
class List:
    """A DNSBL zone of the world on its own server: rbldnsd with DATA (rbldnsd's datasets, e.g.
    {"ip4set": [...]}), answering after DELAY seconds; DOWN: its server never answers."""

    data: dict[str, list[str]] = field(default_factory=dict)
    delay: float = 0.0
    down: bool = False
    queries: int = 0  # filled in while the world runs: what reached the list's server

    def datasets(self, zone: str, nameserver: str) -> dict[str, list[str]]:
        """DATA as rbldnsd serves the list: with its SOA and NS, as every real list has them (a
        resolver caches a list's NXDOMAIN by its SOA), and the RFC 5782 test entries
        (127.0.0.2 and ::FFFF:7F00:2 listed)."""
        head = [f"$SOA 60 {nameserver} hostmaster.{zone} 1 600 300 86400 60", f"$NS 60 {nameserver}"]
        v4 = self.data.get("ip4set", [])
        v6 = self.data.get("ip6trie", [])
        return {
            "ip4set": [*head, ":127.0.0.2:", "127.0.0.2", *v4],
            "ip6trie": [":127.0.0.2:", "::ffff:7f00:2", *v6],
        }


def _top_zones(names) -> set[str]:
    return {name.rstrip(".").lower().rpartition(".")[2] for name in names if name.strip(".")}


class RecursiveWorld:
    """The world DATA (dnsserver shape) behind a root and unbound; LISTS get servers of their own.

    The root delegates each top-level domain to the authoritative server holding DATA, which
    delegates each of LISTS to its own server. `resolver` is the recursive resolver's address:
    Debian's unbound, or with KIND "bind" its BIND 9 (named); OPTIONS go into its configuration.
    """

    def __init__(self, data: dict, *, lists: dict[str, List] | None = None, kind: str = "unbound", options=()):
        self.data = data
        self.lists = dict(lists or {})
        self.kind = kind
        self.options = list(options)
        self.resolver: tuple[str, int] = ("127.0.0.1", 0)
        self._stack = contextlib.ExitStack()
        self._proxies: dict[str, DelayProxy | Silent] = {}
        self._dir = ""
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> RecursiveWorld:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        binary = resolver_binary(self.kind)
        servers: dict[str, tuple[str, str]] = {}
        for zone, spec in self.lists.items():
            # A list's nameserver is named outside its zone, as real lists' are: rbldnsd knows only its lists.
            nameserver = f"ns.{zone.replace('.', '-')}.example.net"
            front = loopback_address()
            if spec.down:
                self._proxies[zone] = self._stack.enter_context(Silent(front))
            else:
                back = loopback_address()
                datasets = {zone: spec.datasets(zone, nameserver)}
                server = self._stack.enter_context(Rbldnsd(datasets, host=back, port=DNS_PORT))
                self._proxies[zone] = self._stack.enter_context(DelayProxy(front, server.address, spec.delay))
            servers[zone] = (nameserver, front)
        data = {**self.data, **{name: [{"A": address}] for name, address in servers.values()}}
        tops = _top_zones([*data, *servers]) | {"arpa"}
        world_address = loopback_address()
        world = DNSServer(data, host=world_address, port=DNS_PORT, authority=Authority(tops, dict(servers), data))
        self.world = self._stack.enter_context(world)
        root_address = loopback_address()
        root = DNSServer(
            {}, host=root_address, port=DNS_PORT, authority=Authority([""], dict.fromkeys(tops, world_address), [])
        )
        self.root = self._stack.enter_context(root)
        self._dir = tempfile.mkdtemp(prefix=f"{self.kind}-")
        # BIND listens only on the addresses interfaces have (127.0.0.1): a free port there.
        self.resolver = (loopback_address(), DNS_PORT) if self.kind == "unbound" else ("127.0.0.1", _free_port())
        conf = os.path.join(self._dir, f"{self.kind}.conf")
        with open(os.path.join(self._dir, "root.hints"), "w", encoding="utf-8") as hints:
            hints.write(f".  3600 IN NS {Authority.ns_name('')}.\n{Authority.ns_name('')}. 3600 IN A {root_address}\n")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(self._unbound_config() if self.kind == "unbound" else self._bind_config())
        command = [binary, "-d", "-c", conf] if self.kind == "unbound" else [binary, "-g", "-n", "2", "-c", conf]
        log = open(os.path.join(self._dir, "stderr.log"), "wb")  # noqa: SIM115 - the process writes it
        self._stack.callback(log.close)
        self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)  # noqa: S603
        if not self._wait_ready():
            raise RuntimeError(f"{self.kind} did not start: " + self.log())

    def _bind_config(self) -> str:
        """BIND 9 as Debian ships it, told where this world is: its root hints, and that the
        documentation ranges are this world's (BIND serves them empty itself)."""
        host, port = self.resolver
        options = "\n".join(f"  {option}" for option in self.options)
        return f"""options {{
  directory "{self._dir}";
  pid-file "{self._dir}/named.pid";
  listen-on port {port} {{ {host}; }};
  listen-on-v6 {{ none; }};
  recursion yes;
  allow-query {{ any; }};
  allow-recursion {{ any; }};
  dnssec-validation no;
  empty-zones-enable no;
{options}
}};
controls {{ }};
zone "." {{ type hint; file "{self._dir}/root.hints"; }};
"""

    def _unbound_config(self) -> str:
        """Debian's unbound as shipped, told only where this world is: its root, that it may ask
        servers on loopback, and that the names it keeps local by default are this world's."""
        host, port = self.resolver
        local = [
            "test.",
            "2.0.192.in-addr.arpa.",
            "100.51.198.in-addr.arpa.",
            "113.0.203.in-addr.arpa.",
            "8.b.d.0.1.0.0.2.ip6.arpa.",
        ]
        lines = [
            "server:",
            f"  interface: {host}",
            f"  port: {port}",
            f'  directory: "{self._dir}"',
            f'  pidfile: "{self._dir}/unbound.pid"',
            f'  logfile: "{self._dir}/unbound.log"',
            '  username: ""',
            '  chroot: ""',
            "  use-syslog: no",
            "  verbosity: 1",
            f'  root-hints: "{self._dir}/root.hints"',
            "  do-not-query-localhost: no",
            "  access-control: 127.0.0.0/8 allow",
            *(f'  local-zone: "{zone}" nodefault' for zone in local),
            *(f"  {option}" for option in self.options),
            "remote-control:",
            "  control-enable: no",
        ]
        return "\n".join(lines) + "\n"

    def _wait_ready(self, seconds: float = 15.0) -> bool:
        packet = wire.query_packet(1, wire.question(".", wire.NS))
        deadline = time.monotonic() + seconds
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.poll() is not None:
                    return False
                try:
                    sock.sendto(packet, self.resolver)
                    answer = sock.recv(4096)
                except OSError:
                    continue
                if answer[3] & 0x0F == wire.NOERROR:  # the rcode: the root is primed
                    return True
                time.sleep(0.05)
        return False

    def queries(self, zone: str) -> int:
        """How many queries reached ZONE's own server so far."""
        return self._proxies[zone].queries

    def asked(self, zone: str) -> dict[tuple[str, str], int]:
        """How often each (name, type) reached ZONE's own server."""
        proxy = self._proxies[zone]
        return dict(proxy.asked) if isinstance(proxy, DelayProxy) else {}

    def log(self) -> str:
        """The end of what the resolver logged."""
        text = ""
        for name in ("unbound.log", "stderr.log"):
            path = os.path.join(self._dir, name)
            with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as handle:
                text += handle.read()[-4000:]
        return text

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            if self._proc.stderr:
                self._proc.stderr.close()
        self._stack.close()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
