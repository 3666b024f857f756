"""`make local-stack` and `make invoke`: the functions as `sam local invoke` runs them, on this machine.

    make local-stack      the stack's resources (from template.yaml) on a moto server, the demo's
                          DNS world, its targets; writes the --env-vars files; runs until Ctrl-C,
                          doing what AWS would fire: the targets table's stream to the scheduler
                          (a target added is checked), the check queue to the checker (a run,
                          check-now), the findings' and health's streams to the notifier; the
                          alerts it delivers go to the terminal and .local-stack/alerts.log
    make local-run        the daily schedule, now: waits for the run and prints its alerts
    make local-world CHANGE='list 192.0.2.77 dnsbl.justspam.org'
                          changes the DNS world the running stack checks against (its file,
                          .local-stack/world.json, which the stack reads again when it changes)
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
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from .dnsserver import DNSServer
from .pipeline import REPO, BuiltFunctions, LocalPipeline, lambda_python, load_template
from .world import (
    DOMAIN,
    DQS_KEY,
    IPV4,
    IPV6,
    MAIL_HOST,
    WORLD_USAGE,
    change_scenario,
    check_scenario,
    describe,
    scenario_world,
    story_scenario,
)

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
APPRISE_PARAMETER = "/senderwatch/apprise-urls"


def declared() -> list[str]:
    """The variables template.yaml gives the functions (every function's, then those a function
    declares itself, e.g. the Apprise function's): what --env-vars can set."""
    template = load_template()
    names = list(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            own = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
            names += [name for name in own if name not in names]
    return names


class Webhook:
    """A JSON webhook on loopback, the local stack's one Apprise URL (`json://127.0.0.1:PORT/senderwatch`,
    in the SSM parameter the Apprise function reads): what it was sent, as Apprise's JSON."""

    def __init__(self, host: str = "127.0.0.1"):
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                try:
                    received.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
                except ValueError:
                    received.append({})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/senderwatch"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


STACK = "senderwatch-local"  # the stack name the local stack answers to


class LocalStack:
    """A moto server with the stack's resources, the demo's DNS world and its targets: the two
    addresses, and the mail host by name."""

    def __init__(self, bind: str = "127.0.0.1", state: Path = STATE):
        self.bind = bind
        self.state = state
        self._world = ""  # the world file's text the DNS server serves
        self.moto: ThreadedMotoServer | None = None
        self.dns: DNSServer | None = None
        self.pipeline: LocalPipeline | None = None
        self.webhook: Webhook | None = None

    def __enter__(self) -> LocalStack:
        self._saved_env = dict(os.environ)
        os.environ.update(CREDENTIALS, AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        try:
            self.moto = ThreadedMotoServer(ip_address=self.bind, port=0, verbose=False)
            self.moto.start()
            os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{self.moto.get_host_and_port()[1]}"
            self.dns = DNSServer(scenario_world(story_scenario()), host=self.bind).__enter__()
            ssm = boto3.client("ssm")  # moto keeps its state per process: an earlier server's key may be there
            ssm.put_parameter(Name=DQS_PARAMETER, Value=DQS_KEY, Type="SecureString", Overwrite=True)
            self.webhook = Webhook(self.bind)
            ssm.put_parameter(Name=APPRISE_PARAMETER, Value=self.webhook.url, Type="SecureString", Overwrite=True)
            parked = boto3.client("sqs").create_queue(QueueName="senderwatch-local-apprise-dlq")["QueueUrl"]
            env = {"DQS_KEY_PARAMETER": DQS_PARAMETER, "APPRISE_URLS_PARAMETER": APPRISE_PARAMETER}
            env["STACK_NAME"] = STACK  # as the template's Globals set it: alerts name --stack senderwatch-local
            env["APPRISE_DEAD_LETTER_URL"] = parked
            self.pipeline = LocalPipeline(dns=("127.0.0.1", self.dns.address[1]), env=env).create()
            for ip, label in ((IPV4, "postfix-1"), (IPV6, "postfix-1 (IPv6)"), (MAIL_HOST, "postfix-1 (host)")):
                self.pipeline.put_target({"ip": ip, "sender": DOMAIN, "label": label, "enabled": True})
            # for `senderwatch doctor|test-alert|status --stack senderwatch-local` against it
            self.pipeline.register_stack(STACK, {"DqsKeyParameter": DQS_PARAMETER})
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.webhook:
            self.webhook.close()
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
            "APPRISE_DEAD_LETTER_URL": self.pipeline.env["APPRISE_DEAD_LETTER_URL"].replace("127.0.0.1", host),
            "NAMESERVERS": f"{host}:{self.dns.address[1]}",
            "LOCAL_AWS_ENDPOINT": endpoint,
        }
        return {name: values.get(name, "") for name in declared()}

    def write_files(self, where: Path | None = None) -> None:
        """The env files, the state, the world file (the story as it began); WHERE, if given, is
        where the stack keeps its files from now on."""
        where = self.state = where or self.state
        where.mkdir(exist_ok=True)
        _write(where / WORLD, json.dumps(story_scenario(), indent=2) + "\n")
        self._world = (where / WORLD).read_text()
        for name in (ALERTS, ALERTS_JSON, TRIGGER):
            (where / name).unlink(missing_ok=True)
        container = os.environ.get("LOCAL_STACK_CONTAINER_HOST", "172.17.0.1")
        (where / "env.json").write_text(json.dumps({"Parameters": self.env(container)}, indent=2) + "\n")
        (where / "env-local.json").write_text(json.dumps({"Parameters": self.env()}, indent=2) + "\n")
        (where / "state.json").write_text(json.dumps({"pid": os.getpid(), "inbox": self.pipeline.inboxes}) + "\n")

    def remove_files(self) -> None:
        for name in ("state.json", "env.json", "env-local.json", TRIGGER):
            (self.state / name).unlink(missing_ok=True)

    # -- what AWS would fire, while it runs ------------------------------------------------------

    def step(self) -> str:
        """One turn of the stack: the world file read again if it changed, the schedule fired if
        a run was asked for (the trigger file), then the queue and the streams delivered until
        nothing moves; returns the alerts delivered, as text (also appended to the alert log)."""
        triggered = (self.state / TRIGGER).exists()  # before the world: a run sees the world it was asked in
        self.reload_world()
        if triggered:
            self.pipeline.schedule()
        self.pipeline.settle()
        email, sms = self.pipeline.inbox("email"), self.pipeline.inbox("sms")
        text = ""
        if email or sms:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            text = f"=== {when}\n" + self.pipeline.alerts_text(email, sms)
            with open(self.state / ALERTS, "a", encoding="utf-8") as log:
                log.write(text + "\n")
            with open(self.state / ALERTS_JSON, "a", encoding="utf-8") as log:
                log.write("".join(json.dumps(alert) + "\n" for alert in email))
        if triggered:
            (self.state / TRIGGER).unlink(missing_ok=True)  # the run is over: `make local-run` returns
        return text + self.channel_text()

    def channel_text(self) -> str:
        """What the Apprise URL (the stack's webhook) was sent since the last look (`make invoke
        FUNCTION=AppriseFunction`: the topic does not fire functions on moto)."""
        out = ""
        while self.webhook and self.webhook.received:
            sent = self.webhook.received.pop(0)
            out += "--- sent to the Apprise URL (the local stack's JSON webhook, as Apprise's JSON)\n"
            out += f"title:   {sent.get('title')}\ntype:    {sent.get('type')}\n"
            out += str(sent.get("message", "")).rstrip() + "\n"
        return out

    def reload_world(self) -> None:
        """Serve the world file's scenario when its text changed; a file that does not read says why
        on stderr and the world stays as it was."""
        try:
            text = (self.state / WORLD).read_text(encoding="utf-8")
        except OSError:
            return
        if text == self._world:
            return
        self._world = text
        try:
            scenario = check_scenario(json.loads(text))
            data = scenario_world(scenario)
            self.dns.load(data)
        except ValueError as exc:
            print(f"{WORLD}: {exc}: the world stays as it was", file=sys.stderr, flush=True)
            return
        self.dns.delay = float(scenario["slow"])
        print(f"--- the DNS world is now {WORLD}: {describe(scenario)}", flush=True)


WORLD = "world.json"  # the DNS world's scenario, which the user changes
TRIGGER = "run-now"  # present: run the schedule now (make local-run); removed when the run is over
ALERTS = "alerts.log"  # the alerts, as the subscribers read them
ALERTS_JSON = "alerts.jsonl"  # the alerts, one JSON document a line, as programs subscribed get them


def _write(path: Path, text: str) -> None:
    """Replace PATH's text at once: the running stack never reads half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _running(where: Path = STATE) -> tuple[dict, dict] | None:
    """The env and the inboxes of a local stack another process runs (make local-stack), if one answers."""
    try:
        state = json.loads((where / "state.json").read_text())
        os.kill(state["pid"], 0)
        env = json.loads((where / "env-local.json").read_text())["Parameters"]
        urllib.request.urlopen(env["LOCAL_AWS_ENDPOINT"] + "/moto-api/", timeout=2).close()  # noqa: S310 - loopback
    except (OSError, ValueError, KeyError):
        return None
    return env, state["inbox"]


def serve(state: Path = STATE, bind: str = "0.0.0.0") -> int:  # noqa: S104 - containers must reach it
    if _running(state) is not None:
        print(f"a local stack already runs ({state / 'state.json'}): stop it first", file=sys.stderr)
        return 2
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # the functions' metric lines would drown the alerts
    shown = state.relative_to(REPO) if state.is_relative_to(REPO) else state
    try:
        with LocalStack(bind=bind, state=state) as stack:
            stack.write_files()
            env = stack.env()
            print(f"moto (AWS):  {env['LOCAL_AWS_ENDPOINT']}    DNS world: {env['NAMESERVERS']}")
            print(f"tables, queues and topic from template.yaml; targets {IPV4}, {IPV6} and {MAIL_HOST}")
            print(f"env files:   {shown}/env.json (for containers), {shown}/env-local.json")
            print(f"the world:   {shown}/{WORLD} (make local-world CHANGE=...), read again when it changes")
            print(f"alerts:      here and in {shown}/{ALERTS} ({shown}/{ALERTS_JSON} as JSON)")
            print("\nIn another terminal:")
            print(
                f"  export AWS_ENDPOINT_URL={env['LOCAL_AWS_ENDPOINT']} AWS_ACCESS_KEY_ID=testing"
                f" AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={REGION}"
            )
            print(f"  .venv/bin/senderwatch targets add 192.0.2.77 --label new --stack {STACK}")
            print("  make local-world CHANGE='list 192.0.2.77 dnsbl.justspam.org'")
            print("  make local-run")
            print(f"  .venv/bin/senderwatch check-now 192.0.2.77 --stack {STACK}")
            print(f"  .venv/bin/senderwatch status --stack {STACK}")
            print("  make invoke FUNCTION=CheckerFunction EVENT=events/sqs-check-batch.json")
            print(
                "  sam local invoke CheckerFunction -e events/sqs-check-batch.json"
                f" --env-vars .local-stack/env.json --region {REGION}"
            )
            where = "every interface, so that containers reach it" if bind == "0.0.0.0" else bind  # noqa: S104
            print(f"\nListening on {where}. Ctrl-C stops it.\n", flush=True)
            try:
                while not stopping:
                    try:
                        print(stack.step(), end="", flush=True)
                    except Exception as exc:  # noqa: BLE001 - one turn failed (moto, a handler): say it, go on
                        print(f"--- this turn failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                    time.sleep(0.5)
            finally:
                stack.remove_files()
    except KeyboardInterrupt:
        pass
    return 0


def run_now(state: Path = STATE, wait: float = 600) -> int:
    """The daily schedule, now, in the running local stack: waits for the run, prints its alerts."""
    if _running(state) is None:
        print("no local stack runs: start one with make local-stack", file=sys.stderr)
        return 2
    log = state / ALERTS
    seen = log.stat().st_size if log.exists() else 0
    _write(state / TRIGGER, "the daily schedule, now\n")
    deadline = time.monotonic() + wait
    while (state / TRIGGER).exists():
        if time.monotonic() > deadline or _running(state) is None:
            print("the local stack did not finish the run (see its terminal)", file=sys.stderr)
            return 4
        time.sleep(0.2)
    new = log.read_bytes()[seen:].decode("utf-8") if log.exists() else ""
    print(new.rstrip() if new else "The run is over and sent no alert.")
    return 0


def change_world(change: list[str], state: Path = STATE) -> int:
    """Change the world file as CHANGE says (world.WORLD_USAGE); the running stack reads it again."""
    path = state / WORLD
    if _running(state) is None:  # a stack starts from the story's world: a change now would be lost
        print("no local stack runs: start it with make local-stack, then change its world", file=sys.stderr)
        return 2
    try:
        scenario = check_scenario(json.loads(path.read_text(encoding="utf-8")))
    except OSError:
        print(f"no world file {path}: start the stack with make local-stack", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    try:
        scenario = change_scenario(scenario, change)
    except ValueError as exc:
        print(f"{exc}\nusage: {WORLD_USAGE}", file=sys.stderr)
        return 2
    _write(path, json.dumps(scenario, indent=2) + "\n")
    print(f"the world: {describe(scenario)}")
    return 0


def invoke(function: str, event_path: str) -> int:
    if not (BUILD / function / "app.py").is_file():
        print(
            f"no built {function!r} in .aws-sam/build: the functions are SchedulerFunction, CheckerFunction,"
            " NotifierFunction, DigestFunction, BouncesFunction and AppriseFunction (make build builds them)",
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
        status = _run(function, event_path, event, stack.env(), stack.pipeline.inboxes, "a local stack started for it")
        print(stack.channel_text(), end="")
        return status


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
    parser.add_argument("--state", type=Path, default=STATE, help="the stack's files (default .local-stack)")
    commands = parser.add_subparsers(dest="command", required=True)
    served = commands.add_parser("serve", help="run the local stack until Ctrl-C")
    served.add_argument("--bind", default="0.0.0.0", help="the address to listen on (default: every interface)")  # noqa: S104
    commands.add_parser("run-now", help="the daily schedule, now, in the running local stack")
    world = commands.add_parser("world", help="change the DNS world the running local stack checks against")
    world.add_argument("change", nargs="*", help=WORLD_USAGE)
    run = commands.add_parser("invoke", help="run a built function on an event")
    run.add_argument("function", help="SchedulerFunction, CheckerFunction, NotifierFunction or BouncesFunction")
    run.add_argument("event", help="a file in events/")
    args = parser.parse_args()
    if args.command == "serve":
        return serve(args.state, args.bind)
    if args.command == "run-now":
        return run_now(args.state)
    if args.command == "world":
        return change_world(args.change, args.state)
    return invoke(args.function, args.event)


if __name__ == "__main__":
    raise SystemExit(main())
