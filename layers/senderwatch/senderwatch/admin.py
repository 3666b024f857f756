"""`senderwatch targets ...` and `senderwatch status`: the watched list, from a terminal."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable

from .addresses import parse_address
from .aws import TargetStore, client
from .targets import Target


class AdminError(Exception):
    """A problem to show in one line (exit 2)."""


def find_table(stack: str | None, table: str | None) -> str:
    """The targets table: --table, else the --stack's output, else SENDERWATCH_TABLE."""
    if table:
        return table
    if stack:
        try:
            outputs = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
        except Exception as exc:  # noqa: BLE001 - shown as one line
            raise AdminError(f"cannot read stack {stack!r}: {exc}") from None
        for output in outputs:
            if output["OutputKey"] == "TargetsTableName":
                return output["OutputValue"]
        raise AdminError(f"stack {stack!r} has no TargetsTableName output: is it a senderwatch stack?")
    if os.environ.get("SENDERWATCH_TABLE"):
        return os.environ["SENDERWATCH_TABLE"]
    raise AdminError("say which deployment: --stack NAME (or --table NAME, or SENDERWATCH_TABLE)")


def target_from_args(
    ip: str, sender: str | None, helo: str | None, label: str | None, zones: list[str], enabled: bool = True
) -> Target:
    item = {"ip": ip.strip(), "sender": sender, "helo": helo, "label": label, "zones": zones, "enabled": enabled}
    try:
        item["ip"] = str(parse_address(item["ip"]))
        return Target.from_item(item)
    except ValueError as exc:
        raise AdminError(str(exc)) from None


def read_import(path: str) -> list[Target]:
    """CSV (ip[,sender[,label[,helo]]], header optional, '#' comments): all valid or none added."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(line for line in handle if line.strip() and not line.lstrip().startswith("#")))
    except OSError as exc:
        raise AdminError(f"cannot read {path}: {exc.strerror}") from None
    if rows and rows[0] and rows[0][0].strip().lower() == "ip":
        rows = rows[1:]
    targets, problems = [], []
    for number, row in enumerate(rows, 1):
        cells = [c.strip() or None for c in row] + [None] * 4
        try:
            targets.append(target_from_args(cells[0] or "", cells[1], cells[3], cells[2], []))
        except AdminError as exc:
            problems.append(f"row {number}: {exc}")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise AdminError(f"{path}: {problems[0]}{more}; nothing was added")
    if not targets:
        raise AdminError(f"{path}: no targets in the file; nothing was added")
    return targets


def add(store: TargetStore, targets: Iterable[Target]) -> tuple[int, int]:
    new = updated = 0
    for target in targets:
        if store.upsert_target(target.to_item()):
            new += 1
        else:
            updated += 1
    return new, updated


def status_rows(items: Iterable[dict]) -> list[dict]:
    rows = []
    for item in sorted(items, key=lambda i: str(i.get("ip"))):
        findings = item.get("findings") or {}
        listed = sorted(z for z, e in findings.get("dnsbl", {}).items() if e.get("status") == "listed")
        failing = sorted(
            f"{z} ({e.get('error')})" for z, e in findings.get("dnsbl", {}).items() if int(e.get("error_runs", 0)) >= 1
        )
        spf = findings.get("spf") or {}
        rdns = findings.get("rdns") or {}
        rows.append(
            {
                "ip": str(item.get("ip")),
                "label": str(item.get("label") or ""),
                "enabled": bool(item.get("enabled", True)),
                "listed": listed,
                "spf": spf.get("result"),
                "sender": item.get("sender"),
                "rdns": ", ".join(rdns.get("ptr", [])) if rdns else None,
                "forward_confirmed": rdns.get("forward_confirmed") if rdns else None,
                "not_checked": failing,
                "changed_at": item.get("findings_changed_at"),
                "error": item.get("check_error"),
            }
        )
    return rows


def status_table(rows: list[dict]) -> str:
    if not rows:
        return "No targets yet: senderwatch targets add IP --sender DOMAIN"
    header = ("ADDRESS", "LABEL", "LISTED ON", "SPF", "rDNS", "CHANGED")
    lines = []
    for r in rows:
        listed = ", ".join(r["listed"]) or ("-" if r["changed_at"] else "not checked yet")
        spf = r["spf"] or "-"
        rdns = "-" if r["rdns"] is None else (r["rdns"] or "no PTR")
        if r["forward_confirmed"] is False:
            rdns += " (not confirmed)"
        changed = (r["changed_at"] or "")[:16].replace("T", " ")
        label = r["label"] + ("" if r["enabled"] else " (disabled)")
        lines.append((r["ip"], label, listed, spf, rdns, changed))
        if r["error"]:
            lines.append(("", f"  invalid: {r['error']}", "", "", "", ""))
        if r["not_checked"]:
            lines.append(("", f"  could not ask: {', '.join(r['not_checked'])}", "", "", "", ""))
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *lines])


def status_json(rows: list[dict]) -> str:
    return json.dumps({"targets": rows}, indent=2, default=str)
