"""The HTML report (`senderwatch report`): one self-contained page - no script, font or image from
anywhere; its own Content-Security-Policy forbids them - that opens offline and can be mailed.

The fleet at a glance (targets, problems open, what changed in the period), then per target a
timeline over the period, one strip per address and list, SPF, HELO SPF and reverse DNS, each
problem period a bar at its dates, with the current findings (status's rows) beside it; then the
domains', receivers' and lists' strips. A pure function of a History and status's rows.

Everything shown comes from strangers (targets, labels, list names, DNS text): it is cleaned and
escaped on the way in. Nothing is said by colour alone: each bar carries its state as text and its
dates in its title and aria-label, a problem still open is marked so in words and by its outline.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from .addresses import sort_key
from .findings import DOMAIN, HELO_FINE, MAIL_FINE, RECEIVER, per_sender
from .history import (
    CHECK_FAILING,
    DMARC,
    DOMAIN_LISTING,
    HELO_SPF,
    LIST_UNUSABLE,
    LISTING,
    RDNS,
    RECEIVER_BLOCK,
    SPF,
    SPF_RECORD,
    History,
    Period,
    is_health_key,
)
from .identities import watched_domains
from .targets import HOST
from .text import clean_text, duration

MIN_WIDTH = 0.4  # % of the strip: a bar of one run is still seen (and can be pointed at)
CHANGES_SHOWN = 200  # the fleet's list of changes, newest first; the rest are counted


def render(
    history: History,
    rows: Sequence[dict],
    domains: Sequence[dict] | None = None,
    *,
    made: str = "",
    mutes: Sequence[dict] = (),
) -> str:
    """The report of HISTORY (its periods and window) and ROWS (overview.status_rows: the targets'
    current findings), with DOMAINS (overview.domain_rows) when the health table was read, and the
    MUTES that hold (mutes.summary; each row's `muted` names those that silence it)."""
    window = _Window(history.start, history.end)
    by_target: dict[str, list[Period]] = {}
    health: dict[str, list[Period]] = {}
    for period in history.periods:
        (health if is_health_key(period.target) else by_target).setdefault(period.target, []).append(period)
    parts = [
        _head(window),
        "<body>",
        '<header><h1>senderwatch report</h1><p class="when">',
        f"{_e(window.shown(history.start))} to {_e(window.shown(history.end))} UTC, "
        f"{history.runs} scheduled run{'s' if history.runs != 1 else ''}"
        + (f"; made {_e(made)}" if made else "")
        + "</p></header>",
        "<main>",
        _fleet(history, rows, by_target, health, window),
        _muted(mutes),
    ]
    parts += [
        _target(number, row, by_target.get(str(row["ip"]), []), window, _theirs(row, by_target, health))
        for number, row in enumerate(rows, 1)
    ]
    known = {str(row["ip"]) for row in rows}
    gone = sorted((key for key in by_target if key not in known), key=sort_key)
    parts += [_target(len(rows) + n, _gone_row(key), by_target[key], window) for n, key in enumerate(gone, 1)]
    parts.append(_deployment(health, domains, window))
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


# -- where a bar goes -------------------------------------------------------------------------------


class _Window:
    """The report's period, from START to END (the history's times): where a date is on a strip."""

    def __init__(self, start: str, end: str):
        self.start, self.end = _when(start), _when(end)
        self.seconds = max((self.end - self.start).total_seconds(), 1.0)

    def at(self, when: str | None) -> float:
        """Where WHEN (None: still going, the end) is, in % of the strip, within 0..100."""
        moment = self.end if when is None else _when(when)
        return min(max((moment - self.start).total_seconds() / self.seconds * 100, 0.0), 100.0)

    def span(self, start: str, end: str | None) -> tuple[float, float]:
        """A period's bar: (left, width) in % of the strip, at least MIN_WIDTH wide, inside it."""
        left, right = self.at(start), self.at(end)
        width = max(right - left, MIN_WIDTH)
        return round(min(left, 100 - width), 3), round(width, 3)

    def days(self) -> float:
        return self.seconds / 86400

    def ticks(self) -> list[tuple[float, str]]:
        """Dates along the axis: each midnight (UTC) of a short period, each week's of a long one."""
        step = 1 if self.days() <= 14 else 7
        first = (self.start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        marks, day = [], first
        while day < self.end:
            marks.append((self.at(day.isoformat()), f"{day:%b %d}"))
            day += timedelta(days=step)
        return marks

    @staticmethod
    def shown(when: str | None) -> str:
        return "still open" if when is None else f"{_when(when):%Y-%m-%d %H:%M}"


def _when(value: str) -> datetime:
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# -- the page ---------------------------------------------------------------------------------------

_CSS = """
:root{--ink:#1b1f24;--soft:#5b6470;--line:#d5d9de;--bg:#fff;--bar:#b3261e;--open:#7a1510;--health:#8a5300}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header,main{max-width:72rem;margin:0 auto;padding:0 1rem}
h1{font-size:1.5rem;margin:1rem 0 .2rem}h2{font-size:1.15rem;margin:0 0 .4rem;overflow-wrap:anywhere}
h3{font-size:1rem;margin:.8rem 0 .3rem}
.when,.note{color:var(--soft)}
.glance{display:flex;flex-wrap:wrap;gap:.6rem;list-style:none;padding:0;margin:.6rem 0}
.glance li{border:1px solid var(--line);border-radius:.4rem;padding:.4rem .8rem;min-width:9rem}
.glance b{display:block;font-size:1.4rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{text-align:left;padding:.2rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
section.t{border-top:2px solid var(--line);padding:.8rem 0;break-inside:avoid}
.body{display:grid;grid-template-columns:minmax(0,3fr) minmax(14rem,1fr);gap:1rem}
.strip{display:grid;grid-template-columns:minmax(8rem,14rem) minmax(0,1fr);gap:.5rem;align-items:center;margin:.15rem 0}
.what{font-size:.85rem;overflow-wrap:anywhere}
.track{position:relative;height:1.5rem;border:1px solid var(--line);background-color:#f6f7f8;
background-image:repeating-linear-gradient(to right,var(--line) 0 1px,transparent 1px var(--day))}
.axis{position:relative;height:1.2rem;overflow:hidden;font-size:.7rem;color:var(--soft)}
.axis span{position:absolute;top:0;white-space:nowrap;border-left:1px solid var(--soft);padding-left:2px}
.bar{position:absolute;top:2px;bottom:2px;background:var(--bar);color:#fff;font-size:.7rem;line-height:1.2rem;
overflow:hidden;white-space:nowrap;padding:0 2px;border:1px solid var(--bar)}
.bar.open{background:var(--open);border-right:4px double #fff}
.bar.h{background:var(--health);border-color:var(--health)}
.track.none{background:#fff;color:var(--soft);font-size:.7rem;line-height:1.35rem;padding-left:.3rem}
dl{margin:0;display:grid;grid-template-columns:auto minmax(0,1fr);gap:.1rem .6rem;font-size:.9rem}
dt{color:var(--soft)}dd{margin:0;overflow-wrap:anywhere}
.problem{font-weight:600}
a{color:#0b57d0}
@media (max-width:720px){
 .body{grid-template-columns:1fr}
 .strip{grid-template-columns:1fr;gap:.1rem}
 body{font-size:14px}
}
@media print{
 body{font-size:10pt}header,main{max-width:none;padding:0}
 section.t{break-inside:avoid;page-break-inside:avoid}
 .bar,.track{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 a{color:inherit;text-decoration:none}
}
"""


def _head(window: _Window) -> str:
    title = f"senderwatch report, {window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
    )


def _fleet(
    history: History, rows: Sequence[dict], by_target: dict, health: dict[str, list[Period]], window: _Window
) -> str:
    targets_wrong = [r for r in rows if r.get("outcome") == "problem"]  # as status judges it
    still = [p for p in history.periods if p.end is None and p.problem]
    began = [p for p in history.periods if p.start >= history.start]
    ended = [p for p in history.periods if p.end is not None and p.end <= history.end]
    glance = [
        (len(rows), "targets watched"),
        (len(targets_wrong), "targets with a problem now"),
        (len(still), "problems open"),
        (len(began), "began in the period"),
        (len(ended), "ended in the period"),
    ]
    out = ['<section aria-labelledby="fleet"><h2 id="fleet">The fleet at a glance</h2><ul class="glance">']
    out += [f"<li><b>{n}</b>{_e(what)}</li>" for n, what in glance]
    out.append("</ul>")
    numbers = {str(r["ip"]): n for n, r in enumerate(rows, 1)}
    changes = sorted(
        [(p.start, "began", p) for p in began] + [(p.end or "", "ended", p) for p in ended],
        key=lambda change: change[0],
        reverse=True,
    )
    if changes:
        out.append('<h3>What changed</h3><table><thead><tr><th scope="col">When (UTC)</th>')
        out.append(
            '<th scope="col">Target</th><th scope="col">What</th><th scope="col">Change</th></tr></thead><tbody>'
        )
        for when, change, p in changes[:CHANGES_SHOWN]:
            who = _e(p.target)
            if p.target in numbers:
                who = f'<a href="#t{numbers[p.target]}">{who}</a>'
            lasted = f", after {_lasted(p)}" if change == "ended" else ""
            out.append(
                f"<tr><td>{_e(window.shown(when))}</td><td>{who}</td><td>{_e(_what(p))}</td>"
                f"<td>{change}: {_e(p.state)}{_e(lasted)}</td></tr>"
            )
        out.append("</tbody></table>")
        if len(changes) > CHANGES_SHOWN:
            out.append(f'<p class="note">and {len(changes) - CHANGES_SHOWN} earlier changes (in the timelines).</p>')
    else:
        out.append('<p class="note">Nothing began or ended in the period.</p>')
    if health:
        out.append('<p><a href="#deployment">The domains, receivers and lists</a></p>')
    out.append("</section>")
    return "\n".join(out)


def _muted(mutes: Sequence[dict]) -> str:
    """The mutes that hold: what each silences, until when, who set it and why."""
    if not mutes:
        return ""
    out = ['<section aria-labelledby="muted"><h2 id="muted">Muted</h2>']
    out.append('<p class="note">Alerts these cover are recorded, not sent; an alert saying a problem is over is.</p>')
    out.append('<table><thead><tr><th scope="col">Mute</th><th scope="col">Silences</th><th scope="col">Until</th>')
    out.append('<th scope="col">Set by</th><th scope="col">Why</th></tr></thead><tbody>')
    for m in mutes:
        until = "it clears" if m.get("until_clear") else f"{str(m.get('until', '')).replace('T', ' ')[:16]} UTC"
        out.append(
            f"<tr><td>{_e(m.get('id', ''))}</td><td>{_e(m.get('scope', ''))} {_e(m.get('value', ''))}</td>"
            f"<td>{_e(until)}</td><td>{_e(m.get('by', ''))}, {_e(str(m.get('at', '')).replace('T', ' ')[:16])}</td>"
            f"<td>{_e(m.get('reason', ''))}</td></tr>"
        )
    out.append("</tbody></table></section>")
    return "\n".join(out)


def _target(number: int, row: dict, periods: list[Period], window: _Window, theirs: Sequence[Period] = ()) -> str:
    key = str(row["ip"])
    label = f' <span class="note">({_e(row["label"])})</span>' if row.get("label") else ""
    out = [f'<section class="t" id="t{number}" aria-labelledby="h{number}" data-target="{_e(key)}">']
    out.append(f'<h2 id="h{number}">{_e(key)}{label}</h2><div class="body"><div class="timeline">')
    strips = _strips(row, periods)
    out.append(_timeline(strips, window, f"Timeline of {key}"))
    if theirs:
        out.append("<h3>Its domains and receivers</h3>")
        out.append(_timeline(_health_strips(theirs), window, f"Timeline of the domains and receivers of {key}", True))
    out.append("</div>")
    out.append(_findings(row))
    out.append("</div></section>")
    return "\n".join(out)


def _strips(row: dict, periods: list[Period]) -> list[tuple[str, list[Period]]]:
    """The strips of a target, per address: one per list that had a problem (or one saying none
    did), the lists that could not answer, SPF per sender, HELO SPF, reverse DNS. A network's
    addresses without a problem in the period are counted, not drawn (a /24 is 256 of them)."""
    members = row.get("addresses") or ([{"ip": row["ip"]}] if row.get("kind") != HOST else [])
    addresses = [str(m["ip"]) for m in members]
    addresses += sorted({str(p.ip) for p in periods if p.ip and str(p.ip) not in addresses}, key=sort_key)
    by_slot: dict[tuple[str, str, str], list[Period]] = {}
    for p in periods:
        by_slot.setdefault((str(p.ip or row["ip"]), p.kind, p.about), []).append(p)
    network = row.get("kind") not in (HOST, "address", None)
    strips: list[tuple[str, list[Period]]] = []
    quiet = 0
    for ip in addresses:
        slots = sorted((s for s in by_slot if s[0] == ip), key=lambda s: (_KIND_ORDER.get(s[1], 9), s[2]))
        if network and not slots:
            quiet += 1
            continue
        kinds = {s[1] for s in slots}
        mine = [(f"{ip} {_what(by_slot[s][0])}", by_slot[s]) for s in slots]
        if LISTING not in kinds:
            mine.insert(0, (f"{ip} on the lists", []))
        spf_for = {s[2] for s in slots if s[1] == SPF}
        mine += [(f"{ip} SPF for {sender}", []) for sender in row.get("senders") or () if sender not in spf_for]
        if RDNS not in kinds:
            mine.append((f"{ip} reverse DNS", []))
        strips += mine
    if quiet:
        strips.append((f"{quiet} more address{'es' if quiet != 1 else ''}: no problem in the period", []))
    if not addresses:
        strips.append(("no address checked in the period", []))
    return strips


_KIND_ORDER = {LISTING: 0, CHECK_FAILING: 1, SPF: 2, HELO_SPF: 3, RDNS: 4}


def _what(p: Period) -> str:
    """What a period is about, in words (without its address)."""
    return {
        LISTING: f"on {p.about}",
        CHECK_FAILING: f"{p.about} could not answer",
        SPF: f"SPF for {p.about}",
        HELO_SPF: f"HELO SPF for {p.about}",
        RDNS: "reverse DNS",
        SPF_RECORD: f"SPF record of {p.about}",
        DMARC: f"DMARC of {p.about}",
        DOMAIN_LISTING: f"{p.target.partition(':')[2]} on {p.about}",
        RECEIVER_BLOCK: f"{p.about} refusing {p.ip or 'mail'}",
        LIST_UNUSABLE: f"{p.about}{_family(p.target)} unusable for the deployment",
    }.get(p.kind, f"{p.kind} {p.about}")


def _timeline(strips: list[tuple[str, list[Period]]], window: _Window, name: str, health: bool = False) -> str:
    day = 100 / max(window.days(), 1 / 24)
    out = [f'<div role="group" aria-label="{_e(name)}" style="--day:{day:.4f}%">']
    axis = "".join(f'<span style="left:{left:.3f}%">{_e(text)}</span>' for left, text in window.ticks())
    out.append(f'<div class="strip" aria-hidden="true"><div></div><div class="axis">{axis}</div></div>')
    for what, periods in strips:
        if periods:
            track = '<div class="track">' + "".join(_bar(what, p, window, health) for p in periods) + "</div>"
        else:
            track = '<div class="track none">no problem in the period</div>'
        out.append(f'<div class="strip"><div class="what">{_e(what)}</div>{track}</div>')
    out.append("</div>")
    return "".join(out)


def _bar(what: str, p: Period, window: _Window, health: bool) -> str:
    left, width = window.span(p.start, p.end)
    until = "still open" if p.end is None else f"to {window.shown(p.end)}"
    runs = f", {p.runs} run{'s' if p.runs != 1 else ''}" if p.runs else ""
    text = f"{what}: {p.state} from {window.shown(p.start)} {until} UTC{runs}"
    classes = "bar" + (" open" if p.end is None else "") + (" h" if health else "")
    shown = p.state + (" (open)" if p.end is None else "")
    return (
        f'<span class="{classes}" role="img" style="left:{left}%;width:{width}%" title="{_e(text)}" '
        f'aria-label="{_e(text)}" data-from="{_e(p.start)}" data-to="{_e(p.end or "")}">{_e(shown)}</span>'
    )


def _findings(row: dict) -> str:
    """What the target's latest check found, as status shows it."""
    out = ['<aside aria-label="current findings"><h3>Now</h3><dl>']
    if row.get("error"):
        out.append(f'<dt>Invalid</dt><dd class="problem">{_e(row["error"])}</dd>')
    if not row.get("enabled", True):
        out.append("<dt>Checks</dt><dd>disabled</dd>")
    elif row.get("stale"):
        out.append(
            f'<dt>Stale</dt><dd class="problem">{_e(row["stale"].get("detail") or row["stale"].get("reason"))}</dd>'
        )
    members = row.get("addresses") or [row]
    for member in members:
        if "addresses" in row:
            out.append(f"<dt>Address</dt><dd><b>{_e(member['ip'])}</b></dd>")
        listed = ", ".join(member.get("listed") or [])
        if not member.get("checked"):
            listed_text = "not checked yet"
        elif listed:
            listed_text = listed
        else:
            listed_text = "no list" if member.get("rated") else "no list gave a verdict"
        out.append(f"<dt>Listed on</dt><dd{_mark(bool(listed))}>{_e(listed_text)}</dd>")
        spf = member.get("spf")
        spf_text = spf or ("not checked yet" if row.get("sender") else "not checked (no sender)")
        if len(member.get("spf_senders") or ()) > 1:
            spf_text = per_sender(member["spf_senders"])  # each sender's
        out.append(f"<dt>SPF</dt><dd{_mark(spf is not None and spf not in MAIL_FINE)}>{_e(spf_text)}</dd>")
        if member.get("helo_spf"):
            helo = member["helo_spf"]
            out.append(f"<dt>HELO SPF</dt><dd{_mark(helo not in HELO_FINE)}>{_e(helo)}</dd>")
        if "rdns" in member and member.get("rdns") is not None:
            rdns = member["rdns"] or "no PTR"
            confirmed = " (not confirmed)" if member.get("forward_confirmed") is False else ""
            out.append(f"<dt>rDNS</dt><dd{_mark(not member['rdns'])}>{_e(rdns + confirmed)}</dd>")
        if member.get("not_checked"):
            out.append(f"<dt>Could not ask</dt><dd>{_e(', '.join(member['not_checked']))}</dd>")
    if row.get("muted"):
        out.append(f'<dt>Muted</dt><dd><a href="#muted">{_e(", ".join(row["muted"]))}</a></dd>')
    for key, name in (("checked_at", "Checked"), ("changed_at", "Changed")):
        if row.get(key):
            out.append(f"<dt>{name}</dt><dd>{_e(str(row[key])[:16].replace('T', ' '))} UTC</dd>")
    out.append("</dl></aside>")
    return "".join(out)


def _theirs(row: dict, by_target: dict[str, list[Period]], health: dict[str, list[Period]]) -> list[Period]:
    """The health periods that concern a target: its domains' (its sender's, its HELO name, its
    addresses' PTR names), and the receivers' blocks of its addresses."""
    members = row.get("addresses") or [row]
    ptrs = [name for m in members for name in str(m.get("rdns") or "").split(", ") if name]
    senders = row.get("senders") or ()
    names = watched_domains(senders, row.get("helo"), ptrs) if senders or row.get("helo") else {}
    ips = {str(m["ip"]) for m in members} | {str(p.ip) for p in by_target.get(str(row["ip"]), []) if p.ip}
    found = [p for name in names for p in health.get(f"{DOMAIN}:{name}", [])]
    blocks = [p for key, ps in health.items() if key.startswith(f"{RECEIVER}:") for p in ps if p.ip in ips]
    return found + blocks


def _health_strips(periods: Iterable[Period]) -> list[tuple[str, list[Period]]]:
    """A strip per domain's problem (per code), per domain list, per receiver's block of an
    address, per list unusable for the deployment."""
    strips: dict[tuple[str, str, str, str], list[Period]] = {}
    for p in periods:
        code = p.state if p.kind in (SPF_RECORD, DMARC) else ""
        strips.setdefault((p.target, p.kind, p.about + str(p.ip or ""), code), []).append(p)
    return [(_what(ps[0]) + (f" ({code})" if code else ""), ps) for (_, _, _, code), ps in strips.items()]


def _deployment(health: dict[str, list[Period]], domains: Sequence[dict] | None, window: _Window) -> str:
    """The domains', receivers' and lists' strips, and the domains' findings now."""
    out = ['<section class="t" id="deployment" aria-labelledby="hd"><h2 id="hd">Domains, receivers and lists</h2>']
    if domains is None:
        out.append('<p class="note">The domains\' findings are in the health table (give --health-table).</p>')
    ordered = sorted(health, key=lambda k: (k.partition(":")[0] != DOMAIN, sort_key(k)))
    strips = _health_strips([p for key in ordered for p in health[key]])
    if strips:
        out.append(_timeline(strips, window, "Timeline of the domains, receivers and lists", health=True))
    else:
        out.append('<p class="note">No domain, receiver or list had a problem in the period.</p>')
    if domains:
        heads = ("Domain", "As", "SPF record", "DMARC", "Listed on")
        out.append("<table><thead><tr>" + "".join(f'<th scope="col">{h}</th>' for h in heads) + "</tr></thead><tbody>")
        for d in domains:
            spf = ", ".join(d["spf_problems"]) or ("ok" if d["spf_record"] else "-")
            dmarc = ", ".join(d["dmarc_problems"]) or (f"p={d['dmarc_policy']}" if d["dmarc_policy"] else "-")
            out.append(
                f"<tr><td>{_e(d['domain'])}</td><td>{_e(', '.join(d['roles']))}</td><td>{_e(spf)}</td>"
                f"<td>{_e(dmarc)}</td><td>{_e(', '.join(d['listed']) or '-')}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


# -- small things -----------------------------------------------------------------------------------


def _gone_row(key: str) -> dict:
    """A target in the history that is no longer watched."""
    return {"ip": key, "kind": None, "label": "no longer watched", "checked": False, "enabled": True}


def _family(key: str) -> str:
    """A list's health record is per family (zone:NAME:4): " (IPv4)"; the resolver's is not."""
    family = key.rpartition(":")[2] if key.count(":") >= 2 else ""
    return f" (IPv{family})" if family in ("4", "6") else ""


def _mark(problem: bool) -> str:
    return ' class="problem"' if problem else ""


def _lasted(p: Period) -> str:
    return duration((_when(p.end or p.start) - _when(p.start)).total_seconds())


def _e(value: object, limit: int = 300) -> str:
    """Text from strangers, for the page: controls and bidi overrides gone, capped, escaped."""
    return html.escape(clean_text(str(value), limit), quote=True)
