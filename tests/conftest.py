"""Fixtures shared by every layer: local DNS worlds on 127.0.0.1 and a way to run the engine."""

from __future__ import annotations

import asyncio

import pytest

from senderwatch.resolver import Resolver
from senderwatch.testing.dnsserver import DNSServer


@pytest.fixture
def dns_world():
    """start(data) -> a running DNSServer on a free port; all are stopped after the test."""
    servers = []

    def start(data: dict, **options) -> DNSServer:
        server = DNSServer(data, **options).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def run_with_resolver():
    """run(server_or_address, fn) -> fn(resolver)'s result, on a fresh event loop."""

    def run(servers, fn, **options):
        if not isinstance(servers, list):
            servers = [servers]
        addresses = [getattr(s, "address", s) for s in servers]
        options.setdefault("timeout", 0.2)

        async def main():
            async with Resolver(addresses, **options) as resolver:
                return await fn(resolver)

        return asyncio.run(main())

    return run
