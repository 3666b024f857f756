"""`senderwatch targets ...` and `senderwatch status`: the watched targets of a deployment, from a
terminal (the work itself: fleet.py, loaded only for these commands, with boto3)."""

from __future__ import annotations

import sys

from ..text import words
from .common import FORMATS, Parser, UsageError, isatty, use_region, write


def add_parsers(commands, where) -> None:
    targets = commands.add_parser("targets", help="add, remove, list or import watched targets")
    targets.set_defaults(run=run)
    actions = targets.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    add = actions.add_parser(
        "add",
        parents=[where],
        help="watch an address, host or network, or change the settings of a watched one",
        description="Watch a target: an address, a host name (its addresses are looked up at every check) or a "
        "network (IPv4 /24 or longer, IPv6 /120 or longer). Its first check follows at once. On a watched "
        "target, only the settings named here change; an empty value ('') removes that setting.",
    )
    add.add_argument("ip", metavar="TARGET", help="an address, a host name (mail.example.com) or a network")
    add.add_argument("--sender", help="MAIL FROM for SPF: user@domain or a domain ('' removes it)")
    add.add_argument("--helo", help="HELO name, to check SPF for it too ('' removes it)")
    add.add_argument("--label", help="a name for people, shown in alerts ('' removes it)")
    add.add_argument(
        "--zone",
        action="append",
        metavar="ZONE",
        help="only these DNSBLs (repeatable; '' goes back to the default set)",
    )
    state = add.add_mutually_exclusive_group()
    state.add_argument(
        "--disabled", dest="enabled", action="store_const", const=False, help="keep it but stop checking it"
    )
    state.add_argument("--enabled", dest="enabled", action="store_const", const=True, help="check it again")
    remove = actions.add_parser("remove", parents=[where], help="stop watching a target")
    remove.add_argument("ip", metavar="TARGET", help="the watched address, host or network, as `targets list` shows it")
    actions.add_parser("list", parents=[where], help="the watched targets")
    load = actions.add_parser(
        "import",
        parents=[where],
        help="watch every target of a CSV file (ip,sender,label,helo,zones): addresses, hosts, networks",
        description="Read and check the whole file first: one bad line and nothing is written. An interrupted "
        "import is finished by running it again.",
    )
    load.add_argument("file", metavar="FILE", help="a CSV file (UTF-8, header optional, '#' comments), or - for stdin")

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
    from ..aws import aws_errors

    with aws_errors("AWS"):  # the session itself: no region, a missing profile, a broken config file
        return _deployment(args)


def _deployment(args) -> int:
    from ..aws import HealthStore, TargetStore, aws_errors
    from . import fleet as admin

    if args.command == "targets" and not args.action:
        raise UsageError("say what to do: senderwatch targets add|remove|list|import (see --help)")
    use_region(args.region or None)
    plan = admin.read_import(args.file) if args.command == "targets" and args.action == "import" else None
    given: dict = {}
    if args.command == "targets" and args.action == "add":
        given = {name: getattr(args, name) for name in ("sender", "helo", "label", "enabled")}
        given = {name: value for name, value in given.items() if value is not None}
        if args.zone is not None:
            given["zones"] = [z for value in args.zone for z in words(value)]
        admin.parse_settings(args.ip, given)  # bad input fails before AWS is asked anything
    table, health_table = admin.find_tables(args.stack, args.table, getattr(args, "health_table", None))
    store = TargetStore.named(table)
    if args.command == "status" or args.action == "list":
        with aws_errors("cannot read the watched targets"):
            items = list(store.scan())
        rows = admin.status_rows(items)
        if args.command == "status":
            domains = None
            if health_table:
                watched = admin.watched_domain_names(items)
                with aws_errors("cannot read the domains' findings"):
                    domains = admin.domain_rows(HealthStore.named(health_table).domains(), watched)
            if args.format == "json":
                write(admin.status_json(rows, domains))
            else:
                hint = "" if domains is not None or not admin.watched_domain_names(items) else admin.NO_DOMAINS
                write("\n\n".join(filter(None, (admin.status_table(rows), admin.domains_table(domains or []), hint))))
        else:
            write(admin.targets_lines(rows))
    elif args.action == "add":
        write(admin.add_target(store, args.ip, given))
    elif args.action == "remove":
        write(admin.remove_target(store, args.ip))
    elif plan is not None:
        progress = _import_progress if isatty(sys.stderr) else None
        try:
            summary = admin.import_targets(store, plan, progress)
        finally:
            if progress:
                sys.stderr.write("\r\x1b[K")
        for note in plan.notes[:20]:  # after the import: a failed one is one line, and nothing else
            print(f"senderwatch: note: {note}", file=sys.stderr)
        write(summary)
    return 0


def _import_progress(done: int, total: int) -> None:
    sys.stderr.write(f"\rimporting: {done:,}/{total:,} targets written")
    sys.stderr.flush()
