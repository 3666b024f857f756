"""`senderwatch targets add|remove|list|import|export`: the watched targets of a deployment, from a terminal
(the work itself: fleet.py, loaded only when the command runs, with boto3)."""

from __future__ import annotations

import sys

from ..addresses import shown
from ..text import json_text, visible, words
from .common import (
    FORMATS,
    Parser,
    UsageError,
    add_dns_options,
    dns_options,
    isatty,
    json_options,
    note,
    use_region,
    write,
)


def add_parsers(commands, where) -> None:
    targets = commands.add_parser("targets", help="add, remove, list, import or export watched targets")
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
    add.add_argument(
        "--sender",
        action="append",
        metavar="SENDER",
        help="MAIL FROM for SPF: user@domain or a domain; repeatable, for a relay that sends as several "
        "domains (the senders named replace the target's; '' removes them)",
    )
    add.add_argument("--helo", help="HELO name, to check SPF for it too ('' removes it)")
    add.add_argument("--label", help="a name for people, shown in alerts ('' removes it)")
    add.add_argument(
        "--zone",
        action="append",
        metavar="ZONE",
        help="only these DNSBLs, or the defaults with +NAME and without -NAME (repeatable; '' goes back to the "
        "default set)",
    )
    add_dns_options(add, purpose="to ask a list the catalogue does not know its test entries")
    state = add.add_mutually_exclusive_group()
    state.add_argument(
        "--disabled", dest="enabled", action="store_const", const=False, help="keep it but stop checking it"
    )
    state.add_argument("--enabled", dest="enabled", action="store_const", const=True, help="check it again")
    remove = actions.add_parser(
        "remove",
        parents=[where],
        help="stop watching targets",
        description="Stop watching each target named (and those of --file). Each removal is said; a target that "
        "is not watched is said too (exit 2), and the others are removed all the same.",
    )
    remove.add_argument(
        "ip", nargs="*", metavar="TARGET", help="a watched address, host or network, as `targets list` shows it"
    )
    remove.add_argument(
        "--file",
        metavar="FILE",
        help="the targets of a file: one a line, or the first column of a file `targets import` reads (- for stdin)",
    )
    remove.add_argument("--delimiter", metavar="CHAR", help=_DELIMITER_HELP)
    listing = actions.add_parser("list", parents=[where], help="the watched targets and their settings")
    listing.add_argument("--format", **FORMATS)
    load = actions.add_parser(
        "import",
        parents=[where],
        help="watch every target of a CSV file (ip,sender,label,helo,zones,enabled): addresses, hosts, networks",
        description="Read and check the whole file first: one bad line and nothing is written (every bad line is "
        "said). An interrupted import is finished by running it again. `targets export` writes what it reads.",
    )
    load.add_argument("file", metavar="FILE", help="a CSV file (UTF-8, header optional, '#' comments), or - for stdin")
    load.add_argument("--delimiter", metavar="CHAR", help=_DELIMITER_HELP)
    export = actions.add_parser(
        "export",
        parents=[where],
        help="the watched targets as a CSV file `targets import` reads back (or JSON)",
        description="Write every watched target with its settings to standard output: CSV with a header "
        "(ip,sender,label,helo,zones,enabled), which `targets import` reads back unchanged, or JSON.",
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (default) or json")


_DELIMITER_HELP = "what separates the columns: , ; | or tab (default: Excel's sep= line, else the one the file uses)"


def run(args) -> int:
    from ..aws import aws_errors

    if not args.action:
        raise UsageError("say what to do: senderwatch targets add|remove|list|import|export (see --help)")
    use_region(args.region)
    with aws_errors("AWS"):  # the session itself: no region, a missing profile, a broken config file
        return _ACTIONS[args.action](args)


def _deployment(args):
    from .fleet import find_deployment

    return find_deployment(args.stack, args.table)


def _store(deployment):
    from ..aws import TargetStore

    return TargetStore.named(deployment.table)


def _add(args) -> int:
    from .fleet import add_target, parse_settings, watched_twice_notes

    given = {name: getattr(args, name) for name in ("sender", "helo", "label", "enabled")}
    given = {name: value for name, value in given.items() if value is not None}
    if args.zone is not None:
        given["zones"] = [z for value in args.zone for z in words(value)]
    key, changes = parse_settings(args.ip, given)  # bad input fails before AWS is asked anything
    asked = _ask_dns(args, key, changes)  # and a list that is not one, before anything is written
    deployment = _deployment(args)
    store = _store(deployment)
    write(add_target(store, args.ip, given, deployment.queue()))
    for said in asked.notes + watched_twice_notes(store, {key: asked.addresses}):
        note(said)
    return 0


def _ask_dns(args, key: str, changes: dict):
    """What DNS says before a target is written: each list the catalogue does not know, by its test
    entries; and, when DNS is asked anyway (or --nameserver names a resolver), a host's addresses."""
    from ..targets import parse_target
    from .listprobe import Asked, ask, unknown_lists

    nameservers, timeout = dns_options(args)
    zones = unknown_lists(changes.get("zones"))
    if not zones and args.nameserver is None:
        return Asked()
    return ask(parse_target(key), zones, nameservers, timeout, host=True)


def _remove(args) -> int:
    from .fleet import read_removals, refusal, remove_targets

    keys = list(args.ip)
    if args.file is not None:
        keys += read_removals(args.file, delimiter=_delimiter(args.delimiter))  # the whole file, before AWS
    elif args.delimiter is not None:
        raise UsageError("--delimiter is for --file")
    if not keys:
        raise UsageError("say which targets: senderwatch targets remove TARGET... (or --file FILE)")
    removed, missing = remove_targets(_store(_deployment(args)), keys)
    if removed:
        write("\n".join(f"{visible(key)} removed" for key in removed))
    if missing:
        raise refusal([f"{visible(key)} is not watched" for key in missing])
    return 0


def _list(args) -> int:
    from ..aws import aws_errors
    from .overview import status_rows, targets_lines

    store = _store(_deployment(args))
    with aws_errors("cannot read the watched targets"):
        items = list(store.scan())
    rows = status_rows(items)
    if args.format == "json":
        settings = ("ip", "kind", "sender", "senders", "helo", "label", "zones", "enabled")
        write(json_text({"targets": [{name: row[name] for name in settings} for row in rows]}, **json_options()))
    else:
        write(targets_lines(rows))
    return 0


def _import(args) -> int:
    from .fleet import import_targets, read_import, watched_twice_notes

    plan = read_import(args.file, delimiter=_delimiter(args.delimiter))  # the whole file, checked, before AWS
    deployment = _deployment(args)
    progress = _import_progress if isatty(sys.stderr) else None
    try:
        summary = import_targets(_store(deployment), plan, progress, deployment.queue())
    finally:
        if progress:
            sys.stderr.write("\r\x1b[K")
    for said in (plan.notes + watched_twice_notes(_store(deployment), dict.fromkeys(plan.rows, [])))[:20]:
        note(said)  # after the import: a failed one is one line, and nothing else
    write(summary)
    return 0


def _import_progress(done: int, total: int) -> None:
    sys.stderr.write(f"\rimporting: {done:,}/{total:,} targets written")
    sys.stderr.flush()


def _export(args) -> int:
    from ..aws import aws_errors
    from .fleet import export_csv, export_rows

    store = _store(_deployment(args))
    with aws_errors("cannot read the watched targets"):
        rows, notes = export_rows(store.scan())
    write(json_text({"targets": rows}, **json_options()) if args.format == "json" else export_csv(rows))
    for said in notes:
        note(said)
    return 0


def _delimiter(given: str | None) -> str | None:
    """--delimiter: one character (tab written as 'tab' or \\t), not a quote or a line break."""
    if given is None:
        return None
    value = {"tab": "\t", "\\t": "\t"}.get(given.lower(), given)
    if len(value) != 1 or value in '"\r\n' or value.isalnum():
        raise UsageError(f"--delimiter {shown(given)}: one character such as , ; | or tab")
    return value


_ACTIONS = {"add": _add, "remove": _remove, "list": _list, "import": _import, "export": _export}
