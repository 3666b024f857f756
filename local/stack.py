"""`make local-stack` and `make invoke`: the functions as `sam local invoke` runs them, on this machine.

    make local-stack      the stack's resources (from template.yaml) on a moto server, the demo's
                          DNS world, its targets; writes the --env-vars files; runs until Ctrl-C
    make invoke FUNCTION=CheckerFunction EVENT=events/sqs-check-batch.json
                          what `sam local invoke` does, without Docker: the built function and
                          layer (.aws-sam/build), Python 3.13, no site-packages, the env file, the
                          event, a Lambda context; prints the logs, the response and what reached
                          the alert topic. Uses the running local stack, or starts one for the call.

The env files (.local-stack/) hold the variables template.yaml declares, which are all that
`sam local invoke --env-vars` passes on: env.json with endpoints a container reaches (the
Docker host: LOCAL_STACK_CONTAINER_HOST, 172.17.0.1 by default, Docker on Linux), env-local.json
with the same names on 127.0.0.1. The region (eu-central-1) and credentials are not among them:
SAM takes those from `--region` and your AWS configuration (moto accepts any credentials).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from .dnsserver import DNSServer
from .pipeline import REPO, BuiltFunctions, LocalPipeline, lambda_python, load_template
from .world import DOMAIN, DQS_KEY, IPV4, IPV6, MAIL_HOST, story_world

STATE = REPO / ".local-stack"
BUILD = REPO / ".aws-sam" / "build"
REGION = "eu-central-1"
CREDENTIALS = {  # what sam local invoke passes from --region and your AWS configuration
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
DQS_PARAMETER = "/senderwatch/dqs-key"


def declared() -> list[str]:
    """The variables template.yaml gives every function: what --env-vars can set."""
    return list(load_template()["Globals"]["Function"]["Environment"]["Variables"])


STACK = "senderwatch-local"  # the stack name the local stack answers to


class LocalStack:
    """A moto server with the stack's resources, the demo's DNS world and its targets: the two
    addresses, and the mail host by name."""

    def __init__(self, bind: str = "127.0.0.1"):
        self.bind = bind
        self.moto: ThreadedMotoServer | None = None
        self.dns: DNSServer | None = None
        self.pipeline: LocalPipeline | None = None

    def __enter__(self) -> LocalStack:
        self._saved_env = dict(os.environ)
        os.environ.update(CREDENTIALS, AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        try:
            self.moto = ThreadedMotoServer(ip_address=self.bind, port=0, verbose=False)
            self.moto.start()
            os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{self.moto.get_host_and_port()[1]}"
            self.dns = DNSServer(story_world(), host=self.bind).__enter__()
            ssm = boto3.client("ssm")  # moto keeps its state per process: an earlier server's key may be there
            ssm.put_parameter(Name=DQS_PARAMETER, Value=DQS_KEY, Type="SecureString", Overwrite=True)
            self.pipeline = LocalPipeline(
                dns=("127.0.0.1", self.dns.address[1]), env={"DQS_KEY_PARAMETER": DQS_PARAMETER}
            ).create()
            for ip, label in ((IPV4, "postfix-1"), (IPV6, "postfix-1 (IPv6)"), (MAIL_HOST, "postfix-1 (host)")):
                self.pipeline.put_target({"ip": ip, "sender": DOMAIN, "label": label, "enabled": True})
            # for `senderwatch doctor|test-alert|status --stack senderwatch-local` against it
            self.pipeline.register_stack(STACK, {"DqsKeyParameter": DQS_PARAMETER})
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.dns:
            self.dns.__exit__(None, None, None)
        if self.moto:
            self.moto.stop()
        os.environ.clear()
        os.environ.update(self._saved_env)

    def env(self, host: str = "127.0.0.1") -> dict[str, str]:
        """The declared variables, set for this stack reached at HOST."""
        endpoint = f"http://{host}:{self.moto.get_host_and_port()[1]}"
        values = {
            **self.pipeline.env,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "QUEUE_URL": self.pipeline.queue_url.replace("127.0.0.1", host),
            "NAMESERVERS": f"{host}:{self.dns.address[1]}",
            "LOCAL_AWS_ENDPOINT": endpoint,
        }
        return {name: values.get(name, "") for name in declared()}

    def write_files(self, where: Path = STATE) -> None:
        where.mkdir(exist_ok=True)
        container = os.environ.get("LOCAL_STACK_CONTAINER_HOST", "172.17.0.1")
        (where / "env.json").write_text(json.dumps({"Parameters": self.env(container)}, indent=2) + "\n")
        (where / "env-local.json").write_text(json.dumps({"Parameters": self.env()}, indent=2) + "\n")
        (where / "state.json").write_text(json.dumps({"pid": os.getpid(), "inbox": self.pipeline.inboxes}) + "\n")

    def remove_files(self, where: Path = STATE) -> None:
        for name in ("state.json", "env.json", "env-local.json"):
            (where / name).unlink(missing_ok=True)


def _running() -> tuple[dict, dict] | None:
    """The env and the inboxes of a local stack another process runs (make local-stack), if one answers."""
    try:
        state = json.loads((STATE / "state.json").read_text())
        os.kill(state["pid"], 0)
        env = json.loads((STATE / "env-local.json").read_text())["Parameters"]
        urllib.request.urlopen(env["LOCAL_AWS_ENDPOINT"] + "/moto-api/", timeout=2).close()  # noqa: S310 - loopback
    except (OSError, ValueError, KeyError):
        return None
    return env, state["inbox"]


def serve() -> int:
    if _running() is not None:
        print("a local stack already runs (.local-stack/state.json): stop it first", file=sys.stderr)
        return 2
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        with LocalStack(bind="0.0.0.0") as stack:  # noqa: S104 - sam local invoke's containers must reach it
            stack.write_files()
            env = stack.env()
            print(f"moto (AWS):  {env['LOCAL_AWS_ENDPOINT']}    DNS world: {env['NAMESERVERS']}")
            print(f"tables, queues and topic from template.yaml; targets {IPV4}, {IPV6} and {MAIL_HOST}")
            print("env files:   .local-stack/env.json (for containers), .local-stack/env-local.json")
            print("\nIn another terminal:")
            print("  make invoke FUNCTION=CheckerFunction EVENT=events/sqs-check-batch.json")
            print(
                f"  AWS_ENDPOINT_URL={env['LOCAL_AWS_ENDPOINT']} AWS_ACCESS_KEY_ID=testing"
                f" AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={REGION}"
                f" .venv/bin/senderwatch doctor --stack {STACK}"
            )
            print(
                "  sam local invoke CheckerFunction -e events/sqs-check-batch.json"
                f" --env-vars .local-stack/env.json --region {REGION}"
            )
            print("\nListening on every interface, so that containers reach it. Ctrl-C stops it.", flush=True)
            try:
                while not stopping:
                    time.sleep(0.5)
            finally:
                stack.remove_files()
    except KeyboardInterrupt:
        pass
    return 0


def invoke(function: str, event_path: str) -> int:
    if not (BUILD / function / "app.py").is_file():
        print(
            f"no built {function!r} in .aws-sam/build: the functions are SchedulerFunction, CheckerFunction,"
            " NotifierFunction, DigestFunction and BouncesFunction (make build builds them)",
            file=sys.stderr,
        )
        return 2
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read the event {event_path!r}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    running = _running()
    if running is not None:
        return _run(function, event_path, event, *running, "the running local stack")
    with LocalStack() as stack:
        return _run(function, event_path, event, stack.env(), stack.pipeline.inboxes, "a local stack started for it")


def _run(function: str, event_path: str, event: dict, env: dict, inboxes: dict, where: str) -> int:
    print(f"--- {function} from .aws-sam/build, {Path(lambda_python()).name} -S, event {event_path}, on {where}")
    started = time.perf_counter()
    try:
        response, logs = BuiltFunctions(BUILD).invoke(function, event, {**env, **CREDENTIALS})
    except RuntimeError as exc:  # it did not even start (an import failed)
        print(f"--- the function did not start\n{exc}")
        return 1
    took = (time.perf_counter() - started) * 1000
    print("--- logs")
    print("\n".join(logs) if logs else "(none)")
    print(f"--- response ({took:.0f} ms, interpreter start included)")
    print(json.dumps(response, indent=2))
    published = _published(env["LOCAL_AWS_ENDPOINT"], inboxes)
    if published:
        print("--- published to the alert topic (as the email and SMS subscribers get it)")
        for alert in published:
            print(f"subject: {alert['subject']}\nsms:     {alert['sms']}\n" + alert["email"].rstrip())
    return 1 if "errorType" in response else 0


def _published(endpoint: str, inboxes: dict) -> list[dict]:
    """What reached the topic's email subscriber during the call (the local stack's inbox queue)."""
    sqs = boto3.client("sqs", endpoint_url=endpoint, **_session())
    out = []
    while got := sqs.receive_message(QueueUrl=inboxes["email"], MaxNumberOfMessages=10).get("Messages", []):
        for message in got:
            out.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=inboxes["email"], ReceiptHandle=message["ReceiptHandle"])
    return out


def _session() -> dict:
    return {
        "region_name": REGION,
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local.stack")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the local stack until Ctrl-C")
    run = commands.add_parser("invoke", help="run a built function on an event")
    run.add_argument("function", help="SchedulerFunction, CheckerFunction, NotifierFunction or BouncesFunction")
    run.add_argument("event", help="a file in events/")
    args = parser.parse_args()
    return serve() if args.command == "serve" else invoke(args.function, args.event)


if __name__ == "__main__":
    raise SystemExit(main())
