"""`senderwatch report`: the deployment's HTML report, one self-contained file (the page:
report.py; the periods: history.py; the current findings: overview.py), loaded with boto3 when the
command runs."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..addresses import shown
from ..errors import ServiceError
from .common import UsageError, use_region, whole_days, write

MAX_DAYS = 366


def add_parsers(commands, where) -> None:
    report = commands.add_parser(
        "report", parents=[where], help="an HTML report: the fleet, and a timeline of each target's problems"
    )
    report.add_argument("--html", metavar="FILE", help="write the report to FILE (one HTML file; required)")
    report.add_argument(
        "--days", type=whole_days(MAX_DAYS), default=30, help="the period shown: the last N days (default 30)"
    )
    report.add_argument(
        "--history-table",
        metavar="NAME",
        help="with --table: the history table (--stack finds it; or set SENDERWATCH_HISTORY_TABLE)",
    )
    report.add_argument(
        "--health-table",
        metavar="NAME",
        help="with --table: the health table, for the domains, receivers and lists (--stack finds it; "
        "or set SENDERWATCH_HEALTH_TABLE)",
    )
    report.set_defaults(run=run)


def run(args) -> int:
    from ..aws import HealthStore, TargetStore, aws_errors
    from ..aws import History as HistoryTable
    from ..findings import DOMAIN
    from ..history import read_history
    from ..mutes import holding, summary
    from ..report import render
    from . import overview
    from .fleet import find_tables
    from .history import find_history_tables
    from .silence import mute_records, status_mutes
    from .status import what_is_deployed

    if not args.html:
        raise UsageError("say where to write the report: --html FILE")
    use_region(args.region)
    path = _where(args.html)
    until = datetime.now(UTC)
    with aws_errors("AWS"):
        table, health_table = find_tables(args.stack, args.table, args.health_table)
        history_table, _ = find_history_tables(args.stack, args.table, args.history_table, health_table)
        with aws_errors("cannot read the watched targets"):
            items = list(TargetStore.named(table).scan())
        deployment = what_is_deployed(args.stack)  # its schedule and dead letters: who is stale, as status says
        domains, health = None, []
        if health_table:
            with aws_errors("cannot read the health table"):
                store = HealthStore.named(health_table)
                health = list(store.items())
                domains = overview.domain_rows(store.domains(), overview.watched_domain_names(items))
                deployment.lists = list(store.lists())
        rows = overview.status_rows(items, deployment)
        mutes = holding(mute_records(health), until)
        status_mutes(rows, items, domains, [i for i in health if i.get("kind") == DOMAIN], mutes)
        with aws_errors("cannot read the history"):
            history = read_history(
                HistoryTable.named(history_table), None, until - timedelta(days=args.days), until, health=health
            )
    page = render(history, rows, domains, made=f"{until:%Y-%m-%d %H:%M} UTC", mutes=[summary(m) for m in mutes])
    if path is None:
        write(page)
        return 0
    _write_file(path, page)
    size = path.stat().st_size
    write(f"wrote {path}: {len(rows)} targets, {len(history.periods)} problem periods, {size / 1024:.0f} kB")
    return 0


def _where(html: str) -> Path | None:
    """Where the report goes: the file HTML names (through a symbolic link, to what it points at),
    or standard output for `-`. A path that cannot be a report file is bad input, said before any
    table is read."""
    if html == "-":
        return None
    path = Path(os.path.realpath(html))
    if path.is_dir():
        raise UsageError(f"--html {shown(html)} is a directory: name the file to write")
    if path.exists() and not path.is_file():
        raise UsageError(f"--html {shown(html)} is not a regular file: name the file to write")
    if not path.parent.is_dir():
        raise UsageError(f"--html {shown(html)}: folder {shown(str(path.parent))} does not exist")
    return path


def _write_file(path: Path, text: str) -> None:
    """All of TEXT in PATH, or PATH as it was: written beside it, then renamed over it."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as out:
                out.write(text)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ServiceError(f"cannot write {shown(str(path))}: {exc.strerror or exc}") from None
