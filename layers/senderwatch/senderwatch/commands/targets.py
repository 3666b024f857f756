"""`senderwatch targets add|remove|list|import`: the watched targets of a deployment, from a terminal
(the work itself: fleet.py, loaded only when the command runs, with boto3)."""

from __future__ import annotations

import sys

from ..text import words
from .common import Parser, UsageError, isatty, note, use_region, write


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


def run(args) -> int:
    from ..aws import aws_errors

    if not args.action:
        raise UsageError("say what to do: senderwatch targets add|remove|list|import (see --help)")
    use_region(args.region)
    with aws_errors("AWS"):  # the session itself: no region, a missing profile, a broken config file
        return _ACTIONS[args.action](args)


def _store(args):
    from ..aws import TargetStore
    from .fleet import find_table

    return TargetStore.named(find_table(args.stack, args.table))


def _add(args) -> int:
    from .fleet import add_target, parse_settings

    given = {name: getattr(args, name) for name in ("sender", "helo", "label", "enabled")}
    given = {name: value for name, value in given.items() if value is not None}
    if args.zone is not None:
        given["zones"] = [z for value in args.zone for z in words(value)]
    parse_settings(args.ip, given)  # bad input fails before AWS is asked anything
    write(add_target(_store(args), args.ip, given))
    return 0


def _remove(args) -> int:
    from .fleet import remove_target

    write(remove_target(_store(args), args.ip))
    return 0


def _list(args) -> int:
    from ..aws import aws_errors
    from .overview import status_rows, targets_lines

    store = _store(args)
    with aws_errors("cannot read the watched targets"):
        items = list(store.scan())
    write(targets_lines(status_rows(items)))
    return 0


def _import(args) -> int:
    from .fleet import import_targets, read_import

    plan = read_import(args.file)  # the whole file, checked, before AWS is asked anything
    store = _store(args)
    progress = _import_progress if isatty(sys.stderr) else None
    try:
        summary = import_targets(store, plan, progress)
    finally:
        if progress:
            sys.stderr.write("\r\x1b[K")
    for said in plan.notes[:20]:  # after the import: a failed one is one line, and nothing else
        note(said)
    write(summary)
    return 0


def _import_progress(done: int, total: int) -> None:
    sys.stderr.write(f"\rimporting: {done:,}/{total:,} targets written")
    sys.stderr.flush()


_ACTIONS = {"add": _add, "remove": _remove, "list": _list, "import": _import}
