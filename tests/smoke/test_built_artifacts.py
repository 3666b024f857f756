"""The functions as `sam build` made them (.aws-sam/build), with the built layer and nothing
else, against moto: a dependency missing from the layer fails here, not in the user's account."""

import shutil
import subprocess

import pytest

from local.pipeline import REPO, BuiltFunctions, LocalPipeline, built_paths
from local.world import DOMAIN, IPV4, IPV6

BUILD = REPO / ".aws-sam" / "build"


@pytest.fixture
def built():
    if not (BUILD / "SenderwatchLayer" / "python" / "senderwatch").is_dir():
        pytest.fail("no `sam build` output in .aws-sam/build: run `make build` (make test does)")
    return BuiltFunctions(BUILD)


def test_built_functions_run_the_story(aws_env, story, built):
    pipeline = LocalPipeline(dns=story.address, runner=built).create()
    pipeline.put_target({"ip": IPV4, "sender": DOMAIN, "label": "postfix-1"})
    pipeline.put_target({"ip": IPV6, "sender": DOMAIN, "label": "postfix-1"})
    pipeline.settle()
    events = sorted((a["event"], a["ip"]) for a in pipeline.inbox("email"))
    assert ("LISTED", IPV4) in events and ("SPF_FAILING", IPV6) in events
    assert pipeline.item(IPV4)["findings"]["dnsbl"]["dnsbl.justspam.org"]["status"] == "listed"


def test_the_built_digest_tells_of_the_run(aws_env, story, built):
    pipeline = LocalPipeline(dns=story.address, runner=built).create()
    pipeline.put_target({"ip": IPV4, "sender": DOMAIN, "label": "postfix-1"})
    pipeline.settle()  # its first check
    pipeline.run()  # and a scheduled run
    pipeline.inbox("email"), pipeline.inbox("sms")
    reply = pipeline.invoke("digest", {"source": "senderwatch.digest"})
    assert reply["wrong"] is True and (reply["targets"], reply["runs"], reply["open"]) == (1, 1, 1)
    (email,) = pipeline.inbox("email")
    assert email["event"] == "DIGEST" and "192.0.2.25 (postfix-1): listed on dnsbl.justspam.org" in email["email"]
    (sms,) = pipeline.inbox("sms")
    assert sms["sms"].startswith("senderwatch digest: 1 listed;")


def test_a_dependency_missing_from_the_layer_fails(aws_env, story, built, tmp_path):
    """The runner sees only the build: without dnspython in the layer, the checker cannot import."""
    shutil.copytree(BUILD / "CheckerFunction", tmp_path / "CheckerFunction")
    shutil.copytree(
        BUILD / "SenderwatchLayer", tmp_path / "SenderwatchLayer", ignore=shutil.ignore_patterns("dns", "dnspython-*")
    )
    pipeline = LocalPipeline(dns=story.address, runner=BuiltFunctions(tmp_path, built.python)).create()
    with pytest.raises(RuntimeError, match="No module named 'dns'"):
        pipeline.invoke("checker", {"Records": []})


@pytest.mark.parametrize("function", ["SchedulerFunction", "CheckerFunction", "NotifierFunction", "DigestFunction"])
def test_a_cold_start_prints_nothing_and_loads_no_xray_sdk(built, function):
    """Every daily run starts cold: no warning in every log, and no SDK that costs 100 ms to load."""
    code = "import sys; sys.path[:0] = sys.argv[1:]; import app; print(sorted(m for m in sys.modules if 'xray' in m))"
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-central-1", "TABLE_NAME": "t", "QUEUE_URL": "q"}
    env |= {"TOPIC_ARN": "arn:aws:sns:eu-central-1:123456789012:t", "IDEMPOTENCY_TABLE_NAME": "i"}
    env |= {"HISTORY_TABLE_NAME": "h", "HEALTH_TABLE_NAME": "he"}
    proc = subprocess.run(
        [built.python, "-S", "-W", "default", "-c", code, *built_paths(BUILD, function)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert (proc.stderr, proc.stdout.strip()) == ("", "[]")
