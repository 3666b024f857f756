"""Alert messages a person acts on: an email with the steps, an SMS of one line.

Everything from outside (list reasons, SPF records and explanations, labels) passes
through clean_text; the subject stays under 100 characters and the SMS under 160.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .findings import CHECK_FAILING, DELISTED, LISTED_EVENT, SPF_FAILING, SPF_RECOVERED, Alert
from .text import clean_text

SUBJECT_MAX, SMS_MAX = 99, 159


@dataclass(frozen=True)
class Message:
    subject: str
    email: str
    sms: str
    attributes: dict[str, str]
    key: str = ""  # the alert's identity: publishing the same key twice sends it once

    def document(self) -> dict:
        """The whole alert as data: what programs subscribed to the topic receive."""
        return {**self.attributes, "subject": self.subject, "email": self.email, "sms": self.sms}

    def sns_publish_args(self, topic_arn: str) -> dict:
        """Keyword arguments for SNS Publish: one message, a variant per protocol.

        People get text (email, sms); programs (sqs, lambda) get the alert as JSON.
        """
        data = json.dumps(self.document())
        return {
            "TopicArn": topic_arn,
            "Subject": self.subject,
            "MessageStructure": "json",
            "Message": json.dumps(
                {"default": self.email, "email": self.email, "sms": self.sms, "sqs": data, "lambda": data}
            ),
            "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in self.attributes.items()},
        }


def _cap(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _who(alert: Alert, label: str) -> str:
    label = clean_text(label, 40)
    return f"{alert.ip} ({label})" if label else alert.ip


def _date(iso: str) -> str:
    return iso.replace("T", " ")[:16] + " UTC" if iso else "unknown"


def render(alert: Alert, label: str = "") -> Message:
    # Everything but our own fields came from strangers (DNS, SPF records) or a table row.
    d = {k: clean_text(v, 450 if k == "record" else 300) if isinstance(v, str) else v for k, v in alert.details.items()}
    d["codes"] = [clean_text(str(c), 40) for c in d.get("codes", [])]
    who = _who(alert, label)
    again = "Reminder: " if alert.reminder else ""
    reason = d.get("reason", "")
    record = d.get("record") or ""
    if alert.event == LISTED_EVENT:
        subject = f"{again}{who} is listed on {alert.zone}"
        sms = f"senderwatch: {alert.ip} LISTED on {alert.zone}."
        if d.get("delist_url") and len(sms) + len(d["delist_url"]) + 9 <= SMS_MAX:
            sms += f" Delist: {d['delist_url']}"
        body = [
            f"{alert.ip} is listed on the DNS blocklist {alert.zone}.",
            "",
            f"Address:    {who}",
            f"List:       {alert.zone}",
            f"Since:      {_date(alert.since)} (first seen listed by senderwatch)",
            f"Codes:      {', '.join(d.get('codes', []))} — {d.get('meaning', '')}",
            f"Reason:     {reason or '(the list gave no reason)'}",
            f"Delist:     {d.get('delist_url') or '(see the list operator’s site)'}",
            "",
            "What to do:",
            "1. Find why: look for a compromised account or script sending spam, an open relay, or a",
            "   bulk mailing to old addresses (check the mail log around the listing time).",
            "2. Fix the cause first; lists re-list quickly when the spam goes on.",
            "3. Ask for removal at the delist link above (some lists expire listings by themselves).",
            "senderwatch checks again every run and will tell you when the listing is gone.",
        ]
    elif alert.event == DELISTED:
        subject = f"{who} is no longer listed on {alert.zone}"
        sms = f"senderwatch: {alert.ip} DELISTED from {alert.zone}."
        body = [
            f"{alert.ip} is no longer listed on {alert.zone} (clean since {_date(alert.since)}).",
            "",
            f"Address: {who}",
            "Nothing to do. senderwatch keeps watching.",
        ]
    elif alert.event == SPF_FAILING:
        result, sender = d.get("result", "?"), d.get("sender", "")
        mechanism = f"ip{6 if ':' in alert.ip else 4}:{alert.ip}"
        subject = f"{again}SPF {result} for {who}"
        sms = f"senderwatch: SPF {result} for {alert.ip} sending as {sender}. Add {mechanism} to the SPF record."
        body = [
            f"SPF now gives '{result}' for mail from {alert.ip} sent as {sender}.",
            "Receivers such as Office 365 and Gmail may reject or junk this mail.",
            "",
            f"Address:     {who}",
            f"Sender:      {sender}",
            f"Result:      {result}" + (f" (was {d['previous']})" if d.get("previous") else ""),
            f"Matched:     {d.get('mechanism') or '(no mechanism matched)'}",
            f"Since:       {_date(alert.since)}",
            f"Record:      {record or '(no SPF record found)'}",
        ]
        if d.get("explanation"):
            body.append(f"Explanation: {d['explanation']}")
        body += [
            "",
            "What to do:",
            f"Add {mechanism} to the SPF record of {sender.rpartition('@')[2]}, before the 'all' mechanism",
        ]
        if record:
            body.append(f"e.g. {_suggest(record, mechanism)}")
        body.append("senderwatch will tell you when SPF passes again.")
    elif alert.event == SPF_RECOVERED:
        subject = f"SPF passes again for {who}"
        sms = f"senderwatch: SPF passes again for {alert.ip}."
        body = [
            f"SPF passes again for mail from {alert.ip} sent as {d.get('sender', '')}.",
            f"Record: {record}",
            "Nothing to do.",
        ]
    elif alert.event == CHECK_FAILING:
        subject = f"Cannot check {who} on {alert.zone}"
        sms = (
            f"senderwatch: cannot check {alert.ip} on {alert.zone} ({d.get('error', '?')}) "
            f"for {d.get('error_runs')} runs."
        )
        body = [
            f"senderwatch could not check {alert.ip} on {alert.zone} for {d.get('error_runs')} runs in a row "
            f"(since {_date(alert.since)}): {d.get('error', '?')}.",
            "The last known verdict is kept; this is not a listing.",
            "",
            "What to do:",
            "- blocked: the list refuses your resolver (Spamhaus from AWS needs a DQS key in SSM).",
            "- timeout/servfail/refused: the list may be down or gone; remove it from the zone list if it stays so.",
            "- lists-everything/lists-nothing: the list is broken or dead; its answers are being ignored.",
        ]
    else:  # pragma: no cover - every event is handled above
        raise ValueError(alert.event)
    return Message(
        subject=_cap(subject, SUBJECT_MAX),
        email="\n".join(body) + "\n",
        sms=_cap(sms, SMS_MAX),
        attributes={
            "event": alert.event,
            "severity": alert.severity,
            "ip": alert.ip,
            **({"zone": alert.zone} if alert.zone else {}),
            **({"reminder": "true"} if alert.reminder else {}),
        },
        key=alert.key,
    )


def _suggest(record: str, mechanism: str) -> str:
    parts = record.split()
    for index, part in enumerate(parts):
        if part.lstrip("+-~?").lower() == "all" or part.lower().startswith("redirect="):
            return " ".join([*parts[:index], mechanism, *parts[index:]])
    return " ".join([*parts, mechanism])
