"""`senderwatch history`: how long each problem lasted, per target, from a deployment's history table
(and its health table, for the domains, the receivers and the lists): the periods are history.py's;
this module reads the options, finds the tables and shows the periods."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta

from ..addresses import shown
from ..targets import parse_target
from ..text import clean_text, duration, json_text
from .common import FORMATS, USAGE_ERROR, UsageError, error, json_options, use_region, whole_days, write

DAYS = 30  # the time shown when neither --days nor --since says
MAX_DAYS = 3650  # the longest HistoryDays keeps
_CELL = {"KIND": 14, "ABOUT": 40, "ADDRESS": 39, "STATE": 24, "FROM": 16, "TO": 16, "LASTED": 26, "RUNS": 6}


def add_parsers(commands, where) -> None:
    history = commands.add_parser(
        "history",
        parents=[where],
        help="how long each problem lasted: listings, SPF, reverse DNS, domains, receivers' blocks",
        description="The periods each problem lasted, per target, from the deployment's history table: "
        "listings per address and list, SPF and HELO SPF other than pass, reverse DNS lost, a list that "
        "could not answer; with the health table also the domains' SPF and DMARC records and listings, the "
        "receivers' blocks and the lists the deployment could not use. A timeout neither starts nor ends one.",
    )
    history.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="a watched address, host or network, as `targets list` shows it (default: every target, "
        "and the whole deployment's health)",
    )
    when = history.add_mutually_exclusive_group()
    when.add_argument("--days", type=whole_days(MAX_DAYS), metavar="N", help=f"the last N days (default {DAYS})")
    when.add_argument(
        "--since", type=_since, metavar="DATE", help="from DATE to now: 2026-11-01, or 2026-11-01T06:00 (UTC)"
    )
    history.add_argument(
        "--history-table",
        metavar="NAME",
        help="with --table: the history table (--stack finds it; or set SENDERWATCH_HISTORY_TABLE)",
    )
    history.add_argument(
        "--health-table",
        metavar="NAME",
        help="with --table: the health table, for the domains, receivers and lists (--stack finds it; "
        "or set SENDERWATCH_HEALTH_TABLE)",
    )
    history.add_argument("--format", **FORMATS)
    history.set_defaults(run=run)


def _since(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2026-11-01 or 2026-11-01T06:00 (UTC), not {shown(text)}"
        ) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when > datetime.now(UTC):
        raise argparse.ArgumentTypeError(f"{shown(text)} is in the future: the history ends now")
    return when


def run(args) -> int:
    from ..aws import HealthStore, History, aws_errors
    from ..history import read_history

    for target in args.targets:
        parse_target(target)  # a bad target is bad input, before anything is read
    use_region(args.region)
    now = datetime.now(UTC)
    since = args.since or now - timedelta(days=args.days or DAYS)
    with aws_errors("AWS"):  # the session itself: no region, a missing profile, a broken config file
        history_table, health_table = find_history_tables(args.stack, args.table, args.history_table, args.health_table)
        health: list[dict] = []
        if health_table:
            with aws_errors("cannot read the health table"):
                health = list(HealthStore.named(health_table).items())
        with aws_errors("cannot read the history table"):
            found = read_history(History.named(history_table), args.targets or None, since, now, health=health)
    for target in found.unheard:  # said, and the others shown: as targets remove and check-now do
        error(
            f"no history of {shown(target)} since {since:%Y-%m-%d %H:%M} UTC: is it watched? (senderwatch targets list)"
        )
    document = found.to_dict()
    if health_table:  # the mutes that held meanwhile, and what each silenced
        from .silence import history_mutes, mute_records, mutes_text

        with aws_errors("cannot read the history table"):
            about = {parse_target(t).key for t in args.targets} if args.targets else None  # their mutes alone
            history_mutes(document, found, mute_records(health), History.named(history_table), now, about)
    if args.format == "json":
        write(json_text(document, **json_options()))
    else:
        table = history_table_text(document, health_table is not None)
        write("\n\n".join(filter(None, (table, mutes_text(document.get("mutes", [])) if health_table else ""))))
    return USAGE_ERROR if found.unheard else 0


def find_history_tables(
    stack: str | None, table: str | None, history: str | None, health: str | None
) -> tuple[str, str | None]:
    """The history table (--history-table, the stack's output, SENDERWATCH_HISTORY_TABLE) and the
    health table (--health-table, the stack's, SENDERWATCH_HEALTH_TABLE)."""
    history = history or os.environ.get("SENDERWATCH_HISTORY_TABLE") or None
    health = health or os.environ.get("SENDERWATCH_HEALTH_TABLE") or None
    if stack:
        from ..aws import region
        from .fleet import stack_outputs

        values = stack_outputs(stack)
        if "HistoryTableName" not in values:
            raise UsageError(
                f"stack {shown(stack)} in region {region()} has no HistoryTableName output: is it a senderwatch stack?"
            )
        return history or values["HistoryTableName"], health or values.get("HealthTableName")
    if history:
        return history, health
    if table:
        raise UsageError(
            "with --table, name the history table too: --history-table NAME (or SENDERWATCH_HISTORY_TABLE)"
        )
    raise UsageError("say which deployment: --stack NAME (or --table NAME --history-table NAME)")


# -- the table for people ---------------------------------------------------------------------------


def history_table_text(document: dict, with_health: bool = True) -> str:
    """The periods, grouped by target (the watched targets first, then the deployment's health),
    each with how long it lasted; then the time shown and its runs."""
    start, end, runs = _time(document["from"]), _time(document["to"]), document["runs"]
    periods = document["history"]
    holding = sum(p["to"] is None for p in periods)
    window = f"from {start} to {end} UTC: {runs} scheduled run{'s' if runs != 1 else ''}"
    lacking = "" if with_health else " Without the health table the domains, receivers and lists are not shown."
    if not periods:
        return f"No problems {window}.{lacking}"
    said = f"{len(periods)} problem{'s' if len(periods) != 1 else ''}"
    said += f", {holding} still holding" if holding else ""
    footer = f"{window[0].upper()}{window[1:]}, {said}.{lacking}"
    header = tuple(_CELL)
    rows = [(p["target"], _cells(p, document["to"])) for p in periods]
    widths = [max(len(cells[i]) for cells in [header, *(c for _, c in rows)]) for i in range(len(header))]
    out, target = [], None
    for key, cells in rows:
        if key != target:
            if target is not None:
                out.append("")
            out += [clean_text(key, 120), "  " + _line(header, widths)]
            target = key
        out.append("  " + _line(cells, widths))
    return "\n".join([*out, "", footer])


def _cells(period: dict, now: str) -> tuple[str, ...]:
    start, end = _when(period["from"]), _when(period["to"] or now)
    lasted = duration((end - start).total_seconds()) + ("" if period["to"] else " so far")
    values = (
        period["kind"],
        period["about"],
        period["ip"] or "-",
        period["state"],
        _time(period["from"]),
        _time(period["to"]) if period["to"] else "(still)",
        lasted,
        str(period["runs"]),
    )
    return tuple(clean_text(v, limit) for v, limit in zip(values, _CELL.values()))


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip()


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _time(text: str) -> str:
    return text.replace("T", " ")[:16]
