"""`senderwatch targets ...`: what changes the watched list, from a terminal (the tables it is in,
one target, an import).

Targets change only as the command says: `targets add` on a watched address changes the
settings it names and nothing else; `targets import` reads and checks the whole file before
it writes anything, and a re-run of an interrupted import finishes it.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..addresses import shown
from ..aws import TargetStore, aws_errors, client, region
from ..errors import Interrupted, InvalidInput, ServiceError
from ..identities import normalize_sender, validate_helo
from ..targets import HOST, parse_target, validate_label, validate_zones
from ..text import clean_text, visible, words

COLUMNS = ("ip", "sender", "label", "helo", "zones")  # an import file's columns, in this order without a header
_ALIASES = {"ipaddress": "ip", "address": "ip", "addr": "ip", "mailfrom": "sender", "zone": "zones", "name": "label"}
IMPORT_MAX_BYTES = 64 * 1024 * 1024


def find_table(stack: str | None, table: str | None) -> str:
    """The targets table: --table, else the --stack's output, else SENDERWATCH_TABLE."""
    return find_tables(stack, table)[0]


def find_tables(stack: str | None, table: str | None, health: str | None = None) -> tuple[str, str | None]:
    """The targets table (--table, else the --stack's output, else SENDERWATCH_TABLE) and the health
    table, where the domains' findings are (--health-table, the stack's, SENDERWATCH_HEALTH_TABLE)."""
    if stack and table:
        raise InvalidInput("give --stack or --table, not both")
    health = health or os.environ.get("SENDERWATCH_HEALTH_TABLE") or None
    if table:
        return table, health
    if stack:
        with aws_errors(f"cannot read stack {shown(stack)}"):
            outputs = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
        values = {output["OutputKey"]: output["OutputValue"] for output in outputs}
        if "TargetsTableName" in values:
            return values["TargetsTableName"], health or values.get("HealthTableName")
        raise ServiceError(
            f"stack {shown(stack)} in region {region()} has no TargetsTableName output: is it a senderwatch stack?"
        )
    if os.environ.get("SENDERWATCH_TABLE"):
        return os.environ["SENDERWATCH_TABLE"], health
    raise InvalidInput("say which deployment: --stack NAME (or --table NAME, or SENDERWATCH_TABLE)")


# -- one target ---------------------------------------------------------------------------------


def parse_settings(target: str, given: dict) -> tuple[str, dict]:
    """The canonical key of a target (address, host or network) and the validated settings a
    person named (None: remove that setting).

    GIVEN holds only what was named: {"label": ""} removes the label, an absent key keeps it.
    """
    what = parse_target(target)
    changes: dict = {}
    for name, value in given.items():
        if name == "enabled":
            changes[name] = bool(value)
        elif name == "zones":
            changes[name] = list(validate_zones(value, what.families)) if any(z.strip() for z in value) else None
        elif not str(value).strip():
            changes[name] = None
        elif name == "sender":
            changes[name] = normalize_sender(value)
        elif name == "helo":
            changes[name] = validate_helo(value)
        elif name == "label":
            changes[name] = validate_label(value)
    return what.key, changes


def describe_change(old: dict | None, changes: dict) -> str:
    """'added', 'unchanged' or 'updated: sender x -> y, label removed'."""
    if old is None:
        return "added"
    parts = []
    for name, value in changes.items():
        before = old.get(name)
        if isinstance(before, set):
            before = sorted(before)
        if value == before or (value is None and before is None):
            continue
        if value is None:
            parts.append(f"{name} removed")
        elif before is None:
            parts.append(f"{name} set to {_show_value(value)}")
        else:
            parts.append(f"{name} {_show_value(before)} -> {_show_value(value)}")
    return "updated: " + ", ".join(parts) if parts else "unchanged"


def _show_value(value) -> str:
    if isinstance(value, (list, tuple)):
        value = " ".join(map(str, value))
    return clean_text(str(value).lower() if isinstance(value, bool) else str(value), 60)


def add_target(store: TargetStore, address: str, given: dict) -> str:
    """Watch ADDRESS, or change the settings GIVEN of a watched one; a line saying what happened."""
    ip, changes = parse_settings(address, given)
    with aws_errors("cannot write the target"):
        old = store.update_target(ip, changes)
    if old is None:
        if changes.get("enabled") is False:
            return f"{ip} added, disabled: it is not checked until 'targets add {ip} --enabled'"
        every = " (its addresses are looked up at every check)" if parse_target(ip).kind == HOST else ""
        return f"{ip} added{every}: its first check follows within a minute"
    return f"{ip} {describe_change(old, changes)}"


def remove_target(store: TargetStore, key: str) -> str:
    """Stop watching an address; a key written by hand that is not one (as `status` shows it) goes too."""
    candidates = [str(key)]
    try:
        candidates.insert(0, parse_target(key).key)
    except InvalidInput:
        pass
    with aws_errors("cannot remove the target"):
        for candidate in dict.fromkeys(candidates):
            if store.delete_target(candidate):
                return f"{visible(candidate)} removed"
    raise InvalidInput(f"{visible(candidates[0])} is not watched")


# -- many targets: import -----------------------------------------------------------------------


@dataclass
class ImportPlan:
    rows: dict[str, tuple[int, dict]] = field(default_factory=dict)  # ip -> (line, named settings)
    notes: list[str] = field(default_factory=list)


def read_import(path: str, stdin=None) -> ImportPlan:
    """Read and check a whole CSV file (ip[,sender[,label[,helo[,zones]]]], header optional,
    '#' comments, UTF-8 with or without BOM, any line ending). InvalidInput names the line."""
    data = _read_bytes(path, stdin)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{_name(path)} line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8 ('CSV UTF-8' in Excel); nothing was added"
        ) from None
    plan, problems = ImportPlan(), []
    columns: tuple[str, ...] = COLUMNS
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    first, line = True, 0
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if first and _is_header(cells):
                columns = _header(cells, path, line)
                first = False
                continue
            first = False
            try:
                if line > start:
                    raise InvalidInput(f"a quoted field runs on to line {line}: is a closing quote missing?")
                _read_row(plan, cells, columns, line)
            except InvalidInput as exc:
                problems.append(f"line {start}: {exc}")
    except csv.Error as exc:
        raise InvalidInput(f"{_name(path)} line {reader.line_num}: {exc}; nothing was added") from None
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidInput(f"{_name(path)} {problems[0]}{more}; nothing was added")
    if not plan.rows:
        raise InvalidInput(f"{_name(path)}: no targets in the file; nothing was added")
    return plan


def _read_bytes(path: str, stdin) -> bytes:
    try:
        if path == "-":
            source = stdin or (sys.stdin.buffer if sys.stdin is not None else None)
            if source is None:
                raise InvalidInput("standard input is closed: give a file, or pipe one in")
            data = source.read(IMPORT_MAX_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(IMPORT_MAX_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {_name(path)}: {exc.strerror or exc}") from None
    if len(data) > IMPORT_MAX_BYTES:
        raise InvalidInput(f"{_name(path)} is larger than {IMPORT_MAX_BYTES >> 20} MB: split it into several imports")
    return data


def _delimiter(text: str) -> str:
    """',' unless the first line that is not a comment is plainly separated otherwise (';' from a
    spreadsheet in a locale that writes decimal commas, or tabs)."""
    first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    return max((",", ";", "\t"), key=first.count) if any(c in first for c in ";\t") else ","


def _is_header(cells: list[str]) -> bool:
    """A first row that names columns: no address in it, and an 'ip' column or only known names."""
    names = [_column(c) for c in cells if c]
    if any(_looks_like_address(c) for c in cells):
        return False
    return "ip" in names or all(n in COLUMNS for n in names)


def _looks_like_address(cell: str) -> bool:
    try:
        ipaddress.ip_address(cell.strip().strip("[]"))
    except ValueError:
        return False
    return True


def _column(cell: str) -> str:
    name = cell.strip().lower().replace(" ", "").replace("_", "").replace("-", "")
    return _ALIASES.get(name, name)


def _name(path: str) -> str:
    return "standard input" if path == "-" else shown(path, 200)


def _header(cells: list[str], path: str, line: int) -> tuple[str, ...]:
    names = tuple(_column(c) for c in cells)
    unknown = [cell for cell, name in zip(cells, names) if name not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"{_name(path)} line {line}: unknown column {shown(unknown[0])} (columns: {', '.join(COLUMNS)})"
        )
    if "ip" not in names:
        raise InvalidInput(
            f"{_name(path)} line {line}: the header names no 'ip' column (columns: {', '.join(COLUMNS)})"
        )
    if len(set(names)) != len(names):
        raise InvalidInput(f"{_name(path)} line {line}: a column is named twice")
    return names


def _read_row(plan: ImportPlan, cells: list[str], columns: tuple[str, ...], line: int) -> None:
    if len(cells) > len(columns) and any(cells[len(columns) :]):
        raise InvalidInput(f"{len(cells)} fields, but only {len(columns)} columns ({', '.join(columns)})")
    named = dict(zip(columns, cells))
    address = named.pop("ip", "")
    # An empty cell leaves that setting as it is; it never removes one (`targets add` does that).
    given: dict[str, Any] = {name: value for name, value in named.items() if value}
    if "zones" in given:
        given["zones"] = words(given["zones"])
    ip, changes = parse_settings(address, given)
    earlier = plan.rows.get(ip)
    if earlier is None:
        plan.rows[ip] = (line, changes)
    elif earlier[1] == changes:
        plan.notes.append(f"line {line} repeats line {earlier[0]} ({ip}): imported once")
    else:
        raise InvalidInput(f"{ip} again, with other settings than on line {earlier[0]}")


def import_targets(store: TargetStore, plan: ImportPlan, progress: Callable[[int, int], None] | None = None) -> str:
    """Write a checked import: what is new, what changes; what is already so is not written again.

    Interrupted (or stopped by AWS), a re-run of the same file writes only what is missing.
    """
    ips = list(plan.rows)
    with aws_errors("cannot read the watched targets"):
        current = store.get_many(ips)
    new, changed, unchanged = [], [], 0
    for ip in ips:
        changes = plan.rows[ip][1]
        old = current.get(ip)
        if old is None:
            new.append({"ip": ip, "enabled": True, **{k: v for k, v in changes.items() if v is not None}})
        elif describe_change(old, changes) == "unchanged":
            unchanged += 1
        else:
            changed.append((ip, changes))
    todo = len(new) + len(changed)
    written = [0]

    def tick(done: int) -> None:
        written[0] = done
        if progress:
            progress(done, todo)

    try:
        with aws_errors("import stopped"):
            store.write_targets(new, changed, tick)
    except ServiceError as exc:
        raise ServiceError(
            f"{exc} after about {written[0]:,} of {todo:,} writes; run the same import again to finish"
        ) from None
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted after about {written[0]:,} of {todo:,} writes; run the same import again to finish"
        ) from None
    summary = f"{len(new):,} added, {len(changed):,} updated, {unchanged:,} already up to date"
    return summary + (": first checks follow within a minute" if new else "")
