"""Fixtures shared by every layer: local DNS worlds on 127.0.0.1, a resolver on them, AWS on moto."""

from __future__ import annotations

import asyncio
import os

import boto3
import pytest
from moto.server import ThreadedMotoServer

from local.dnsserver import DNSServer
from local.pipeline import LocalPipeline
from local.world import DQS_KEY, story_world
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


@pytest.fixture(scope="session")
def moto_server():
    """A moto server on a free loopback port: the handlers talk to it over HTTP, as to AWS."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield "http://{}:{}".format(*server.get_host_and_port())
    server.stop()


@pytest.fixture
def fake_aws():
    """Fake credentials and a region for moto; the environment is restored afterwards."""
    saved = dict(os.environ)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def aws_env(fake_aws, moto_server):
    """AWS is the moto server: handlers talk to it over HTTP, as to AWS."""
    os.environ["AWS_ENDPOINT_URL"] = moto_server


@pytest.fixture
def story():
    with DNSServer(story_world()) as server:
        yield server


@pytest.fixture
def pipeline(aws_env, story):
    """The stack on moto, with a Spamhaus DQS key in SSM Parameter Store as a user would keep it."""
    ssm = boto3.client("ssm")  # the moto server lives for the whole session: the key may be there
    ssm.put_parameter(Name="/senderwatch/dqs-key", Value=DQS_KEY, Type="SecureString", Overwrite=True)
    return LocalPipeline(dns=story.address, env={"DQS_KEY_PARAMETER": "/senderwatch/dqs-key"}).create()
