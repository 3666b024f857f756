"""`senderwatch bounces`: what receivers say in the mail log, from the mail server itself (no AWS, no
DNS): the reading is maillog.py's, loaded when the command runs."""

from __future__ import annotations

import sys

from ..errors import InvalidInput
from ..text import json_text
from .common import FORMATS, UsageError, isatty, json_options, write


def add_parsers(commands) -> None:
    bounces = commands.add_parser(
        "bounces",
        help="what receivers say in your mail log: bans, listings, failed authentication",
        description="Read a mail server's log (Postfix, Exim, Sendmail; plain or compressed with gzip, bzip2 "
        "or xz, rotated files too) and report every rejection in which a receiver says the sending address or domain "
        "is blocked, listed or unauthenticated, grouped by receiver, code and address. Exit 1 when there is one.",
    )
    bounces.add_argument(
        "files", nargs="*", metavar="FILE", help="mail logs (e.g. /var/log/mail.log*); - or none: standard input"
    )
    bounces.add_argument("--format", **FORMATS)
    bounces.set_defaults(run=run)


def run(args) -> int:
    from .maillog import read_logs, table

    if not args.files and isatty(sys.stdin):
        raise UsageError("give a mail log (senderwatch bounces /var/log/mail.log), or pipe one in")
    report = read_logs(args.files or ["-"])
    if report.failed and not report.read:
        raise InvalidInput(report.failed[0] if len(report.failed) == 1 else "; ".join(report.failed))
    if args.format == "json":
        document = {"rejections": [g.to_dict() for g in report.groups], "lines": report.lines}
        document["deliveries"] = report.deliveries
        if report.failed:
            document["unreadable"] = report.failed
        write(json_text(document, **json_options()))
    else:
        write(table(report))
    for failure in report.failed:  # what was read is reported; what was not is said, and exits 2
        print(f"senderwatch: error: {failure}", file=sys.stderr)
    return 1 if report.groups else 2 if report.failed else 0
