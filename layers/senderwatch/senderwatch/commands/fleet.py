"""`senderwatch targets ...`: what changes the watched list, from a terminal (the deployment's
parts it needs, one target, many removed, an import, an export), and the checks those changes
start through the deployment's check queue.

Targets change only as the command says: `targets add` on a watched address changes the
settings it names and nothing else; `targets import` reads and checks the whole file before
it writes anything, and a re-run of an interrupted import finishes it. A new target's first
check comes from the table's stream (an INSERT); a change of what a check looks at (sender,
HELO, zones, or --enabled again) is sent to the check queue by the command itself, when it
knows the queue (--stack), since the stream starts checks of new targets only.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..addresses import shown, sort_key
from ..aws import CheckQueue, TargetStore, aws_errors, client, region
from ..config import Config
from ..errors import Interrupted, InvalidInput, InvalidLines, InvalidTarget, ServiceError
from ..identities import validate_helo
from ..overlaps import Watchers, addresses_of, known_addresses, watched_twice
from ..scheduler import Plan, plan_messages, start_run
from ..targets import (
    HOST,
    LABEL_MAX,
    Target,
    item_senders,
    parse_senders,
    parse_target,
    sender_settings,
    validate_label,
    validate_zones,
)
from ..text import clean_text, visible, words

# An import file's columns, in this order without a header (`targets export` writes this header).
COLUMNS = ("ip", "sender", "label", "helo", "zones", "enabled")
_ALIASES = {
    "ipaddress": "ip",
    "address": "ip",
    "addr": "ip",
    "target": "ip",  # as `targets list` and `status` head the column
    "host": "ip",
    "hostname": "ip",
    "mailfrom": "sender",
    "zone": "zones",
    "name": "label",
}
_UNSET = {"-", "(default)"}  # what `targets list` shows for a setting that is not set (no value of one)
_YES, _NO = {"yes", "y", "true", "1", "on", "enabled"}, {"no", "n", "false", "0", "off", "disabled"}
_SEP = re.compile(r"\s*sep=(.)\s*", re.IGNORECASE)  # Excel's first line, naming the delimiter
DELIMITERS = (",", ";", "\t")  # what a file without `sep=` or --delimiter is tried with
SHOWN = 20  # bad lines (or targets not watched) said one by one; the rest are counted
IMPORT_MAX_BYTES = 64 * 1024 * 1024
RECHECK = ("sender", "senders", "helo", "zones", "enabled")  # settings whose change changes what a check finds


# -- the deployment -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    """Where a deployment keeps what the command needs: its targets table, and what only a stack's
    outputs name (its health table, its check queue)."""

    table: str
    health_table: str | None = None
    queue_url: str | None = None

    def queue(self) -> CheckQueue | None:
        return CheckQueue.named(self.queue_url) if self.queue_url else None


def find_deployment(stack: str | None, table: str | None, health: str | None = None) -> Deployment:
    """The targets table (--table, else the --stack's output, else SENDERWATCH_TABLE), the health
    table, where the domains' findings are (--health-table, the stack's, SENDERWATCH_HEALTH_TABLE),
    and the stack's check queue."""
    if stack and table:
        raise InvalidInput("give --stack or --table, not both")
    health = health or os.environ.get("SENDERWATCH_HEALTH_TABLE") or None
    if table:
        return Deployment(table, health)
    if stack:
        values = stack_outputs(stack)
        if "TargetsTableName" in values:
            return Deployment(
                values["TargetsTableName"], health or values.get("HealthTableName"), values.get("CheckQueueUrl")
            )
        raise ServiceError(
            f"stack {shown(stack)} in region {region()} has no TargetsTableName output: is it a senderwatch stack?"
        )
    if os.environ.get("SENDERWATCH_TABLE"):
        return Deployment(os.environ["SENDERWATCH_TABLE"], health)
    raise InvalidInput("say which deployment: --stack NAME (or --table NAME, or SENDERWATCH_TABLE)")


def stack_outputs(stack: str) -> dict[str, str]:
    """The stack's outputs by key."""
    with aws_errors(f"cannot read stack {shown(stack)}"):
        outputs = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {output["OutputKey"]: output["OutputValue"] for output in outputs}


def find_tables(stack: str | None, table: str | None, health: str | None = None) -> tuple[str, str | None]:
    """The targets table and the health table (see find_deployment)."""
    found = find_deployment(stack, table, health)
    return found.table, found.health_table


# -- checks now, through the check queue ------------------------------------------------------------


def send_checks(queue: CheckQueue, items: Iterable[dict], now: datetime | None = None) -> Plan:
    """Put the enabled ITEMS on the check queue as the scheduler does, in messages stamped with a run
    of their own that is not a scheduled one (so no list's count of failing runs moves). The plan
    says what was sent; items that are not targets senderwatch can check are in its `invalid`."""
    plan = plan_messages(items, Config().targets_per_message, start_run(now or datetime.now(UTC), scheduled=False))
    with aws_errors("cannot send to the check queue"):
        queue.send(plan.messages)
    return plan


def refusal(lines: list[str]) -> InvalidInput:
    """One error saying each of LINES on a line of its own (up to SHOWN, then how many more)."""
    said = lines[:SHOWN] + ([f"and {len(lines) - SHOWN:,} more ({len(lines):,} in all)"] if len(lines) > SHOWN else [])
    return InvalidInput(said[0]) if len(said) == 1 else InvalidLines(said)


# -- one target ---------------------------------------------------------------------------------


def parse_settings(target: str, given: dict) -> tuple[str, dict]:
    """The canonical key of a target (address, host or network) and the validated settings a
    person named (None: remove that setting).

    GIVEN holds only what was named: {"label": ""} removes the label, an absent key keeps it.
    """
    what = parse_target(target)
    changes: dict = {}
    for name, value in given.items():
        if name == "sender":  # one or several (a list, or a text naming them): `sender` or `senders`
            changes.update(sender_settings(parse_senders(value)))
        elif name == "enabled":
            changes[name] = bool(value)
        elif name == "zones":
            changes[name] = list(validate_zones(value, what.families)) if any(z.strip() for z in value) else None
        elif not str(value).strip():
            changes[name] = None
        elif name == "helo":
            changes[name] = validate_helo(value)
        elif name == "label":
            changes[name] = validate_label(value)
    return what.key, changes


def changed_settings(old: dict, changes: dict) -> dict[str, tuple[Any, Any]]:
    """The settings CHANGES really changes on OLD, each with (before, after)."""
    out = {}
    for name, value in changes.items():
        before = old.get(name)
        if isinstance(before, set):
            before = sorted(before)
        if value != before:
            out[name] = (before, value)
    return out


def describe_change(old: dict | None, changes: dict) -> str:
    """'added', 'unchanged' or 'updated: sender x -> y, label removed'."""
    if old is None:
        return "added"
    if "senders" in changes:  # `sender` and `senders` are one setting to a person: the senders
        after = item_senders({k: v for k, v in {**old, **changes}.items() if v is not None})
        old = {**old, "sender": " ".join(_senders_written(old)) or None}
        changes = {**changes, "sender": " ".join(after) or None}
        del changes["senders"]
    parts = []
    for name, (before, value) in changed_settings(old, changes).items():
        if value is None:
            parts.append(f"{name} removed")
        elif before is None:
            parts.append(f"{name} set to {_show_value(value)}")
        else:
            parts.append(f"{name} {_show_value(before)} -> {_show_value(value)}")
    return "updated: " + ", ".join(parts) if parts else "unchanged"


def _senders_written(item: dict) -> tuple[str, ...]:
    """The senders of an item as it was, for saying what changed (one written by hand that cannot be
    read: as it is written)."""
    try:
        return item_senders(item)
    except InvalidInput:
        more = item.get("senders") or []
        more = more if isinstance(more, (list, tuple, set)) else [more]
        return tuple(filter(None, (str(item.get("sender") or ""), *map(str, more))))


def _show_value(value) -> str:
    if isinstance(value, (list, tuple)):
        value = " ".join(map(str, value))
    return clean_text(str(value).lower() if isinstance(value, bool) else str(value), 60)


def _recheck(old: dict, changes: dict) -> dict | None:
    """The item as CHANGES leave it, when they change what its check finds and it is checked at all."""
    if not set(changed_settings(old, changes)) & set(RECHECK):
        return None
    item = {name: value for name, value in {**old, **changes}.items() if value is not None}
    return item if item.get("enabled", True) is not False else None


def _recheck_said(queue: CheckQueue | None, items: list[dict], subject: str, target: str = "") -> str:
    """Send ITEMS' checks to QUEUE, and say when they come (SUBJECT: 'it is', 'the 3 updated ones are')."""
    now = f"senderwatch check-now {target} --stack NAME" if target else "senderwatch check-now --stack NAME"
    if queue is None:
        return f"{subject} checked with the new settings at the next scheduled run (now: {now})"
    try:
        plan = send_checks(queue, items)
    except ServiceError as exc:  # the change is written all the same: only its check waits
        return f"{subject} checked with the new settings at the next scheduled run ({exc}; now: {now})"
    if not plan.targets:
        return f"{subject} not checked: {'; '.join(problem for _, problem in plan.invalid)}"
    return f"{subject} checked with the new settings within a minute or two"


def add_target(store: TargetStore, address: str, given: dict, queue: CheckQueue | None = None) -> str:
    """Watch ADDRESS, or change the settings GIVEN of a watched one; a line saying what happened.
    A change of what its check finds sends it to QUEUE (the deployment's check queue), if given."""
    ip, changes = parse_settings(address, given)
    with aws_errors("cannot write the target"):
        old = store.update_target(ip, changes)
    if old is None:
        if changes.get("enabled") is False:
            return f"{ip} added, disabled: it is not checked until 'targets add {ip} --enabled'"
        every = " (its addresses are looked up at every check)" if parse_target(ip).kind == HOST else ""
        return f"{ip} added{every}: its first check follows within a minute"
    said = f"{ip} {describe_change(old, changes)}"
    item = _recheck(old, changes)
    return f"{said}; {_recheck_said(queue, [item], 'it is', ip)}" if item else said


def watched_twice_notes(store: TargetStore, targets: dict[str, list[str]]) -> list[str]:
    """What to say of TARGETS (key -> a host's addresses found now, if any) whose addresses other
    enabled targets of the table watch too: by what the table knows (a host's last findings list its
    addresses; a network holds every address in it). Notes, not errors: it may be on purpose."""
    with aws_errors("cannot read the watched targets"):
        items = [item for item in store.scan_watched() if item.get("enabled", True) is not False]
    index = Watchers.of(items)
    known = {str(item.get("ip")): known_addresses(item) for item in items}
    notes = []
    for key, found in targets.items():
        name = parse_target(key)
        addresses = addresses_of(name, list(dict.fromkeys([*found, *known.get(key, ())])))
        notes += watched_twice(key, index.others(key, addresses))
    return notes


def remove_targets(store: TargetStore, keys: Iterable[str]) -> tuple[list[str], list[str]]:
    """Stop watching each of KEYS (a target, or a key written by hand, as `status` shows it): the
    keys removed, and those that are not watched."""
    wanted = list(dict.fromkeys(str(key) for key in keys))
    candidates = {key: _candidates(key) for key in wanted}
    with aws_errors("cannot read the watched targets"):
        found = store.get_many(dict.fromkeys(c for cs in candidates.values() for c in cs))
    removed: dict[str, None] = {}
    missing = []
    for key in wanted:
        hit = next((c for c in candidates[key] if c in found), None)
        if hit is None:
            missing.append(key)
        else:
            removed[hit] = None
    with aws_errors("cannot remove the targets"):
        store.delete_targets(removed)
    return list(removed), missing


def _candidates(key: str) -> list[str]:
    """The keys KEY may be stored under: as senderwatch writes the target, and as written (by hand).
    Nothing DynamoDB cannot hold as a key (empty, longer than 2048 bytes) is ever stored."""
    keys = [key]
    try:
        keys.insert(0, parse_target(key).key)
    except InvalidInput:
        pass
    return [k for k in dict.fromkeys(keys) if 0 < len(k.encode("utf-8", "surrogatepass")) <= 2048]


# -- many targets: reading a file ---------------------------------------------------------------------


@dataclass
class Sheet:
    """A file of targets, read and cut into cells, before any cell is judged: its rows under their
    columns, and the lines that could not even be cut (a quote left open)."""

    name: str
    columns: tuple[str, ...] = COLUMNS
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, cells)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    unit: tuple[str, str] = ("line", "lines")  # what a row is called; a JSON file's are entries
    listed: bool = False  # headed as `targets list` prints it: a label '-' is one not set there

    def refuse(self, problems: list[tuple[int, str]], nothing: str) -> None:
        """InvalidInput naming every bad line (up to SHOWN, then how many more), when there is one."""
        if not problems:
            return
        problems = sorted(problems)
        said = [f"{self.name} {self.unit[0]} {line}: {why}" for line, why in problems[:SHOWN]]
        if len(problems) == 1:
            raise InvalidInput(f"{said[0]}; {nothing}")
        more = f"and {len(problems) - SHOWN:,} more; " if len(problems) > SHOWN else ""
        raise InvalidLines([*said, f"{self.name}: {more}{len(problems):,} bad {self.unit[1]} in all; {nothing}"])


def read_sheet(path: str, stdin=None, delimiter: str | None = None, *, strict: bool = True) -> Sheet:
    """Read a CSV file as spreadsheets save it (UTF-8 with or without BOM, any line ending, '#'
    comments, a header optional, Excel's `sep=;` first line), or the JSON `targets export` writes.
    The delimiter: DELIMITER, else `sep=`, else whichever of DELIMITERS ends the first cell of
    most lines at a target (so a semicolon file keeps the commas of its labels). STRICT: a
    header may name only known columns."""
    data = _read_bytes(path, stdin)
    name = _name(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{name} line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8 ('CSV UTF-8' in Excel); nothing was changed"
        ) from None
    if text.lstrip().startswith(("{", "[{")):
        return _json_sheet(name, text)
    first = text.split("\n", 1)[0]
    if sep := _SEP.fullmatch(first.rstrip("\r")):
        text = text[len(first) :]  # the line goes, its line ending stays: line numbers are the file's
        delimiter = delimiter or sep.group(1)
    sheet = Sheet(name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or _delimiter(text))
    header_possible, line = True, 0
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if header_possible and _is_header(cells):
                sheet.columns = _header(cells, name, line, strict)
                sheet.listed = "target" in (c.strip().lower() for c in cells)
                header_possible = False
                continue
            header_possible = False
            if line > start:
                sheet.problems.append((start, f"a quoted field runs on to line {line}: is a closing quote missing?"))
            else:
                sheet.rows.append((start, [_unguarded(cell) for cell in cells]))
    except csv.Error as exc:
        raise InvalidInput(f"{name} line {reader.line_num}: {exc}; nothing was changed") from None
    return sheet


def _json_sheet(name: str, text: str) -> Sheet:
    """The targets of a JSON document as `targets export --format json` writes it, as rows."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{name} is neither CSV nor JSON ({exc}); nothing was changed") from None
    entries = document.get("targets") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise InvalidInput(f'{name}: a JSON file holds {{"targets": [...]}}, as targets export writes it')
    sheet = Sheet(name, unit=("entry", "entries"))
    for number, entry in enumerate(entries, 1):
        unknown = sorted(set(entry) - set(COLUMNS)) if isinstance(entry, dict) else ["(not an object)"]
        if unknown:
            sheet.problems.append((number, f"unknown field {shown(unknown[0])} (fields: {', '.join(COLUMNS)})"))
        elif wrong := next((c for c in COLUMNS if not _json_typed(c, entry.get(c))), None):
            expected = {
                "zones": "a list of names",
                "sender": "a string or a list of them",
                "enabled": "true or false",
            }.get(wrong, "a string")
            sheet.problems.append((number, f"{wrong} is {shown(json.dumps(entry[wrong]))[:80]}: expected {expected}"))
        else:
            sheet.rows.append((number, [_json_cell(entry.get(column)) for column in COLUMNS]))
    return sheet


_FORMULA = ("=", "+", "-", "@")  # what makes a spreadsheet read a cell as a formula


def _guarded(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text, not a formula ('=HYPERLINK(...)' in a label written
    by hand): a quote before it, as spreadsheets mark text themselves; one before a cell that
    starts so already, so that _unguarded gives back exactly CELL."""
    return (
        "'" + cell if cell.startswith(_FORMULA) or (cell[:1] == "'" and cell[1:].startswith((*_FORMULA, "'"))) else cell
    )


def _unguarded(cell: str) -> str:
    """What _guarded wrote, as it was."""
    return cell[1:] if cell[:1] == "'" and cell[1:].startswith((*_FORMULA, "'")) else cell


def _json_typed(column: str, value) -> bool:
    """Whether VALUE is what `targets export --format json` writes in COLUMN (null: not set)."""
    if value is None:
        return True
    if column == "enabled":
        return isinstance(value, bool)
    if column in ("zones", "sender") and isinstance(value, list):  # several senders: a list, as exported
        return all(isinstance(name, str) for name in value)
    return isinstance(value, str)


def _json_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value).strip()


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
        raise InvalidInput(f"{_name(path)} is larger than {IMPORT_MAX_BYTES >> 20} MB: split it into several")
    return data


def _delimiter(text: str, sample: int = 50) -> str:
    """The one of DELIMITERS that ends the first cell of most of the first lines at a target or a
    column's name; of those that do equally well, the one used most; ',' when they all agree."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")][:sample]

    def score(delimiter: str) -> tuple[int, int]:
        good = 0
        for line in lines:
            try:
                cell = next(csv.reader([line], delimiter=delimiter), [""])[:1] or [""]
            except csv.Error:
                continue
            good += _is_target(cell[0]) or _column(cell[0]) in COLUMNS
        return good, sum(line.count(delimiter) for line in lines)

    return max(DELIMITERS, key=score)


def _is_target(cell: str) -> bool:
    try:
        parse_target(cell)
    except InvalidInput:
        return False
    return True


def _is_header(cells: list[str]) -> bool:
    """A first row that names columns: no target in it, and an 'ip' column or only known names."""
    names = [_column(c) for c in cells if c]
    if any(_is_target(c) or _looks_like_address(c) for c in cells if c):
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


def _header(cells: list[str], path: str, line: int, strict: bool) -> tuple[str, ...]:
    names = tuple(_column(c) for c in cells)
    unknown = [cell for cell, name in zip(cells, names) if name not in COLUMNS]
    if unknown and strict:
        raise InvalidInput(f"{path} line {line}: unknown column {shown(unknown[0])} (columns: {', '.join(COLUMNS)})")
    if "ip" not in names:
        raise InvalidInput(f"{path} line {line}: the header names no 'ip' column (columns: {', '.join(COLUMNS)})")
    twice = [cell for cell, name in zip(cells, names) if names.count(name) > 1 and name in COLUMNS]
    if twice:
        raise InvalidInput(
            f"{path} line {line}: the columns {' and '.join(map(shown, twice))} name the same thing: keep one"
        )
    return names


# -- many targets: remove -----------------------------------------------------------------------------


def read_removals(path: str, stdin=None, delimiter: str | None = None) -> list[str]:
    """The targets a file names: one a line, or the first column of a file `targets import` reads
    (its 'ip' column, when a header names one). Only the keys are read: the rest may be anything."""
    sheet = read_sheet(path, stdin, delimiter, strict=False)
    column = sheet.columns.index("ip")
    keys, problems = [], list(sheet.problems)
    for line, cells in sheet.rows:
        if len(cells) > column and cells[column]:
            keys.append(cells[column])
        else:
            problems.append((line, "no target in the 'ip' column"))
    sheet.refuse(problems, "nothing was removed")
    if not keys:
        raise InvalidInput(f"{sheet.name}: no targets in the file; nothing was removed")
    return keys


# -- many targets: import -----------------------------------------------------------------------------


@dataclass
class ImportPlan:
    rows: dict[str, tuple[int, dict]] = field(default_factory=dict)  # ip -> (line, named settings)
    notes: list[str] = field(default_factory=list)


def read_import(path: str, stdin=None, delimiter: str | None = None) -> ImportPlan:
    """Read and check a whole file (see read_sheet: ip[,sender[,label[,helo[,zones[,enabled]]]]] in
    that order without a header). InvalidInput names every bad line (up to SHOWN)."""
    sheet = read_sheet(path, stdin, delimiter)
    plan, problems = ImportPlan(), list(sheet.problems)
    for line, cells in sheet.rows:
        try:
            _read_row(plan, cells, sheet.columns, line, sheet.unit[0], sheet.listed)
        except InvalidInput as exc:
            problems.append((line, str(exc)))
    sheet.refuse(problems, "nothing was added")
    if not plan.rows:
        raise InvalidInput(f"{sheet.name}: no targets in the file; nothing was added")
    return plan


def _read_row(
    plan: ImportPlan, cells: list[str], columns: tuple[str, ...], line: int, unit: str, listed: bool = False
) -> None:
    if len(cells) > len(columns) and any(cells[len(columns) :]):
        raise InvalidInput(f"{len(cells)} fields, but only {len(columns)} columns ({', '.join(columns)})")
    named = dict(zip(columns, cells))
    address = named.pop("ip", "")
    # An empty cell (or '-', as `targets list` shows an unset one) leaves that setting as it is;
    # it never removes one (`targets add` does that). A label may be '-' itself, unless the file
    # is what `targets list` printed (an export writes an unset label as an empty cell).
    given: dict[str, Any] = {
        name: value
        for name, value in named.items()
        if value and (value not in _UNSET or (name == "label" and not listed))
    }
    if "zones" in given:
        given["zones"] = words(given["zones"])
    if "enabled" in given:
        given["enabled"] = _yes_no(given["enabled"])
    ip, changes = parse_settings(address, given)
    earlier = plan.rows.get(ip)
    if earlier is None:
        plan.rows[ip] = (line, changes)
    elif earlier[1] == changes:
        plan.notes.append(f"{unit} {line} repeats {unit} {earlier[0]} ({ip}): imported once")
    else:
        raise InvalidInput(f"{ip} again, with other settings than on {unit} {earlier[0]}")


def _yes_no(cell: str) -> bool:
    if cell.lower() in _YES | _NO:
        return cell.lower() in _YES
    raise InvalidInput(f"enabled is {shown(cell)}: yes or no")


def import_targets(
    store: TargetStore,
    plan: ImportPlan,
    progress: Callable[[int, int], None] | None = None,
    queue: CheckQueue | None = None,
) -> str:
    """Write a checked import: what is new, what changes; what is already so is not written again.
    The targets whose checks the changes change go to QUEUE (the deployment's check queue), if given.

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
    said = [f"{len(new):,} added, {len(changed):,} updated, {unchanged:,} already up to date"]
    if enabled := sum(1 for item in new if item["enabled"]):
        said.append(
            "first checks follow within a minute"
            if enabled == len(new)
            else f"first checks of the {enabled:,} enabled follow within a minute"
        )
    rechecks = [item for ip, changes in changed if (item := _recheck(current[ip], changes))]
    if rechecks:
        subject = "the updated one is" if len(rechecks) == 1 else f"the {len(rechecks):,} updated ones are"
        said.append(_recheck_said(queue, rechecks, subject))
    return said[0] + (": " + "; ".join(said[1:]) if len(said) > 1 else "")


# -- many targets: export -----------------------------------------------------------------------------


def export_rows(items: Iterable[dict]) -> tuple[list[dict], list[str]]:
    """The watched targets as `targets import` reads them back, in `targets list`'s order, and a note
    for each item that is not a target senderwatch can check (left out: the import would refuse it)."""
    rows, notes = [], []
    for item in sorted(items, key=lambda i: sort_key(str(i.get("ip")))):
        try:
            target = Target.from_item(item)
        except InvalidTarget as exc:
            notes.append(f"{visible(str(item.get('ip')))} left out: {exc}")
            continue
        label = target.label
        try:
            label = validate_label(label)
        except InvalidInput:  # written by hand: a label is never a reason not to check, nor to leave out
            label = clean_text(label, LABEL_MAX)
            notes.append(f"{target.ip}: its label is written without its line breaks and control characters")
        rows.append(
            {
                "ip": target.ip,
                # One sender a string, as ever; several a list (a CSV cell: separated by spaces).
                "sender": list(target.senders) if len(target.senders) > 1 else next(iter(target.senders), None),
                "label": label,
                "helo": target.helo,
                "zones": list(target.zones),
                "enabled": target.enabled,
            }
        )
    return rows, notes


def export_csv(rows: list[dict]) -> str:
    """ROWS (export_rows) as CSV with a header: what `targets import` reads back unchanged."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(_guarded(_json_cell(row[column])) for column in COLUMNS)
    return out.getvalue().removesuffix("\n")
