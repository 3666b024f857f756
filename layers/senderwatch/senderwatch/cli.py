"""The `senderwatch` command.

Exit statuses, the same for every subcommand:
  0  nothing wrong found
  1  something wrong found (a listing, an SPF problem) - only `check` finds things
  2  bad usage or input (one line on stderr, nothing changed)
  3  nothing wrong found, but some checks could not be completed (the resolver included)
  4  AWS or this machine failed (credentials, a missing table, a full disk)
  130 interrupted; 141 the reader of the output went away (`| head`)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from . import __version__
from .addresses import shown
from .check import CheckResult, HostProblem, check_targets, overall
from .dnsbl import DnsblChecker
from .domains import normalize_sender, validate_helo, watched_domains
from .errors import Interrupted, InvalidInput, NoSubscriber, OutputClosed, ResolverUnusable, ServiceError
from .nameservers import DNS_TIMEOUT, parse_nameserver, system_nameservers
from .report import to_json, to_table
from .resolver import Resolver
from .targets import HOST, NETWORK, parse_target
from .text import clean_text, json_text
from .zones import catalogue, domain_catalogue, resolve_domain_zones, resolve_zones

USAGE_ERROR, INCOMPLETE, FAILED, INTERRUPTED, CLOSED = 2, 3, 4, 130, 141
MIN_TIMEOUT = 0.1  # seconds: less than this and a working resolver would be called dead
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


class UsageError(InvalidInput):
    """Bad usage: one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)

    def _print_message(self, message, file=None):
        """As argparse prints help and version, but a failed write is an error, not silence."""
        if message:
            (file or sys.stderr).write(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="senderwatch",
        description="Is my mail server's IP on a blocklist? Does its SPF pass?",
        epilog="Exit status: 0 nothing wrong, 1 something wrong, 2 bad input, 3 some checks could not "
        "be completed, 4 AWS or this machine failed. 'senderwatch COMMAND --help' tells more.",
    )
    parser.add_argument("--version", action="version", version=f"senderwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser("check", help="check addresses, hosts or networks against DNSBLs, SPF and reverse DNS")
    check.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="an IPv4 or IPv6 address the server sends from, a host name (every address it resolves to) "
        "or a network (IPv4 /24 or longer, IPv6 /120 or longer)",
    )
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
        help="resolver to use instead of the system's (repeatable; [IPv6]:PORT)",
    )
    check.add_argument(
        "--timeout",
        type=float,
        default=DNS_TIMEOUT,
        metavar="S",
        help=f"seconds a DNS query may take, resends included, before it counts as timed out (default {DNS_TIMEOUT:g})",
    )
    check.add_argument(
        "--format", choices=("table", "json"), default="table", help="table for people (default), json for programs"
    )
    check.add_argument("--no-rdns", action="store_true", help="skip the reverse DNS check")

    commands.add_parser("zones", help="list the blocklist catalogue")

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
    bounces.add_argument(
        "--format", choices=("table", "json"), default="table", help="table for people (default), json for programs"
    )

    where = _Parser(add_help=False)
    which = where.add_mutually_exclusive_group()
    which.add_argument("--stack", help="the deployed senderwatch stack (its outputs name what is needed)")
    which.add_argument("--table", help="the targets table, instead of --stack (or set SENDERWATCH_TABLE)")
    where.add_argument("--region", help="AWS region of the deployment (default: your AWS configuration)")

    targets = commands.add_parser("targets", help="add, remove, list or import watched targets")
    actions = targets.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
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
    status.add_argument(
        "--format", choices=("table", "json"), default="table", help="table for people (default), json for programs"
    )
    status.add_argument(
        "--health-table",
        metavar="NAME",
        help="with --table: the health table, for the domains' findings (--stack finds it; "
        "or set SENDERWATCH_HEALTH_TABLE)",
    )
    deployed = _Parser(add_help=False)
    deployed.add_argument("--stack", help="the deployed senderwatch stack")
    deployed.add_argument("--region", help="AWS region of the deployment (default: your AWS configuration)")
    doctor = commands.add_parser(
        "doctor",
        parents=[where],
        help="check the deployment: will the alerts reach you? (one line per check, with the fix)",
        description="Check a deployed stack from here: the stack, the targets, each subscription (confirmed?), "
        "SMS delivery (sandbox, verified numbers, spend limit, origination numbers), the DQS key, the schedule, "
        "the dead-letter and failure queues, the alarms, the last run; and, from inside the deployment, each list "
        "as its own resolver sees it. Exit 0: all is well; 1: something to fix; 3: something could not be checked.",
    )
    doctor.add_argument(
        "--format", choices=("table", "json"), default="table", help="table for people (default), json for programs"
    )
    commands.add_parser(
        "test-alert",
        parents=[deployed],
        help="publish a clearly marked test alert through the stack's topic (email and SMS)",
        description="Publish a test alert through the deployed stack's topic, with the email and SMS variants a "
        "real alert has, so you see what an alert looks like where it arrives. It changes no finding.",
    )
    return parser


# -- output ---------------------------------------------------------------------------------------


def _write(text: str) -> None:
    """Write the output: all of it, or OutputClosed (the reader went away, the disk is full)."""
    if sys.stdout is None:
        raise OutputClosed(FAILED, "cannot write the output: standard output is closed")
    with _output_errors():
        try:
            fd = sys.stdout.fileno()
        except (AttributeError, OSError, ValueError):  # not a file (a test's StringIO)
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
            return
        # Straight to the file descriptor: a short write to a pipe whose reader has gone
        # is not taken for success, as a buffered text stream may take it.
        sys.stdout.flush()
        data = memoryview((text + "\n").encode(sys.stdout.encoding or "utf-8", sys.stdout.errors or "strict"))
        while data:
            data = data[os.write(fd, data) :]


@contextmanager
def _output_errors() -> Iterator[None]:
    """The reader went away (`| head`: OutputClosed(141)) or the output cannot be written (a full
    disk: OutputClosed(4), one line)."""
    try:
        yield
    except BrokenPipeError:
        _silence_stdout()
        raise OutputClosed(CLOSED) from None
    except OSError as exc:
        _silence_stdout()
        raise OutputClosed(FAILED, _cannot_write(exc)) from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit finds nothing to fail on."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _utf8(stream) -> bool:
    return (getattr(stream, "encoding", "") or "").lower().replace("-", "").replace("_", "") == "utf8"


def _json_options() -> dict:
    """JSON as stdout takes it: ASCII unless it is UTF-8; indented for a person at a terminal, an
    entry per line for a program (the same document, written several times faster)."""
    return {"ascii_only": not _utf8(sys.stdout), "person": _isatty(sys.stdout)}


def _error(message: str) -> None:
    _stderr(f"senderwatch: error: {clean_text(message, 600)}")


def _note(message: str) -> None:
    _stderr(f"senderwatch: note: {clean_text(message, 600)}")


def _stderr(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, AttributeError):
        pass


def _isatty(stream) -> bool:
    try:
        return bool(stream and stream.isatty())
    except (OSError, ValueError):
        return False


# -- check ----------------------------------------------------------------------------------------


def _check(args) -> int:
    if not args.targets:
        raise UsageError("give at least one address, host or network to check, e.g. senderwatch check 192.0.2.25")
    names = list(dict.fromkeys(parse_target(target) for target in args.targets))
    sender = normalize_sender(args.sender) if args.sender is not None else None
    helo = validate_helo(args.helo) if args.helo is not None else None
    nameservers = [parse_nameserver(ns) for ns in args.nameserver] or system_nameservers()
    zone_names = [z for value in args.zone for z in value.replace(",", " ").split()]
    if args.zone and not zone_names:
        raise UsageError("--zone needs a list's zone, e.g. --zone dnsbl.justspam.org")
    zones = resolve_zones(zone_names)
    if not MIN_TIMEOUT <= args.timeout <= 60:
        raise UsageError(f"invalid --timeout {args.timeout:g}: expected seconds from {MIN_TIMEOUT} to 60")
    dqs_key = os.environ.get("SPAMHAUS_DQS_KEY", "").strip() or None
    if dqs_key and not (dqs_key.isascii() and dqs_key.isalnum()):
        raise UsageError("invalid SPAMHAUS_DQS_KEY: expected the letters and digits of your DQS key")

    many = len(names) > 1 or any(name.kind != "address" for name in names)
    progress = _progress_bar if many and _isatty(sys.stderr) else None

    domain_zones = resolve_domain_zones(zone_names)

    async def run():
        async with Resolver(nameservers, timeout=args.timeout) as resolver:
            dnsbl = DnsblChecker(resolver, zones, dqs_key)
            results = await check_targets(
                resolver,
                names,
                zones,
                sender=sender,
                helo=helo,
                rdns=not args.no_rdns,
                progress=progress,
                dnsbl=dnsbl,
            )
            if dnsbl.probes.lists_only:
                _note(f"{dnsbl.probes.lists_only}; reverse DNS, SPF and host names cannot be checked through it")
            if not (sender or helo):
                return results, None
            from .domaincheck import check_domains  # SPF records and DMARC: only for a check with domains

            ptrs = [n for r in results if isinstance(r, CheckResult) and r.rdns for n in r.rdns.ptr]
            wanted = watched_domains(sender, helo, ptrs)
            return results, await check_domains(resolver, wanted, domain_zones, dnsbl)

    try:
        results, domains = asyncio.run(run())
    except ResolverUnusable as exc:
        if args.format == "json":
            unchecked: list[CheckResult | HostProblem] = []
            for name in names:
                if name.kind == HOST:
                    unchecked.append(HostProblem(name.key, "resolver-unusable", None, "the resolver cannot be used"))
                network = name.key if name.kind == NETWORK else ""
                unchecked += [CheckResult(ip, network=network) for ip in name.addresses()]
            _write(to_json(unchecked, error=str(exc), **_json_options()))
        _error(str(exc))
        return INCOMPLETE
    finally:
        if progress:
            sys.stderr.write("\r\x1b[K")
    if args.format == "json":
        _write(to_json(results, domains=domains, **_json_options()))
    else:
        colour = _isatty(sys.stdout) and not os.environ.get("NO_COLOR")
        _write(to_table(results, colour=colour, domains=domains or ()))
    return overall(results, domains or ())


def _progress_bar(done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} addresses")
    sys.stderr.flush()


def _zones() -> int:
    lists = [
        f"{zone.zone:<28} {'default' if zone.default else 'opt-in ':<7} "
        f"{'+'.join(f'IPv{f}' for f in zone.families):<10} {zone.name}"
        for zone in catalogue().values()
    ]
    lists += [
        f"{zone.zone:<28} {'default' if zone.default else 'opt-in ':<7} {'domains':<10} {zone.name}"
        for zone in domain_catalogue().values()
    ]
    _write("\n".join(lists))
    return 0


def _bounces(args) -> int:
    from . import bouncelog

    if not args.files and _isatty(sys.stdin):
        raise UsageError("give a mail log (senderwatch bounces /var/log/mail.log), or pipe one in")
    report = bouncelog.read_logs(args.files or ["-"])
    if report.failed and not report.read:
        raise InvalidInput(report.failed[0] if len(report.failed) == 1 else "; ".join(report.failed))
    if args.format == "json":
        document = {"rejections": [g.to_dict() for g in report.groups], "lines": report.lines}
        document["deliveries"] = report.deliveries
        if report.failed:
            document["unreadable"] = report.failed
        _write(json_text(document, **_json_options()))
    else:
        _write(bouncelog.table(report))
    for failure in report.failed:  # what was read is reported; what was not is said, and exits 2
        print(f"senderwatch: error: {failure}", file=sys.stderr)
    return 1 if report.groups else 2 if report.failed else 0


# -- the deployment ---------------------------------------------------------------------------------


def _doctor(args) -> int:
    from . import doctor
    from .aws import aws_errors, client, region

    if args.region is not None:
        if not _REGION.fullmatch(args.region):
            raise UsageError(f"invalid --region {shown(args.region)}: expected a region such as eu-central-1")
        os.environ["AWS_DEFAULT_REGION"] = args.region
    stack = args.stack
    table = getattr(args, "table", None) or (os.environ.get("SENDERWATCH_TABLE") if not stack else None)
    if args.command == "doctor" and table:
        with aws_errors("AWS"):
            where = region()
            findings = doctor.Doctor(client, "", region=where, table=table).run()
        return _doctor_report(args, findings, f"(table {table})", where)
    if not stack:
        raise UsageError(
            f"{args.command} needs the stack: --stack NAME (its outputs name the topic, the queues and the schedule)"
        )
    with aws_errors("AWS"):
        where = region()
        if args.command == "test-alert":
            try:
                message = doctor.test_alert(client, stack)
            except NoSubscriber as exc:
                _error(str(exc))
                return 1
            _write(
                f"A test alert went to every subscriber of stack {stack} (message {message}): look for "
                "'senderwatch TEST ALERT' in your mail and on your phone. Nothing arrived? Run: "
                f"senderwatch doctor --stack {stack}"
            )
            return 0
        findings = doctor.Doctor(client, stack, region=where).run()
    return _doctor_report(args, findings, stack, where)


def _doctor_report(args, findings: list, stack: str, where: str) -> int:
    from . import doctor

    if args.format == "json":
        _write(json_text(doctor.as_json(findings, stack, where), **_json_options()))
    else:
        _write(doctor.table(findings, stack, where))
    return doctor.exit_status(findings)


def _admin(args) -> int:
    from .aws import aws_errors

    with aws_errors("AWS"):  # the session itself: no region, a missing profile, a broken config file
        return _deployment(args)


def _deployment(args) -> int:
    from . import admin
    from .aws import HealthStore, TargetStore, aws_errors

    if args.command == "targets" and not args.action:
        raise UsageError("say what to do: senderwatch targets add|remove|list|import (see --help)")
    if args.region:
        if not _REGION.fullmatch(args.region):
            raise UsageError(f"invalid --region {shown(args.region)}: expected a region such as eu-central-1")
        os.environ["AWS_DEFAULT_REGION"] = args.region
    plan = admin.read_import(args.file) if args.command == "targets" and args.action == "import" else None
    given: dict = {}
    if args.command == "targets" and args.action == "add":
        given = {name: getattr(args, name) for name in ("sender", "helo", "label", "enabled")}
        given = {name: value for name, value in given.items() if value is not None}
        if args.zone is not None:
            given["zones"] = [z for value in args.zone for z in value.replace(",", " ").split()]
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
                _write(admin.status_json(rows, domains))
            else:
                hint = "" if domains is not None or not admin.watched_domain_names(items) else admin.NO_DOMAINS
                _write("\n\n".join(filter(None, (admin.status_table(rows), admin.domains_table(domains or []), hint))))
        else:
            _write(admin.targets_lines(rows))
    elif args.action == "add":
        _write(admin.add_target(store, args.ip, given))
    elif args.action == "remove":
        _write(admin.remove_target(store, args.ip))
    elif plan is not None:
        progress = _import_progress if _isatty(sys.stderr) else None
        try:
            summary = admin.import_targets(store, plan, progress)
        finally:
            if progress:
                sys.stderr.write("\r\x1b[K")
        for note in plan.notes[:20]:  # after the import: a failed one is one line, and nothing else
            print(f"senderwatch: note: {note}", file=sys.stderr)
        _write(summary)
    return 0


def _import_progress(done: int, total: int) -> None:
    sys.stderr.write(f"\rimporting: {done:,}/{total:,} targets written")
    sys.stderr.flush()


# -- main -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if sys.stderr is None:  # started with stderr closed: errors go nowhere, but do not crash
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    if sys.stdout is not None and not _utf8(sys.stdout) and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a non-UTF-8 terminal gets '?' rather than a traceback
    parser = build_parser()
    try:
        if not argv:
            parser.print_help(sys.stderr)
            return USAGE_ERROR
        for number, arg in enumerate(argv, 1):
            if any("\udc80" <= c <= "\udcff" for c in arg):  # bytes that are not UTF-8, as Python passes them
                raise UsageError(f"argument {number} is not valid text (not UTF-8): {shown(arg)}")
        try:
            args, extra = parser.parse_known_args(argv)
        except SystemExit as done:  # --help, --version: printed; make sure it was
            _flush_stdout()
            return int(done.code or 0)
        except OSError as exc:  # --help or --version could not be written
            _silence_stdout()
            raise OutputClosed(CLOSED if isinstance(exc, BrokenPipeError) else FAILED, _cannot_write(exc)) from None
        if extra:
            where = " ".join(filter(None, ("senderwatch", args.command, getattr(args, "action", None))))
            raise UsageError(f"unknown option or extra argument {shown(extra[0])}: see '{where} --help'")
        if args.command is None:
            raise UsageError(
                "say which command: check, bounces, zones, targets, status, doctor or test-alert"
                " (see senderwatch --help)"
            )
        if args.command == "zones":
            return _zones()
        if args.command == "bounces":
            return _bounces(args)
        if args.command in ("targets", "status"):
            return _admin(args)
        if args.command in ("doctor", "test-alert"):
            return _doctor(args)
        return _check(args)
    except InvalidInput as exc:
        _error(str(exc))
        return USAGE_ERROR
    except ServiceError as exc:
        _error(str(exc))
        return FAILED
    except OutputClosed as exc:
        if str(exc):
            _error(str(exc))
        return exc.status
    except (Interrupted, KeyboardInterrupt) as exc:
        if str(exc):
            _error(str(exc))
        return INTERRUPTED


def _flush_stdout() -> None:
    with _output_errors():
        if sys.stdout is not None:
            sys.stdout.flush()


def _cannot_write(exc: OSError) -> str:
    return "" if isinstance(exc, BrokenPipeError) else f"cannot write the output: {exc.strerror or exc}"


if __name__ == "__main__":
    sys.exit(main())
