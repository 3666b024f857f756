"""`make local-stack` and `make invoke`: the functions as `sam local invoke` runs them, on this machine.

    make local-stack      the stack's resources (from template.yaml) on a moto server, the demo's
                          DNS world, its targets; writes the --env-vars files; runs until Ctrl-C
    make invoke FUNCTION=CheckerFunction EVENT=events/sqs-check-batch.json
                          what `sam local invoke` does, without Docker: the built function and
                          layer (.aws-sam/build), Python 3.13, no site-packages, the env file, the
                          event, a Lambda context; prints the logs and the response. Uses the
                          running local stack, or starts one for the invocation.

The env files (.local-stack/): env.json for `sam local invoke --env-vars` (endpoints a container
reaches: the Docker host, LOCAL_STACK_CONTAINER_HOST, 172.17.0.1 by default on Linux), and
env-local.json (the same names, endpoints on 127.0.0.1) for a process on this machine.
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
from .localaws import REPO, BuiltFunctions, LocalPipeline, lambda_python
from .world import DOMAIN, DQS_KEY, IPV4, IPV6, story_world

STATE = REPO / ".local-stack"
BUILD = REPO / ".aws-sam" / "build"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_REGION": "eu-central-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}
DQS_PARAMETER = "/senderwatch/dqs-key"


class LocalStack:
    """A moto server with the stack's resources, the demo's DNS world and its two targets."""

    def __init__(self, bind: str = "127.0.0.1"):
        self.bind = bind
        self.moto: ThreadedMotoServer | None = None
        self.dns: DNSServer | None = None
        self.pipeline: LocalPipeline | None = None

    def __enter__(self) -> LocalStack:
        self._saved_env = dict(os.environ)
        os.environ.update(CREDENTIALS)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.moto = ThreadedMotoServer(ip_address=self.bind, port=0, verbose=False)
        self.moto.start()
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{self.moto.get_host_and_port()[1]}"
        self.dns = DNSServer(story_world(), host=self.bind).__enter__()
        boto3.client("ssm").put_parameter(Name=DQS_PARAMETER, Value=DQS_KEY, Type="SecureString")
        self.pipeline = LocalPipeline(dns=("127.0.0.1", self.dns.address[1]), env={"DQS_KEY_PARAMETER": DQS_PARAMETER})
        self.pipeline.create()
        for ip, label in ((IPV4, "postfix-1"), (IPV6, "postfix-1 (IPv6)")):
            self.pipeline.put_target({"ip": ip, "sender": DOMAIN, "label": label, "enabled": True})
        return self

    def __exit__(self, *exc) -> None:
        if self.dns:
            self.dns.__exit__(None, None, None)
        if self.moto:
            self.moto.stop()
        os.environ.clear()
        os.environ.update(self._saved_env)

    def env(self, host: str = "127.0.0.1") -> dict[str, str]:
        """What the functions need to run against this stack, reached at HOST."""
        names = {k: v for k, v in self.pipeline.env.items() if k not in ("NAMESERVERS", "POWERTOOLS_LOG_LEVEL")}
        return {
            **CREDENTIALS,
            **names,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "AWS_ENDPOINT_URL": f"http://{host}:{self.moto.get_host_and_port()[1]}",
            "NAMESERVERS": f"{host}:{self.dns.address[1]}",
        }

    def write_env_files(self) -> None:
        STATE.mkdir(exist_ok=True)
        container = os.environ.get("LOCAL_STACK_CONTAINER_HOST", "172.17.0.1")
        (STATE / "env.json").write_text(json.dumps({"Parameters": self.env(container)}, indent=2) + "\n")
        (STATE / "env-local.json").write_text(json.dumps({"Parameters": self.env()}, indent=2) + "\n")
        (STATE / "state.json").write_text(json.dumps({"pid": os.getpid()}) + "\n")


def _running() -> dict | None:
    """The env of a local stack another process runs (make local-stack), if one answers."""
    try:
        pid = json.loads((STATE / "state.json").read_text())["pid"]
        os.kill(pid, 0)
        env = json.loads((STATE / "env-local.json").read_text())["Parameters"]
        urllib.request.urlopen(env["AWS_ENDPOINT_URL"] + "/moto-api/", timeout=2).close()  # noqa: S310 - loopback
    except (OSError, ValueError, KeyError):
        return None
    return env


def serve() -> int:
    with LocalStack(bind="0.0.0.0") as stack:  # noqa: S104 - sam local invoke's containers must reach it
        stack.write_env_files()
        env = stack.env()
        print(f"moto (AWS):  {env['AWS_ENDPOINT_URL']}    DNS world: {env['NAMESERVERS']}")
        print(f"tables, queues and topic from template.yaml; targets {IPV4} and {IPV6}")
        print(f"env files:   {STATE / 'env.json'} (for containers), {STATE / 'env-local.json'}")
        print("\nIn another terminal:")
        print("  make invoke FUNCTION=CheckerFunction EVENT=events/sqs-check-batch.json")
        print("  sam local invoke CheckerFunction -e events/sqs-check-batch.json --env-vars .local-stack/env.json")
        print("\nListening on every interface, so that containers reach it. Ctrl-C stops it.", flush=True)
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        try:
            while not stopping:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            (STATE / "state.json").unlink(missing_ok=True)
    return 0


def invoke(function: str, event_path: str) -> int:
    if not (BUILD / function / "app.py").is_file():
        print(
            f"no built {function} in .aws-sam/build: is the name right (SchedulerFunction, CheckerFunction,"
            " NotifierFunction), and was `make build` run?",
            file=sys.stderr,
        )
        return 2
    event = json.loads(Path(event_path).read_text())
    env = _running()
    if env is not None:
        return _run(function, event_path, event, env, "the running local stack")
    with LocalStack() as stack:
        return _run(function, event_path, event, stack.env(), "a local stack started for this invocation")


def _run(function: str, event_path: str, event: dict, env: dict, where: str) -> int:
    runner = BuiltFunctions(BUILD)
    python = lambda_python()
    print(f"--- {function} from .aws-sam/build, {Path(python).name} -S, event {event_path}, on {where}")
    started = time.perf_counter()
    response, logs = runner.invoke(function, event, {"PATH": os.environ.get("PATH", ""), **env})
    took = (time.perf_counter() - started) * 1000
    print("--- logs")
    print("\n".join(logs) if logs else "(none)")
    print(f"--- response ({took:.0f} ms, interpreter start included)")
    print(json.dumps(response, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.localstack")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the local stack until Ctrl-C")
    run = commands.add_parser("invoke", help="run a built function on an event")
    run.add_argument("function", help="SchedulerFunction, CheckerFunction or NotifierFunction")
    run.add_argument("event", help="a file in events/")
    args = parser.parse_args()
    return serve() if args.command == "serve" else invoke(args.function, args.event)


if __name__ == "__main__":
    raise SystemExit(main())
