"""`senderwatch check-now`: a deployment's targets checked now by the deployment itself: put on its
check queue as the scheduler puts them, for its checker to check from where it always checks
(its resolver, its lists, its DQS key), not from this machine; the findings, and any alert, follow
as after a scheduled run. The run is not a scheduled one: no list's count of failing runs moves."""

from __future__ import annotations

from ..addresses import sort_key
from ..text import visible
from .common import UsageError, note, use_region, write


def add_parsers(commands, stack) -> None:
    parser = commands.add_parser(
        "check-now",
        parents=[stack],
        help="check deployed targets now, through the deployment's own pipeline",
        description="Send watched targets (default: every enabled one) to the stack's check queue: its checker "
        "checks them within a minute or two, and 'senderwatch status' shows what it found.",
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="watched targets (default: every enabled one)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..aws import TargetStore, aws_errors
    from ..errors import ServiceError
    from ..targets import parse_target
    from .fleet import find_deployment, refusal, send_checks

    if not args.stack:
        raise UsageError("say which deployment: --stack NAME (check-now sends the targets to its check queue)")
    keys = list(dict.fromkeys(parse_target(target).key for target in args.targets))  # bad input: before AWS
    use_region(args.region)
    with aws_errors("AWS"):  # the session itself: no region, a missing profile, a broken config file
        deployment = find_deployment(args.stack, None)
        queue = deployment.queue()
        if queue is None:
            raise ServiceError(f"stack {visible(args.stack)} has no CheckQueueUrl output: is it a senderwatch stack?")
        store = TargetStore.named(deployment.table)
        with aws_errors("cannot read the watched targets"):
            found = store.get_many(keys) if keys else {str(item.get("ip")): item for item in store.scan()}
        try:
            with aws_errors("cannot read the check queue"):
                waiting: int | None = queue.waiting()
        except ServiceError:  # how busy the queue is only colours the estimate; AWS may not say
            waiting = None
        plan = send_checks(queue, found.values())
    disabled = [key for key, item in found.items() if item.get("enabled", True) is False]
    write(_said(args.stack, plan, waiting, disabled, bool(keys)))
    cannot = [f"{visible(ip)} is not a target senderwatch can check: {problem}" for ip, problem in plan.invalid]
    if not keys:  # every target: what cannot be checked is said, and the rest was sent
        for said in cannot:
            note(said)
        return 0
    cannot += [f"{visible(key)} is disabled: 'targets add {visible(key)} --enabled' first" for key in disabled]
    cannot += [f"{visible(key)} is not watched" for key in keys if key not in found]
    if cannot:  # a target named that cannot be checked: said, exit 2 (the others were sent)
        raise refusal(cannot)
    return 0


def _said(stack: str, plan, waiting: int | None, disabled: list[str], named: bool) -> str:
    """What was sent, and when its findings show in `status` (what that depends on)."""
    if not plan.targets:
        return "Nothing sent to the check queue: " + (
            "none of the targets named can be checked" if named else "no enabled targets (senderwatch targets list)"
        )
    names = sorted((str(target["ip"]) for message in plan.messages for target in message["targets"]), key=sort_key)
    shown = ", ".join(map(visible, names[:10])) + (f" and {len(names) - 10:,} more" if len(names) > 10 else "")
    count = f"{plan.targets:,} target{'s' if plan.targets != 1 else ''}"
    messages = f"{len(plan.messages):,} message{'s' if len(plan.messages) != 1 else ''}"
    lines = [f"{count} sent to the check queue of stack {visible(stack)} ({messages}): {shown}"]
    if not named and disabled:
        lines.append(f"({len(disabled):,} disabled not sent)")
    lines.append(
        f"Their findings are in 'senderwatch status --stack {visible(stack)}' within a minute or two: the checker"
        " takes a message within seconds, and a check takes as long as its slowest list answers (up to the"
        " deployment's DNS timeout for a list that does not)."
    )
    if waiting:
        lines.append(
            f"The queue already held {waiting:,} message{'s' if waiting != 1 else ''} (a scheduled run under way?):"
            " the checker works through them too, so this may take longer."
        )
    return "\n".join(lines)
