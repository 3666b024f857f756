"""The whole pipeline on one machine: moto for AWS, the handlers called as Lambda calls them.

Resources are made from template.yaml's own definitions (key schemas, redrive, filters),
so the local run and the deployed stack agree. moto stores streams but never fires them,
so `run()` plays Lambda's part: it drains the queue into the checker in batches, and reads
the table's stream, applies each function's filter from the template and calls it.
Works against in-process `mock_aws` (tests) and a moto server (demo, end-to-end).
"""

from __future__ import annotations

import base64
import glob
import gzip
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import boto3
import yaml

REPO = Path(__file__).resolve().parents[1]
FUNCTIONS = {
    "scheduler": "SchedulerFunction",
    "checker": "CheckerFunction",
    "notifier": "NotifierFunction",
    "digest": "DigestFunction",
    "bounces": "BouncesFunction",
    "apprise": "AppriseFunction",  # with AppriseUrlsParameter: Apprise is in its own package, not the layer
}


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short-form tags as plain values."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = REPO / "template.yaml") -> dict:
    with open(path, encoding="utf-8") as handle:
        # _CfnLoader is a SafeLoader that only adds the CloudFormation tags
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506  # nosec B506


def create_table(logical: str, name: str, template: dict | None = None) -> str:
    """Create table NAME on moto as template.yaml defines LOGICAL (key schema, stream)."""
    props = (template or load_template())["Resources"][logical]["Properties"]
    kwargs = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
    }
    if "StreamSpecification" in props:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    boto3.client("dynamodb").create_table(**kwargs)
    return name


def matches(pattern, data) -> bool:
    """Lambda event filtering, the part the template uses: value lists, nested keys, exists."""
    if isinstance(pattern, dict):
        if not isinstance(data, dict):
            return False
        return all(matches(sub, data.get(key, _MISSING)) for key, sub in pattern.items())
    for option in pattern:
        if isinstance(option, dict) and "exists" in option:
            if (data is not _MISSING) == option["exists"]:
                return True
        elif data == option:
            return True
    return False


_MISSING = object()


@dataclass
class LambdaContext:
    function_name: str = "senderwatch-local"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:senderwatch-local"
    aws_request_id: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


_RUNNER = """
import json, sys
sys.path[:0] = sys.argv[1:]  # the function, the layer, the runtime's own boto3: Lambda's order
import app

class Context:
    function_name = "senderwatch-built"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:senderwatch-built"
    aws_request_id = "built-0"
    def get_remaining_time_in_millis(self):
        return 300000

try:
    result = app.lambda_handler(json.load(sys.stdin), Context())
except Exception as exc:  # as Lambda answers when a handler raises: the error, its type, the stack
    import traceback
    traceback.print_exc()
    error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
    print("SENDERWATCH-ERROR " + json.dumps(error))
else:
    print("SENDERWATCH-RESULT " + json.dumps(result))
"""


def lambda_python() -> str:
    """The Lambda runtime's Python (3.13) when this machine has it, else this interpreter."""
    candidates = [
        shutil.which("python3.13") or "",
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13"))),
    ]
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:  # noqa: S603
            return candidate
    return sys.executable


LAMBDA_RUNTIME = REPO / ".aws-sam" / "lambda-runtime"  # boto3 from PyPI, standing in for the runtime's


def built_paths(build: Path, function: str) -> list[str]:
    """What a built function sees in Lambda, in Lambda's order: /var/task, /opt/python, /var/runtime."""
    return [str(build / function), str(build / "SenderwatchLayer" / "python"), str(LAMBDA_RUNTIME)]


class BuiltFunctions:
    """Runs handlers from `sam build` output in a fresh interpreter without site-packages:
    it sees the standard library, the function, the layer and the runtime's boto3, as Lambda would."""

    def __init__(self, build: Path, python: str | None = None):
        self.build = build
        self.python = python or lambda_python()

    def __call__(self, name: str, event: dict) -> dict:
        response, logs = self.invoke(FUNCTIONS[name], event)
        if "errorType" in response:
            raise RuntimeError(f"built {name} failed: {response}\n" + "\n".join(logs[-30:]))
        return response

    def invoke(self, function: str, event: dict, env: dict | None = None) -> tuple[dict, list[str]]:
        """Run FUNCTION (a logical id) on EVENT: its response (or Lambda's error document, with
        errorType, when the handler raised), and what it logged. Nothing is written into the build
        (-B): a deployed function has no bytecode cache either."""
        proc = subprocess.run(  # noqa: S603 - our own interpreter and files
            [self.python, "-S", "-B", "-c", _RUNNER, *built_paths(self.build, function)],
            input=json.dumps(event),
            capture_output=True,
            text=True,
            timeout=300,
            env=dict(os.environ) if env is None else env,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"built {function} failed:\n{proc.stderr[-3000:]}")
        logs = [line for line in proc.stdout.splitlines() + proc.stderr.splitlines() if line.strip()]
        for line in reversed(logs):
            if line.startswith(("SENDERWATCH-RESULT ", "SENDERWATCH-ERROR ")):
                logs.remove(line)
                return json.loads(line.split(" ", 1)[1]), logs
        raise RuntimeError(f"built {function} printed no result:\n{proc.stdout[-2000:]}")


def _region() -> str:
    return boto3.session.Session().region_name or "eu-central-1"


class LocalPipeline:
    """Tables, queues and topic from the template on moto, and the handlers to drive them.

    runner: how handlers are called: in this process from the source tree (default), or
    e.g. `BuiltFunctions(.aws-sam/build)` to run what `sam build` produced.
    """

    def __init__(
        self,
        *,
        dns: tuple[str, int] | None = None,
        runner: Callable[[str, dict], dict] | None = None,
        template: Path = REPO / "template.yaml",
        env: dict | None = None,
        inboxes: bool = True,
    ):
        self.template = load_template(template)
        self.want_inboxes = inboxes  # SQS queues subscribed as the email and SMS subscribers
        self.runner = runner
        self.extra_env = dict(env or {})
        self.dns = dns
        self.env: dict[str, str] = {}
        self._handlers: dict[str, ModuleType] = {}
        self._iterators: dict[str, list[str]] = {}  # per table with a stream: one iterator per shard
        self._stream_arns: dict[str, str] = {}
        self.inboxes: dict[str, str] = {}

    # -- resources --------------------------------------------------------------------------

    def resource(self, name: str) -> dict:
        return self.template["Resources"][name]["Properties"]

    def create(self) -> LocalPipeline:
        dynamodb, sqs, sns = boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("sns")
        names = {}
        for logical in ("TargetsTable", "HistoryTable", "IdempotencyTable", "HealthTable"):
            names[logical] = create_table(logical, f"senderwatch-{logical}-{uuid.uuid4().hex[:8]}", self.template)
        dlq = sqs.create_queue(QueueName=f"senderwatch-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = self.resource("CheckQueue")["RedrivePolicy"]
        queue = sqs.create_queue(
            QueueName=f"senderwatch-check-{uuid.uuid4().hex[:8]}",
            # Locally a failed message comes back at once instead of after the visibility timeout.
            Attributes={
                "VisibilityTimeout": "0",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(redrive["maxReceiveCount"])}
                ),
            },
        )["QueueUrl"]
        topic = sns.create_topic(Name=f"senderwatch-alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]
        sms_filter = {
            **self.resource("SmsSubscription")["FilterPolicy"],
            "event": [*self.template["Parameters"]["SmsEvents"]["Default"].split(","), "TEST_ALERT"],
        }
        for inbox, policy in (("email", None), ("sms", sms_filter)) if self.want_inboxes else ():
            url = sqs.create_queue(QueueName=f"senderwatch-inbox-{inbox}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes = {"FilterPolicy": json.dumps(policy)} if policy else {}
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
            self.inboxes[inbox] = url
        self.queue_url, self.dead_letter_url, self.topic_arn = queue, dlq, topic
        self.table_name, self.history_table_name = names["TargetsTable"], names["HistoryTable"]
        self.idempotency_table_name = names["IdempotencyTable"]
        self.health_table_name = names["HealthTable"]
        streams = boto3.client("dynamodbstreams")
        for logical in ("TargetsTable", "HealthTable"):
            stream = dynamodb.describe_table(TableName=names[logical])["Table"]["LatestStreamArn"]
            self._stream_arns[logical] = stream
            self._iterators[logical] = [
                streams.get_shard_iterator(
                    StreamArn=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                for shard in streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"]
            ]
        self.stream_arn = self._stream_arns["TargetsTable"]
        globals_env = self.template["Globals"]["Function"]["Environment"]["Variables"]
        self.env = {
            "POWERTOOLS_SERVICE_NAME": globals_env["POWERTOOLS_SERVICE_NAME"],
            "POWERTOOLS_METRICS_NAMESPACE": globals_env["POWERTOOLS_METRICS_NAMESPACE"],
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "TABLE_NAME": self.table_name,
            "HISTORY_TABLE_NAME": self.history_table_name,
            "HEALTH_TABLE_NAME": self.health_table_name,
            "IDEMPOTENCY_TABLE_NAME": names["IdempotencyTable"],
            "QUEUE_URL": queue,
            "TOPIC_ARN": topic,
            "CHECK_DEAD_LETTER_ARN": dlq_arn,
            "DNS_TIMEOUT": "0.5",
            **({"NAMESERVERS": f"{self.dns[0]}:{self.dns[1]}"} if self.dns else {}),
            **self.extra_env,
        }
        os.environ.update(self.env)
        return self

    # -- the functions ----------------------------------------------------------------------

    def handler(self, name: str) -> ModuleType:
        if name not in self._handlers:
            folder = REPO / "functions" / name
            spec = importlib.util.spec_from_file_location(
                f"senderwatch_{name}_app_{uuid.uuid4().hex[:6]}", folder / "app.py"
            )
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._handlers[name] = module
        return self._handlers[name]

    def invoke(self, name: str, event: dict) -> dict:
        if self.runner is not None:
            return self.runner(name, event)
        context = LambdaContext(function_name=f"senderwatch-{name}", aws_request_id=str(uuid.uuid4()))
        return self.handler(name).lambda_handler(event, context)

    # -- playing Lambda's part ----------------------------------------------------------------

    def schedule(self) -> dict:
        return self.invoke(
            "scheduler",
            json.loads(
                self.template["Resources"]["SchedulerFunction"]["Properties"]["Events"]["Daily"]["Properties"]["Input"]
            ),
        )

    def drain_queue(self) -> int:
        """Deliver the check queue to the checker in the template's batch size until it is empty."""
        sqs = boto3.client("sqs")
        size = self.template["Resources"]["CheckerFunction"]["Properties"]["Events"]["Checks"]["Properties"][
            "BatchSize"
        ]
        delivered = 0
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=size, AttributeNames=["All"]).get(
                "Messages", []
            )
            if not got:
                return delivered
            records = [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:local:000000000000:check",
                    "awsRegion": os.environ.get("AWS_DEFAULT_REGION", "eu-central-1"),
                }
                for m in got
            ]
            reply = self.invoke("checker", {"Records": records})
            failed = {f["itemIdentifier"] for f in reply.get("batchItemFailures", [])}
            for message in got:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            delivered += len(got)

    def stream_records(self, table: str = "TargetsTable") -> list[dict]:
        """What TABLE's stream holds since the last look, shaped as Lambda delivers it."""
        streams = boto3.client("dynamodbstreams")
        records = []
        iterators = self._iterators[table]
        for index, iterator in enumerate(iterators):
            while iterator:
                page = streams.get_records(ShardIterator=iterator)
                iterator = page.get("NextShardIterator")
                if not page["Records"]:
                    break
                records += page["Records"]
            iterators[index] = iterator
        for record in records:
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            if hasattr(created, "timestamp"):
                record["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
            record["eventSourceARN"] = self._stream_arns[table]
        return records

    def deliver_stream(self, records: list[dict], function: str, event: str, attempts: int = 3) -> list[dict]:
        """Call FUNCTION with the records its event's filter lets through; return those that failed."""
        props = self.template["Resources"][FUNCTIONS[function]]["Properties"]["Events"][event]["Properties"]
        patterns = [json.loads(f["Pattern"]) for f in props.get("FilterCriteria", {}).get("Filters", [])]
        wanted = [r for r in records if not patterns or any(matches(p, r) for p in patterns)]
        size = props.get("BatchSize", 100)
        failed_all = []
        for start in range(0, len(wanted), size):
            batch = wanted[start : start + size]
            for _ in range(attempts):
                reply = self.invoke(function, {"Records": batch}) or {}
                failed = {f["itemIdentifier"] for f in reply.get("batchItemFailures", [])}
                if not failed:
                    break
                # Lambda retries from the first failed record (checkpointing), in order
                first = next(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed)
                batch = batch[first:]
            else:
                failed_all += batch
        return failed_all

    def register_stack(self, name: str = "senderwatch-local", parameters: dict | None = None) -> str:
        """What `sam deploy` leaves for `senderwatch doctor`, `test-alert` and `--stack`: a stack
        whose outputs and parameters name this pipeline's resources, and the daily schedule (moto
        cannot deploy the SAM template itself). The functions are not there: the probe from inside
        the deployment cannot run here."""
        expression = self.template["Parameters"]["ScheduleExpression"]["Default"]
        scheduler = boto3.client("scheduler")
        schedule = f"{name[:50]}-daily"  # a schedule's name has at most 64 characters
        scheduler.create_schedule(
            Name=schedule,
            ScheduleExpression=expression,
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": f"arn:aws:lambda:{_region()}:123456789012:function:{name}-scheduler",
                "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            },
        )
        sqs = boto3.client("sqs")
        failures = sqs.create_queue(QueueName=f"{name[:50]}-notifier-failures")["QueueUrl"]
        boto3.client("cloudwatch").put_metric_alarm(  # named as CloudFormation names the template's
            AlarmName=f"{name}-CheckDeadLetterAlarm-{uuid.uuid4().hex[:12].upper()}",
            AlarmDescription="Targets could not be checked after 3 tries (see the check dead-letter queue)",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Statistic="Maximum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
        outputs = {
            "NotifierFailureQueueUrl": failures,
            "TargetsTableName": self.table_name,
            "HistoryTableName": self.history_table_name,
            "HealthTableName": self.health_table_name,
            "CheckQueueUrl": self.queue_url,
            "CheckDeadLetterQueueUrl": self.dead_letter_url,
            "AlertTopicArn": self.topic_arn,
            "SchedulerFunctionName": f"{name}-scheduler",
            "CheckerFunctionName": f"{name}-checker",
            "ScheduleName": schedule,
            "DashboardUrl": f"https://{_region()}.console.aws.amazon.com/cloudwatch/home?region={_region()}"
            f"#dashboards/dashboard/{name}-Dashboard",
        }
        digest = self.template["Parameters"]["DigestSchedule"]["Default"]
        given = {"DqsKeyParameter": "", "Zones": "", "DigestSchedule": digest, **(parameters or {})}
        template = {
            "Parameters": {key: {"Type": "String", "Default": ""} for key in given},
            "Resources": {"Marker": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        boto3.client("cloudformation").create_stack(
            StackName=name,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in given.items()],
        )
        return name

    def ship_log(self, lines: list[str], group: str = "/mail/postfix") -> dict:
        """Lines of the mail server's log, as the CloudWatch Logs subscription delivers them to the
        bounces function (base64 of gzip of JSON); then the stream until quiet. Each event has the
        time its line gives, as the CloudWatch agent reading the log as it is written would."""
        from senderwatch.refusals import parse_time

        now = int(time.time() * 1000)

        def stamp(n: int, line: str) -> int:
            when = parse_time(" ".join(line.split()[:3]), datetime.now(UTC).year, UTC)
            return int(when.timestamp() * 1000) if when else now + n

        document = {
            "messageType": "DATA_MESSAGE",
            "owner": "123456789012",
            "logGroup": group,
            "logStream": "mail.example.com",
            "subscriptionFilters": ["senderwatch"],
            "logEvents": [{"id": str(n), "timestamp": stamp(n, line), "message": line} for n, line in enumerate(lines)],
        }
        data = base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()
        reply = self.invoke("bounces", {"awslogs": {"data": data}})
        self.settle()
        return reply

    def run(self) -> None:
        """One scheduled run, start to finish: schedule, checks, then the stream until quiet."""
        self.schedule()
        self.settle()

    def settle(self) -> None:
        """Deliver whatever is pending (queue, stream) until nothing moves."""
        while True:
            checked = self.drain_queue()
            records = self.stream_records()
            if records:
                self.deliver_stream(records, "scheduler", "NewTargets")
                self.deliver_stream(records, "notifier", "Changes")
            health = self.stream_records("HealthTable")
            if health:
                self.deliver_stream(health, "notifier", "HealthChanges")
            if not checked and not records and not health:
                return

    # -- what people received -----------------------------------------------------------------

    def inbox(self, name: str) -> list[dict]:
        """Alerts delivered since the last look (as data: subject, email, sms, attributes)."""
        sqs = boto3.client("sqs")
        out = []
        while True:
            got = sqs.receive_message(QueueUrl=self.inboxes[name], MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return out
            for message in got:
                out.append(json.loads(json.loads(message["Body"])["Message"]))
                sqs.delete_message(QueueUrl=self.inboxes[name], ReceiptHandle=message["ReceiptHandle"])

    def alerts_text(self, email: list[dict], sms: list[dict]) -> str:
        """Alerts the email and SMS subscribers received (inbox), as they read them."""
        if not email:
            return "The email subscriber received nothing. The SMS subscriber received nothing.\n"
        out = []
        for alert in email:
            out += [f"--- email: {alert['subject']}", textwrap.indent(alert["email"].rstrip(), "    ")]
        out.append("")
        out += [f"--- SMS: {alert['sms']}" for alert in sms]
        if not sms:
            events = self.template["Parameters"]["SmsEvents"]["Default"].split(",")
            only = f"{', '.join(events[:-1])} and {events[-1]}"
            out.append(f"--- SMS: nothing (by default SMS subscribers get only {only})")
        return "\n".join(out) + "\n"

    def item(self, ip: str) -> dict | None:
        from senderwatch import aws

        return aws.TargetStore(boto3.resource("dynamodb").Table(self.table_name)).get_many([ip]).get(ip)

    def health_item(self, item_id: str) -> dict | None:
        return boto3.resource("dynamodb").Table(self.health_table_name).get_item(Key={"id": item_id}).get("Item")

    def put_target(self, item: dict) -> None:
        boto3.resource("dynamodb").Table(self.table_name).put_item(Item=item)
