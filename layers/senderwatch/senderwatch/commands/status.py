"""`senderwatch status`: the latest findings of a deployment, one row per target, then the domains
(the rows and tables: overview.py, loaded when the command runs, with boto3)."""

from __future__ import annotations

from .common import FORMATS, use_region, write


def add_parsers(commands, where) -> None:
    status = commands.add_parser(
        "status", parents=[where], help="the latest findings: one row per target, then the domains"
    )
    status.add_argument("--format", **FORMATS)
    status.add_argument(
        "--health-table",
        metavar="NAME",
        help="with --table: the health table, for the domains' findings (--stack finds it; "
        "or set SENDERWATCH_HEALTH_TABLE)",
    )
    status.set_defaults(run=run)


def run(args) -> int:
    from ..aws import HealthStore, TargetStore, aws_errors
    from . import overview
    from .fleet import find_tables

    use_region(args.region)
    with aws_errors("AWS"):  # the session itself: no region, a missing profile, a broken config file
        table, health_table = find_tables(args.stack, args.table, args.health_table)
        with aws_errors("cannot read the watched targets"):
            items = list(TargetStore.named(table).scan())
        rows = overview.status_rows(items)
        domains = None
        if health_table:
            watched = overview.watched_domain_names(items)
            with aws_errors("cannot read the domains' findings"):
                domains = overview.domain_rows(HealthStore.named(health_table).domains(), watched)
    if args.format == "json":
        write(overview.status_json(rows, domains))
    else:
        hint = "" if domains is not None or not overview.watched_domain_names(items) else overview.NO_DOMAINS
        tables = (overview.status_table(rows), overview.domains_table(domains or []), hint)
        write("\n\n".join(filter(None, tables)))
    return 0
