"""Check a domain's DMARC record (RFC 7489): the policy receivers apply to mail that fails SPF and DKIM.

Found as receivers find it: the TXT records at _dmarc.<domain>, then, when there is none, at
the parent domains (the DMARCbis tree walk, which replaces RFC 7489's Organizational Domain
lookup without needing a public suffix list). Problems are what receivers do with the record:
ignore it (syntax, several records), or take no action on failing mail (p=none).

DNS comes through the same injected async lookup as spflint, with the same rule: a DNS failure
leaves the check incomplete (`error`), never "no record".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import wire
from .spflint import Lookup, Problem, dns_error, txt_records
from .text import clean_text

MAX_QUERIES = 5  # names asked at most, the domain's own first
POLICIES = ("none", "quarantine", "reject")

# RFC 7489 6.4: dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]. Receivers send reports
# to mailto: URIs only (6.2 makes mailto the one scheme they must support).
_SIZE_LIMIT = re.compile(r"![0-9]+[kmgt]?$", re.IGNORECASE)
_MAILTO = re.compile(r"mailto:[^@\s]+@[^@\s]+\.[^@\s.]+", re.IGNORECASE)


@dataclass(frozen=True)
class DmarcReport:
    domain: str
    record: str | None
    policy: str | None  # what receivers apply: "none" | "quarantine" | "reject"; None without a usable record
    found_at: str | None = None  # the name the record was found at (_dmarc.example.com)
    problems: tuple[Problem, ...] = ()
    error: str = ""  # "timeout" | "servfail" | "refused" | "bad-answer": incomplete, not a verdict

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "record": self.record,
            "policy": self.policy,
            "problems": [problem.to_dict() for problem in self.problems],
        }
        if self.found_at and self.found_at != f"_dmarc.{self.domain}":
            out["found_at"] = self.found_at
        if self.error:
            out["error"] = self.error
        return out

    @property
    def broken(self) -> bool:
        """p=none is a choice (the first step of a rollout), not a fault."""
        return any(problem.code != "policy-none" for problem in self.problems)


def _problem(code: str, detail: str) -> Problem:
    return Problem(code, clean_text(detail, limit=600))


def policy_names(domain: str) -> list[str]:
    """The names whose _dmarc record applies to DOMAIN, in the order receivers ask.

    DMARCbis: the domain itself, then each parent down to (not including) the top-level label.
    Of a deep name only the domain and its four shortest parents are asked: the organizational
    domain is among those, and the walk stays at MAX_QUERIES lookups.
    """
    labels = domain.split(".")
    names = [".".join(labels[i:]) for i in range(max(len(labels) - 1, 1))]
    return names if len(names) <= MAX_QUERIES else [names[0], *names[-(MAX_QUERIES - 1) :]]


def _tags(text: str) -> list[tuple[str, str | None, str]]:
    """(name, value, as written) per tag; value None for a tag without "=".

    RFC 7489 6.4: tags are separated by ";" with whitespace allowed around them, and a final ";"
    is allowed. Names are read without regard to case, as the ABNF literals are.
    """
    tags = []
    for part in text.split(";"):
        part = part.strip()
        if part:
            name, sep, value = part.partition("=")
            tags.append((name.strip().lower(), value.strip() if sep else None, part))
    return tags


def _version_error(tags: list[tuple[str, str | None, str]]) -> str:
    """Why a TXT record that tries to be a DMARC record is not one; "" for any other TXT record.

    RFC 7489 6.3: v "MUST have the value of "DMARC1". The value of this tag MUST match precisely;
    if it does not or it is absent, the entire retrieved record MUST be ignored. It MUST be the
    first tag in the list."
    """
    for index, (name, value, _) in enumerate(tags):
        if name != "v" or not value or not value.upper().startswith("DMARC"):
            continue
        if index:
            return f"v={value} is not the first tag"
        if value.split()[0] == "DMARC1":
            return f"'v={value}' runs tags together: separate them with ';'"
        return f"v={value} is not exactly v=DMARC1"
    return ""


def _uris(value: str) -> tuple[list[str], list[str]]:
    """The entries of a rua=/ruf= list that receivers can send to, and those they cannot."""
    good: list[str] = []
    bad: list[str] = []
    for entry in (entry.strip() for entry in value.split(",")):
        (good if _MAILTO.fullmatch(_SIZE_LIMIT.sub("", entry)) else bad).append(entry)
    return good, bad


def _policy(value: str | None) -> str | None:
    return value.lower() if value is not None and value.lower() in POLICIES else None


def _judge(tags: list[tuple[str, str | None, str]], at: str, domain: str) -> tuple[str | None, list[Problem]]:
    """The policy receivers apply under the record TAGS (found at AT), and the record's problems."""
    problems: list[Problem] = []

    def syntax(what: str, effect: str) -> None:
        problems.append(_problem("syntax-error", f"{at}: {what}; {effect}"))

    seen: dict[str, str] = {}
    for name, value, written in tags[1:]:
        if value is None:
            syntax(f"'{written}' is not a tag=value pair", "receivers ignore it")
        elif name in seen or name == "v":
            # RFC 7489 6.3: DMARC records use DKIM's tag-value syntax, and RFC 6376 3.2: "Tags
            # with duplicate names MUST NOT occur within a single tag-list".
            syntax(f"the tag {name}= appears more than once", "receivers may ignore the whole record")
        else:
            seen[name] = value

    rua_ok = False
    for name in ("rua", "ruf"):
        good, bad = _uris(seen[name]) if name in seen else ([], [])
        rua_ok = rua_ok or (name == "rua" and bool(good))
        for entry in bad:
            syntax(
                f"{name}= entry '{entry}' is not a mailto: URI",
                "receivers send no reports there; write it as mailto:address@domain",
            )

    # RFC 7489 6.6.3: "If a retrieved policy record does not contain a valid "p" tag, or contains
    # an "sp" tag that is not valid, then: 1. if a "rua" tag is present and contains at least one
    # syntactically valid reporting URI, the Mail Receiver SHOULD act as if a record containing a
    # valid "v" tag and "p=none" was retrieved ...; 2. otherwise, the Mail Receiver applies no
    # DMARC processing to this message."
    fallback = (
        "receivers act as if it said p=none, as it has rua= (RFC 7489 section 6.6.3)"
        if rua_ok
        else "receivers apply no DMARC policy at all (RFC 7489 section 6.6.3)"
    )
    p, sp = seen.get("p"), seen.get("sp")
    if p is None:
        syntax("the required tag p= is missing", fallback)
    for name in ("p", "sp"):
        if name in seen and _policy(seen[name]) is None:
            syntax(f"{name}={seen[name]} is not none, quarantine or reject", fallback)
    if "np" in seen and _policy(seen["np"]) is None:  # DMARCbis: for subdomains that do not exist
        syntax(f"np={seen['np']} is not none, quarantine or reject", "receivers ignore it")
    pct = seen.get("pct")
    if pct is not None and not (pct.isascii() and pct.isdigit() and int(pct) <= 100):
        syntax(f"pct={pct} is not a whole number from 0 to 100", "receivers use the default, 100")
    for name in ("adkim", "aspf"):
        if name in seen and seen[name].lower() not in ("r", "s"):
            syntax(f"{name}={seen[name]} is not r or s", "receivers use the default, r (relaxed)")
    fo = seen.get("fo")
    if fo is not None and not all(part.strip().lower() in ("0", "1", "d", "s") for part in fo.split(":")):
        syntax(f"fo={fo} is not a ':'-separated list of 0, 1, d and s", "receivers use the default, 0")
    ri = seen.get("ri")
    if ri is not None and not (ri.isascii() and ri.isdigit() and int(ri) < 2**32):
        syntax(f"ri={ri} is not a whole number of seconds", "receivers use the default, 86400")

    said, policy = "p=none", _policy(p)
    if policy is None or (sp is not None and _policy(sp) is None):
        said, policy = "no valid p=, which receivers read as p=none", "none" if rua_ok else None
    elif sp is not None and at != f"_dmarc.{domain}":
        # RFC 7489 6.3: sp is the "Requested Mail Receiver policy for all subdomains": it is the
        # one that applies when the record was found at a parent of the domain.
        said, policy = "sp=none", _policy(sp)
    if policy == "none":
        reports = "" if rua_ok else f", and add rua=mailto:dmarc-reports@{domain} to get those reports"
        problems.append(
            _problem(
                "policy-none",
                f"{at} has {said}: receivers take no action on mail that fails DMARC, so mail forged "
                f"as {domain} is still delivered; move to p=quarantine once aggregate reports show all your "
                f"mail passes{reports}",
            )
        )
    return policy, problems


async def check_dmarc(lookup: Lookup, domain: str) -> DmarcReport:
    """Find and judge the DMARC record that applies to DOMAIN."""
    domain = domain.strip().rstrip(".").lower()
    problems: list[Problem] = []

    def report(record: str | None = None, policy: str | None = None, found_at: str | None = None, **kw: Any):
        return DmarcReport(domain, record, policy, found_at, tuple(dict.fromkeys(problems)), **kw)

    for name in policy_names(domain):
        at = f"_dmarc.{name}"
        answer = await lookup(at, wire.TXT)
        if error := dns_error(answer):
            return report(error=error)
        records = []
        for raw in txt_records(answer):
            text = raw.decode("utf-8", "replace")
            tags = _tags(text)
            if tags and tags[0][:2] == ("v", "DMARC1"):
                records.append((text, tags))
            elif why := _version_error(tags):
                problems.append(
                    _problem("syntax-error", f"{at}: {why}; receivers ignore the whole record (RFC 7489 section 6.3)")
                )
        if len(records) > 1:
            # RFC 7489 6.6.3: "If the remaining set contains multiple records or no records, policy
            # discovery terminates and DMARC processing is not applied to this message."
            problems.append(
                _problem(
                    "multiple-records",
                    f"{at} has {len(records)} DMARC records: receivers apply no DMARC policy at all "
                    "(RFC 7489 section 6.6.3); keep one",
                )
            )
            return report(found_at=at)
        if records:
            text, tags = records[0]
            policy, found = _judge(tags, at, domain)
            problems.extend(found)
            return report(text, policy, at)
    if not problems:  # a record that is there but ignored has its own problem: fix that one
        problems.append(
            _problem(
                "no-record",
                f"{domain} has no DMARC record at _dmarc.{domain}: receivers such as Gmail, Yahoo and Microsoft "
                "expect DMARC from bulk senders and may reject or junk their mail without it; publish at least "
                f"'v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}'",
            )
        )
    return report()
