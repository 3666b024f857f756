"""Handlers against in-process moto (mock_aws) and the story's DNS world."""

import json
import os
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from senderwatch.testing.dnsserver import DNSServer
from senderwatch.testing.localaws import LocalPipeline
from senderwatch.testing.world import DQS_KEY, story_world

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture
def event():
    """The sample events users pass to `sam local invoke -e`."""
    return lambda name: json.loads((EVENTS / name).read_text())


@pytest.fixture
def local():
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
    try:
        with mock_aws(), DNSServer(story_world()) as dns:
            # Spamhaus through a DQS key kept in SSM, as a user on AWS would set it up
            boto3.client("ssm").put_parameter(Name="/senderwatch/dqs-key", Value=DQS_KEY, Type="SecureString")
            pipeline = LocalPipeline(dns=dns.address, env={"DQS_KEY_PARAMETER": "/senderwatch/dqs-key"}).create()
            pipeline.dns_server = dns
            yield pipeline
    finally:
        os.environ.clear()
        os.environ.update(saved)
