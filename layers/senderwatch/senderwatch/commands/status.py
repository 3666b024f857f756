"""`senderwatch status`: the latest findings of a deployment and how fresh they are, one row per
target, then the domains and the lists it cannot use; its exit status is `check`'s (the rows and
tables: overview.py, loaded when the command runs, with boto3)."""

from __future__ import annotations

from datetime import UTC, datetime

from .common import FORMATS, use_region, write


def add_parsers(commands, where) -> None:
    status = commands.add_parser(
        "status",
        parents=[where],
        help="the latest findings and when each target was checked: one row per target, then the domains",
        description="The latest findings of a deployment: one row per target with when it was last checked "
        "(stale: not checked in the last scheduled run, and why), the domains, the lists the deployment cannot "
        "use. Exit 0: nothing wrong; 1: something wrong (a listing, SPF, a domain's records); 3: nothing wrong "
        "found, but something is stale or was not checked.",
    )
    status.add_argument("--format", **FORMATS)
    status.add_argument(
        "--health-table",
        metavar="NAME",
        help="with --table: the health table, for the domains' findings and the lists the deployment cannot use "
        "(--stack finds it; or set SENDERWATCH_HEALTH_TABLE)",
    )
    status.add_argument(
        "--problems",
        action="store_true",
        help="only the targets and domains with something to fix (a listing, SPF; a stale or invalid target, "
        "or one not fully checked)",
    )
    status.set_defaults(run=run)


def run(args) -> int:
    from ..aws import HealthStore, TargetStore, aws_errors
    from ..mutes import holding, summary
    from . import overview
    from .fleet import find_tables
    from .silence import mutes_text, status_mutes

    use_region(args.region)
    with aws_errors("AWS"):  # the session itself: no region, a missing profile, a broken config file
        table, health_table = find_tables(args.stack, args.table, args.health_table)
        with aws_errors("cannot read the watched targets"):
            items = list(TargetStore.named(table).scan())
        deployment = what_is_deployed(args.stack)
        domains, mutes = None, None
        if health_table:
            watched = overview.watched_domain_names(items)
            with aws_errors("cannot read the health table"):
                health = HealthStore.named(health_table)
                domain_items = list(health.domains())
                domains = overview.domain_rows(domain_items, watched)
                deployment.lists = list(health.lists())
                mutes = holding(health.mutes(), deployment.now)
    rows = overview.status_rows(items, deployment)
    if mutes is not None:  # what is muted: a `muted` on each row, and the mutes that hold
        status_mutes(rows, items, domains, domain_items, mutes)
    runs = overview.scheduled_runs(items, deployment)
    lists = overview.unusable_lists(deployment, runs)
    resolver = overview.resolver_failing(deployment, runs)
    status = overview.exit_status(rows, domains, lists, extra=not runs.recorded or resolver is not None)
    shown, shown_domains = overview.only_problems(rows, domains) if args.problems else (rows, domains)
    if args.format == "json":
        unusable = lists if deployment.lists is not None else None
        muted = [summary(m) for m in mutes] if mutes is not None else None
        write(overview.status_json(shown, shown_domains, unusable, runs, deployment, muted))
        return status
    hint = "" if domains is not None or not overview.watched_domain_names(items) else overview.NO_DOMAINS
    targets = overview.status_table(shown) if shown or not args.problems else ""
    tables = (
        targets,
        overview.domains_table(shown_domains or []),
        overview.lists_table(lists, resolver),
        mutes_text([summary(m) for m in mutes or []]),
        overview.footer(rows, runs, deployment, args.problems, len(lists) + (resolver is not None)),
        hint,
    )
    write("\n\n".join(filter(None, tables)))
    return status


def what_is_deployed(stack: str | None):
    """What the stack has beside the tables: the schedule (its expression and state) and the
    dead-letter queue. Whatever cannot be read is said, and the rest is still shown."""
    from ..aws import DeadLetters, aws_errors, client
    from ..errors import ServiceError
    from . import overview

    deployment = overview.Deployment(datetime.now(UTC), stack=stack or "")
    if not stack:
        return deployment
    with aws_errors(f"cannot read stack {stack}"):
        found = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs") or []}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in found.get("Parameters") or []}
    deployment.schedule = overview.Schedule(parameters.get("ScheduleExpression", ""))
    name, url = outputs.get("ScheduleName", ""), outputs.get("CheckDeadLetterQueueUrl", "")
    try:
        with aws_errors(f"the schedule {name} could not be read"):
            if name:
                schedule = client("scheduler").get_schedule(Name=name)
                deployment.schedule = overview.Schedule(
                    str(schedule.get("ScheduleExpression") or deployment.schedule.expression),
                    str(schedule.get("State") or ""),
                    str(schedule.get("ScheduleExpressionTimezone") or ""),
                    name,
                )
    except ServiceError as exc:
        deployment.notes.append(f"{exc}.")
    try:
        with aws_errors("the dead-letter queue could not be read"):
            if url:
                deployment.dead_letters, deployment.dead_letters_waiting = DeadLetters(client("sqs"), url).peek()
    except ServiceError as exc:
        deployment.notes.append(f"{exc}.")
    return deployment
