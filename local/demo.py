"""`make demo`: the origin story through the whole pipeline, on this machine.

A moto server stands in for AWS and a local DNS server for the internet. It begins where the
story began: Office 365's ban in the mail log, which the bounces function reads from the log
group (RECEIVER_BLOCKED). Then the mail host is added by name with the `senderwatch` command -
its IPv6 address is never typed - and scheduler -> queue -> checker -> table -> stream ->
notifier -> SNS run exactly as Lambda would call them: the listing and the IPv6 softfail; the
fix (DELISTED, SPF_RECOVERED, and Microsoft accepting mail again); a new IPv6 address on the
host (ADDRESS_ADDED, with its SPF); and silence.
"""

from __future__ import annotations

import logging
import os
import tempfile
import textwrap

import boto3
from moto.server import ThreadedMotoServer

from senderwatch.commands import main

from .dnsserver import DNSServer
from .pipeline import LocalPipeline
from .world import DOMAIN, DQS_KEY, IPV4, IPV6, MAIL_HOST, STORY_ACCEPTED, STORY_BOUNCE, story_world

NEW_IPV6 = "2001:db8::26"

RULE = "=" * 78


def _show_alerts(pipeline: LocalPipeline) -> None:
    print(pipeline.alerts_text(pipeline.inbox("email"), pipeline.inbox("sms")), end="")


def run() -> int:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_SESSION_TOKEN": "demo",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
    )
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # the functions' metric lines would drown the story
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    os.environ["AWS_ENDPOINT_URL"] = "http://{}:{}".format(*moto.get_host_and_port())
    try:
        with DNSServer(story_world()) as dns:
            boto3.client("ssm").put_parameter(Name="/senderwatch/dqs-key", Value=DQS_KEY, Type="SecureString")
            pipeline = LocalPipeline(dns=dns.address, env={"DQS_KEY_PARAMETER": "/senderwatch/dqs-key"}).create()
            table = ["--table", pipeline.table_name]
            status = ["status", *table, "--health-table", pipeline.health_table_name]
            print(RULE)
            print(f"senderwatch, locally: AWS is a moto server at {os.environ['AWS_ENDPOINT_URL']},")
            print(f"the internet is a DNS server at {dns.address[0]}:{dns.address[1]}.")
            print(f"{MAIL_HOST} sends mail for {DOMAIN} from {IPV4} and {IPV6};")
            print(f"{IPV4} is on dnsbl.justspam.org, and the SPF record lacks the IPv6 address.")
            print("senderwatch is given only the host's name. Spamhaus is asked through a DQS key in SSM.")
            print(RULE)
            print(f"\n{RULE}\nIt begins with a bounce. The mail server ships its log to CloudWatch Logs")
            print(f"(MailLogGroupName); the bounces function reads this line from it:\n{RULE}")
            print(textwrap.fill(STORY_BOUNCE, 100, subsequent_indent="    ", break_on_hyphens=False))
            print()
            pipeline.ship_log([STORY_BOUNCE])
            _show_alerts(pipeline)
            print(f"\n{RULE}\nThe same, by hand, from the log file on the mail server:\n{RULE}")
            with tempfile.TemporaryDirectory() as folder:
                log = os.path.join(folder, "mail.log")
                with open(log, "w", encoding="utf-8") as handle:
                    handle.write(STORY_BOUNCE + "\n")
                print("$ senderwatch bounces /var/log/mail.log")
                main(["bounces", log])
            print(f"\n{RULE}\nThe admin asks senderwatch to watch the mail server.\n{RULE}")
            command = ["targets", "add", MAIL_HOST, "--sender", DOMAIN, "--helo", MAIL_HOST, "--label", "postfix-1"]
            print(f"\n$ senderwatch {' '.join(command)} --table ...")
            main([*command, *table])

            print(f"\n{RULE}\nRun 1: the new target's first check (from the table's stream)\n{RULE}")
            pipeline.settle()
            print("$ senderwatch status --table ... --health-table ...")
            main(status)
            print()
            _show_alerts(pipeline)

            print(f"\n{RULE}\nThe admin delists {IPV4} (Microsoft's portal, JustSpam's mail) and adds")
            print(f"ip6:{IPV6} to the SPF record.")
            print(f"Run 2: the daily schedule\n{RULE}")
            fixed = story_world(listed=False, spf_has_ipv6=True)
            dns.load(fixed)
            pipeline.run()
            pipeline.ship_log([STORY_ACCEPTED])  # and Office 365 takes the server's mail again
            main(status)
            print()
            _show_alerts(pipeline)

            print(f"\n{RULE}\nA second network card: {MAIL_HOST} gets the AAAA record {NEW_IPV6}.")
            print(f"Run 3: the daily schedule\n{RULE}")
            fixed[MAIL_HOST] = [*fixed[MAIL_HOST], {"AAAA": NEW_IPV6}]
            dns.load(fixed)
            pipeline.run()
            _show_alerts(pipeline)

            print(f"\n{RULE}\nRun 4: the next day, nothing has changed\n{RULE}")
            pipeline.run()
            _show_alerts(pipeline)
    finally:
        moto.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
