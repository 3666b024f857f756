"""What to do about an SPF result: advice that fits the result, for `check`, the email and the SMS.

Pure text from the result, the record and pyspf's explanation. Each failing result gets its
own fix: an address missing from a record is not the same problem as a record that does not
exist, or one that receivers cannot evaluate at all.
"""

from __future__ import annotations

from dataclasses import dataclass

# How bad a result is for mail from this address; a move to a worse one is news.
RANK = {"pass": 0, "temperror": 0, "none": 1, "neutral": 1, "softfail": 2, "permerror": 3, "fail": 3}

# pyspf's permerror explanations, by what the owner has to fix.
_PERMERRORS = (
    (
        ("dns lookups",),
        "too-many-lookups",
        "The record needs more than 10 DNS lookups (RFC 7208 section 4.6.4), so receivers give "
        "'permerror' for every sender. Remove include:, a, mx, ptr and exists: terms you no longer "
        "need, or replace includes with the ip4:/ip6: ranges they stand for.",
        "needs >10 DNS lookups: remove or flatten includes",
    ),
    (
        ("recursion", "loop"),
        "include-loop",
        "The record includes (or redirects to) a record that leads back to itself, so receivers give "
        "'permerror' for every sender. Remove the include that closes the loop.",
        "includes itself in a loop: remove that include",
    ),
    (
        ("void lookup",),
        "too-many-void-lookups",
        "More than 2 of the record's lookups find nothing (RFC 7208 section 4.6.4): remove the "
        "include:, a: and mx: terms that name domains without records.",
        "has >2 lookups that find nothing: remove dead terms",
    ),
    (
        ("two or more",),
        "multiple-records",
        "The domain publishes more than one SPF record; receivers then use none of them. Merge "
        "them into a single TXT record.",
        "has several SPF records: merge them into one",
    ),
    (
        ("non-ascii",),
        "syntax-error",
        "The record contains characters outside ASCII, which SPF does not allow (a pasted typographic "
        "quote or non-breaking space is the usual cause): retype the record in plain ASCII.",
        "has non-ASCII characters: retype it",
    ),
    (
        ("no valid spf record for included domain", "redirect domain has no spf record"),
        "include-without-record",
        "The record includes (or redirects to) a domain that publishes no SPF record. Remove that "
        "term, or have that domain publish a record.",
        "includes a domain without SPF: remove that term",
    ),
)


@dataclass(frozen=True)
class Advice:
    lines: list[str]  # the email's "What to do" and `check`'s hint
    sms: str  # one short sentence
    code: str = ""  # for permerror: what broke


def mechanism_for(ip: str) -> str:
    return f"ip{6 if ':' in ip else 4}:{ip}"


def spf_advice(
    result: str, ip: str, domain: str, record: str | None = None, explanation: str = "", helo: bool = False
) -> Advice | None:
    """What to do about RESULT for mail from IP as DOMAIN (the sender's domain, or the HELO name)."""
    mechanism = mechanism_for(ip)
    if result in ("pass", "temperror") or (helo and result == "none"):
        return None
    if result == "none":
        example = f"v=spf1 {mechanism} {'-all' if helo else '~all'}"
        return Advice(
            [
                f"{domain} publishes no SPF record, so receivers cannot tell its mail from forgeries.",
                f"Publish one as a TXT record at {domain}, naming every address that sends its mail:",
                f"  {example}",
                "(~all asks receivers to be lenient while you find every sender; use -all once it is complete.)",
            ],
            f"{domain} has no SPF record: publish TXT '{example}'.",
        )
    if result == "permerror":
        low = explanation.lower()
        for needles, code, text, sms in _PERMERRORS:
            if any(n in low for n in needles):
                return Advice([text], f"SPF of {domain} {sms}.", code)
        detail = explanation.removeprefix("SPF Permanent Error: ") or "receivers cannot evaluate it"
        return Advice(
            [
                f"The SPF record of {domain} has an error ({detail}); receivers give 'permerror' for every sender.",
                "Fix that term of the record.",
            ],
            f"SPF of {domain} is broken ({detail}).",
            "syntax-error",
        )
    # fail, softfail, neutral: the record exists but does not authorise this address.
    lines = [f"Add {mechanism} to the SPF record of {domain}, before the 'all' mechanism"]
    if record:
        lines.append(f"e.g. {suggest_record(record, [mechanism])}")
    return Advice(lines, f"Add {mechanism} to the SPF record of {domain}.")


def suggest_record(record: str, mechanisms: list[str]) -> str:
    """RECORD with MECHANISMS inserted before its 'all' (or redirect=), as a person would edit it."""
    parts = record.split()
    for index, part in enumerate(parts):
        if part.lstrip("+-~?").lower() == "all" or part.lower().startswith("redirect="):
            return " ".join([*parts[:index], *mechanisms, *parts[index:]])
    return " ".join([*parts, *mechanisms])


def problem_kind(result: str | None) -> str:
    """What kind of fix a result needs: a record to publish, an address to add, or a record to repair."""
    return {"none": "missing", "neutral": "unlisted", "softfail": "unlisted", "fail": "unlisted"}.get(
        result or "", "broken" if result == "permerror" else ""
    )


def worse(before: str | None, after: str) -> bool:
    """True when AFTER is a worse SPF result than BEFORE (softfail -> fail, pass -> anything)."""
    return RANK.get(after, 3) > RANK.get(before or "pass", 0)


def group_spf_advice(
    result: str, domain: str, record: str | None, explanation: str, mechanisms: list[str]
) -> list[str]:
    """What to do about RESULT for several addresses (their MECHANISMS, ip4:/ip6: terms or ranges)."""
    if result in ("fail", "softfail", "neutral"):
        lines = [f"Add {' '.join(mechanisms[:20])} to the SPF record of {domain}, before the 'all' mechanism"]
        if len(mechanisms) > 20:
            lines.append(f"(and {len(mechanisms) - 20} more addresses; an ip4:/ip6: range may cover them)")
        elif record:
            lines.append(f"e.g. {suggest_record(record, mechanisms)}")
        return lines
    if result == "none":
        return [
            f"{domain} publishes no SPF record. Publish one as a TXT record at {domain}, naming every address",
            f"that sends its mail, e.g.  v=spf1 {' '.join(mechanisms[:20])} ~all",
        ]
    # permerror is about the record, not about any one address
    advice = spf_advice(result, mechanisms[0].split(":", 1)[1], domain, record, explanation)
    return advice.lines if advice else []
