"""The functions as `sam build` made them (.aws-sam/build), with the built layer and nothing
else, against moto: a dependency missing from the layer fails here, not in the user's account."""

import shutil

import pytest

from tests.support.localaws import REPO, BuiltFunctions, LocalPipeline
from tests.support.world import DOMAIN, IPV4, IPV6

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


def test_a_dependency_missing_from_the_layer_fails(aws_env, story, built, tmp_path):
    """The runner sees only the build: without dnspython in the layer, the checker cannot import."""
    shutil.copytree(BUILD / "CheckerFunction", tmp_path / "CheckerFunction")
    shutil.copytree(
        BUILD / "SenderwatchLayer", tmp_path / "SenderwatchLayer", ignore=shutil.ignore_patterns("dns", "dnspython-*")
    )
    pipeline = LocalPipeline(dns=story.address, runner=BuiltFunctions(tmp_path, built.python)).create()
    with pytest.raises(RuntimeError, match="No module named 'dns'"):
        pipeline.invoke("checker", {"Records": []})
