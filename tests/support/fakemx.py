"""Receivers on loopback that refuse the way the real ones do: aiosmtpd servers, each on its own
127.0.25.x address, that answer one stage of the SMTP dialogue - the greeting, EHLO, MAIL FROM,
RCPT TO, DATA or the end of the data - with a receiver's own words, over several lines where the
receiver's reply has several (RFC 5321 §4.2.1: "250-First line" ... "250 Last line").

    hosts = [FakeHost("contoso-com.mail.protection.outlook.com", ("127.0.25.2",), MICROSOFT_BAN)]
    with FakeReceivers(hosts) as receivers:
        receivers.port  # every host listens on this port, on each of its addresses

A real Postfix delivers to them (tests/support/postfix.py): what it logs of their answers is what
`senderwatch bounces` reads. The replies name the sending address as a receiver on the internet
would see it (SEEN_AS, a documentation address): 127.0.0.1 is no address a blocklist rates.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from aiosmtpd.smtp import SMTP

SEEN_AS = "192.0.2.25"  # the sending server's public address, as the receivers quote it

GREETING, EHLO, MAIL, RCPT, DATA, END_OF_DATA = "greeting", "ehlo", "mail", "rcpt", "data", "end-of-data"
STAGES = (GREETING, EHLO, MAIL, RCPT, DATA, END_OF_DATA)


@dataclass(frozen=True)
class Refusal:
    """What a receiver answers, and when: its reply as the lines it sends (code and separator
    included: "550-5.7.26 ..." then "550 5.7.26 ...")."""

    stage: str
    lines: tuple[str, ...]

    @property
    def wire(self) -> str:
        return "\r\n".join(self.lines)


@dataclass(frozen=True)
class FakeHost:
    """A receiving host: its name (what Postfix looks up and logs), its addresses, its answer
    (None: it takes the mail)."""

    name: str
    addresses: tuple[str, ...]
    refusal: Refusal | None = None
    delay: float = 0.0  # seconds before the greeting, as a busy (or tarpitting) receiver takes


def _reply(stage: str, *lines: str) -> Refusal:
    return Refusal(stage, tuple(line.replace("{ip}", SEEN_AS) for line in lines))


# -- the receivers' words ----------------------------------------------------------------------------
# As the receivers send them (layers/senderwatch/senderwatch/receivers.json says where each
# wording is documented or seen); the queue and host tags at their ends are examples of the form.

MICROSOFT_BAN = _reply(  # Exchange Online, at RCPT TO, one line
    RCPT,
    "550 5.7.606 Access denied, banned sending IP [{ip}]. To request removal from this list please visit "
    "https://sender.office.com/ and follow the directions. For more information please go to  "
    "http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) "
    "[AM4PEPF00027A5F.eurprd04.prod.outlook.com 2026-11-27T08:12:01.234Z 08DD0E8A1B2C3D4E]",
)
GMAIL_DMARC = _reply(  # at the end of the data, as Gmail wraps it
    END_OF_DATA,
    "550-5.7.26 Unauthenticated email from example.net is not accepted due to",
    "550-5.7.26 domain's DMARC policy. Please contact the administrator of",
    "550-5.7.26 example.net domain if this was a legitimate mail. To learn about the",
    "550-5.7.26 DMARC initiative, go to",
    "550 5.7.26  https://support.google.com/mail/?p=DmarcRejection 5b1f17b1804b1-434a1b9c2e3si1234567f8f.12 - gsmtp",
)
GMAIL_UNAUTHENTICATED = _reply(  # Gmail's wording since 2024
    END_OF_DATA,
    "550-5.7.26 Your email has been blocked because the sender is unauthenticated.",
    "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
    "550-5.7.26",
    "550-5.7.26  Authentication results:",
    "550-5.7.26  DKIM = did not pass",
    "550-5.7.26  SPF [example.net] with ip: [{ip}] = did not pass",
    "550-5.7.26",
    "550-5.7.26  For instructions on setting up authentication, go to",
    "550 5.7.26  https://support.google.com/mail/answer/81126#authentication 46e09a7af769-7231865d5f0si4622064a34.243"
    " - gsmtp",
)
GMAIL_NO_AUTHENTICATION = _reply(  # the older wording, under the same code
    END_OF_DATA,
    "550-5.7.26 This message does not have authentication information or fails to",
    "550-5.7.26 pass authentication checks. To best protect our users from spam, the",
    "550-5.7.26 message has been blocked. Please visit",
    "550-5.7.26  https://support.google.com/mail/answer/81126#authentication for more",
    "550 5.7.26 information. d75a77b69052e-4b2ce9ef1a5si12345678cf.123 - gsmtp",
)
YAHOO_TSS09 = _reply(  # Yahoo refuses the connection itself
    GREETING,
    "421 4.7.0 [TSS09] All messages from {ip} will be permanently deferred; Retrying will NOT succeed. "
    "See https://postmaster.yahooinc.com/error-codes",
)
YAHOO_TSS04 = _reply(
    MAIL,
    "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or user complaints - "
    "4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
)
WEBDE_BLACKLISTED = _reply(  # WEB.DE's greeting, four lines
    GREETING,
    "554-web.de (mxweb112) Nemesis ESMTP Service not available",
    "554-No SMTP service",
    "554-IP address is black listed.",
    "554 For explanation visit https://web.de/email/senderguidelines?ip={ip}&c=bl",
)
OUTLOOK_COM_S3150 = _reply(  # Outlook.com, at MAIL FROM
    MAIL,
    "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your Internet service provider "
    "since part of their network is on our block list (S3150). You can also refer your provider to "
    "http://mail.live.com/mail/troubleshooting.aspx#errors. [Name=Protocol Filter Agent][AGT=PFA]"
    "[MxId=11BCB2B2FC28272C] [DB1PEPF000509E4.eurprd03.prod.outlook.com 2026-11-27T08:12:01.512Z 08DD0DF52A3B1C77]",
)
# A receiver running Postfix with a blocklist among its restrictions answers at the stage the
# restriction is checked in (smtpd_helo_restrictions with smtpd_delay_reject = no: at EHLO;
# smtpd_data_restrictions: at DATA), in Postfix's words.
SPAMCOP_AT_EHLO = _reply(
    EHLO,
    "554 5.7.1 Service unavailable; Client host [{ip}] blocked using bl.spamcop.net; "
    "Blocked - see https://www.spamcop.net/bl.shtml?{ip}",
)
SPAMHAUS_AT_DATA = _reply(
    DATA,
    "554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; "
    "https://www.spamhaus.org/query/ip/{ip}",
)


# -- the servers ---------------------------------------------------------------------------------------


class _Handler:
    """aiosmtpd's hooks: the refusal at its stage, every other stage goes on as usual."""

    def __init__(self, host: FakeHost):
        self.refusal = host.refusal

    def _at(self, stage: str) -> str | None:
        return self.refusal.wire if self.refusal is not None and self.refusal.stage == stage else None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        refused = self._at(EHLO)
        return [refused] if refused else responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        return self._at(EHLO) or f"250 {server.hostname}"

    async def handle_MAIL(self, server, session, envelope, address, options):
        refused = self._at(MAIL)
        if refused:
            return refused
        envelope.mail_from = address
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        refused = self._at(RCPT)
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope):
        return self._at(END_OF_DATA) or "250 2.0.0 OK queued"


class _Session(SMTP):
    """One connection. A refusal at the greeting replaces the 220; afterwards the server waits
    for QUIT and answers 503 to anything else (RFC 5321 §3.1)."""

    def __init__(self, host: FakeHost):
        super().__init__(_Handler(host), hostname=host.name, ident="ESMTP")
        self._refusal = host.refusal
        self._delay = host.delay
        self._greeted = False

    def _refused_at(self, stage: str) -> bool:
        return self._refusal is not None and self._refusal.stage == stage

    async def push(self, status):
        if not self._greeted:
            self._greeted = True
            await asyncio.sleep(self._delay)
            if self._refused_at(GREETING):
                status = self._refusal.wire
        await super().push(status)

    async def smtp_EHLO(self, hostname: str):
        if self._refused_at(GREETING):
            return await self.push("503 5.5.1 Bad sequence of commands")
        return await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname: str):
        if self._refused_at(GREETING):
            return await self.push("503 5.5.1 Bad sequence of commands")
        return await super().smtp_HELO(hostname)

    async def smtp_DATA(self, arg: str):
        if self._refused_at(DATA):
            return await self.push(self._refusal.wire)
        return await super().smtp_DATA(arg)


def _free_port(addresses: Sequence[str]) -> int:
    """A TCP port free on every one of ADDRESSES (each host listens on one port)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind((addresses[0], 0))
            port = first.getsockname()[1]
            others = []
            try:
                for address in addresses[1:]:
                    other = socket.socket()
                    others.append(other)
                    other.bind((address, port))
                return port
            except OSError:
                continue
            finally:
                for other in others:
                    other.close()
    raise RuntimeError("no TCP port free on all of " + ", ".join(addresses))


class FakeReceivers:
    """The fake hosts, all served by one event loop in a thread of its own."""

    def __init__(self, hosts: Sequence[FakeHost]):
        self.hosts = list(hosts)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-receivers", daemon=True)
        self._servers: list[asyncio.AbstractServer] = []

    def __enter__(self) -> FakeReceivers:
        self._thread.start()
        addresses = [address for host in self.hosts for address in host.addresses]
        for _ in range(5):
            self.port = _free_port(addresses)
            try:
                asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
                return self
            except OSError:  # taken between the probe and the bind: another port
                asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self.__exit__(None, None, None)
        raise RuntimeError("the fake receivers could not listen")

    async def _listen(self) -> None:
        for host in self.hosts:
            for address in host.addresses:
                server = await self._loop.create_server(lambda host=host: _Session(host), address, self.port)
                self._servers.append(server)

    async def _close(self) -> None:
        for server in self._servers:
            server.close()  # not wait_closed(): a client may still be connected; the loop stops anyway
        self._servers.clear()

    def __exit__(self, *exc) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()
