"""A DNS forwarder on 127.0.0.1 that holds every query back: simulated network latency.

python -m bench.delayproxy UPSTREAM_PORT DELAY_MS  -> prints its own port, then serves.
"""

from __future__ import annotations

import asyncio
import sys


class Proxy(asyncio.DatagramProtocol):
    def __init__(self, upstream, delay):
        self.upstream, self.delay = upstream, delay
        self.clients: dict[int, tuple] = {}  # our upstream ID -> (client, its ID)
        self.next_id = 0
        self.transport = None
        self.up = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        # Rewrite the ID: two clients (or two sockets of one) may use the same one at once.
        self.next_id = (self.next_id + 1) & 0xFFFF
        self.clients[self.next_id] = (addr, data[:2])
        upstream = self.next_id.to_bytes(2, "big") + data[2:]
        asyncio.get_running_loop().call_later(self.delay, self.up.sendto, upstream)

    def answer(self, data):
        client = self.clients.pop(int.from_bytes(data[:2], "big"), None)
        if client:
            addr, original = client
            self.transport.sendto(original + data[2:], addr)


class Upstream(asyncio.DatagramProtocol):
    def __init__(self, proxy):
        self.proxy = proxy

    def datagram_received(self, data, addr):
        self.proxy.answer(data)


async def main(upstream_port: int, delay_ms: float) -> None:
    loop = asyncio.get_running_loop()
    proxy = Proxy(("127.0.0.1", upstream_port), delay_ms / 1000)
    transport, _ = await loop.create_datagram_endpoint(lambda: proxy, local_addr=("127.0.0.1", 0))
    proxy.up, _ = await loop.create_datagram_endpoint(lambda: Upstream(proxy), remote_addr=("127.0.0.1", upstream_port))
    print(transport.get_extra_info("sockname")[1], flush=True)
    await asyncio.sleep(600)  # the benchmark terminates it long before


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
