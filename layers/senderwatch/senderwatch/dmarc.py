"""Check a domain's DMARC record (RFC 9989, which obsoletes RFC 7489): the policy receivers apply to
mail that fails SPF and DKIM, and whether the reports it asks for can reach their destinations.

Found as receivers find it (RFC 9989 section 4.10.1): the record at _dmarc.<domain>; without one,
the DNS Tree Walk up its parents (section 4.10), at most eight names, to the record of the
domain's Organizational Domain - the one at the name with the fewest labels, or the one a psd=
tag points to (section 4.10.2) - or, without that, the Public Suffix Domain's. No public suffix
list is needed. Problems are what receivers do with the record: ignore it or part of it (syntax,
several records), take no action on failing mail (p=none), or send no reports to a destination
outside the domain's organization that has not agreed to take them (RFC 9990, Verifying External
Destinations).

DNS comes through the same injected async lookup as spfrecord, with the same rule: a DNS failure
leaves the check incomplete (`error`), never "no record" and never "not authorized".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import wire
from .errors import DnsFailure
from .spfrecord import Lookup, Problem, dns_error, txt_records
from .text import clean_text

MAX_QUERIES = 8  # RFC 9989 4.10: names asked by one tree walk, the domain's own first
MAX_DESTINATIONS = 5  # report destination hosts whose authorization is checked, in the record's order
POLICIES = ("none", "quarantine", "reject")
_ONE_LEVEL_LESS = {"reject": "quarantine", "quarantine": "none", "none": "none"}  # RFC 9989 4.7, t=y
_MAX_NAME = 253  # RFC 1035 2.3.4, in presentation format without the final dot
# RFC 9989 4.7: the tags whose values are one of a few letters, and their defaults.
_DEFAULTS = {
    "adkim": (("r", "s"), "r"),
    "aspf": (("r", "s"), "r"),
    "t": (("y", "n"), "n"),
    "psd": (("y", "n", "u"), "u"),
}
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")

# RFC 9989 4.8: dmarc-uri = URI (RFC 3986), commas and exclamation points encoded; obs-dmarc-uri
# adds a size limit ("!" 1*DIGIT [k/m/g/t]) that reporters ignore. Any scheme is a URI: receivers
# ignore schemes they do not support (4.7 rua), so only mailto: is read further, as RFC 6068
# addr-spec after the scheme.
_SIZE_LIMIT = re.compile(r"![0-9]+[kmgt]?$", re.IGNORECASE)
_URI = re.compile(r"[a-z][a-z0-9+.-]*:(?:[a-z0-9._~:/?#\[\]@$&'()*+=-]|%[0-9a-f]{2})+", re.IGNORECASE)
_MAILTO = re.compile(r"mailto:[^@\s?]+@([^@\s?]+\.[^@\s.?]+)(?:\?.*)?", re.IGNORECASE)

_Tags = list[tuple[str, str | None, str]]


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


@dataclass(frozen=True)
class _Record:
    """The one valid DMARC record published for NAME (at _dmarc.NAME)."""

    name: str
    text: str
    tags: dict[str, str]  # tag name (lower case): value, as written

    @property
    def at(self) -> str:
        return f"_dmarc.{self.name}"

    @property
    def psd(self) -> str:
        """RFC 9989 4.7 psd: y, n, or the default u (also for a value that is none of them)."""
        value = self.tags.get("psd", "u").lower()
        return value if value in ("y", "n") else "u"


def _problem(code: str, detail: str) -> Problem:
    return Problem(code, clean_text(detail, limit=600))


def policy_names(domain: str) -> list[str]:
    """The names a DNS Tree Walk from DOMAIN asks (RFC 9989 section 4.10), in order.

    The domain itself, then, when it has fewer than eight labels, each parent down to the
    top-level label; a longer name is first cut to its seven right-most labels ("If x >= 8,
    remove the left-most (highest-numbered) labels from the subject domain until 7 labels
    remain"), so no walk asks more than MAX_QUERIES names.
    """
    labels = domain.split(".")
    first_parent = max(len(labels) - (MAX_QUERIES - 1), 1)
    return [domain] + [".".join(labels[i:]) for i in range(first_parent, len(labels))]


def _tags(text: str) -> _Tags:
    """(name, value, as written) per tag; value None for a tag without "=".

    RFC 9989 4.8: tags are separated by ";" with whitespace allowed around them and around "=",
    and a final ";" is allowed. Names are read without regard to case, as the ABNF literals are.
    """
    tags = []
    for part in text.split(";"):
        part = part.strip()
        if part:
            name, sep, value = part.partition("=")
            tags.append((name.strip().lower(), value.strip() if sep else None, part))
    return tags


def _is_dmarc(tags: _Tags) -> bool:
    """RFC 9989 4.7 v: "This tag MUST be the first tag in the list. The tag value is case
    sensitive, and the only possible value is "DMARC1"."."""
    return bool(tags) and tags[0][:2] == ("v", "DMARC1")


def _version_error(tags: _Tags) -> str:
    """Why a TXT record that tries to be a DMARC record is not one; "" for any other TXT record.

    RFC 9989 4.7 v: "If the tag is not the first in the list, or the tag is absent, or the value
    is not "DMARC1", then the entire record MUST be ignored."
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


def _duplicate(tags: _Tags) -> str:
    """The first tag name that occurs twice, or "".

    RFC 9989 4.7: "DMARC Policy Records follow the extensible "tag-value" syntax for DNS-based key
    records defined in DKIM [RFC6376]", and RFC 6376 3.2: "Tags with duplicate names MUST NOT occur
    within a single tag-list; if a tag name does occur more than once, the entire tag-list is invalid."
    """
    seen: set[str] = set()
    for name, value, _ in tags:
        if value is not None:
            if name in seen:
                return name
            seen.add(name)
    return ""


def _uris(value: str) -> tuple[list[str], list[str]]:
    """The entries of a rua=/ruf= list that are reporting URIs (without an obsolete size limit),
    and those that are not."""
    good: list[str] = []
    bad: list[str] = []
    for entry in (entry.strip() for entry in value.split(",")):
        uri = _SIZE_LIMIT.sub("", entry)
        if _URI.fullmatch(uri) and (_MAILTO.fullmatch(uri) or not uri.lower().startswith("mailto:")):
            good.append(uri)
        else:
            bad.append(entry)
    return good, bad


def _host(uri: str) -> str | None:
    """RFC 9990 Verifying External Destinations, step 1: the host of URI (the domain of a
    mailto: address), as a DNS name in A-labels; None when it has none."""
    match = _MAILTO.fullmatch(uri)
    try:
        host = match.group(1) if match else urlsplit(uri).hostname
    except ValueError:
        return None
    if not host:
        return None
    try:
        return host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def _is_dns_name(name: str) -> bool:
    return len(name) <= _MAX_NAME and all(_LABEL.fullmatch(label) for label in name.split("."))


def _policy(value: str | None) -> str | None:
    return value.lower() if value is not None and value.lower() in POLICIES else None


def _organizational_domain(start: str, found: list[_Record]) -> str:
    """RFC 9989 4.10.2: the Organizational Domain of START, from the valid records FOUND by the
    tree walk from START (longest name first).

    "1. If a valid DMARC Policy Record contains the "psd" tag set to "n" ("psd=n"), this is the
    Organizational Domain ... 2. If a valid DMARC Policy Record, other than the one for the domain
    where the tree walk started, contains the "psd" tag set to "y" ("psd=y"), the Organizational
    Domain is the domain one label below this one in the DNS hierarchy ... 3. Otherwise, select the
    DMARC Policy Record found at the name with the fewest number of labels." And: "If this process
    does not determine the Organizational Domain, then the initial target domain is the
    Organizational Domain."
    """
    for record in found:
        if record.psd == "n":
            return record.name
        if record.psd == "y" and record.name != start:
            below = record.name.count(".") + 2
            return ".".join(start.split(".")[-below:])
    return found[-1].name if found else start


class _Discovery:
    """One check's DNS Tree Walks (RFC 9989 4.10): each _dmarc name is asked once, whichever walk
    needs it; the problems receivers would see are noted while the walk is the policy's own."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.records: dict[str, _Record | None] = {}
        self.answers: dict[str, wire.Answer] = {}
        self.problems: list[Problem] = []
        self.noting = True  # the walk for the policy: what it finds wrong is the domain owner's

    async def ask(self, name: str) -> wire.Answer:
        """The TXT records at NAME, asked once; a DNS failure ends the check, incomplete."""
        if name not in self.answers:
            self.answers[name] = await self.lookup(name, wire.TXT)
        answer = self.answers[name]
        if kind := dns_error(answer):
            raise DnsFailure(kind)
        return answer

    def note(self, code: str, detail: str) -> None:
        if self.noting:
            self.problems.append(_problem(code, detail))

    async def record(self, name: str) -> _Record | None:
        """The valid DMARC record at _dmarc.NAME, or None when receivers find none there.

        RFC 9989 4.10 step 2: "Records that do not start with a "v" tag that identifies the current
        version of DMARC are discarded. If multiple DMARC Policy Records are returned for a single
        target, they are all discarded." A record whose tag-list is invalid is not a valid one.
        """
        if name in self.records:
            return self.records[name]
        at = f"_dmarc.{name}"
        answer = await self.ask(at)
        candidates = []
        for raw in txt_records(answer):
            text = raw.decode("utf-8", "replace")
            tags = _tags(text)
            if _is_dmarc(tags):
                candidates.append((text, tags))
            elif why := _version_error(tags):
                self.note("syntax-error", f"{at}: {why}; receivers ignore the whole record (RFC 9989 section 4.7)")
        found: _Record | None = None
        if len(candidates) > 1:
            self.note(
                "multiple-records",
                f"{at} has {len(candidates)} DMARC records: receivers discard them all and look further up "
                "the tree (RFC 9989 section 4.10); keep one",
            )
        elif candidates:
            text, tags = candidates[0]
            if duplicate := _duplicate(tags):
                self.note(
                    "syntax-error",
                    f"{at}: the tag {duplicate}= appears more than once, which makes the whole record invalid "
                    "(RFC 6376 section 3.2, whose tag-value syntax RFC 9989 section 4.7 uses): receivers ignore it",
                )
            else:
                found = _Record(name, text, {tag: value for tag, value, _ in tags if value is not None})
        self.records[name] = found
        return found

    async def walk(self, start: str) -> list[_Record]:
        """The valid records of the DNS Tree Walk from START, longest name first (RFC 9989 4.10):
        it stops at a record with psd=y or psd=n, or when there are no more labels."""
        found = []
        for name in policy_names(start):
            record = await self.record(name)
            if record is not None:
                found.append(record)
                if record.psd in ("y", "n"):
                    break
        return found

    async def organizational_domain(self, name: str) -> str:
        return _organizational_domain(name, await self.walk(name))

    async def exists(self, name: str) -> bool:
        """RFC 9989 3.2.13 and A.4: a name exists unless a query for it answers NXDOMAIN."""
        return (await self.ask(name)).rcode != wire.NXDOMAIN


async def _judge(record: _Record, domain: str, discovery: _Discovery) -> tuple[str | None, list[Problem]]:
    """The policy receivers apply to DOMAIN's mail under RECORD, and the record's problems."""
    problems: list[Problem] = []
    at, tags = record.at, record.tags

    def syntax(what: str, effect: str) -> None:
        problems.append(_problem("syntax-error", f"{at}: {what}; {effect}"))

    for _, value, written in _tags(record.text)[1:]:
        if value is None:
            syntax(f"'{written}' is not a tag=value pair", "receivers ignore it (RFC 9989 section 4.8)")

    uris: dict[str, list[str]] = {}
    for name in ("rua", "ruf"):
        good, bad = _uris(tags[name]) if name in tags else ([], [])
        uris[name] = good
        for entry in bad:
            syntax(
                f"{name}= entry '{entry}' is not a URI",
                "receivers send no reports there (RFC 9989 section 4.8); write it as mailto:address@domain",
            )
    rua_ok = bool(uris["rua"])

    # RFC 9989 4.8: "Syntax errors in the remainder of the record MUST be discarded in favor of
    # default values (if any) or ignored outright." Unknown tags, and pct, rf and ri, which RFC
    # 9989 removed (appendix C.5.2), are ignored whatever they say (4.7: "unknown tags MUST be
    # ignored").
    for name, (allowed, default) in _DEFAULTS.items():
        if name in tags and tags[name].lower() not in allowed:
            syntax(
                f"{name}={tags[name]} is not {' or '.join(allowed)}",
                f"receivers use the default, {default} (RFC 9989 section 4.8)",
            )
    fo = [part.strip().lower() for part in tags.get("fo", "0").split(":")]
    if not (all(part in ("0", "1", "d", "s") for part in fo) and len(set(fo)) == len(fo) and not {"0", "1"} <= set(fo)):
        syntax(
            f"fo={tags['fo']} is not a ':'-separated list of 0 or 1, d and s",
            "receivers use the default, 0 (RFC 9989 section 4.8)",
        )

    # RFC 9989 4.10.1: "If a retrieved DMARC Policy Record does not contain a valid "p" tag, or
    # contains an "sp" or "np" tag that is not valid, then: * If a "rua" tag is present and contains
    # at least one syntactically valid reporting URI, the Mail Receiver MUST act as if a record
    # containing "p=none" was retrieved and continue processing; * Otherwise, the Mail Receiver
    # applies no DMARC processing to this message."
    fallback = (
        "receivers act as if it said p=none, as it has rua= (RFC 9989 section 4.10.1)"
        if rua_ok
        else "receivers apply no DMARC processing to its mail at all (RFC 9989 section 4.10.1)"
    )
    invalid = [name for name in ("p", "sp", "np") if name in tags and _policy(tags[name]) is None]
    for name in invalid:
        syntax(f"{name}={tags[name]} is not none, quarantine or reject", fallback)

    said: str
    policy: str | None
    if invalid:
        said, policy = f"an invalid {invalid[0]}=, which receivers read as p=none", "none" if rua_ok else None
    elif "p" not in tags:
        # RFC 9989 4.7 p: "If this tag is not present in an otherwise syntactically valid DMARC
        # Policy Record, then the record is treated as if it included "p=none" (see Section 4.10.1)."
        if rua_ok:
            said, policy = "no p=, which receivers read as p=none (RFC 9989 sections 4.7 and 4.10.1)", "none"
        else:
            said = "no p= and no rua=, for which receivers apply no DMARC processing at all (RFC 9989 section 4.10.1)"
            policy = None
    else:
        name = "p"
        if record.name != domain:
            # RFC 9989 4.10.1: for a subdomain of the Organizational or Public Suffix Domain, "the
            # Domain Owner Assessment Policy is taken from the "sp" tag (if any) if the Author Domain
            # exists, or the "np" tag (if any) if the Author Domain does not exist. In the absence of
            # applicable "sp" or "np" tags, the "p" tag policy is used for subdomains."
            if "np" in tags and not await discovery.exists(domain):
                name = "np"
            elif "sp" in tags:
                name = "sp"
        said, policy = f"{name}={tags[name].lower()}", _policy(tags[name])
        if tags.get("t", "n").lower() == "y" and policy != "none":
            # RFC 9989 4.7 t: "if the policy is "quarantine" and the value of the "t" tag is "y", a
            # policy of "none" will be applied to failing messages; if the policy is "reject" and
            # the value of the "t" tag is "y", a policy of "quarantine" will be applied".
            policy = _ONE_LEVEL_LESS[policy or "none"]
            said += f" with t=y (test mode), which asks receivers for one level less, {policy}"
    if policy == "none" or (policy is None and not invalid):
        mailto = any(uri.lower().startswith("mailto:") for uri in uris["rua"])
        reports = "" if mailto else f", and add rua=mailto:dmarc-reports@{domain} to get those reports"
        step = "drop t=y" if "t=y" in said else "move to p=quarantine"
        problems.append(
            _problem(
                "policy-none",
                f"{at} has {said}: receivers take no action on mail that fails DMARC, so mail forged "
                f"as {domain} is still delivered; {step} once aggregate reports show all your mail passes{reports}",
            )
        )
    return policy, problems


async def _destinations(record: _Record, discovery: _Discovery) -> list[Problem]:
    """The report destinations of RECORD that receivers will not send to: those outside its
    Organizational Domain that have not agreed to take its reports (RFC 9990, Verifying External
    Destinations; RFC 9991 applies the same to ruf=). At most MAX_DESTINATIONS hosts are asked."""
    problems: list[Problem] = []
    uris = {tag: _uris(record.tags[tag])[0] if tag in record.tags else [] for tag in ("rua", "ruf")}
    if record.psd == "y":
        # RFC 9991: "Report generators MUST NOT consider "ruf" tags in DMARC Policy Records having a
        # "psd=y" tag, unless there are specific agreements between the interested parties."
        uris["ruf"] = []
    hosts: set[str] = set()
    organization: str | None = None
    for tag, kind in (("rua", "aggregate"), ("ruf", "failure")):
        for uri in uris[tag]:
            host = _host(uri)
            if host is None or host == record.name or (host not in hosts and len(hosts) >= MAX_DESTINATIONS):
                continue
            hosts.add(host)
            if organization is None:
                organization = await discovery.organizational_domain(record.name)
            if why := await _unauthorized(record, host, tag, organization, discovery):
                problems.append(
                    _problem(
                        "report-destination-unauthorized",
                        f"{record.at}: {tag}={uri} sends {kind} reports outside the Organizational Domain "
                        f"{organization}, but {why}",
                    )
                )
    return problems


async def _unauthorized(record: _Record, host: str, tag: str, organization: str, discovery: _Discovery) -> str:
    """Why receivers send no reports from RECORD's domain to HOST, and what to do; "" when they do.

    RFC 9990: "When a Mail Receiver discovers a DMARC Policy Record in the DNS, and the
    Organizational Domain at which that record was discovered is not identical to the
    Organizational Domain of the host part of the authority component of a [RFC3986] specified in
    the "rua" tag, the following verification steps MUST be taken". HOST's own Organizational
    Domain is HOST or one of its parents: a host outside ORGANIZATION has another one, and a host
    inside it may have (a psd= record on the way), which only its own tree walk tells.
    """
    if (host == organization or host.endswith("." + organization)) and (
        await discovery.organizational_domain(host) == organization
    ):
        return ""
    effect = "receivers send no reports there (RFC 9990, Verifying External Destinations)"
    # Steps 2-4: the domain the policy was retrieved from, "_report._dmarc", the destination host;
    # "If the length of the constructed name exceed DNS limits, a positive determination of the
    # external reporting relationship cannot be made".
    name = f"{record.name}._report._dmarc.{host}"
    if not _is_dns_name(name):
        return (
            f"the name that would authorize it is too long for DNS, or {host} is not a domain name: {effect}; "
            f"send them to an address at {organization}"
        )
    # Steps 5-8: "For each record returned, parse the result as a series of "tag=value" pairs ...
    # the "v=DMARC1" tag is mandatory and MUST appear first in the list. Discard any that do not
    # pass this test." With none left, the relationship is not authorized.
    texts = txt_records(await discovery.ask(name))
    grants = [tags for tags in (_tags(raw.decode("utf-8", "replace")) for raw in texts) if _is_dmarc(tags)]
    if not grants:
        return (
            f"{name} has no 'v=DMARC1' record to say {host} takes them: {effect}; have {host} publish the TXT "
            f"record 'v=DMARC1' at {name}, or send them to an address at {organization}"
        )
    # Step 9: an override "MUST use the same destination host"; "if the confirming record includes
    # a URI whose host is again different than the domain publishing that override, the Mail
    # Receiver generating the report MUST NOT generate a report to either the original or the
    # override URI."
    for tags in grants:
        for key, value, _ in tags:
            others = sorted({h for h in map(_host, _uris(value)[0]) if h and h != host}) if key == tag and value else []
            if others:
                return (
                    f"the authorization at {name} sends them on to {', '.join(others)}, another host: receivers send "
                    f"reports to neither (RFC 9990, Verifying External Destinations); its {tag}= must stay at {host}"
                )
    return ""


async def check_dmarc(lookup: Lookup, domain: str) -> DmarcReport:
    """Find and judge the DMARC record that applies to DOMAIN (RFC 9989 section 4.10.1)."""
    domain = domain.strip().rstrip(".").lower()
    discovery = _Discovery(lookup)
    record: _Record | None = None
    policy: str | None = None
    judged: list[Problem] = []

    def report(**kw: Any) -> DmarcReport:
        problems = tuple(dict.fromkeys([*discovery.problems, *judged]))
        text, found_at = (record.text, record.at) if record else (None, None)
        return DmarcReport(domain, text, policy, found_at, problems, **kw)

    try:
        # "Policy discovery starts first with a query for a valid DMARC Policy Record at the name
        # created by prepending the label "_dmarc" to the Author Domain ... If no valid DMARC Policy
        # Record is found by the first query, then perform a DNS Tree Walk to find the Author
        # Domain's Organizational Domain or its Public Suffix Domain." Its record, or else the
        # PSD's, applies: "The Author Domain; The Organizational Domain of the Author Domain; The
        # Public Suffix Domain of the Author Domain".
        found = await discovery.record(domain)
        if found is None:
            walked = await discovery.walk(domain)
            organization = _organizational_domain(domain, walked)
            found = next((r for r in walked if r.name == organization), None)
            found = found or next((r for r in walked if r.psd == "y"), None)
        discovery.noting = False  # other walks (for the destinations) find other owners' records
        if found is not None:
            policy, judged = await _judge(found, domain, discovery)
            record = found
            judged += await _destinations(found, discovery)
    except DnsFailure as failure:
        # RFC 9989 4.10.1: "Handling of DNS errors when querying for the DMARC Policy Record is left
        # to the discretion of the Mail Receiver": what could not be looked up is not judged.
        return report(error=failure.kind)
    if record is None and not discovery.problems:  # a record that is there but ignored has its own problem
        # RFC 9989 4.10.1: "If the set produced by the DNS Tree Walk contains no DMARC Policy
        # Record ..., Mail Receivers MUST NOT apply the DMARC mechanism to the message."
        judged = [
            _problem(
                "no-record",
                f"{domain} has no DMARC record at _dmarc.{domain} or above it: receivers such as Gmail, Yahoo and "
                "Microsoft expect DMARC from bulk senders and may reject or junk their mail without it; publish "
                f"at least 'v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}'",
            )
        ]
    return report()
