"""Lint a domain's own SPF record (RFC 7208): will it work at all, for every sender?

spfresult.py asks whether one address passes. This asks what no single check shows: the limits,
syntax errors, loops and missing includes that make receivers return permerror for every
address at once. The record is walked as check_host() would walk it for an address that
matches nothing - the worst case, where every term before "all" is evaluated - through
includes and the redirect, counting DNS lookups and void lookups (RFC 7208 section 4.6.4).

Each term is read by pyspf's own parser, so a syntax verdict is the one receivers running
pyspf reach. DNS comes through an injected async lookup. A DNS failure anywhere leaves the
lint incomplete (`error`), never a verdict: a name that could not be looked up is not a name
without a record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from . import wire
from .errors import DnsFailure
from .spfresult import spf
from .text import clean_text

Lookup = Callable[[str, int], Awaitable[wire.Answer]]

# Problem codes, in the order reports list them (the ones that stop SPF from working first).
CODES = (
    "no-record",
    "multiple-records",
    "syntax-error",
    "too-many-lookups",
    "too-many-void-lookups",
    "plus-all",
    "ptr-mechanism",
    "include-loop",
    "record-too-long",
)
_ORDER = {code: index for index, code in enumerate(CODES)}

MAX_LOOKUPS = 10  # RFC 7208 4.6.4: terms that query DNS, per evaluation
MAX_VOID_LOOKUPS = 2  # RFC 7208 4.6.4: lookups answering NXDOMAIN or no records
MAX_MX_NAMES = 10  # RFC 7208 4.6.4: address lookups per "mx"
MAX_TXT_OCTETS = 450  # RFC 7208 3.4: name plus all TXT text, so the answer fits UDP

# The walk keeps counting past the limit (the report gives the real total), but a hostile or
# broken record must not make us do unbounded work: beyond these, includes are not followed.
_MAX_DEPTH = 10
_MAX_WORK = 50

# The address and sender pyspf's parser needs to expand macros. Targets with macros of the
# sender or the connection are never looked up (only a real message gives them), so these
# values only have to be valid.
_PROBE_IP = "192.0.2.1"


def _sender_free(spec: str) -> bool:
    """Whether every macro in SPEC is known without a message: RFC 7208 7.2 "d = <domain>" (the
    domain whose record is being evaluated) and "o = domain of <sender>" (the linted domain, whose
    own senders these are; 4.1: <domain> is "initially, the domain portion of the "MAIL FROM" or
    "HELO" identity"), and the literals "%%", "%_" and "%-" (7.1). The others - s, l, i, p, v, h -
    are "replaced by parameters of the message or of the connection" (section 7)."""
    return all(
        m.group(0) in ("%%", "%_", "%-") or m.group(0)[2:3].lower() in ("d", "o") for m in spf.RE_CHAR.finditer(spec)
    )


@dataclass(frozen=True)
class Problem:
    code: str  # one of CODES (dmarc.py adds its own)
    detail: str  # one sentence for a mail admin: the record or term at fault, what receivers do

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class SpfRecordReport:
    domain: str
    record: str | None  # the domain's own v=spf1 record (None when it has none, or several)
    lookups: int  # DNS-querying terms evaluated in the worst case, through includes and redirect
    void_lookups: int  # worst of the two address families
    problems: tuple[Problem, ...] = ()
    error: str = ""  # "timeout" | "servfail" | "refused" | "bad-answer": incomplete, not a verdict

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "record": self.record,
            "lookups": self.lookups,
            "void_lookups": self.void_lookups,
            "problems": [problem.to_dict() for problem in self.problems],
        }
        if self.error:
            out["error"] = self.error
        return out

    @property
    def broken(self) -> bool:
        return bool(self.problems)


def dns_error(answer: wire.Answer) -> str:
    """What kind of DNS failure ANSWER is, or "" when it is data or a definite "no data".

    A record that did not parse could have been the one that matters, so it is a failure,
    never "no data". FORMERR without records is the resolver's answer for a name that cannot
    be put on the wire: no data, as spfresult.py reads it.
    """
    if answer.rcode == wire.TIMEOUT:
        return "timeout"
    if answer.skipped:
        return "bad-answer"
    if answer.rcode in (wire.NOERROR, wire.NXDOMAIN) or (answer.rcode == wire.FORMERR and not answer.records):
        return ""
    return "refused" if answer.rcode == wire.REFUSED else "servfail"


def txt_records(answer: wire.Answer) -> list[bytes]:
    """The text of each TXT record: its character-strings joined with nothing between (RFC 7208 3.3)."""
    return [b"".join(strings) for strings in answer.values(wire.TXT)]


def _problem(code: str, detail: str) -> Problem:
    """Details quote names and terms from DNS: strangers' text, made safe to print."""
    return Problem(code, clean_text(detail, limit=600))


class _Walk:
    """One lint's running state: the counts, the problems so far, and the answers already had."""

    def __init__(self, lookup: Lookup, domain: str) -> None:
        self.lookup = lookup
        self.domain = domain
        self.answers: dict[tuple[str, int], wire.Answer] = {}
        self.query = spf.query(i=_PROBE_IP, s="postmaster@" + domain, h=domain, strict=True)
        self.query.p = "unknown"  # %{p} would make pyspf look up the probe address' PTR
        self.lookups = 0
        self.by_term: dict[str, int] = {}  # lookups per term of the domain's own record
        self.top_term = ""
        self.voids: dict[str, list[str]] = {"IPv4": [], "IPv6": []}
        self.problems: list[Problem] = []
        self.cut = False  # stopped following includes: the counts are lower bounds

    def add(self, code: str, detail: str) -> None:
        self.problems.append(_problem(code, detail))

    def count(self) -> None:
        """One DNS-querying term (RFC 7208 4.6.4), charged to the top-level term it came through."""
        self.lookups += 1
        self.by_term[self.top_term] = self.by_term.get(self.top_term, 0) + 1

    @property
    def spent(self) -> bool:
        if self.lookups > _MAX_WORK:
            self.cut = True
        return self.cut

    async def ask(self, *questions: tuple[str, int]) -> list[wire.Answer]:
        """Answers to QUESTIONS, asked together; the first DNS failure ends the walk."""
        missing = [q for q in dict.fromkeys(questions) if q not in self.answers]
        for question, answer in zip(missing, await asyncio.gather(*(self.lookup(*q) for q in missing))):
            self.answers[question] = answer
        answers = [self.answers[q] for q in questions]
        for answer in answers:
            if kind := dns_error(answer):
                raise DnsFailure(kind)
        return answers

    async def spf_records(self, name: str) -> tuple[list[bytes], int, bool]:
        """The v=spf1 records at NAME, the size RFC 7208 3.4 counts, and whether the lookup was void.

        RFC 7208 4.5: records that do not begin with exactly "v=spf1" followed by a space or
        the end are discarded (pyspf's own pattern, which ignores case as ABNF strings do).
        """
        (answer,) = await self.ask((name, wire.TXT))
        texts = txt_records(answer)
        size = len(name.encode()) + sum(len(text) for text in texts)
        return [text for text in texts if spf.RE_SPF.match(text)], size, not texts

    def check_size(self, name: str, size: int, where: str) -> None:
        # RFC 7208 3.4: "If the size of the DNS message, the combined length of the DNS name and the
        # text of all the records of a given type is under 450 octets, then DNS answers ought to fit
        # in UDP packets." Every TXT record at the name counts: a TXT query returns them all.
        if size > MAX_TXT_OCTETS:
            self.add(
                "record-too-long",
                f"{where}: the name and all TXT records at {name} come to {size} octets, over the "
                f"{MAX_TXT_OCTETS} RFC 7208 section 3.4 advises, so the answer may not fit one UDP packet and "
                "receivers that cannot retry over TCP see no SPF record; shorten or remove TXT records there",
            )

    def where(self, chain: tuple[tuple[str, str], ...]) -> str:
        """How a detail names a record: the domain's own, or the include/redirect path to it."""
        if len(chain) == 1:
            return f"{self.domain}'s SPF record"
        return " -> ".join(label for _, label in chain[1:])

    async def evaluate(self, name: str, record: bytes, chain: tuple[tuple[str, str], ...]) -> None:
        """check_host() on RECORD (the one at NAME) for a sender that matches nothing."""
        where = self.where(chain)
        try:
            text = record.decode("ascii")
        except UnicodeDecodeError:
            # RFC 7208 section 3: the record's content is US-ASCII; pyspf returns permerror.
            self.add(
                "syntax-error",
                f"{where} has non-ASCII characters: receivers return permerror, which fails every address at once",
            )
            return
        parsed = self.parse(name, text, chain)
        if parsed is None:
            return
        mechanisms, redirect = parsed
        top = len(chain) == 1
        for term, kind, target, qualifier in mechanisms:
            if top:
                self.top_term = term
            if kind == "all":
                # RFC 7208 5.1: "Mechanisms after "all" will never be tested."
                if qualifier == "pass":
                    self.add(
                        "plus-all",
                        f"{where} has '{term}', which passes mail from any server on the internet as "
                        f"{self.domain}; end it with -all or ~all",
                    )
                break
            if kind in ("ip4", "ip6"):
                continue
            self.count()
            if kind == "ptr":
                self.add(
                    "ptr-mechanism",
                    f"{where} uses '{term}', which RFC 7208 section 5.5 says SHOULD NOT be used: it is slow and "
                    "unreliable, and receivers that skip it fail the mail it was meant to pass; "
                    "list those servers with ip4:/ip6: instead",
                )
            elif not _sender_free(term) or kind == "exists" or self.spent:
                continue  # only a real sender gives this target; exists' void is a "no"
            elif kind == "a":
                await self.addresses(target, f"a:{target}")
            elif kind == "mx":
                await self.mx(target, term, where)
            elif kind == "include":
                await self.follow(target, f"include:{target}", chain)
        else:
            # RFC 7208 6.1: "Any "redirect" modifier MUST be ignored if there is an "all" mechanism
            # anywhere in the record." (The loop ended without one.)
            if redirect:
                label = f"redirect={redirect}"
                if top:
                    self.top_term = label
                self.count()
                if _sender_free(redirect) and not self.spent:
                    await self.follow(redirect.lower(), label, chain)

    def parse(
        self, name: str, text: str, chain: tuple[tuple[str, str], ...]
    ) -> tuple[list[tuple[str, str, str, str]], str] | None:
        """The mechanisms (term, kind, target, qualifier) and the redirect target of TEXT, as
        pyspf reads them; None when the record has a syntax error.

        RFC 7208 4.6: "If there are any syntax errors anywhere in the record, check_host() returns
        immediately with the result "permerror", without further interpretation or evaluation."
        So every term is checked, those after "all" too, and a bad record is not walked.
        """
        where = self.where(chain)
        self.query.d = name  # a bare "a"/"mx" and %{d} mean the domain being evaluated (RFC 7208 4.8)
        mechanisms: list[tuple[str, str, str, str]] = []
        modifiers: dict[str, str] = {}
        valid = True
        for term in text.split(" ")[1:]:  # RFC 7208 4.6.1: terms are separated by spaces, only spaces
            if not term:
                continue
            modifier = spf.RE_MODIFIER.match(term)
            try:
                if modifier:
                    key, value = modifier.group(1).lower(), term[modifier.end() :]
                    if key in ("redirect", "exp"):
                        # RFC 7208 6: "These two modifiers MUST NOT appear in a record more than once each."
                        if key in modifiers:
                            raise spf.PermError(f"{key}= appears more than once", term)
                        if not value:
                            raise spf.PermError(f"{key}= has no domain", term)
                        expanded = self.query.expand_domain(value)  # pyspf's checks, macros included
                        modifiers[key] = expanded if _sender_free(value) else value
                    else:
                        self.query.expand(value)  # unknown modifiers are ignored, but pyspf checks their macros
                else:
                    _, kind, target, _, qualifier = self.query.validate_mechanism(term)
                    mechanisms.append((term, kind, str(target).lower(), qualifier))
            except spf.PermError as exc:
                valid = False
                if exc.msg == "include has trivial recursion":
                    loop = " -> ".join([label for _, label in chain] + [term])
                    self.add(
                        "include-loop",
                        f"{loop}: the record includes itself, and receivers return permerror",
                    )
                else:
                    self.add(
                        "syntax-error",
                        f"{where} has an invalid term '{term}' ({exc.msg}): receivers return permerror "
                        "for the whole record, which fails every address at once",
                    )
        return (mechanisms, modifiers.get("redirect", "")) if valid else None

    async def follow(self, target: str, label: str, chain: tuple[tuple[str, str], ...]) -> None:
        """An include (RFC 7208 5.2) or the redirect (6.1): fetch the target's record and walk it."""
        if any(name == target for name, _ in chain):
            path = " -> ".join([lab for _, lab in chain] + [label])
            self.add(
                "include-loop",
                f"{path}: this leads back to {target}, and receivers follow it until the "
                f"{MAX_LOOKUPS}-lookup limit and return permerror",
            )
            return
        if len(chain) > _MAX_DEPTH:
            self.cut = True
            return
        inner = (*chain, (target, label))
        where = self.where(inner)
        records, size, void = await self.spf_records(target)
        if void:
            self.voids["IPv4"].append(label)
            self.voids["IPv6"].append(label)
        if not records:
            # RFC 7208 5.2: an include whose check_host() result is "none" returns "permerror";
            # 6.1: "if no SPF record is found, ... the result is a "permerror" rather than "none"".
            section = "5.2" if label.startswith("include:") else "6.1"
            self.add(
                "no-record",
                f"{where} has no SPF record: receivers return permerror (RFC 7208 section {section}), "
                "which fails every address at once",
            )
            return
        self.check_size(target, size, where)
        if len(records) > 1:
            self.add(
                "multiple-records",
                f"{where} has {len(records)} SPF records: receivers return permerror (RFC 7208 section 4.5), "
                "which fails every address at once",
            )
            return
        await self.evaluate(target, records[0], inner)

    async def addresses(self, name: str, label: str) -> None:
        """The A and AAAA lookups of an "a" (or of an MX exchange): an IPv4 sender makes the
        first, an IPv6 sender the second, so each family has its own void count."""
        ipv4, ipv6 = await self.ask((name, wire.A), (name, wire.AAAA))
        if not ipv4.values(wire.A):
            self.voids["IPv4"].append(label)
        if not ipv6.values(wire.AAAA):
            self.voids["IPv6"].append(label)

    async def mx(self, target: str, term: str, where: str) -> None:
        (answer,) = await self.ask((target, wire.MX))
        exchanges = sorted(answer.values(wire.MX))
        if not exchanges:
            self.voids["IPv4"].append(f"mx:{target}")
            self.voids["IPv6"].append(f"mx:{target}")
            return
        if len(exchanges) > MAX_MX_NAMES:
            # RFC 7208 4.6.4: "the evaluation of each "MX" record MUST NOT result in querying more
            # than 10 address records -- either "A" or "AAAA" resource records. If this limit is
            # exceeded, the "mx" mechanism MUST produce a "permerror" result."
            self.add(
                "too-many-lookups",
                f"{where} has '{term}', and {target} has {len(exchanges)} MX records: receivers look up "
                f"at most {MAX_MX_NAMES} and return permerror, which fails every address at once",
            )
            return
        names = list(dict.fromkeys(name.lower() for _, name in exchanges if name))  # "." is a null MX
        questions = [(name, rtype) for name in names for rtype in (wire.A, wire.AAAA)]
        answers = await self.ask(*questions)
        for (name, rtype), answer in zip(questions, answers):
            if not answer.values(rtype):
                self.voids["IPv4" if rtype == wire.A else "IPv6"].append(f"{name} (MX of {target})")

    def finish(self) -> None:
        """The problems that only the whole walk shows: the lookup totals."""
        if self.lookups > MAX_LOOKUPS:
            terms = sorted(((term, n) for term, n in self.by_term.items() if n), key=lambda item: -item[1])
            shown = ", ".join(f"{term} {n}" for term, n in terms[:8])
            if len(terms) > 8:
                shown += f" and {len(terms) - 8} more terms"
            total = f"at least {self.lookups}" if self.cut else str(self.lookups)
            self.add(
                "too-many-lookups",
                f"{self.domain}'s SPF record needs {total} DNS lookups ({shown}); receivers stop at "
                f"{MAX_LOOKUPS} and return permerror, which fails every address at once",
            )
        ipv4, ipv6 = self.voids["IPv4"], self.voids["IPv6"]
        over = [(family, names) for family, names in self.voids.items() if len(names) > MAX_VOID_LOOKUPS]
        if len(over) == 2 and ipv4 == ipv6:
            over = [("IPv4 and IPv6", ipv4)]  # the same names for both: one problem
        for family, names in over:
            shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
            self.add(
                "too-many-void-lookups",
                f"{self.domain}'s SPF record makes {len(names)} void lookups for {family} senders, names "
                "that do not exist or have no records of the type asked (A or AAAA for a and mx hosts): "
                f"{shown}; receivers allow {MAX_VOID_LOOKUPS} and return permerror for every "
                f"{family} sender; remove those terms or list the servers with ip4:/ip6:",
            )


async def lint_spf(lookup: Lookup, domain: str, *, helo: bool = False) -> SpfRecordReport:
    """Lint DOMAIN's SPF record. With HELO, DOMAIN is a HELO name, for which no record is normal."""
    domain = domain.strip().rstrip(".").lower()
    walk = _Walk(lookup, domain)
    record: str | None = None
    error = ""
    try:
        records, size, _ = await walk.spf_records(domain)
        if len(records) == 1:
            record = records[0].decode("utf-8", "replace")
        if records:
            walk.check_size(domain, size, f"{domain}'s SPF record")
        if not records and not helo:
            # RFC 7208 4.5: "If the resultant record set includes no records, check_host() produces
            # the "none" result." (NXDOMAIN too, 4.3.)
            walk.add(
                "no-record",
                f"{domain} has no SPF record: receivers get 'none' and cannot tell its servers from forgers; "
                "publish one TXT record 'v=spf1 ... -all' listing the servers that send its mail",
            )
        elif len(records) > 1:
            # RFC 7208 4.5: "If the resultant record set includes more than one record, check_host()
            # produces the "permerror" result."
            walk.add(
                "multiple-records",
                f"{domain} has {len(records)} SPF records: receivers return permerror (RFC 7208 section 4.5), "
                "which fails every address at once; merge them into one",
            )
        elif records:
            await walk.evaluate(domain, records[0], ((domain, domain),))
    except DnsFailure as failure:
        error = failure.kind  # RFC 7208 4.4: temperror; whatever was not looked up is not judged
    walk.finish()
    problems = sorted(dict.fromkeys(walk.problems), key=lambda problem: _ORDER.get(problem.code, len(_ORDER)))
    return SpfRecordReport(
        domain=domain,
        record=record,
        lookups=walk.lookups,
        void_lookups=max(len(names) for names in walk.voids.values()),
        problems=tuple(problems),
        error=error,
    )
