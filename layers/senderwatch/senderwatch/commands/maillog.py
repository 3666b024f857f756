"""What `senderwatch bounces` reads: mail logs from files (plain or compressed, rotated) or standard
input, and the receivers' rejections in them, grouped, as a table (what each means: refusals.py)."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, BinaryIO

from ..addresses import shown
from ..errors import InvalidInput
from ..refusals import Group, Summary, classify, parse_line, receiver_title
from ..text import clean_text, visible
from .checkreport import removal_lines

_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_TEXT_CHECKED = 8192  # text bytes looked at for what a binary file has (control bytes) at its beginning
_BLOCK = 1 << 16  # read at a time
MAX_LINE = 1 << 16  # characters of a line kept: a mail log line is a few KB; what runs on is cut off
_NOT_TEXT_AFTER = 1 << 20  # bytes read without one that is not NUL: not a log (a disk image, /dev/zero)
_CONTROL = bytes(set(range(32)) - set(b"\t\n\r\f\x1b") | {127})
_XZ = b"\xfd7zXZ\x00"
_NOT_TEXT = {  # what a rotated log may be compressed with that Python cannot read
    b"\x28\xb5\x2f\xfd": "zstd-compressed: zstdcat it into senderwatch bounces -",
    b"\x04\x22\x4d\x18": "lz4-compressed: lz4cat it into senderwatch bounces -",
    b"PK\x03\x04": "a zip archive: unzip it first",
    b"\xff\xfe": "UTF-16 text: convert it to UTF-8 first (iconv -f UTF-16)",
    b"\xfe\xff": "UTF-16 text: convert it to UTF-8 first (iconv -f UTF-16)",
}


@dataclass
class Report:
    groups: list[Group] = field(default_factory=list)
    lines: int = 0  # lines read
    deliveries: int = 0  # of them, delivery attempts (Postfix, Exim or Sendmail) senderwatch could read
    read: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one line per log that could not be read


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


def _decompressed(handle: BinaryIO, path: str) -> IO[bytes]:
    """HANDLE as text bytes: gzip, bzip2 and xz (rotated logs: mail.log.2.gz) read as they are."""
    head = handle.peek(8)[:8] if hasattr(handle, "peek") else b""
    if head.startswith(_GZIP):
        return gzip.GzipFile(fileobj=handle)  # type: ignore[return-value]  # a binary file object all the same
    if head.startswith(_BZIP2):
        return bz2.BZ2File(handle)
    if head.startswith(_XZ):
        return lzma.LZMAFile(handle)
    for magic, what in _NOT_TEXT.items():
        if head.startswith(magic):
            raise InvalidInput(f"cannot read {shown(path, 200)}: {what}")
    return handle


def _lines(path: str, stdin=None) -> Iterator[str]:
    """The lines of a log, whatever it was written with (a stray byte is replaced, not fatal), in
    bounded memory: a block at a time, a line cut at MAX_LINE characters.

    Runs of NUL bytes (what a crash leaves in a syslog file) are skipped wherever they are. A file
    that is not text - control bytes where its text begins, or nothing but NULs for a megabyte -
    is refused before any of it is read as lines, never read as a log without news.
    """
    handle = _open(path, stdin)
    try:
        stream = _decompressed(handle, path)
        try:
            yield from _text_lines(stream, path)
        except (OSError, EOFError, lzma.LZMAError) as exc:  # a truncated or corrupt .gz, .bz2, .xz
            raise InvalidInput(f"cannot read {shown(path, 200)}: {exc}") from None
    finally:
        if path != "-":
            handle.close()


def _text_lines(stream: IO[bytes], path: str) -> Iterator[str]:
    pending, cut = b"", False  # the line so far; whether it ran past MAX_LINE (the rest is dropped)
    looked = read = text = 0
    # read1: what is there, so that a damaged end of a .gz loses only itself, not the block before it
    read1 = getattr(stream, "read1", stream.read)
    while block := read1(_BLOCK):
        read += len(block)
        if b"\x00" in block:
            block = block.replace(b"\x00", b"")
        text += len(block)
        if looked < _TEXT_CHECKED and block:
            sample = block[: _TEXT_CHECKED - looked]
            looked += len(sample)
            if len(sample) - len(sample.translate(None, _CONTROL)) > len(sample) // 10:
                raise InvalidInput(f"cannot read {shown(path, 200)}: not a text file (a mail log is text)")
        elif not text and read >= _NOT_TEXT_AFTER:
            raise InvalidInput(f"cannot read {shown(path, 200)}: not a text file (only NUL bytes)")
        *ended, rest = block.split(b"\n")
        for part in ended:
            if not cut:
                pending += part
            yield pending[:MAX_LINE].decode("utf-8", "replace")
            pending, cut = b"", False
        if not cut:
            pending += rest
            if len(pending) > MAX_LINE:
                pending, cut = pending[:MAX_LINE], True
    if pending:
        yield pending[:MAX_LINE].decode("utf-8", "replace")


def _written_before(path: str, now: datetime) -> datetime:
    """When the log at PATH was last written (no later than NOW): a rotated log's syslog dates
    belong to the year before that, not to this year."""
    if path == "-":
        return now
    try:
        return min(now, datetime.fromtimestamp(os.stat(path).st_mtime, UTC))
    except (OSError, ValueError, OverflowError):
        return now


def read_logs(paths: list[str], stdin=None, now: datetime | None = None) -> Report:
    """Every rejection in the logs at PATHS, grouped. Syslog's timestamps carry no year: a date
    that would lie ahead of when the log was last written is the year before (a log read in
    January that began in December, last year's rotated log). A log that cannot be read is noted
    in `failed` and the others are still read; the same line read twice (a file given twice, or
    mail.log beside syslog) counts once. Rejections count by delivery attempt, message and
    recipient, not by line: a host with two addresses that both refuse is one refusal."""
    now = now or datetime.now(UTC)
    report = Report()
    summary = Summary()
    seen: set[int] = set()
    done: set[str] = set()
    for path in paths:
        key = path if path == "-" else os.path.realpath(path)
        if key in done:
            continue
        done.add(key)
        latest = _written_before(path, now)
        lines = report.lines
        try:
            for line in _lines(path, stdin):
                report.lines += 1
                reply = parse_line(line, latest.year)
                if reply is None:
                    continue
                report.deliveries += 1
                if reply.when is not None and reply.when > latest + timedelta(days=1):
                    reply = parse_line(line, latest.year - 1) or reply
                rejection = classify(reply)
                if rejection is not None:
                    fingerprint = hash(line.rstrip("\r\n"))
                    if fingerprint in seen:
                        continue
                    seen.add(fingerprint)
                summary.add(reply, rejection)
        except InvalidInput as exc:
            report.failed.append(str(exc))
            if report.lines == lines:
                continue  # nothing of it was read
        report.read.append(path)  # all of it, or what came before a damaged end (a truncated .gz)
    report.groups = summary.groups()
    return report


def _seen(first: datetime | None, last: datetime | None) -> str:
    """First and last seen, in UTC, said once: 2026-11-27 09:12 .. 11:40 UTC."""
    if first is None or last is None:
        return "time not given"
    first, last = first.astimezone(UTC), last.astimezone(UTC)
    end = last.strftime("%H:%M") if last.date() == first.date() else last.strftime("%Y-%m-%d %H:%M")
    return f"{first:%Y-%m-%d %H:%M} .. {end} UTC"


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def table(report: Report) -> str:
    """The rejections for people: one block per receiver, code and address, with what to do."""
    if not report.groups:
        if report.lines and not report.deliveries:
            return (
                f"No delivery to another mail server in {_count(report.lines, 'line')}: nothing any receiver said."
                " Is it the sending server's log (Postfix, Exim or Sendmail)?"
            )
        return (
            f"No rejection about the sender in {_count(report.lines, 'line')}"
            f" ({_count(report.deliveries, 'delivery attempt')}): no receiver says it is blocked."
        )
    lines = []
    for group in report.groups:
        r = group.first
        ip = r.sending_ip or r.domain or "(address not given)"
        seen = f"{_count(group.count, 'time')} ({_mail(group.messages, group.recipients)}), "
        seen += _seen(group.first_seen, group.last_seen)
        lines.append(f"{visible(receiver_title(r.receiver), 60)}  {visible(r.code, 40)}  {ip}  {seen}")
        lines.append(f"  {clean_text(r.meaning, 300)}")
        lines.append(f"  receiving host: {visible(r.relay, 120) or '-'}")
        if r.reply:
            lines.append(f"  it said: {clean_text(r.reply, 400)}")
        delist = r.delist or {}
        if delist.get("steps") or delist.get("url"):
            lines += [f"  {line}" for line in removal_lines(delist, r.code)]
        lines.append("")
    total = sum(g.count for g in report.groups)
    messages = set().union(*(g.messages for g in report.groups))
    recipients = set().union(*(g.recipients for g in report.groups))
    lines.append(
        f"{_count(total, 'rejection')} about the sender ({_mail(messages, recipients)}) "
        f"in {_count(report.lines, 'line')}, from {_count(len({g.first.receiver for g in report.groups}), 'receiver')}."
    )
    return "\n".join(lines)


def _mail(messages: set, recipients: set) -> str:
    """How much mail was refused: "2 messages to 3 recipients"."""
    if not recipients:  # only hosts' lines (the recipients' results are in another log)
        return _count(len(messages), "message")
    return f"{_count(len(messages), 'message')} to {_count(len(recipients), 'recipient')}"
