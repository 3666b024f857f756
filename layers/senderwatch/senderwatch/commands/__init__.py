"""The `senderwatch` command: one module per subject, each adding its subcommands to the parser
and running them - check (and zones), bounces, targets (and check-now, status), history, mute
(and unmute, mutes), report, doctor (and test-alert) - with what they share in common.py.
Nothing outside this package imports it but the console script.

A command loads what it uses: `check` no AWS, `bounces` no DNS; the deployment's commands import
boto3 when they run.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..addresses import shown
from ..errors import Interrupted, InvalidInput, InvalidLines, OutputClosed, ServiceError
from . import bounces, check, checknow, doctor, history, mutes, report, status, targets
from .common import (
    CLOSED,
    FAILED,
    INTERRUPTED,
    USAGE_ERROR,
    Parser,
    UsageError,
    cannot_write,
    deployment_parsers,
    error,
    flush_stdout,
    silence_stdout,
    utf8,
    zone_values,
)

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="senderwatch",
        description="Is my mail server's IP on a blocklist? Does its SPF pass?",
        epilog="Exit status: 0 nothing wrong, 1 something wrong, 2 bad input, 3 some checks could not "
        "be completed, 4 AWS or this machine failed. 'senderwatch COMMAND --help' tells more.",
    )
    parser.add_argument("--version", action="version", version=f"senderwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    where, stack = deployment_parsers()
    check.add_parsers(commands)
    bounces.add_parsers(commands)
    targets.add_parsers(commands, where)
    checknow.add_parsers(commands, stack)
    status.add_parsers(commands, where)
    history.add_parsers(commands, where)
    mutes.add_parsers(commands, where)
    report.add_parsers(commands, where)
    doctor.add_parsers(commands, where, stack)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if sys.stderr is None:  # started with stderr closed: errors go nowhere, but do not crash
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    if sys.stdout is not None and not utf8(sys.stdout) and hasattr(sys.stdout, "reconfigure"):
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
            args, extra = parser.parse_known_args(zone_values(argv))
        except SystemExit as done:  # --help, --version: printed; make sure it was
            flush_stdout()
            return int(done.code or 0)
        except OSError as exc:  # --help or --version could not be written
            silence_stdout()
            raise OutputClosed(CLOSED if isinstance(exc, BrokenPipeError) else FAILED, cannot_write(exc)) from None
        if extra:
            where = " ".join(filter(None, ("senderwatch", args.command, getattr(args, "action", None))))
            raise UsageError(f"unknown option or extra argument {shown(extra[0])}: see '{where} --help'")
        if args.command is None:
            raise UsageError(
                "say which command: check, bounces, zones, targets, check-now, status, history, mute, unmute, mutes,"
                " report, doctor or test-alert"
                " (see senderwatch --help)"
            )
        return args.run(args)
    except InvalidInput as exc:
        for line in exc.lines if isinstance(exc, InvalidLines) else [str(exc)]:  # a file's every bad line
            error(line)
        return USAGE_ERROR
    except ServiceError as exc:
        error(str(exc))
        return FAILED
    except OutputClosed as exc:
        if str(exc):
            error(str(exc))
        return exc.status
    except (Interrupted, KeyboardInterrupt) as exc:
        if str(exc):
            error(str(exc))
        return INTERRUPTED
