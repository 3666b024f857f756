"""What is watched and what was found, for `senderwatch status` and `targets list`: one row per
target (a host's or a network's with a row per address), the domains' rows, as a table or JSON."""

from __future__ import annotations

from collections.abc import Iterable

from ..addresses import sort_key
from ..errors import InvalidInput
from ..findings import expand, is_per_address, written_many
from ..identities import normalize_sender, watched_domains
from ..records import count
from ..targets import HOST, parse_target
from ..text import clean_text, json_text, visible

# -- what is watched, and what was found ------------------------------------------------------------


def status_rows(items: Iterable[dict]) -> list[dict]:
    """One row per target, whatever was written on its item by hand (odd shapes are said, not fatal).
    A host's or a network's row holds a row per address ("addresses")."""
    rows = []
    for item in sorted(items, key=lambda i: sort_key(str(i.get("ip")))):
        raw = item.get("findings")
        sender = _sender(item)
        problem = item.get("check_error")
        if raw is not None and not isinstance(raw, dict):
            problem = "the item's findings are not readable (written by hand?): the next check replaces them"
        zone_names = item.get("zones")
        key = str(item.get("ip"))
        try:
            kind = parse_target(key).kind
        except InvalidInput:
            kind = "address"
        row = {
            "ip": key,
            "kind": kind,
            "label": str(item.get("label") or ""),
            "enabled": item.get("enabled", True) is not False,
            "sender": sender,
            "helo": str(item.get("helo") or "") or None,
            "zones": [str(z) for z in zone_names] if isinstance(zone_names, (list, set)) else [],
            "changed_at": item.get("findings_changed_at"),
            "error": problem,
        }
        if is_per_address(raw):
            many = written_many(raw)
            addresses = [
                dict(_finding_row(expand(f, many, ip), sender), ip=ip)
                for ip, f in sorted(many["addresses"].items(), key=lambda pair: sort_key(pair[0]))
            ]
            unresolved = many.get("unresolved") or {}
            notes = ([str(unresolved.get("detail", ""))] if unresolved else []) + many.get("notes", [])
            row |= _summary_row(addresses) | {"checked": True, "addresses": addresses, "unchecked": notes}
        else:
            row |= _finding_row(_mapping(raw), sender)
        rows.append(row)
    return rows


def _finding_row(findings: dict, sender: str | None) -> dict:
    """What one address's findings say, as status shows them."""
    zones = {str(z): e for z, e in _mapping(findings.get("dnsbl")).items() if isinstance(e, dict)}
    spf = _mapping(findings.get("spf"))
    if spf.get("sender") != sender:
        spf = {}  # found for another sender, before the target was changed: not this target's result
    rdns = _mapping(findings.get("rdns"))
    ptr: list = rdns["ptr"] if isinstance(rdns.get("ptr"), list) else []
    return {
        "checked": bool(findings),
        "rated": any(e.get("status") in ("listed", "clean") for e in zones.values()),
        "listed": sorted(z for z, e in zones.items() if e.get("status") == "listed"),
        "spf": spf.get("result"),
        "rdns": ", ".join(map(str, ptr)) if rdns else None,
        "forward_confirmed": rdns.get("forward_confirmed") if rdns else None,
        "not_checked": sorted(f"{z} ({e.get('error')})" for z, e in zones.items() if count(e.get("error_runs")) >= 1),
    }


def _summary_row(addresses: list[dict]) -> dict:
    """A host's or a network's own row: what its addresses say together."""
    spf = sorted({a["spf"] for a in addresses if a["spf"]}, key=lambda r: r != "pass")
    return {
        "rated": any(a["rated"] for a in addresses),
        "listed": sorted({z for a in addresses for z in a["listed"]}),
        "spf": "/".join(spf) or None,
        "rdns": None,
        "forward_confirmed": None,
        "not_checked": sorted({z for a in addresses for z in a["not_checked"]}),
    }


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _sender(item: dict) -> str | None:
    try:
        return normalize_sender(item["sender"]) if item.get("sender") else None
    except (InvalidInput, TypeError):
        return None


_CELL = {"TARGET": 60, "LABEL": 30, "LISTED ON": 40, "SPF": 9, "rDNS": 40, "CHANGED": 16}


def status_table(rows: list[dict]) -> str:
    if not rows:
        return "No targets yet: senderwatch targets add IP --sender DOMAIN"
    table: list[tuple[tuple[str, ...], list[str]]] = []  # each row's cells, and notes printed under it
    for r in rows:
        label = r["label"] + ("" if r["enabled"] else " (disabled)")
        changed = (r["changed_at"] or "")[:16].replace("T", " ")
        notes = []
        if r["error"]:
            notes.append(f"invalid: {clean_text(r['error'], 200)}")
        if r["not_checked"]:
            notes.append(f"could not ask: {clean_text(', '.join(r['not_checked']), 200)}")
        notes += [f"not checked: {clean_text(note, 200)}" for note in r.get("unchecked", [])]
        if "addresses" not in r:
            table.append(
                (_cells((r["ip"], label, _listed(r), r["spf"] or "-", _rdns(r), changed), _CELL.values()), notes)
            )
            continue
        members = r["addresses"]
        count = f"{r['kind']}: {len(members)} address{'es' if len(members) != 1 else ''}"
        table.append((_cells((r["ip"], label, count, "", "", changed), _CELL.values()), notes))
        # A host's every address; a network's only those with something to say (a /24 is 256 rows).
        shown = [a for a in members if r["kind"] == HOST or a["listed"] or a["spf"] not in (None, "pass")]
        for a in shown:
            table.append((_cells(("  " + a["ip"], "", _listed(a), a["spf"] or "-", _rdns(a), ""), _CELL.values()), []))
        if len(shown) < len(members):
            rest = len(members) - len(shown)
            table.append((_cells((f"  ({rest} more: not listed, SPF pass)", "", "", "", "", ""), _CELL.values()), []))
    header = tuple(_CELL)
    widths = [max(len(cells[i]) for cells in [header, *(c for c, _ in table)]) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths)).rstrip()]
    for cells, notes in table:
        out.append("  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip())
        out.extend(" " * (widths[0] + 4) + note for note in notes)
    return "\n".join(out)


def _listed(r: dict) -> str:
    if r["listed"]:
        return ", ".join(r["listed"])
    if not r["checked"]:
        return "not checked yet"
    if not r["rated"]:
        return "no list gave a verdict"
    return "-"


def _rdns(r: dict) -> str:
    rdns = "-" if r["rdns"] is None else (r["rdns"] or "no PTR")
    return rdns + (" (not confirmed)" if r["forward_confirmed"] is False else "")


def _cells(values: tuple, limits) -> tuple[str, ...]:
    """Each cell on one line and within its column's width, whatever a person or a DNS server wrote:
    anything a terminal would act on is written out as an escape, so an odd value looks odd."""
    return tuple(visible(str(v), limit) for v, limit in zip(values, limits))


_LIST = {"TARGET": 60, "SENDER": 40, "HELO": 30, "LABEL": 30, "ZONES": 40, "ENABLED": 8}


def targets_lines(rows: list[dict]) -> str:
    if not rows:
        return "No targets yet: senderwatch targets add IP --sender DOMAIN"
    table = [tuple(_LIST)] + [
        _cells(
            (
                r["ip"],
                r["sender"] or "-",
                r["helo"] or "-",
                r["label"] or "-",
                " ".join(r["zones"]) or "(default)",
                "yes" if r["enabled"] else "no",
            ),
            _LIST.values(),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(_LIST))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table)


def status_json(rows: list[dict], domains: list[dict] | None = None) -> str:
    document: dict = {"targets": rows}
    if domains is not None:
        document["domains"] = domains
    return json_text(document)


# -- the domains ------------------------------------------------------------------------------------


def watched_domain_names(targets: Iterable[dict]) -> set[str]:
    """The domains the TARGETS (items) send as: senders' domains, HELO names, their addresses' PTR
    names. A domain record of a target since removed is not shown."""
    names: set[str] = set()
    for item in targets:
        sender, helo = _sender(item), str(item.get("helo") or "").lower().rstrip(".")
        if not (sender or helo):
            continue
        findings = _mapping(item.get("findings"))
        members = list(_mapping(findings.get("addresses")).values()) if is_per_address(findings) else [findings]
        ptrs = [n for f in members for n in (_mapping(_mapping(f).get("rdns")).get("ptr") or [])]
        names.update(watched_domains(sender, helo or None, [str(n) for n in ptrs]))
    return names


def domain_rows(items: Iterable[dict], watched: set[str] | None = None) -> list[dict]:
    """One row per domain record of the health table: its SPF and DMARC problems and its listings
    (only the WATCHED domains, when given)."""
    rows = []
    for item in sorted(items, key=lambda i: str(i.get("name", ""))):
        if watched is not None and str(item.get("name", "")) not in watched:
            continue
        health = _mapping(item.get("health"))
        spf, dmarc = _mapping(health.get("spf_record")), _mapping(health.get("dmarc"))
        zones = _mapping(health.get("dnsbl"))
        roles: list = health["roles"] if isinstance(health.get("roles"), list) else []
        rows.append(
            {
                "domain": str(item.get("name", "")),
                "roles": [str(r) for r in roles],
                "spf_record": spf.get("record") if spf else None,
                "spf_problems": _problem_codes(spf),
                "dmarc": dmarc.get("record") if dmarc else None,
                "dmarc_policy": dmarc.get("policy") if dmarc else None,
                "dmarc_problems": _problem_codes(dmarc),
                "listed": sorted(str(z) for z, e in zones.items() if _mapping(e).get("status") == "listed"),
                "changed_at": item.get("changed_at"),
            }
        )
    return rows


def _problem_codes(part: dict) -> list[str]:
    problems: list = part["problems"] if isinstance(part.get("problems"), list) else []
    return [str(p.get("code")) for p in problems if isinstance(p, dict)]


NO_DOMAINS = "(the domains' findings are in the health table: give --health-table NAME, or use --stack)"
_DOMAIN_CELL = {"DOMAIN": 60, "AS": 20, "SPF RECORD": 40, "DMARC": 40, "LISTED ON": 40, "CHANGED": 16}


def domains_table(rows: list[dict]) -> str:
    """The sender domains and HELO names; PTR names only where a list has something to say."""
    shown = [r for r in rows if set(r["roles"]) - {"ptr"} or r["listed"]]
    quiet = len(rows) - len(shown)
    if not shown:
        return f"Domains: {quiet} PTR name(s), none listed." if quiet else ""
    table = [tuple(_DOMAIN_CELL)]
    for r in shown:
        spf = ", ".join(r["spf_problems"]) or ("ok" if r["spf_record"] else "-")
        problems = [c for c in r["dmarc_problems"] if c != "policy-none"]
        dmarc = ", ".join(problems) or (f"p={r['dmarc_policy']}" if r["dmarc_policy"] else "-")
        changed = (r["changed_at"] or "")[:16].replace("T", " ")
        values = (r["domain"], ",".join(r["roles"]), spf, dmarc, ", ".join(r["listed"]) or "-", changed)
        table.append(_cells(values, _DOMAIN_CELL.values()))
    widths = [max(len(row[i]) for row in table) for i in range(len(_DOMAIN_CELL))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    if quiet:
        lines.append(f"(and {quiet} PTR name(s) no list has anything against)")
    return "\n".join(lines)
