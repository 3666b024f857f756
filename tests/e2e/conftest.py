import os

import boto3
import pytest
from moto.server import ThreadedMotoServer

from senderwatch.testing.dnsserver import DNSServer
from senderwatch.testing.localaws import LocalPipeline
from senderwatch.testing.world import DQS_KEY, story_world


@pytest.fixture(scope="session")
def moto_server():
    """A moto server on a free loopback port: the handlers talk to it over HTTP, as to AWS."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield "http://{}:{}".format(*server.get_host_and_port())
    server.stop()


@pytest.fixture
def aws_env(moto_server):
    saved = dict(os.environ)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "AWS_ENDPOINT_URL": moto_server,
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def story():
    with DNSServer(story_world()) as server:
        yield server


@pytest.fixture
def pipeline(aws_env, story):
    """The stack on moto, with a Spamhaus DQS key in SSM Parameter Store as a user would keep it."""
    boto3.client("ssm").put_parameter(Name="/senderwatch/dqs-key", Value=DQS_KEY, Type="SecureString")
    return LocalPipeline(dns=story.address, env={"DQS_KEY_PARAMETER": "/senderwatch/dqs-key"}).create()
