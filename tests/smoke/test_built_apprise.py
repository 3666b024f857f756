"""The Apprise function as `sam build` made it: Apprise and its dependencies in its own package and
nowhere else, a cold start that prints nothing, and an alert delivered to a webhook on loopback,
under Python 3.13 without site-packages, against a moto server."""

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from local.pipeline import REPO, BuiltFunctions, LocalPipeline, built_paths
from senderwatch.alerttext import render
from senderwatch.aws import publish_args
from senderwatch.findings import Alert, Event

BUILD = REPO / ".aws-sam" / "build"


@pytest.fixture
def built():
    if not (BUILD / "AppriseFunction" / "app.py").is_file():
        pytest.fail("no `sam build` output in .aws-sam/build: run `make build` (make test does)")
    return BuiltFunctions(BUILD)


def test_apprise_is_in_its_function_alone():
    assert (BUILD / "AppriseFunction" / "apprise" / "__init__.py").is_file()
    assert not (BUILD / "SenderwatchLayer" / "python" / "apprise").exists()
    for other in ("SchedulerFunction", "CheckerFunction", "NotifierFunction", "DigestFunction", "BouncesFunction"):
        assert sorted(p.name for p in (BUILD / other).iterdir()) == ["app.py"], other


def test_its_cold_start_prints_nothing(built):
    code = "import sys; sys.path[:0] = sys.argv[1:]; import app; print('apprise' in sys.modules)"
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-central-1", "HEALTH_TABLE_NAME": "he"}
    env |= {"APPRISE_URLS_PARAMETER": "/senderwatch/apprise-urls", "APPRISE_DEAD_LETTER_URL": "q"}
    proc = subprocess.run(
        [built.python, "-S", "-W", "default", "-c", code, *built_paths(BUILD, "AppriseFunction")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert (proc.stderr, proc.stdout.strip()) == ("", "True")


def test_the_built_function_delivers_an_alert(aws_env, built):
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sqs = boto3.client("sqs")
        dlq = sqs.create_queue(QueueName="senderwatch-apprise-dead-letters")["QueueUrl"]
        boto3.client("ssm").put_parameter(
            Name="/senderwatch/apprise-urls",
            Value=f"json://127.0.0.1:{server.server_address[1]}/hooks/abc LISTED\n",
            Type="SecureString",
            Overwrite=True,
        )
        env = {"APPRISE_URLS_PARAMETER": "/senderwatch/apprise-urls", "APPRISE_DEAD_LETTER_URL": dlq}
        pipeline = LocalPipeline(runner=built, env=env).create()
        text = render(Alert(Event.LISTED, "192.0.2.25", "2026-12-08T06:00:00+00:00", "dnsbl.justspam.org"))
        published = publish_args(text, pipeline.topic_arn)
        message = json.loads(published["Message"])["lambda"]
        event = {"Records": [{"Sns": {"MessageId": "m1", "Subject": text.subject, "Message": message}}]}
        assert pipeline.invoke("apprise", event) == {"delivered": 1, "parked": 0}
    finally:
        server.shutdown()
        server.server_close()
    ((path, document),) = received
    assert path == "/hooks/abc" and document["title"] == text.subject and document["type"] == "failure"
