"""`senderwatch doctor` and `senderwatch test-alert`: after `sam deploy`, know that the alerts will
reach you (what is checked, and how: diagnosis.py, loaded only for these commands)."""

from __future__ import annotations

import os

from ..errors import NoSubscriber
from ..text import json_text
from .common import FORMATS, UsageError, error, json_options, use_region, write


def add_parsers(commands, where, stack) -> None:
    doctor = commands.add_parser(
        "doctor",
        parents=[where],
        help="check the deployment: will the alerts reach you? (one line per check, with the fix)",
        description="Check a deployed stack from here: the stack, the targets, each subscription (confirmed?), "
        "SMS delivery (sandbox, verified numbers, spend limit, origination numbers), the Apprise URLs (by number and "
        "scheme) and whether each got the last test alert, the DQS key, the schedule, "
        "the dead-letter and failure queues, the alarms, the last run; and, from inside the deployment, each list "
        "as its own resolver sees it. Exit 0: all is well; 1: something to fix; 3: something could not be checked.",
    )
    doctor.add_argument("--format", **FORMATS)
    doctor.set_defaults(run=run)
    commands.add_parser(
        "test-alert",
        parents=[stack],
        help="publish a clearly marked test alert through the stack's topic (email, SMS and every Apprise URL)",
        description="Publish a test alert through the deployed stack's topic, with the email and SMS variants a "
        "real alert has (and to every Apprise URL, whatever events it names), so you see what an alert looks like "
        "where it arrives; it says which channels it goes to. It changes no finding.",
    ).set_defaults(run=run)


def run(args) -> int:
    from ..aws import aws_errors, client, region
    from . import diagnosis

    use_region(args.region)
    stack = args.stack
    table = getattr(args, "table", None) or (os.environ.get("SENDERWATCH_TABLE") if not stack else None)
    if args.command == "doctor" and table:
        with aws_errors("AWS"):
            where = region()
            findings = diagnosis.Doctor(client, "", region=where, table=table).run()
        return _report(args, findings, f"(table {table})", where)
    if not stack:
        raise UsageError(
            f"{args.command} needs the stack: --stack NAME (its outputs name the topic, the queues and the schedule)"
        )
    with aws_errors("AWS"):
        where = region()
        if args.command == "test-alert":
            try:
                sent = diagnosis.test_alert(client, stack)
            except NoSubscriber as exc:
                error(str(exc))
                return 1
            width = max(len(what) for what, _ in sent.channels) if sent.channels else 0
            apprise = any(what == "Apprise" for what, _ in sent.channels)
            write(
                "\n".join(
                    [
                        f"A test alert went to stack {stack}'s channels (message {sent.message}):",
                        *(f"  {what:<{width}}  {who}" for what, who in sent.channels),
                        "look for 'senderwatch TEST ALERT' there. Nothing arrived? Run: "
                        f"senderwatch doctor --stack {stack}"
                        + (" (it says what each Apprise URL did with it)" if apprise else ""),
                    ]
                )
            )
            return 0
        findings = diagnosis.Doctor(client, stack, region=where).run()
    return _report(args, findings, stack, where)


def _report(args, findings: list, stack: str, where: str) -> int:
    from . import diagnosis

    if args.format == "json":
        write(json_text(diagnosis.as_json(findings, stack, where), **json_options()))
    else:
        write(diagnosis.table(findings, stack, where))
    return diagnosis.exit_status(findings)
