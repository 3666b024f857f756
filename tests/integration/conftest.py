"""Handlers against in-process moto (mock_aws) and the story's DNS world."""

import json
import logging
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local.dnsserver import DNSServer
from local.pipeline import LocalPipeline
from local.world import DQS_KEY, story_world
from senderwatch.commands import main
from tests.support import awsfixtures

EVENTS = Path(__file__).resolve().parents[2] / "events"

fake_aws = awsfixtures.fake_aws  # fake credentials, for the stack on in-process moto


@pytest.fixture
def event():
    """The sample events users pass to `sam local invoke -e`."""
    return lambda name: json.loads((EVENTS / name).read_text())


@pytest.fixture
def local(fake_aws):
    """The stack on in-process moto, with the story's DNS world."""
    with mock_aws(), DNSServer(story_world()) as dns:
        # Spamhaus through a DQS key kept in SSM, as a user on AWS would set it up
        boto3.client("ssm").put_parameter(Name="/senderwatch/dqs-key", Value=DQS_KEY, Type="SecureString")
        pipeline = LocalPipeline(dns=dns.address, env={"DQS_KEY_PARAMETER": "/senderwatch/dqs-key"}).create()
        pipeline.dns_server = dns
        yield pipeline


@pytest.fixture
def logs():
    """What the functions and the package log (the "senderwatch" logger Powertools owns), as records."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("senderwatch")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def cli(capsys):
    """The `senderwatch` command in this process: each call gives (exit status, stdout, stderr)."""

    def run(*argv):
        capsys.readouterr()  # what came before it (the functions' logs)
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return run
