"""The story's pipeline on a moto server (tests/support/awsfixtures.py)."""

from tests.support import awsfixtures

fake_aws = awsfixtures.fake_aws
moto_server = awsfixtures.moto_server
aws_env = awsfixtures.aws_env
pipeline = awsfixtures.pipeline
