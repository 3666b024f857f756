"""The `senderwatch` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from botocore.exceptions import BotoCoreError, ClientError

from . import __version__
from .addresses import parse_address
from .check import check_addresses, overall
from .report import to_json, to_table
from .resolver import Resolver, parse_nameserver, system_nameservers
from .spfcheck import normalize_sender, validate_helo
from .zones import catalogue, resolve_zones

USAGE_ERROR = 2


class UsageError(Exception):
    """Bad input: one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="senderwatch", description="Is my mail server's IP on a blocklist? Does its SPF pass?")
    parser.add_argument("--version", action="version", version=f"senderwatch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = commands.add_parser("check", help="check addresses against DNSBLs, SPF and reverse DNS")
    check.add_argument("targets", nargs="+", metavar="TARGET", help="IPv4 or IPv6 address")
    check.add_argument("--sender", help="MAIL FROM for SPF: user@domain, or a domain (postmaster@domain)")
    check.add_argument("--helo", help="HELO/EHLO name, to check SPF for the HELO identity too")
    check.add_argument(
        "--zone",
        action="append",
        default=[],
        metavar="ZONE",
        help="DNSBL zone to ask (repeatable; default: the catalogue's default set)",
    )
    check.add_argument(
        "--nameserver",
        action="append",
        default=[],
        metavar="IP[:PORT]",
        help="resolver to use instead of the system's (repeatable)",
    )
    check.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds to wait for each DNS answer before asking again (default 2)",
    )
    check.add_argument("--format", choices=("table", "json"), default="table")
    check.add_argument("--no-rdns", action="store_true", help="skip the reverse DNS check")

    commands.add_parser("zones", help="list the DNSBL catalogue")

    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--stack", help="the deployed senderwatch stack (its outputs name the table)")
    where.add_argument("--table", help="the targets table, instead of --stack")
    where.add_argument("--region", help="AWS region (default: your AWS configuration)")

    targets = commands.add_parser("targets", help="add, remove, list or import watched addresses")
    actions = targets.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = actions.add_parser("add", parents=[where], help="watch an address (its first check follows at once)")
    add.add_argument("ip", metavar="IP")
    add.add_argument("--sender", help="MAIL FROM for SPF: user@domain or a domain")
    add.add_argument("--helo", help="HELO name, to check SPF for it too")
    add.add_argument("--label", help="a name for people, shown in alerts")
    add.add_argument("--zone", action="append", default=[], metavar="ZONE", help="only these DNSBLs (repeatable)")
    add.add_argument("--disabled", action="store_true", help="keep the target but do not check it")
    remove = actions.add_parser("remove", parents=[where], help="stop watching an address")
    remove.add_argument("ip", metavar="IP")
    actions.add_parser("list", parents=[where], help="the watched addresses")
    load = actions.add_parser("import", parents=[where], help="add every address of a CSV file (ip,sender,label,helo)")
    load.add_argument("file", metavar="FILE")

    status = commands.add_parser("status", parents=[where], help="the latest findings, one row per address")
    status.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def _check(args) -> int:
    addresses = []
    for target in args.targets:
        try:
            addresses.append(parse_address(target))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    try:
        sender = normalize_sender(args.sender) if args.sender else None
        helo = validate_helo(args.helo) if args.helo else None
        nameservers = [parse_nameserver(ns) for ns in args.nameserver] or system_nameservers()
        zones = resolve_zones(args.zone)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not 0 < args.timeout <= 60:
        raise UsageError(f"invalid --timeout {args.timeout}: expected seconds between 0 and 60")
    dqs_key = os.environ.get("SPAMHAUS_DQS_KEY", "").strip() or None
    if dqs_key and not dqs_key.isalnum():
        raise UsageError("invalid SPAMHAUS_DQS_KEY: expected the letters and digits of your DQS key")

    progress = _progress_bar if len(addresses) > 1 and sys.stderr.isatty() else None

    async def run():
        async with Resolver(nameservers, timeout=args.timeout) as resolver:
            return await check_addresses(
                resolver,
                addresses,
                zones,
                sender=sender,
                helo=helo,
                dqs_key=dqs_key,
                rdns=not args.no_rdns,
                progress=progress,
            )

    results = asyncio.run(run())
    if progress:
        sys.stderr.write("\r\x1b[K")
    if args.format == "json":
        print(to_json(results))
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        print(to_table(results, colour=colour))
    return overall(results)


def _progress_bar(done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} addresses")
    sys.stderr.flush()


def _zones() -> int:
    for zone in catalogue().values():
        families = "+".join(f"IPv{f}" for f in zone.families)
        mark = "default" if zone.default else "opt-in "
        print(f"{zone.zone:<28} {mark} {families:<10} {zone.name}")
    return 0


def _admin(args) -> int:
    from . import admin
    from .aws import TargetStore

    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region
    try:
        if args.command == "targets" and args.action == "add":
            targets = [
                admin.target_from_args(args.ip, args.sender, args.helo, args.label, args.zone, not args.disabled)
            ]
        elif args.command == "targets" and args.action == "import":
            targets = admin.read_import(args.file)
        store = TargetStore.named(admin.find_table(args.stack, args.table))
        if args.command == "status":
            rows = admin.status_rows(store.scan())
            print(admin.status_json(rows) if args.format == "json" else admin.status_table(rows))
        elif args.action in ("add", "import"):
            new, updated = admin.add(store, targets)
            print(f"{new} added, {updated} updated" + (": first checks follow within a minute" if new else ""))
        elif args.action == "remove":
            ip = admin.target_from_args(args.ip, None, None, None, []).ip
            if not store.delete_target(ip):
                raise admin.AdminError(f"{ip} is not watched")
            print(f"{ip} removed")
        else:
            rows = admin.status_rows(store.scan())
            for row in rows:
                print(
                    "  ".join(
                        x
                        for x in (row["ip"], row["sender"] or "", row["label"], "" if row["enabled"] else "(disabled)")
                        if x
                    )
                )
            if not rows:
                print("No targets yet: senderwatch targets add IP --sender DOMAIN")
        return 0
    except admin.AdminError as exc:
        raise UsageError(str(exc)) from None
    except (BotoCoreError, ClientError) as exc:
        print(f"senderwatch: AWS error: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "zones":
            return _zones()
        if args.command in ("targets", "status"):
            return _admin(args)
        return _check(args)
    except UsageError as exc:
        print(f"senderwatch: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
