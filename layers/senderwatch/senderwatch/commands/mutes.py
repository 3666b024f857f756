"""`senderwatch mute`, `unmute` and `mutes`: silence alerts for a while, or until a problem clears
(what a mute covers, and how it ends: mutes.py; the work, with boto3: silence.py, loaded when the
command runs)."""

from __future__ import annotations

from .common import FORMATS, UsageError, use_region


def add_parsers(commands, where) -> None:
    health = {
        "metavar": "NAME",
        "help": "with --table: the health table, where mutes are kept "
        "(--stack finds it; or set SENDERWATCH_HEALTH_TABLE)",
    }
    mute = commands.add_parser(
        "mute",
        parents=[where],
        help="silence the alerts about a target, a list, a domain or an event, for a while or until it clears",
        description="Alerts a mute covers are recorded (senderwatch history shows them) and not sent; their "
        "reminders stop. An alert saying a problem is over (DELISTED, SPF_RECOVERED...) is still sent, unless its "
        "event is muted too (--event DELISTED). When a mute ends and what it silenced is still wrong, one "
        "MUTE_ENDED alert says so. The daily run ends the mutes that are over.",
    )
    mute.add_argument("target", nargs="?", metavar="TARGET", help="a watched target, as `targets list` shows it")
    mute.add_argument("--zone", metavar="ZONE", help="instead of a target: the listings on this list, and its failures")
    mute.add_argument(
        "--event", metavar="EVENT", help="instead of a target: this event (LISTED, DELISTED...), everywhere"
    )
    mute.add_argument(
        "--domain",
        metavar="DOMAIN",
        help="instead of a target: the domain's listings, SPF and DMARC records, and SPF for mail sent as it",
    )
    how_long = mute.add_mutually_exclusive_group()
    how_long.add_argument("--for", dest="length", metavar="DURATION", help="how long: 12h, 7d, 2w (at most 366 days)")
    how_long.add_argument(
        "--until", metavar="DATE", help="until then: a date (ends as it begins, 00:00 UTC) or a time (UTC unless said)"
    )
    how_long.add_argument(
        "--until-clear",
        action="store_true",
        help="acknowledge what is wrong now: until nothing it covers is wrong any more (the next problem alerts "
        "again); refused when nothing it covers is wrong",
    )
    mute.add_argument(
        "--reason",
        metavar="TEXT",
        help="why (required, at most 300 characters): shown in mutes, status, history and the report",
    )
    mute.add_argument("--health-table", **health)
    mute.set_defaults(run=_mute)
    unmute = commands.add_parser(
        "unmute",
        parents=[where],
        help="end mutes now: by id, or every mute of a target (a list, a domain, an event)",
        description="End each mute named by its id (as `senderwatch mutes` shows it), or every mute of a target, "
        "list, domain or event named. Alerts are sent again from now on; no MUTE_ENDED is sent for a mute ended "
        "by hand. A name no mute has is said (exit 2), and the others are ended all the same.",
    )
    unmute.add_argument("mutes", nargs="+", metavar="ID|TARGET", help="a mute's id, or what it silences")
    unmute.add_argument("--health-table", **health)
    unmute.set_defaults(run=_unmute)
    listing = commands.add_parser(
        "mutes",
        parents=[where],
        help="the mutes that hold: what each silences, who set it, why and until when",
    )
    listing.add_argument("--format", **FORMATS)
    listing.add_argument("--all", action="store_true", help="the ended mutes too (how each ended)")
    listing.add_argument("--health-table", **health)
    listing.set_defaults(run=_mutes)


def _scope(args) -> tuple[str, str]:
    given = [(name, value) for name, value in (("zone", args.zone), ("event", args.event), ("domain", args.domain))]
    given = [(name, value) for name, value in given if value is not None]
    if args.target is not None:
        given.insert(0, ("target", args.target))
    if len(given) != 1:
        raise UsageError("say what to mute, one of: TARGET, --zone ZONE, --event EVENT, --domain DOMAIN")
    return given[0]


def _mute(args) -> int:
    from ..aws import aws_errors
    from . import silence

    scope, value = _scope(args)
    record = silence.parse_mute(scope, value, args.reason or "", args.length, args.until, args.until_clear)
    use_region(args.region)
    with aws_errors("AWS"):
        return silence.mute(silence.where(args), record)


def _unmute(args) -> int:
    from ..aws import aws_errors
    from . import silence

    use_region(args.region)
    with aws_errors("AWS"):
        return silence.unmute(silence.where(args), args.mutes)


def _mutes(args) -> int:
    from ..aws import aws_errors
    from . import silence

    use_region(args.region)
    with aws_errors("AWS"):
        return silence.show(silence.where(args), args.format, every=args.all)
