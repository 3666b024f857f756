"""What every `senderwatch` command shares: the parser's conventions, its exit statuses, how it
writes its output (all of it, or one line on why not) and its errors.

Exit statuses, the same for every subcommand:
  0  nothing wrong found
  1  something wrong found (a listing, an SPF problem, a receiver's refusal, a deployment to fix)
  2  bad usage or input (one line on stderr, nothing changed)
  3  nothing wrong found, but some checks could not be completed (the resolver included)
  4  AWS or this machine failed (credentials, a missing table, a full disk)
  130 interrupted; 141 the reader of the output went away (`| head`)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..addresses import shown
from ..errors import InvalidInput, OutputClosed
from ..text import clean_text

USAGE_ERROR, INCOMPLETE, FAILED, INTERRUPTED, CLOSED = 2, 3, 4, 130, 141
FORMATS = {"choices": ("table", "json"), "default": "table", "help": "table for people (default), json for programs"}
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


class UsageError(InvalidInput):
    """Bad usage: one line on stderr, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)

    def _print_message(self, message, file=None):
        """As argparse prints help and version, but a failed write is an error, not silence."""
        if message:
            (file or sys.stderr).write(message)


MIN_TIMEOUT = 0.1  # seconds: less than this and a working resolver would be called dead


def add_dns_options(parser: argparse.ArgumentParser, default: list | None = None, purpose: str = "") -> None:
    """--nameserver and --timeout, for a command that asks DNS itself (DEFAULT: --nameserver's,
    [] for a command that always asks, None for one that asks only when it needs to; PURPOSE:
    what for, when it does not always ask)."""
    from ..nameservers import DNS_TIMEOUT

    parser.add_argument(
        "--nameserver",
        action="append",
        default=default,
        metavar="IP[:PORT]",
        help="resolver to use instead of the system's"
        + (f", {purpose}" if purpose else "")
        + " (repeatable; [IPv6]:PORT)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DNS_TIMEOUT,
        metavar="S",
        help=f"seconds a DNS query may take, resends included, before it counts as timed out (default {DNS_TIMEOUT:g})",
    )


def dns_options(args) -> tuple[list[tuple[str, int]], float]:
    """The resolvers (--nameserver, else the system's) and the timeout, checked."""
    from ..nameservers import parse_nameserver, system_nameservers

    nameservers = [parse_nameserver(ns) for ns in args.nameserver or ()] or system_nameservers()
    if not MIN_TIMEOUT <= args.timeout <= 60:
        raise UsageError(f"invalid --timeout {args.timeout:g}: expected seconds from {MIN_TIMEOUT} to 60")
    return nameservers, args.timeout


def zone_values(argv: list[str]) -> list[str]:
    """ARGV with each `--zone -NAME` written `--zone=-NAME`: argparse takes a value that begins
    with '-' for an option, and -NAME (the default lists without NAME) is a zone's value.
    `--OPTION=--` is refused here, for every option: argparse would drop the `--` and hand the
    command an empty list for a value."""
    out: list[str] = []
    for at, arg in enumerate(argv):
        if arg == "--":  # the rest are arguments, not options
            return out + argv[at:]
        option, _, value = arg.partition("=")
        if value == "--" and option.startswith("--"):
            raise UsageError(f"{option} needs a value, not '--'")
        if out and out[-1] == "--zone" and arg.startswith("-") and not arg.startswith("--"):
            out[-1] = f"--zone={arg}"
        else:
            out.append(arg)
    return out


def deployment_parsers() -> tuple[Parser, Parser]:
    """The options that say which deployment a command is about: (--stack or --table, --region),
    and (--stack, --region) for one that needs the stack itself."""
    where = Parser(add_help=False)
    which = where.add_mutually_exclusive_group()
    which.add_argument("--stack", help="the deployed senderwatch stack (its outputs name what is needed)")
    which.add_argument("--table", help="the targets table, instead of --stack (or set SENDERWATCH_TABLE)")
    where.add_argument("--region", help="AWS region of the deployment (default: your AWS configuration)")
    stack = Parser(add_help=False)
    stack.add_argument("--stack", help="the deployed senderwatch stack")
    stack.add_argument("--region", help="AWS region of the deployment (default: your AWS configuration)")
    return where, stack


def use_region(region: str | None) -> None:
    """--region, checked, for boto3 (AWS_DEFAULT_REGION); nothing when it was not given."""
    if region is None:
        return
    if not _REGION.fullmatch(region):
        raise UsageError(f"invalid --region {shown(region)}: expected a region such as eu-central-1")
    os.environ["AWS_DEFAULT_REGION"] = region


# -- output ---------------------------------------------------------------------------------------


def write(text: str) -> None:
    """Write the output: all of it, or OutputClosed (the reader went away, the disk is full)."""
    if sys.stdout is None:
        raise OutputClosed(FAILED, "cannot write the output: standard output is closed")
    with output_errors():
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
def output_errors() -> Iterator[None]:
    """The reader went away (`| head`: OutputClosed(141)) or the output cannot be written (a full
    disk: OutputClosed(4), one line)."""
    try:
        yield
    except BrokenPipeError:
        silence_stdout()
        raise OutputClosed(CLOSED) from None
    except OSError as exc:
        silence_stdout()
        raise OutputClosed(FAILED, cannot_write(exc)) from None


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit finds nothing to fail on."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def utf8(stream) -> bool:
    return (getattr(stream, "encoding", "") or "").lower().replace("-", "").replace("_", "") == "utf8"


def json_options() -> dict:
    """JSON as stdout takes it: ASCII unless it is UTF-8; indented for a person at a terminal, an
    entry per line for a program (the same document, written several times faster)."""
    return {"ascii_only": not utf8(sys.stdout), "person": isatty(sys.stdout)}


def error(message: str) -> None:
    _stderr(f"senderwatch: error: {clean_text(message, 600)}")


def note(message: str) -> None:
    _stderr(f"senderwatch: note: {clean_text(message, 600)}")


def _stderr(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, AttributeError):
        pass


def isatty(stream) -> bool:
    try:
        return bool(stream and stream.isatty())
    except (OSError, ValueError):
        return False


def flush_stdout() -> None:
    with output_errors():
        if sys.stdout is not None:
            sys.stdout.flush()


def cannot_write(exc: OSError) -> str:
    return "" if isinstance(exc, BrokenPipeError) else f"cannot write the output: {exc.strerror or exc}"


def whole_days(maximum: int) -> Callable[[str], int]:
    """An option's type: a whole number of days from 1 to MAXIMUM, else argparse's one-line error."""

    def days(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"expected a whole number of days from 1 to {maximum}, not {shown(text)}")
        return value

    return days
