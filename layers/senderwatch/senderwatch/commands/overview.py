"""What is watched, what was found and how fresh it is, for `senderwatch status` and `targets list`:
one row per target (a host's or a network's with a row per address), the domains' rows, the lists
the deployment cannot use, as a table or JSON, and the exit status they make.

How fresh each target is, and why not, is freshness.py's (the digest's too): this module shows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ..addresses import family_name, sort_key
from ..errors import InvalidInput
from ..findings import (
    HELO_FINE,
    MAIL_FINE,
    RESOLVER,
    ZONE,
    expand,
    is_per_address,
    per_sender,
    spf_entries,
    written_many,
)
from ..freshness import (
    SLACK,
    Deployment,
    Runs,
    as_time,
    dead_letters,
    iso,
    minute,
    scheduled_runs,
    why_stale,
)
from ..freshness import Schedule as Schedule  # what status reads the stack's schedule into
from ..identities import watched_domains
from ..records import count
from ..targets import HOST, Target, item_senders, parse_target
from ..text import clean_text, json_text, visible, words
from .common import INCOMPLETE

PROBLEM, OK = 1, 0

# -- what is watched, and what was found ------------------------------------------------------------


def status_rows(items: Iterable[dict], deployment: Deployment | None = None) -> list[dict]:
    """One row per target, whatever was written on its item by hand (odd shapes are said, not fatal).
    A host's or a network's row holds a row per address ("addresses"). With the DEPLOYMENT's
    schedule, dead letters and health records, each row says whether it is stale, and why."""
    items = list(items)
    deployment = deployment or Deployment(datetime.now(UTC))
    runs = scheduled_runs(items, deployment)
    letters = dead_letters(deployment.dead_letters or ())
    rows = []
    for item in sorted(items, key=lambda i: sort_key(str(i.get("ip")))):
        raw = item.get("findings")
        senders = _senders(item)
        sender = " ".join(senders) or None  # as `targets import` reads it back
        helo = str(item.get("helo") or "") or None
        problem = item.get("check_error")
        if raw is not None and not isinstance(raw, dict):
            problem = "the item's findings are not readable (written by hand?): the next check replaces them"
        key = str(item.get("ip"))
        try:
            kind = parse_target(key).kind
        except InvalidInput:
            kind = "address"
        checked_at = str(item["checked_at"]) if as_time(item.get("checked_at") or "") else None
        row = {
            "ip": key,
            "kind": kind,
            "label": str(item.get("label") or ""),
            "enabled": item.get("enabled", True) is not False,
            "sender": sender,
            "senders": list(senders),
            "helo": helo,
            "zones": _zones(item),
            "changed_at": item.get("findings_changed_at"),
            "checked_at": checked_at,
            "error": problem,
        }
        if is_per_address(raw):
            many = written_many(raw)
            addresses = [
                dict(_finding_row(expand(f, many, ip), senders, helo), ip=ip, checked_at=checked_at)
                for ip, f in sorted(many["addresses"].items(), key=lambda pair: sort_key(pair[0]))
            ]
            unresolved = many.get("unresolved") or {}
            notes = ([str(unresolved.get("detail", ""))] if unresolved else []) + many.get("notes", [])
            row |= _summary_row(addresses) | {"checked": True, "addresses": addresses, "unchecked": notes}
        else:
            row |= _finding_row(_mapping(raw), senders, helo)
        row["stale"] = why_stale(item, runs, deployment, letters)
        row["outcome"] = _outcome(row)
        rows.append(row)
    return rows


def _zones(item: dict) -> list[str]:
    """The target's own lists, as the checker reads them (a string is a list of names, each name as
    it is asked); an item it cannot read shows what was written."""
    try:
        return list(Target.from_item(item).zones)
    except InvalidInput:
        value = item.get("zones")
    if isinstance(value, str):
        return words(value)
    return [str(z) for z in value] if isinstance(value, (list, set, tuple)) else []


def _finding_row(findings: dict, senders: tuple[str, ...], helo: str | None = None) -> dict:
    """What one address's findings say, as status shows them: SPF per sender (`spf_senders`), and
    `spf` the result that needs fixing first (a failing sender's, else the first sender's)."""
    zones = {str(z): e for z, e in _mapping(findings.get("dnsbl")).items() if isinstance(e, dict)}
    # A result found for another sender, before the target was changed, is not this target's.
    found = {str(e.get("sender")): e.get("result") for e in spf_entries(findings.get("spf"))}
    by_sender = [{"sender": s, "result": found[s]} for s in senders if s in found]
    failing = [e for e in by_sender if e["result"] not in MAIL_FINE]
    spf = (failing or by_sender or [{}])[0]
    helo_spf = _mapping(findings.get("helo_spf"))
    if not helo or str(helo_spf.get("sender", "")).rpartition("@")[2].lower() != helo.lower():
        helo_spf = {}  # found for another HELO name
    rdns = _mapping(findings.get("rdns"))
    ptr: list = rdns["ptr"] if isinstance(rdns.get("ptr"), list) else []
    return {
        "checked": bool(findings),
        "rated": any(e.get("status") in ("listed", "clean") for e in zones.values()),
        "listed": sorted(z for z, e in zones.items() if e.get("status") == "listed"),
        "spf": spf.get("result"),
        "spf_senders": by_sender,
        "helo_spf": helo_spf.get("result"),
        "rdns": ", ".join(map(str, ptr)) if rdns else None,
        "forward_confirmed": rdns.get("forward_confirmed") if rdns else None,
        "not_checked": sorted(f"{z} ({e.get('error')})" for z, e in zones.items() if count(e.get("error_runs")) >= 1),
    }


def _summary_row(addresses: list[dict]) -> dict:
    """A host's or a network's own row: what its addresses say together, and how many of them
    have no PTR record, or no verdict of any list."""
    spf = sorted({a["spf"] for a in addresses if a["spf"]}, key=lambda r: r != "pass")
    helo = sorted({a["helo_spf"] for a in addresses if a["helo_spf"]}, key=lambda r: r != "pass")
    return {
        "rated": any(a["rated"] for a in addresses),
        "listed": sorted({z for a in addresses for z in a["listed"]}),
        "spf": "/".join(spf) or None,
        "helo_spf": "/".join(helo) or None,
        "rdns": None,
        "forward_confirmed": None,
        "not_checked": sorted({z for a in addresses for z in a["not_checked"]}),
        "no_ptr": sum(1 for a in addresses if a["rdns"] == ""),
        "unrated": sum(1 for a in addresses if not a["rated"]),
    }


def _spf_wrong(row: dict) -> bool:
    mail, helo = row["spf"], row["helo_spf"]
    return mail is not None and mail not in MAIL_FINE or helo is not None and helo not in HELO_FINE


def _says_something(row: dict, sender: str | None) -> bool:
    """Whether an address has anything to say beside "not listed, SPF pass": a listing, SPF that
    does not pass (or is not known, with a sender), a check not made."""
    return bool(
        row["listed"] or _spf_wrong(row) or (sender and row["spf"] is None) or not row["rated"] or row["not_checked"]
    )


DISABLED = "disabled"
OUTCOMES = {PROBLEM: "problem", INCOMPLETE: "incomplete", OK: "ok"}


def _outcome(row: dict) -> str:
    """What a row means for the exit status: a problem (a listing, SPF), incomplete (stale, not
    checked yet, a list that did not answer, an address no list rated), ok; or disabled."""
    if not row["enabled"]:
        return DISABLED
    members = row.get("addresses", [row])
    if any(m["listed"] or _spf_wrong(m) for m in members):
        return OUTCOMES[PROBLEM]
    unchecked = not row["checked"] or row.get("unchecked") or any(not m["rated"] or m["not_checked"] for m in members)
    return OUTCOMES[INCOMPLETE] if row["stale"] or row["error"] or unchecked else OUTCOMES[OK]


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _senders(item: dict) -> tuple[str, ...]:
    """The senders of an item as the checker reads them (`sender`, `senders`); none when unreadable."""
    try:
        return item_senders(item)
    except InvalidInput:
        return ()


_CELL = {"TARGET": 60, "LABEL": 30, "LISTED ON": 40, "SPF": 60, "rDNS": 40, "CHANGED": 16, "CHECKED": 16}


def status_table(rows: list[dict]) -> str:
    if not rows:
        return "No targets yet: senderwatch targets add IP --sender DOMAIN"
    table: list[tuple[tuple[str, ...], list[str]]] = []  # each row's cells, and notes printed under it
    for r in rows:
        label = r["label"] + ("" if r["enabled"] else " (disabled)")
        times = (minute(r["changed_at"]), minute(r["checked_at"]) or "-")
        notes = []
        if r["stale"] and r["enabled"]:
            notes.append(f"stale: {clean_text(r['stale']['detail'], 300)}")
        if r["error"]:
            notes.append(f"invalid: {clean_text(r['error'], 200)}")
        if r["not_checked"]:
            notes.append(f"could not ask: {clean_text(', '.join(r['not_checked']), 200)}")
        notes += [f"not checked: {clean_text(note, 200)}" for note in r.get("unchecked", [])]
        if "addresses" not in r:
            values = (r["ip"], label, _listed(r), _spf(r), _rdns(r), *times)
            table.append((_cells(values, _CELL.values()), notes))
            continue
        members = r["addresses"]
        size = f"{r['kind']}: {len(members)} address{'es' if len(members) != 1 else ''}"
        table.append((_cells((r["ip"], label, size, "", "", *times), _CELL.values()), notes))
        # A host's every address; a network's only those with something to say (a /24 is 256 rows).
        shown = [a for a in members if r["kind"] == HOST or _says_something(a, r["sender"])]
        for a in shown:
            values = ("  " + a["ip"], "", _listed(a), _spf(a), _rdns(a), "", "")
            table.append((_cells(values, _CELL.values()), []))
        rest = [a for a in members if a not in shown]
        if rest:  # a line of its own, not a cell: it does not widen the column
            table.append(((), [clean_text(f"  ({_the_rest(rest, r['sender'])})", 300)]))
    header = tuple(_CELL)
    widths = [max(len(cells[i]) for cells in [header, *(c for c, _ in table if c)]) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths)).rstrip()]
    for cells, notes in table:
        if not cells:
            out.extend(notes)
            continue
        out.append("  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip())
        out.extend(" " * (widths[0] + 4) + note for note in notes)
    return "\n".join(out)


def _the_rest(rest: list[dict], sender: str | None) -> str:
    """What the addresses a network's table leaves out say, and only what they do: none is listed
    and every one had a verdict; SPF passes for each, when there is a sender to ask it for."""
    said = [f"{len(rest)} more: not listed", "SPF pass" if sender else "SPF not checked (no sender)"]
    no_ptr = sum(1 for a in rest if a["rdns"] == "")
    unknown = sum(1 for a in rest if a["rdns"] is None)
    if no_ptr:
        said.append(f"{no_ptr} without PTR")
    if unknown:
        said.append(f"{unknown} rDNS not known")
    return ", ".join(said)


def _listed(r: dict) -> str:
    if r["listed"]:
        return ", ".join(r["listed"])
    if not r["checked"]:
        return "not checked yet"
    if not r["rated"]:
        return "no list gave a verdict"
    return "-"


def _spf(r: dict) -> str:
    """The MAIL FROM result (with several senders, each that fails, naming it), and the HELO name's
    where it is a problem."""
    helo = r["helo_spf"]
    mail = r["spf"] or "-"
    if len(r.get("spf_senders") or ()) > 1:
        mail = per_sender([e for e in r["spf_senders"] if e["result"] not in MAIL_FINE]) or "pass for each sender"
    return mail + (f" (HELO {helo})" if helo is not None and helo not in HELO_FINE else "")


def _rdns(r: dict) -> str:
    if r["rdns"] is None:
        return "-"
    if not r["rdns"]:
        return "no PTR"
    return r["rdns"] + (" (not confirmed)" if r["forward_confirmed"] is False else "")


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


# -- the lists the deployment cannot use ------------------------------------------------------------


def unusable_lists(deployment: Deployment, runs: Runs) -> list[dict]:
    """Each list (and address family) the deployment could not use in its last scheduled run: its
    record fails, and was written in that run (a list no longer asked keeps its last record)."""
    out = []
    for item in deployment.lists or ():
        health = _mapping(item.get("health"))
        if item.get("kind") != ZONE or not _failing(health, runs):
            continue
        family = str(health.get("family", item.get("family")))
        out.append(
            {
                "zone": str(item.get("name", "")),
                "family": int(family) if family.isdigit() else family,
                "error": str(health.get("error") or ""),
                "since": health.get("since"),
                "detail": str(health.get("detail") or ""),
                "runs": count(health.get("runs")),
            }
        )
    return sorted(out, key=lambda e: (e["zone"], str(e["family"])))


def _failing(health: dict, runs: Runs) -> bool:
    """Whether a list's (or the resolver's) record fails in the last scheduled run that is over: a
    failing record is written again at every run that asks the list, so one older than that run
    is a list no longer asked."""
    run = as_time(health.get("run") or "")
    if health.get("status") != "failing":
        return False
    return runs.settled is None or (run is not None and run >= runs.settled - SLACK)


def resolver_failing(deployment: Deployment, runs: Runs) -> dict | None:
    """The deployment's resolver, when its record says it does not work."""
    for item in deployment.lists or ():
        health = _mapping(item.get("health"))
        if item.get("kind") == RESOLVER and _failing(health, runs):
            error, detail = str(health.get("error") or ""), str(health.get("detail") or "")
            return {"error": error, "detail": detail, "since": health.get("since")}
    return None


def _why(entry: dict) -> str:
    return f"{entry['error']}: {entry['detail']}".strip(": ")


def lists_table(lists: list[dict], resolver: dict | None = None) -> str:
    lines = []
    if resolver:
        said = clean_text(f"{resolver['error']}: {resolver['detail']}".strip(": "), 200)
        lines.append(f"The deployment's resolver does not work (since {minute(resolver['since'])} UTC): {said}")
    if not lists:
        return "\n".join(lines)
    header = ("LIST THE DEPLOYMENT CANNOT USE", "FAMILY", "SINCE", "RUNS", "WHY")
    table = [header] + [
        _cells(
            (e["zone"], family_name(e["family"]), minute(e["since"]), e["runs"], _why(e)),
            (60, 6, 16, 6, 120),
        )
        for e in lists
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    lines.append("(a list unusable is skipped, never taken for clean: senderwatch doctor says what to do)")
    return "\n".join(lines)


# -- the whole document, and the exit status --------------------------------------------------------


def exit_status(rows: list[dict], domains: list[dict] | None, lists: list[dict], extra: bool = False) -> int:
    """As `check`'s: 1 when something is wrong (a target's listing or SPF, a domain's problem), 3
    when nothing is but something was not checked (stale, a list unusable, EXTRA: the deployment
    itself), 0 when all is well. A disabled target counts for nothing."""
    outcomes = {r["outcome"] for r in rows}
    if OUTCOMES[PROBLEM] in outcomes or any(_domain_wrong(d) for d in domains or ()):
        return PROBLEM
    return INCOMPLETE if OUTCOMES[INCOMPLETE] in outcomes or lists or extra else OK


def only_problems(rows: list[dict], domains: list[dict] | None) -> tuple[list[dict], list[dict] | None]:
    """The targets and domains with something to fix: a listing, SPF, a domain's records (exit 1),
    and a target stale, invalid or not fully checked (exit 3): each row the exit status comes of."""
    wanted = [r for r in rows if r["outcome"] in (OUTCOMES[PROBLEM], OUTCOMES[INCOMPLETE])]
    return wanted, None if domains is None else [d for d in domains if _domain_wrong(d)]


def status_json(
    rows: list[dict],
    domains: list[dict] | None = None,
    lists: list[dict] | None = None,
    runs: Runs | None = None,
    deployment: Deployment | None = None,
    mutes: list[dict] | None = None,
) -> str:
    document: dict = {"targets": rows}
    if domains is not None:
        document["domains"] = domains
    if lists is not None:
        document["unusable_lists"] = lists
    if deployment is not None and runs is not None:
        schedule = deployment.schedule
        document["last_run"] = iso(runs.newest)
        document["schedule"] = (
            {"expression": schedule.expression, "state": schedule.state or None, "next": iso(runs.next)}
            if schedule.expression
            else None
        )
        document["dead_letters"] = deployment.dead_letters_waiting if deployment.dead_letters is not None else None
        document["resolver"] = resolver_failing(deployment, runs)
        document["notes"] = deployment.notes
    if mutes is not None:
        document["mutes"] = mutes  # those that hold (with the health table); each row says which silence it
    return json_text(document)


def footer(rows: list[dict], runs: Runs, deployment: Deployment, problems_only: bool = False, unusable: int = 0) -> str:
    """When the last scheduled run was and the next is; how many targets are fine, and how many not
    (UNUSABLE: the lists, and the resolver, the deployment could not use, shown above)."""
    lines = list(deployment.notes)
    if not runs.recorded:
        lines.append(
            "This deployment does not record when it checks each target: deploy this version (sam build && "
            "sam deploy) for status to tell stale targets."
        )
    if runs.newest is not None:
        said = f"Last scheduled run {minute(iso(runs.newest))} UTC"
        if runs.next is not None:
            said += f", next {runs.next:%Y-%m-%d %H:%M} UTC ({deployment.schedule.expression})"
        lines.append(said + ".")
    elif runs.missed is None and deployment.schedule.expression:
        lines.append(f"No scheduled run on record yet ({deployment.schedule.expression}).")
    if deployment.dead_letters_waiting:
        waiting = deployment.dead_letters_waiting
        lines.append(
            f"{waiting:,} check message{'s wait' if waiting != 1 else ' waits'} in the dead-letter queue"
            " (senderwatch doctor says how to move them back)."
        )
    watched = [r for r in rows if r["enabled"]]
    if watched:
        wrong = sum(1 for r in watched if r["outcome"] == OUTCOMES[PROBLEM])
        stale = sum(1 for r in watched if r["stale"])
        partly = sum(1 for r in watched if r["outcome"] == OUTCOMES[INCOMPLETE] and not r["stale"])
        counted = ((wrong, "with something wrong"), (stale, "stale"), (partly, "not fully checked"))
        parts = [f"{n} {what}" for n, what in counted if n]
        total = f"{len(watched)} target{'s' if len(watched) != 1 else ''} watched"
        if parts:
            lines.append(f"{total}: " + ", ".join(parts) + ".")
        elif unusable:
            lines.append(f"{total}: nothing wrong found, but not every list could be used (above): incomplete.")
        elif problems_only:
            lines.append(f"Nothing to fix: {total}, each checked in the last run, nothing found.")
        else:
            lines.append(f"{total}: nothing wrong found.")
    return "\n".join(lines)


# -- the domains ------------------------------------------------------------------------------------


def watched_domain_names(targets: Iterable[dict]) -> set[str]:
    """The domains the TARGETS (items) send as: senders' domains, HELO names, their addresses' PTR
    names. A domain record of a target since removed is not shown."""
    names: set[str] = set()
    for item in targets:
        senders, helo = _senders(item), str(item.get("helo") or "").lower().rstrip(".")
        if not (senders or helo):
            continue
        findings = _mapping(item.get("findings"))
        members = list(_mapping(findings.get("addresses")).values()) if is_per_address(findings) else [findings]
        ptrs = [n for f in members for n in (_mapping(_mapping(f).get("rdns")).get("ptr") or [])]
        names.update(watched_domains(senders, helo or None, [str(n) for n in ptrs]))
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


def _domain_wrong(row: dict) -> bool:
    """A domain's listing, or a problem of its SPF or DMARC record (DMARC p=none is a choice)."""
    return bool(row["listed"] or row["spf_problems"] or [c for c in row["dmarc_problems"] if c != "policy-none"])


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
        listed = ", ".join(r["listed"]) or "-"
        table.append(
            _cells(
                (r["domain"], ",".join(r["roles"]), spf, dmarc, listed, minute(r["changed_at"])), _DOMAIN_CELL.values()
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(_DOMAIN_CELL))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    if quiet:
        lines.append(f"(and {quiet} PTR name(s) no list has anything against)")
    return "\n".join(lines)
