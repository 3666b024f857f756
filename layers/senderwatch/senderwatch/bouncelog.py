"""`senderwatch bounces`: mail logs read from files (plain, gzip-compressed, rotated) or standard
input, and the receivers' rejections as a table or JSON."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from .addresses import shown
from .bounces import Group, Rejection, classify, parse_line, receiver_title, summarize
from .errors import InvalidInput
from .text import clean_text, visible

_GZIP = b"\x1f\x8b"


@dataclass
class Report:
    groups: list[Group] = field(default_factory=list)
    lines: int = 0
    read: list[str] = field(default_factory=list)


def _open(path: str, stdin=None) -> BinaryIO:
    if path == "-":
        source = stdin or (sys.stdin.buffer if sys.stdin is not None else None)
        if source is None:
            raise InvalidInput("standard input is closed: give a log file, or pipe one in")
        return source
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise InvalidInput(f"cannot read {shown(path, 200)}: {exc.strerror or exc}") from None


def _lines(path: str, stdin=None) -> Iterator[str]:
    """The lines of a log, whatever it was written with (a stray byte is replaced, not fatal);
    a gzip-compressed one (mail.log.2.gz) is read as it is."""
    handle = _open(path, stdin)
    try:
        head = handle.peek(2)[:2] if hasattr(handle, "peek") else b""
        stream = gzip.GzipFile(fileobj=handle) if head == _GZIP else handle
        try:
            for raw in stream:
                yield raw.decode("utf-8", "replace")
        except (OSError, EOFError) as exc:  # a truncated or corrupt .gz
            raise InvalidInput(f"cannot read {shown(path, 200)}: {exc}") from None
    finally:
        if path != "-":
            handle.close()


def read_logs(paths: list[str], stdin=None, now: datetime | None = None) -> Report:
    """Every rejection in the logs at PATHS, grouped. Syslog's timestamps carry no year: a date
    that would lie ahead of NOW is last year's (a log read in January that began in December)."""
    now = now or datetime.now(UTC)
    report = Report()
    found: list[Rejection] = []
    for path in paths:
        for line in _lines(path, stdin):
            report.lines += 1
            reply = parse_line(line, now.year)
            if reply is None:
                continue
            if reply.when is not None and reply.when > now + timedelta(days=1):
                reply = parse_line(line, now.year - 1) or reply
            rejection = classify(reply)
            if rejection is not None:
                found.append(rejection)
        report.read.append(path)
    report.groups = summarize(found)
    return report


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def table(report: Report) -> str:
    """The rejections for people: one block per receiver, code and address, with what to do."""
    if not report.groups:
        return f"No rejection about the sender in {_count(report.lines, 'line')}: no receiver says it is blocked."
    lines = []
    for group in report.groups:
        r = group.first
        ip = r.sending_ip or "(address not given)"
        times = f"{group.count} time{'s' if group.count != 1 else ''}"
        seen = f"{times}, {_when(group.first_seen)} .. {_when(group.last_seen)}"
        lines.append(f"{visible(receiver_title(r.receiver), 60)}  {visible(r.code, 40)}  {ip}  {seen}")
        lines.append(f"  {clean_text(r.meaning, 300)}")
        lines.append(f"  receiving host: {visible(r.relay, 120) or '-'}")
        delist = r.delist or {}
        if delist.get("steps") or delist.get("url"):
            lines.append("  What to do:")
            lines += [f"    {n}. {clean_text(step, 300)}" for n, step in enumerate(delist.get("steps") or [], 1)]
            if delist.get("url") and not any(delist["url"] in s for s in delist.get("steps") or []):
                lines.append(f"    {clean_text(delist['url'], 200)}")
            if delist.get("fallback"):
                lines.append(f"    If that fails: {clean_text(delist['fallback'], 300)}")
        lines.append("")
    total = sum(g.count for g in report.groups)
    lines.append(
        f"{_count(total, 'rejection')} about the sender in {_count(report.lines, 'line')}, "
        f"from {_count(len({g.first.receiver for g in report.groups}), 'receiver')}."
    )
    return "\n".join(lines)
