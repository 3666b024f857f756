"""`senderwatch doctor` and `senderwatch test-alert`: after `sam deploy`, know that the alerts will
reach you.

Most first-deploy failures are silent: an email subscription never confirmed, an account in the
SNS SMS sandbox or at the default $1 monthly SMS spend, a US number without an origination
identity, a DQS parameter that is not there, a schedule that is disabled, checks parked in a
dead-letter queue, a list that refuses the deployment's resolver. The doctor asks AWS about each,
one line per check with the fix; an API it cannot ask (moto has no SMS sandbox) is "could not
check", never "all is well". From inside the deployment it invokes the checker with a probe-only
message, so each list is seen from the deployment's own resolver.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from ..addresses import family_name
from ..alerttext import TEST_EVENT, marked_test_alert
from ..aws import CHANNEL, publish_args
from ..errors import InvalidInput, InvalidLines, NoStack, NoSubscriber
from ..freshness import GRACE, interval, next_run
from ..relay import Channel, read_channels
from ..text import clean_text, visible, words
from ..zones import deployment_zones, resolve_domain_zones, resolve_zones

OK, FIX, UNKNOWN, INFO = "ok", "fix", "unknown", "info"
# What asking AWS may end in: refused, failed, or an API the endpoint does not have (moto's
# NotImplementedError in process; a 500 from a moto server). Each is "could not check".
_CANNOT_ASK = (ClientError, BotoCoreError, ResponseParserError, NotImplementedError)
MARK = {OK: "ok  ", FIX: "FIX ", UNKNOWN: "??  ", INFO: "--  "}
PROBE_EVENT = {"senderwatch": "probe"}


@dataclass
class Judgement:
    status: str  # ok, fix, unknown (could not check), info
    what: str  # the thing checked: "stack", "email", "SMS sandbox", ...
    said: str  # what was found, one line
    fix: str = ""  # what to do, when status is fix


class Doctor:
    """The checks of one deployment (a stack), through CLIENT (a boto3 client factory)."""

    def __init__(
        self,
        client: Callable[[str], Any],
        stack: str,
        now: datetime | None = None,
        probe: Callable[[], dict] | None = None,
        region: str = "this region",
        table: str = "",
    ):
        self.region = region
        self.table = table  # a targets table given instead of the stack (--table)
        self.client = client
        self.probe = probe  # how to ask the checker for its probe (default: invoke the deployed function)
        self.stack = stack
        self.now = now or datetime.now(UTC)
        self.outputs: dict[str, str] = {}
        self.expression = ""  # the schedule's, once read
        self.parameters: dict[str, str] = {}
        self.findings: list[Judgement] = []

    # -- running ------------------------------------------------------------------------------------

    def run(self) -> list[Judgement]:
        if self.table:  # no stack: only the table can be looked at
            self.outputs = {"TargetsTableName": self.table}
            self._add(
                UNKNOWN,
                "stack",
                "not given (--table): the topic, subscriptions, queues, schedule and lists cannot be found",
                "give the stack instead: senderwatch doctor --stack NAME",
            )
            self._guarded(self._targets)
            return self.findings
        if not self._stack():
            return self.findings
        for check in (
            self._targets,
            self._subscriptions,
            self._channels,
            self._zones,
            self._dqs_key,
            self._schedule,
            self._queues,
            self._alarms,
            self._console,
            self._last_run,
            self._probe,
        ):
            self._guarded(check)
        return self.findings

    def _guarded(self, check: Callable[[], None]) -> None:
        try:
            check()
        except _CANNOT_ASK as exc:
            self._add(UNKNOWN, check.__name__.strip("_").replace("_", " "), f"could not check: {_why(exc)}")

    def _add(self, status: str, what: str, said: str, fix: str = "") -> None:
        self.findings.append(Judgement(status, what, said, fix))

    # -- the checks ---------------------------------------------------------------------------------

    def _stack(self) -> bool:
        try:
            stack = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        except ClientError as exc:
            if "does not exist" in str(exc):  # as for every command: a missing stack is not a finding
                raise NoStack(
                    f"no stack {self.stack} in {self.region}: a typo, or another region (--region)? "
                    "To deploy it: sam build && sam deploy --guided"
                ) from None
            else:
                self._add(UNKNOWN, "stack", f"could not read stack {self.stack}: {_why(exc)}")
            return False
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
        self.parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters") or []}
        status = str(stack.get("StackStatus", ""))
        if status.endswith("_COMPLETE") and "ROLLBACK" not in status and "DELETE" not in status:
            self._add(OK, "stack", f"{self.stack}: {status}")
        elif status.endswith("_IN_PROGRESS"):
            self._add(INFO, "stack", f"{self.stack}: {status} (a deployment is running: ask again when it ends)")
        elif status == "ROLLBACK_COMPLETE" or "FAILED" in status and "TargetsTableName" not in self.outputs:
            self._add(
                FIX,
                "stack",
                f"{self.stack}: {status}: its first deployment failed, and such a stack cannot be updated",
                f"see why: aws cloudformation describe-stack-events --stack-name {self.stack}; then "
                f"sam delete --stack-name {self.stack} and sam deploy --guided again",
            )
            return False
        else:
            self._add(
                FIX,
                "stack",
                f"{self.stack}: {status}",
                f"see why: aws cloudformation describe-stack-events --stack-name {self.stack}; then sam deploy",
            )
        if "TargetsTableName" not in self.outputs:
            self._add(FIX, "stack", "it has no TargetsTableName output: is it a senderwatch stack?")
            return False
        return True

    def _targets(self) -> None:
        table, count = self.outputs["TargetsTableName"], 0
        pages = self.client("dynamodb").get_paginator("scan")
        for page in pages.paginate(TableName=table, Select="COUNT"):
            count += page.get("Count", 0)
        if count:
            self._add(OK, "targets", f"{count} target{'s' if count != 1 else ''} watched ({table})")
        else:
            self._add(
                FIX,
                "targets",
                f"nothing is watched yet ({table} is empty)",
                f"senderwatch targets add mail.example.com --sender example.com --stack {self.stack}",
            )

    def _subscriptions(self) -> None:
        topic = self.outputs.get("AlertTopicArn", "")
        sns = self.client("sns")
        subscriptions: list[dict] = []
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
            subscriptions += page.get("Subscriptions") or []
        if not subscriptions:
            self._add(
                FIX,
                "subscriptions",
                "nobody is subscribed to the alert topic: alerts reach no one",
                f"sam deploy --parameter-overrides AlertEmail=you@example.com (or: aws sns subscribe --topic-arn "
                f"{topic} --protocol email --notification-endpoint you@example.com)",
            )
            return
        phones = []
        for sub in subscriptions:
            protocol, endpoint = sub.get("Protocol", "?"), visible(sub.get("Endpoint", "?"), 120)
            what = "SMS" if protocol == "sms" else protocol
            arn = str(sub.get("SubscriptionArn", ""))
            resend = f"aws sns subscribe --topic-arn {topic} --protocol {protocol} --notification-endpoint {endpoint}"
            if arn == "PendingConfirmation":
                how = (
                    "open the mail 'AWS Notification - Subscription Confirmation' and follow its link"
                    if protocol.startswith("email")
                    else "the endpoint must confirm it (visit the SubscribeURL AWS sent it)"
                )
                self._add(
                    FIX,
                    what,
                    f"{endpoint} has not confirmed the subscription: no alert reaches it",
                    f"{how} (again: {resend})",
                )
            elif not arn.startswith("arn:"):  # "Deleted": unsubscribed, or never confirmed in time
                self._add(FIX, what, f"{endpoint}: the subscription is {arn or 'gone'}: no alert reaches it", resend)
            else:
                self._add(OK, what, f"{endpoint} is subscribed and confirmed")
            if protocol == "sms":
                phones.append(sub.get("Endpoint", ""))
                if arn.startswith("arn:"):
                    self._sms_filter(arn, endpoint)
        if phones:
            self._sms(phones)

    def _channels(self) -> None:
        """The Apprise URLs (by number and scheme, never the URL), and what each did with the last
        test alert (the Apprise function notes it in the health table)."""
        urls = AppriseUrls.of(self.client, self.parameters)
        if not urls.name:
            return  # no AppriseUrlsParameter: email and SMS only, said above
        fix = (
            f"aws ssm put-parameter --name {urls.name} --type SecureString --overwrite --value file://apprise-urls.txt"
        )
        if not urls.channels:
            for line in urls.lines:
                self._add(FIX, "Apprise URLs", line)
            self._add(FIX, "Apprise URLs", f"{urls.name}: {urls.problem}: no alert reaches any Apprise URL", fix)
            return
        services = Counter(c.service for c in urls.channels)
        said = ", ".join(f"{name} ({n})" if n > 1 else name for name, n in sorted(services.items()))
        count = len(urls.channels)
        self._add(OK, "Apprise URLs", f"{count} URL{'s' if count != 1 else ''} in {urls.name}: {said}")
        notes = self._channel_notes()
        for channel in urls.channels:
            what = f"Apprise {channel.name}"
            wants = "every alert" if not channel.events else ", ".join(sorted(channel.events))
            wants = f"{channel.service}, gets {wants}"
            note = notes.get(channel.number)
            if not note or note.get("scheme") != channel.scheme:
                self._add(
                    INFO,
                    what,
                    f"{wants}; no test alert since it was set up",
                    f"senderwatch test-alert --stack {self.stack}, then ask again",
                )
            elif note.get("result") == "delivered":
                self._add(OK, what, f"{wants}; the last test alert got through ({visible(str(note.get('at')), 40)})")
            else:
                self._add(
                    FIX,
                    what,
                    f"the last test alert did not get through ({visible(str(note.get('result')), 20)} after "
                    f"{visible(str(note.get('tries')), 5)} tries, {visible(str(note.get('at')), 40)})",
                    f"check line {channel.number} of {urls.name} against the service's page in Apprise's wiki "
                    "(a token, a channel, the host); the alerts it missed are in the Apprise dead-letter queue; "
                    f"then: senderwatch test-alert --stack {self.stack}",
                )

    def _channel_notes(self) -> dict[int, dict]:
        table = self.outputs.get("HealthTableName")
        if not table:
            return {}
        notes: dict[int, dict] = {}
        pages = self.client("dynamodb").get_paginator("scan")
        for page in pages.paginate(
            TableName=table,
            FilterExpression="#kind = :channel",
            ExpressionAttributeNames={"#kind": "kind"},
            ExpressionAttributeValues={":channel": {"S": CHANNEL}},
        ):
            for item in page.get("Items") or []:
                plain = {key: next(iter(value.values())) for key, value in item.items()}
                if str(plain.get("number", "")).isdigit():
                    notes[int(plain["number"])] = plain
        return notes

    def _sms_filter(self, arn: str, endpoint: str) -> None:
        """An SMS subscription made before `test-alert` existed filters its test alerts out."""
        try:
            attributes = self.client("sns").get_subscription_attributes(SubscriptionArn=arn).get("Attributes") or {}
            events = json.loads(attributes.get("FilterPolicy") or "{}").get("event")
        except (*_CANNOT_ASK, ValueError, AttributeError):
            return  # the subscription itself was judged above; its filter is a detail
        if isinstance(events, list) and TEST_EVENT not in events:
            self._add(
                FIX,
                "SMS filter",
                f"{endpoint} gets {', '.join(map(str, events))} by SMS, but not test alerts",
                "sam deploy (this version's template lets TEST_ALERT through)",
            )

    def _sms(self, phones: list[str]) -> None:
        sns = self.client("sns")
        try:
            sandbox = sns.get_sms_sandbox_account_status()["IsInSandbox"]
        except _CANNOT_ASK as exc:
            self._add(UNKNOWN, "SMS sandbox", f"could not check: {_why(exc)}")
        else:
            if not sandbox:
                self._add(OK, "SMS sandbox", "this account has left the SMS sandbox: SMS reach any number")
            else:
                verified = set()
                try:
                    pages = sns.get_paginator("list_sms_sandbox_phone_numbers").paginate()
                    for page in pages:
                        verified |= {
                            n["PhoneNumber"] for n in page.get("PhoneNumbers") or [] if n["Status"] == "Verified"
                        }
                except _CANNOT_ASK as exc:
                    self._add(
                        UNKNOWN, "SMS sandbox", f"in the sandbox; the verified numbers could not be read: {_why(exc)}"
                    )
                for phone in phones:
                    if phone in verified:
                        self._add(OK, "SMS sandbox", f"in the SMS sandbox, and {phone} is a verified number")
                    else:
                        self._add(
                            FIX,
                            "SMS sandbox",
                            f"the account is in the SMS sandbox and {phone} is not verified: no SMS reaches it",
                            f"aws sns create-sms-sandbox-phone-number --phone-number {phone}, then aws sns "
                            f"verify-sms-sandbox-phone-number --phone-number {phone} --one-time-password CODE; "
                            "or leave the sandbox (SNS console > Text messaging (SMS) > Exit SMS sandbox)",
                        )
        try:
            limit = (
                sns.get_sms_attributes(attributes=["MonthlySpendLimit"]).get("attributes", {}).get("MonthlySpendLimit")
            )
        except _CANNOT_ASK as exc:
            self._add(UNKNOWN, "SMS spend", f"could not check: {_why(exc)}")
        else:
            if limit in (None, "", "1"):
                self._add(
                    FIX,
                    "SMS spend",
                    "the monthly SMS spend limit is $1, the default: a handful of SMS, then silence for the month",
                    "aws sns set-sms-attributes --attributes MonthlySpendLimit=10 (above the account's quota: "
                    "ask for more in Service Quotas, 'SMS spending')",
                )
            else:
                self._add(OK, "SMS spend", f"monthly SMS spend limit ${limit}")
        if any(phone.startswith("+1") for phone in phones):
            try:
                numbers = sns.list_origination_numbers().get("PhoneNumbers") or []
            except _CANNOT_ASK as exc:
                self._add(UNKNOWN, "SMS sender", f"could not check the origination numbers: {_why(exc)}")
            else:
                if numbers:
                    self._add(OK, "SMS sender", f"{len(numbers)} origination number(s) for SMS to +1 numbers")
                else:
                    self._add(
                        FIX,
                        "SMS sender",
                        "SMS to US and Canadian (+1) numbers need an origination identity; this account has none",
                        "request a toll-free number (or register 10DLC) in the AWS End User Messaging SMS console",
                    )

    def _zones(self) -> None:
        """The Zones parameter as the checker reads it: refused (the checker cannot start), or
        leaving the domain lists out (the sender domains, HELO and PTR names go unrated)."""
        try:
            zones = deployment_zones(words(self.parameters.get("Zones", "")))
        except InvalidInput as exc:
            self._add(
                FIX,
                "zones",
                f"the Zones parameter is refused, so the checker cannot start: {exc}",
                "sam deploy --parameter-overrides Zones=... with the lists, or changes such as -bl.spamcop.net",
            )
            return
        if zones and not resolve_domain_zones(zones):
            self._add(
                INFO,
                "domain lists",
                "the Zones parameter names no domain list, so no sender domain, HELO or PTR name is rated by one; "
                "to keep the default lists and change a few, write the changes (-bl.spamcop.net, +NAME) instead",
            )

    def _dqs_key(self) -> None:
        name = self.parameters.get("DqsKeyParameter", "")
        try:
            zones = deployment_zones(words(self.parameters.get("Zones", "")))
        except InvalidInput:  # said by _zones
            zones = ()
        uses_spamhaus = any(z.dqs for z in resolve_zones(zones) + resolve_domain_zones(zones))
        if not name:
            if uses_spamhaus:
                self._add(
                    FIX,
                    "DQS key",
                    "no DqsKeyParameter: Spamhaus refuses queries from AWS, so ZEN and the DBL are not asked",
                    "register a free DQS key at spamhaus.com, then: aws ssm put-parameter --name /senderwatch/dqs-key "
                    "--type SecureString --value YOURKEY; sam deploy --parameter-overrides "
                    "DqsKeyParameter=/senderwatch/dqs-key",
                )
            return
        try:
            value = self.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"].get("Value", "")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ParameterNotFound":
                self._add(
                    FIX,
                    "DQS key",
                    f"the parameter {name} does not exist: the checker fails at every start, so nothing is checked",
                    f"aws ssm put-parameter --name {name} --type SecureString --value YOURKEY",
                )
            else:
                self._add(FIX, "DQS key", f"{name} cannot be read and decrypted: {_why(exc)}")
            return
        if value.strip():
            self._add(OK, "DQS key", f"{name} is there and decrypts (its value is not shown)")
        else:
            self._add(
                FIX,
                "DQS key",
                f"{name} is empty: Spamhaus is asked without a key and refuses",
                f"aws ssm put-parameter --name {name} --type SecureString --overwrite --value YOURKEY",
            )

    def _schedule(self) -> None:
        name = self.outputs.get("ScheduleName") or self._resource("SchedulerFunctionDaily")
        if not name:
            self._add(UNKNOWN, "schedule", "could not find the daily schedule in the stack")
            return
        schedule = self.client("scheduler").get_schedule(Name=name.split("|")[-1])
        expression = str(schedule.get("ScheduleExpression", ""))
        self.expression = expression
        if schedule.get("State") != "ENABLED":
            self._add(
                FIX,
                "schedule",
                f"the schedule {name} is {schedule.get('State', '?')}: no scheduled run (a new target is still "
                "checked once, when it is added)",
                f"enable it: EventBridge Scheduler console > Schedules > {name} > Enable (sam deploy does not undo "
                "a change made by hand)",
            )
            return
        after = next_run(expression, self.now)
        when = f", next run {after:%Y-%m-%d %H:%M} UTC" if after else ""
        self._add(OK, "schedule", f"enabled: {expression}{when}")

    def _queues(self) -> None:
        sqs = self.client("sqs")
        for key, what, fix in (
            (
                "CheckDeadLetterQueueUrl",
                "dead letters",
                "checks that failed three times (and failed scheduled runs) wait there; once the cause is fixed, "
                "move the checks back: aws sqs start-message-move-task --source-arn {arn}; a failed scheduled run "
                "is not moved: run the checks again (see 'last run')",
            ),
            (
                "NotifierFailureQueueUrl",
                "failed alerts",
                "alert changes that could not be published wait there (see 'When things go wrong' in docs/deploy.md): "
                "aws sqs receive-message --queue-url {url}",
            ),
            (
                "AppriseDeadLetterQueueUrl",
                "parked alerts",
                "alerts an Apprise URL kept refusing wait there (each names its channel's number and scheme; the email "
                "and SMS had them): aws sqs receive-message --queue-url {url} --max-number-of-messages 10",
            ),
        ):
            url = self.outputs.get(key)
            if not url and key == "AppriseDeadLetterQueueUrl":
                continue  # no Apprise URLs, no queue
            if not url:
                self._add(UNKNOWN, what, f"the stack has no {key} output to look at")
                continue
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "QueueArn"]
            )
            count = int(attributes["Attributes"].get("ApproximateNumberOfMessages", "0"))
            if count:
                arn = attributes["Attributes"].get("QueueArn", "")
                self._add(FIX, what, f"{count} message(s) waiting", fix.format(arn=arn, url=url))
            else:
                self._add(OK, what, "none waiting")

    def _alarms(self) -> None:
        """The stack's alarms: CloudFormation names them STACK-LogicalId-SUFFIX."""
        alarms: list[dict] = []
        pages = self.client("cloudwatch").get_paginator("describe_alarms")
        for page in pages.paginate(AlarmNamePrefix=f"{self.stack}-"):
            alarms += page.get("MetricAlarms") or []
        if not alarms:
            self._add(UNKNOWN, "alarms", f"found no alarms named {self.stack}-... to look at")
            return
        firing = [a for a in alarms if a.get("StateValue") == "ALARM"]
        for alarm in firing:
            self._add(FIX, "alarm", f"{alarm['AlarmName']}: {clean_text(alarm.get('AlarmDescription', ''), 200)}")
        if not firing:
            self._add(OK, "alarms", f"none of the {len(alarms)} alarms is firing")

    def _console(self) -> None:
        """Where to look without asking: the dashboard (the stack's DashboardUrl), and the digest."""
        url = self.outputs.get("DashboardUrl")
        if url:
            self._add(INFO, "dashboard", url)
        else:
            self._add(INFO, "dashboard", "the stack has no DashboardUrl output: sam deploy this version to have one")
        if "DigestSchedule" not in self.parameters:
            return  # a stack from before the digest
        expression = self.parameters["DigestSchedule"].strip()
        if expression:
            self._add(INFO, "digest", f"sent {expression} by email (by SMS too when something is wrong)")
        else:
            self._add(
                INFO,
                "digest",
                "off (DigestSchedule is empty): a quiet week may be a broken monitor, nothing says all is well",
            )

    def _last_run(self) -> None:
        """The latest check of a few targets, from the history table (each run's results)."""
        table, history = self.outputs["TargetsTableName"], self.outputs.get("HistoryTableName")
        if not history:
            return
        dynamodb = self.client("dynamodb")
        some = dynamodb.scan(TableName=table, ProjectionExpression="ip", Limit=5).get("Items") or []
        latest = ""
        for item in some:
            found = (
                dynamodb.query(
                    TableName=history,
                    KeyConditionExpression="ip = :ip",
                    ExpressionAttributeValues={":ip": item["ip"]},
                    ScanIndexForward=False,
                    Limit=1,
                ).get("Items")
                or []
            )
            latest = max([latest, *(i.get("checked_at", {}).get("S", "") for i in found)])
        if not latest:
            self._add(INFO, "last run", "no target has been checked yet (a new one is checked within a minute)")
            return
        try:
            when = datetime.fromisoformat(latest)
        except ValueError:
            self._add(INFO, "last run", f"last check at {visible(latest, 40)}")
            return
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        stale = interval(self.expression)
        if stale is not None and self.now - when > stale + GRACE:
            function = self.outputs.get("SchedulerFunctionName", "SCHEDULER")
            self._add(
                FIX,
                "last run",
                f"the last check was {when:%Y-%m-%d %H:%M} UTC, longer ago than the schedule allows",
                f"run the checks now: aws lambda invoke --function-name {function} --invocation-type Event "
                "--cli-binary-format raw-in-base64-out --payload '{}' /dev/null",
            )
        else:
            self._add(OK, "last run", f"last check {when:%Y-%m-%d %H:%M} UTC")

    def _probe(self) -> None:
        function = self.outputs.get("CheckerFunctionName") or self._resource("CheckerFunction")
        reply: dict = {}
        try:
            if self.probe is not None:
                result = self.probe()
            elif not function:
                self._add(UNKNOWN, "lists", "could not find the checker function in the stack")
                return
            else:
                reply = self.client("lambda").invoke(FunctionName=function, Payload=json.dumps(PROBE_EVENT).encode())
                result = json.loads(reply["Payload"].read() or b"{}")
        except (*_CANNOT_ASK, ValueError) as exc:
            self._add(UNKNOWN, "lists", f"could not ask the lists from inside the deployment: {_why(exc)}")
            return
        if reply.get("FunctionError") or not isinstance(result, dict) or "lists" not in result:
            error = clean_text(str(result.get("errorMessage") if isinstance(result, dict) else result), 200)
            self._add(
                FIX,
                "lists",
                f"the checker failed when asked to probe the lists: {error}",
                f"see its log: sam logs --stack-name {self.stack} -n CheckerFunction",
            )
            return
        self.findings += probe_judgements(result)

    # -- the stack's resources ----------------------------------------------------------------------

    def _resource(self, logical: str) -> str:
        try:
            found = self.client("cloudformation").describe_stack_resource(
                StackName=self.stack, LogicalResourceId=logical
            )
        except Exception:  # noqa: BLE001 - not there, or an endpoint that cannot say: look no further
            return ""
        return str(found["StackResourceDetail"].get("PhysicalResourceId", ""))


def probe_judgements(result: dict) -> list[Judgement]:
    """What the checker's probe says, as findings: the resolver, then each list that fails (one
    line per list, its families together), then how many work."""
    if result.get("resolver") != "ok":
        return [
            Judgement(
                FIX,
                "resolver",
                f"the deployment's DNS resolver does not work: {clean_text(str(result.get('resolver')), 300)}",
                "set the Nameservers parameter to resolvers the functions can reach (sam deploy --parameter-overrides)",
            )
        ]
    failing: dict[str, list[dict]] = {}
    working = set()
    for entry in result.get("lists") or []:
        if entry.get("status") == "ok":
            working.add(entry["zone"])
        else:
            failing.setdefault(str(entry.get("zone")), []).append(entry)
    out = []
    for zone, entries in failing.items():
        families = ", ".join(family_name(e.get("family")) for e in entries)
        first = entries[0]
        detail = clean_text(f"{first.get('error')}: {first.get('detail') or ''}".rstrip(": "), 200)
        blocked = first.get("error") == "blocked" and "spamhaus" in zone
        fix = (
            "give the deployment a Spamhaus DQS key (DqsKeyParameter; see 'Spamhaus through SSM' in docs/deploy.md)"
            if blocked and not result.get("dqs_key")
            else "nothing to do if it passes: the list is skipped, never taken for clean; if it lasts, leave it out "
            "of the Zones parameter"
        )
        out.append(
            Judgement(
                FIX, "list", f"{visible(zone, 80)} ({families}) cannot be used from the deployment: {detail}", fix
            )
        )
    out.append(Judgement(OK if working else FIX, "lists", f"{len(working)} list(s) answer the deployment's resolver"))
    return out


def _why(exc: Exception) -> str:
    if isinstance(exc, (NotImplementedError, ResponseParserError)):
        return "this endpoint does not have that API (or answered with an error page)"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return clean_text(f"{error.get('Code', '')}: {error.get('Message', '')}".strip(": "), 200)
    return clean_text(str(exc), 200)


# -- output -------------------------------------------------------------------------------------------


def exit_status(findings: list[Judgement]) -> int:
    """1 when something needs doing; 3 when all that could be checked is well but something could
    not be checked; 0 when all is well."""
    if any(f.status == FIX for f in findings):
        return 1
    return 3 if any(f.status == UNKNOWN for f in findings) else 0


def table(findings: list[Judgement], stack: str, where: str) -> str:
    width = max((len(f.what) for f in findings), default=8)
    lines = [f"senderwatch doctor: stack {stack} in {where}", ""]
    for f in findings:
        lines.append(f"{MARK[f.status]} {f.what:<{width}}  {clean_text(f.said, 300)}")
        if f.fix:
            lines.append(f"{'':5} {'':<{width}}  -> {clean_text(f.fix, 500)}")
    fixes = sum(f.status == FIX for f in findings)
    unknown = sum(f.status == UNKNOWN for f in findings)
    lines.append("")
    if fixes:
        lines.append(
            f"{fixes} thing{'s' if fixes != 1 else ''} to fix"
            + (f"; {unknown} could not be checked." if unknown else ".")
        )
    elif unknown:
        lines.append(f"Nothing to fix in what could be checked; {unknown} could not be checked (see ??).")
    else:
        lines.append("All is well: alerts will reach you.")
    return "\n".join(lines)


def as_json(findings: list[Judgement], stack: str = "", region: str = "") -> dict:
    status = {0: "ok", 1: "fix", 3: "unknown"}[exit_status(findings)]
    return {"stack": stack, "region": region, "status": status, "checks": [asdict(f) for f in findings]}


# -- a test alert -----------------------------------------------------------------------------------


@dataclass
class TestSent:
    message: str  # the topic's message id
    channels: list[tuple[str, str]]  # (what, who): ("email", "you@example.com"), ("Apprise", "#2 ntfy, #4 mmost")


def test_alert(client: Callable[[str], Any], stack: str, now: datetime | None = None) -> TestSent:
    """Publish a clearly marked test alert through the stack's topic (email and SMS variants, as a
    real alert has them): the message ID and the channels it goes to (the confirmed subscriptions,
    and each Apprise URL, by number and scheme). Touches no finding and no idempotency record.
    NoStack when there is no such stack; NoSubscriber when no one would get it."""
    try:
        found = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise NoStack(f"no stack {stack} here: a typo, or another region (--region)?") from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs") or []}
    topic = outputs.get("AlertTopicArn")
    if not topic:
        raise NoStack(f"stack {stack} has no AlertTopicArn output: is it a senderwatch stack?")
    subscribed = client("sns").list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions") or []
    if not any(str(s.get("SubscriptionArn", "")).startswith("arn:") for s in subscribed):
        raise NoSubscriber(
            f"nobody has a confirmed subscription to stack {stack}'s alert topic: a test alert would reach no one"
            f" (see: senderwatch doctor --stack {stack})"
        )
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in found.get("Parameters") or []}
    channels = [
        (
            "SMS" if s.get("Protocol") == "sms" else str(s.get("Protocol", "?")),
            visible(str(s.get("Endpoint", "?")), 120),
        )
        for s in subscribed
        if str(s.get("SubscriptionArn", "")).startswith("arn:") and s.get("Protocol") != "lambda"
    ]
    urls = AppriseUrls.of(client, parameters)
    if urls.name:
        said = ", ".join(c.name for c in urls.channels) if urls.channels else f"none: {urls.problem}"
        channels.append(("Apprise", said + (" (every URL, whatever events it names)" if urls.channels else "")))
    now = now or datetime.now(UTC)
    text = marked_test_alert(stack, f"{now:%Y-%m-%d %H:%M} UTC")
    reply = client("sns").publish(**publish_args(text, topic))  # as every alert is published
    return TestSent(str(reply.get("MessageId", "")), channels)


# -- the Apprise URLs -------------------------------------------------------------------------------


@dataclass
class AppriseUrls:
    """The stack's Apprise channels as the function reads them (never their URLs out of here)."""

    name: str  # the parameter's name ("": the stack has none)
    channels: list[Channel]
    problem: str = ""  # why none could be read
    lines: tuple[str, ...] = ()  # the lines that cannot be used, each said without its URL
    missing: bool = False  # the parameter does not exist

    @classmethod
    def of(cls, client: Callable[[str], Any], parameters: dict[str, str]) -> AppriseUrls:
        name = parameters.get("AppriseUrlsParameter", "").strip()
        if not name:
            return cls("", [])
        try:
            value = client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"].get("Value", "")
        except ClientError as exc:
            missing = exc.response.get("Error", {}).get("Code", "") == "ParameterNotFound"
            return cls(name, [], "it does not exist" if missing else f"it cannot be read: {_why(exc)}", missing=missing)
        try:
            return cls(name, read_channels(value))
        except InvalidLines as exc:
            return cls(name, [], str(exc), lines=tuple(exc.lines[:-1]))
        except InvalidInput as exc:
            return cls(name, [], str(exc))
