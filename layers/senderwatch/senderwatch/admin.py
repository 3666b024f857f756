"""`senderwatch targets ...` and `senderwatch status`: the watched list, from a terminal.

Targets change only as the command says: `targets add` on a watched address changes the
settings it names and nothing else; `targets import` reads and checks the whole file before
it writes anything, and a re-run of an interrupted import finishes it.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .addresses import address_text, parse_address, shown, sort_key
from .aws import TargetStore, aws_errors, client, region
from .errors import InvalidInput, ServiceError
from .spfcheck import normalize_sender, validate_helo
from .targets import validate_label, validate_zones
from .text import clean_text, json_text

COLUMNS = ("ip", "sender", "label", "helo", "zones")  # an import file's columns, in this order without a header


def find_table(stack: str | None, table: str | None) -> str:
    """The targets table: --table, else the --stack's output, else SENDERWATCH_TABLE."""
    if stack and table:
        raise InvalidInput("give --stack or --table, not both")
    if table:
        return table
    if stack:
        with aws_errors(f"cannot read stack {shown(stack)}"):
            outputs = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
        for output in outputs:
            if output["OutputKey"] == "TargetsTableName":
                return output["OutputValue"]
        raise ServiceError(
            f"stack {shown(stack)} in region {region()} has no TargetsTableName output: is it a senderwatch stack?"
        )
    if os.environ.get("SENDERWATCH_TABLE"):
        return os.environ["SENDERWATCH_TABLE"]
    raise InvalidInput("say which deployment: --stack NAME (or --table NAME, or SENDERWATCH_TABLE)")


# -- one target ---------------------------------------------------------------------------------


def parse_settings(address: str, given: dict) -> tuple[str, dict]:
    """The canonical address and the validated settings a person named (None: remove that setting).

    GIVEN holds only what was named: {"label": ""} removes the label, an absent key keeps it.
    """
    ip = parse_address(address)
    changes: dict = {}
    for name, value in given.items():
        if name == "enabled":
            changes[name] = bool(value)
        elif name == "zones":
            changes[name] = list(validate_zones(value, ip.version)) if any(z.strip() for z in value) else None
        elif not str(value).strip():
            changes[name] = None
        elif name == "sender":
            changes[name] = normalize_sender(value)
        elif name == "helo":
            changes[name] = validate_helo(value)
        elif name == "label":
            changes[name] = validate_label(value)
    return address_text(ip), changes


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
    what = describe_change(old, changes)
    if old is None:
        return f"{ip} added: its first check follows within a minute"
    return f"{ip} {what}"


def remove_target(store: TargetStore, address: str) -> str:
    ip = address_text(parse_address(address))
    with aws_errors("cannot remove the target"):
        if not store.delete_target(ip):
            raise InvalidInput(f"{ip} is not watched")
    return f"{ip} removed"


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
    reader = csv.reader(io.StringIO(text, newline=""))
    first = True
    try:
        for row in reader:
            line = reader.line_num
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if first and "ip" in (c.lower() for c in cells):  # a header names the columns, in any order
                columns = _header(cells, path, line)
                first = False
                continue
            first = False
            try:
                _read_row(plan, cells, columns, line)
            except InvalidInput as exc:
                problems.append(f"line {line}: {exc}")
    except csv.Error as exc:
        raise InvalidInput(f"{_name(path)} line {reader.line_num}: {exc}; nothing was added") from None
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidInput(f"{_name(path)} {problems[0]}{more}; nothing was added")
    if not plan.rows:
        raise InvalidInput(f"{_name(path)}: no targets in the file; nothing was added")
    return plan


def _read_bytes(path: str, stdin) -> bytes:
    if path == "-":
        return (stdin or sys.stdin.buffer).read()
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InvalidInput(f"cannot read {_name(path)}: {exc.strerror}") from None


def _name(path: str) -> str:
    return "standard input" if path == "-" else shown(path, 200)


def _header(cells: list[str], path: str, line: int) -> tuple[str, ...]:
    names = tuple(c.lower() for c in cells)
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"{_name(path)} line {line}: unknown column {shown(unknown[0])} (known: {', '.join(COLUMNS)})"
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
    given = {name: value for name, value in named.items() if value}
    if "zones" in given:
        given["zones"] = given["zones"].replace(",", " ").split()
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
            f"{exc} after {written[0]:,} of {todo:,} writes; run the same import again to finish"
        ) from None
    except KeyboardInterrupt:
        raise ImportInterrupted(
            f"interrupted after {written[0]:,} of {todo:,} writes; run the same import again to finish"
        ) from None
    summary = f"{len(new):,} added, {len(changed):,} updated, {unchanged:,} already up to date"
    return summary + (": first checks follow within a minute" if new else "")


class ImportInterrupted(KeyboardInterrupt):
    """Ctrl-C during an import: what was written stays; the message says how to finish."""


# -- what is watched, and what was found ------------------------------------------------------------


def status_rows(items: Iterable[dict]) -> list[dict]:
    rows = []
    for item in sorted(items, key=lambda i: sort_key(str(i.get("ip")))):
        findings = item.get("findings") or {}
        zones = findings.get("dnsbl", {})
        listed = sorted(z for z, e in zones.items() if e.get("status") == "listed")
        failing = sorted(f"{z} ({e.get('error')})" for z, e in zones.items() if int(e.get("error_runs", 0)) >= 1)
        spf = findings.get("spf") or {}
        sender = _sender(item)
        if spf.get("sender") != sender:
            spf = {}  # found for another sender, before the target was changed: not this target's result
        rdns = findings.get("rdns") or {}
        rows.append(
            {
                "ip": str(item.get("ip")),
                "label": str(item.get("label") or ""),
                "enabled": item.get("enabled", True) is not False,
                "listed": listed,
                "unchecked": bool(findings) and not zones,
                "spf": spf.get("result"),
                "sender": sender,
                "rdns": ", ".join(rdns.get("ptr", [])) if rdns else None,
                "forward_confirmed": rdns.get("forward_confirmed") if rdns else None,
                "not_checked": failing,
                "changed_at": item.get("findings_changed_at"),
                "error": item.get("check_error"),
            }
        )
    return rows


def _sender(item: dict) -> str | None:
    try:
        return normalize_sender(item["sender"]) if item.get("sender") else None
    except (InvalidInput, TypeError):
        return None


_CELL = {"ADDRESS": 45, "LABEL": 30, "LISTED ON": 40, "SPF": 9, "rDNS": 40, "CHANGED": 16}


def status_table(rows: list[dict]) -> str:
    if not rows:
        return "No targets yet: senderwatch targets add IP --sender DOMAIN"
    table: list[tuple[tuple[str, ...], list[str]]] = []  # each row's cells, and notes printed under it
    for r in rows:
        if r["listed"]:
            listed = ", ".join(r["listed"])
        elif r["unchecked"]:
            listed = "not rated by any list"
        else:
            listed = "-" if r["changed_at"] else "not checked yet"
        rdns = "-" if r["rdns"] is None else (r["rdns"] or "no PTR")
        if r["forward_confirmed"] is False:
            rdns += " (not confirmed)"
        label = r["label"] + ("" if r["enabled"] else " (disabled)")
        changed = (r["changed_at"] or "")[:16].replace("T", " ")
        notes = []
        if r["error"]:
            notes.append(f"invalid: {clean_text(r['error'], 200)}")
        if r["not_checked"]:
            notes.append(f"could not ask: {clean_text(', '.join(r['not_checked']), 200)}")
        table.append((_cells((r["ip"], label, listed, r["spf"] or "-", rdns, changed)), notes))
    header = tuple(_CELL)
    widths = [max(len(cells[i]) for cells in [header, *(c for c, _ in table)]) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths)).rstrip()]
    for cells, notes in table:
        out.append("  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip())
        out.extend(" " * (widths[0] + 4) + note for note in notes)
    return "\n".join(out)


def _cells(values: tuple) -> tuple[str, ...]:
    """Each cell on one line and within its column's width, whatever a person or a DNS server wrote."""
    return tuple(clean_text(str(v), limit) for v, limit in zip(values, _CELL.values()))


def targets_lines(rows: list[dict]) -> str:
    if not rows:
        return "No targets yet: senderwatch targets add IP --sender DOMAIN"
    return "\n".join(
        "  ".join(
            clean_text(x, 100)
            for x in (r["ip"], r["sender"] or "", r["label"], "" if r["enabled"] else "(disabled)")
            if x
        )
        for r in rows
    )


def status_json(rows: list[dict]) -> str:
    return json_text({"targets": rows})
