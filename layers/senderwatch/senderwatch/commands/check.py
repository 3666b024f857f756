"""`senderwatch check` and `senderwatch zones`: an address, a host or a network against the lists,
SPF and reverse DNS, from this machine (no AWS), and the catalogue of lists."""

from __future__ import annotations

import asyncio
import os
import sys

from ..dnsbl import DnsblChecker
from ..errors import ResolverUnusable
from ..identities import normalize_sender, validate_helo, watched_domains
from ..resolver import Resolver
from ..targetcheck import CheckResult, HostProblem, check_targets, overall
from ..targets import HOST, NETWORK, parse_target
from ..text import words
from ..zones import catalogue, deployment_zones, domain_catalogue, resolve_domain_zones, resolve_zones
from .checkreport import to_json, to_table
from .common import (
    FORMATS,
    INCOMPLETE,
    UsageError,
    add_dns_options,
    dns_options,
    error,
    isatty,
    json_options,
    note,
    write,
)


def add_parsers(commands) -> None:
    check = commands.add_parser("check", help="check addresses, hosts or networks against DNSBLs, SPF and reverse DNS")
    check.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="an IPv4 or IPv6 address the server sends from, a host name (every address it resolves to) "
        "or a network (IPv4 /24 or longer, IPv6 /120 or longer)",
    )
    check.add_argument(
        "--sender",
        action="append",
        default=[],
        metavar="SENDER",
        help="MAIL FROM for SPF: user@domain, or a domain (postmaster@domain); repeatable, for a relay that "
        "sends as several domains",
    )
    check.add_argument("--helo", help="HELO/EHLO name, to check SPF for the HELO identity too")
    check.add_argument(
        "--zone",
        action="append",
        default=[],
        metavar="ZONE",
        help="DNSBL zone to ask, or +NAME / -NAME: the default set with or without it "
        "(repeatable; default: the catalogue's default set)",
    )
    add_dns_options(check, default=[])
    check.add_argument("--format", **FORMATS)
    check.add_argument("--no-rdns", action="store_true", help="skip the reverse DNS check")
    check.set_defaults(run=run_check)
    commands.add_parser("zones", help="list the blocklist catalogue").set_defaults(run=run_zones)


def run_check(args) -> int:
    if not args.targets:
        raise UsageError("give at least one address, host or network to check, e.g. senderwatch check 192.0.2.25")
    names = list(dict.fromkeys(parse_target(target) for target in args.targets))
    senders = tuple(dict.fromkeys(normalize_sender(sender) for sender in args.sender))
    helo = validate_helo(args.helo) if args.helo is not None else None
    nameservers, timeout = dns_options(args)
    zone_names = [z for value in args.zone for z in words(value)]
    if args.zone and not zone_names:
        raise UsageError("--zone needs a list's zone, e.g. --zone dnsbl.justspam.org")
    zones = resolve_zones(deployment_zones(zone_names))  # -NAME: one of the defaults, as in the Zones parameter
    dqs_key = os.environ.get("SPAMHAUS_DQS_KEY", "").strip() or None
    if dqs_key and not (dqs_key.isascii() and dqs_key.isalnum()):
        raise UsageError("invalid SPAMHAUS_DQS_KEY: expected the letters and digits of your DQS key")

    many = len(names) > 1 or any(name.kind != "address" for name in names)
    progress = _progress_bar if many and isatty(sys.stderr) else None

    domain_zones = resolve_domain_zones(zone_names)

    async def run():
        async with Resolver(nameservers, timeout=timeout) as resolver:
            dnsbl = DnsblChecker(resolver, zones, dqs_key)
            results = await check_targets(
                resolver,
                names,
                zones,
                senders=senders,
                helo=helo,
                rdns=not args.no_rdns,
                progress=progress,
                dnsbl=dnsbl,
            )
            if dnsbl.probes.lists_only:
                note(f"{dnsbl.probes.lists_only}; reverse DNS, SPF and host names cannot be checked through it")
            if not (senders or helo):
                return results, None
            from ..domainhealth import check_domains  # SPF records and DMARC: only for a check with domains

            ptrs = [n for r in results if isinstance(r, CheckResult) and r.rdns for n in r.rdns.ptr]
            wanted = watched_domains(senders, helo, ptrs)
            return results, await check_domains(resolver, wanted, domain_zones, dnsbl)

    try:
        results, domains = asyncio.run(run())
    except ResolverUnusable as exc:
        if args.format == "json":
            unchecked: list[CheckResult | HostProblem] = []
            for name in names:
                if name.kind == HOST:
                    unchecked.append(HostProblem(name.key, "resolver-unusable", None, "the resolver cannot be used"))
                network = name.key if name.kind == NETWORK else ""
                unchecked += [CheckResult(ip, network=network) for ip in name.addresses()]
            write(to_json(unchecked, error=str(exc), **json_options()))
        error(str(exc))
        return INCOMPLETE
    finally:
        if progress:
            sys.stderr.write("\r\x1b[K")
    if args.format == "json":
        write(to_json(results, domains=domains, **json_options()))
    else:
        colour = isatty(sys.stdout) and not os.environ.get("NO_COLOR")
        write(to_table(results, colour=colour, domains=domains or ()))
    return overall(results, domains or ())


def _progress_bar(done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} addresses")
    sys.stderr.flush()


def run_zones(args) -> int:
    lists = [
        f"{zone.zone:<28} {'default' if zone.default else 'opt-in ':<7} "
        f"{'+'.join(f'IPv{f}' for f in zone.families):<10} {zone.name}"
        for zone in catalogue().values()
    ]
    lists += [
        f"{zone.zone:<28} {'default' if zone.default else 'opt-in ':<7} {'domains':<10} {zone.name}"
        for zone in domain_catalogue().values()
    ]
    write("\n".join(lists))
    return 0
