"""AWS for the tests that talk to it: fake credentials, a moto server on loopback, the stack on it.

The conftests of tests/integration, tests/e2e and tests/smoke take the fixtures they use from here
by name, so that the unit tests load neither moto nor boto3. Each of those folders starts its own
moto server, once, on the first test that asks for it.
"""

from __future__ import annotations

import os

import boto3
import pytest
from moto.server import ThreadedMotoServer

from local.pipeline import LocalPipeline
from local.world import DQS_KEY


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
def pipeline(aws_env, story):
    """The stack on moto, with a Spamhaus DQS key in SSM Parameter Store as a user would keep it."""
    ssm = boto3.client("ssm")  # the moto server lives for the whole session: the key may be there
    ssm.put_parameter(Name="/senderwatch/dqs-key", Value=DQS_KEY, Type="SecureString", Overwrite=True)
    return LocalPipeline(dns=story.address, env={"DQS_KEY_PARAMETER": "/senderwatch/dqs-key"}).create()
