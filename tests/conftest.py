"""Fixtures shared by every layer: local DNS worlds on 127.0.0.1, a resolver on them, the story's world.

AWS (moto) is in tests/support/awsfixtures.py, taken by the conftests of the layers that talk to it:
the unit tests load neither moto nor boto3.
"""

from __future__ import annotations

import asyncio

import pytest

from local.dnsserver import DNSServer
from local.world import story_world
from senderwatch.resolver import Resolver


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


@pytest.fixture
def story():
    with DNSServer(story_world()) as server:
        yield server
