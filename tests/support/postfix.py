"""A real Postfix - Debian's package - delivering to the fake receivers on loopback, in a directory
of its own: its configuration (`postfix -c DIR`), its queue, its logs. The system's /etc/postfix,
its queue and its syslog are never touched.

    with FakeReceivers(hosts) as receivers, Postfix(receivers, {"contoso.com": ["contoso-com..."]}) as mta:
        queue_id = mta.send(["anna@contoso.com"])
        mta.wait(queue_id)  # until Postfix has logged what became of each recipient
        mta.logs            # the log files Postfix's lines are in

How Postfix reaches the fake receivers: the transport map sends each recipient domain to its
hosts as a list of next hops (`smtp:[mx1]:PORT, [mx2]:PORT`, Postfix 3.5 and later), with DNS
off (`smtp_dns_support_level = disabled`, `smtp_host_lookup = native`); the delivery agents run
chrooted in the queue directory, as on Debian, where etc/hosts gives the receivers' names their
loopback addresses. So Postfix logs the receivers' own names, as it would on the internet.

Logs, as `log` says:
- "maillog_file": Postfix 3.7's own log file, written by postlogd;
- "syslog": through syslog(3), to an rsyslogd of our own listening on the chroot's /dev/log (as
  Debian's rsyslog does on /var/spool/postfix/dev/log), which writes Debian's format (RFC 3339
  high-precision timestamps, RSYSLOG_FileFormat) and the traditional one side by side.

Postfix's master runs as root (it binds ports and drops to the postfix user): the tests run as
root, as CI does. Started and stopped by process id; nothing is left running.
"""

from __future__ import annotations

import os
import pty
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.fakemx import FakeReceivers

INSTALL = (
    "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postfix rsyslog"
    " (.ci/run does this; Debian's postfix asks which configuration: 'No configuration' is right)"
)
SENDER = "newsletter@example.net"
MAILLOG_FILE, SYSLOG = "maillog_file", "syslog"
ISO8601, TRADITIONAL = "rsyslog-iso8601", "rsyslog-traditional"


class PostfixMissing(RuntimeError):
    pass


def _program(name: str, *places: str) -> str:
    found = shutil.which(name) or next((p for p in places if os.access(p, os.X_OK)), None)
    if found is None:
        raise PostfixMissing(f"{name} is not installed: {INSTALL}")
    return found


def _run(*command: str) -> tuple[int, str]:
    """Run a Postfix command. Postfix writes its errors to stderr only when stderr is a terminal
    (else only to the log): give it one, to say why it failed."""
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, check=False)  # noqa: S603
    finally:
        os.close(follower)
    said = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal is gone once the command has exited and all is read
            break
        if not chunk:
            break
        said += chunk
    os.close(leader)
    return done.returncode, said.decode("utf-8", "replace").strip()


def _free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


class Rsyslog:
    """An rsyslogd of our own: one unix socket in, the mail facility out in two formats."""

    def __init__(self, directory: Path, socket_path: Path):
        self.directory = directory
        self.socket = socket_path
        self.logs = {ISO8601: directory / "mail.log", TRADITIONAL: directory / "mail-traditional.log"}
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Rsyslog:
        binary = _program("rsyslogd", "/usr/sbin/rsyslogd")
        work = self.directory / "rsyslog"
        work.mkdir()
        config = self.directory / "rsyslog.conf"
        config.write_text(
            f'global(workDirectory="{work}" localHostName="mail")\n'
            'module(load="imuxsock" SysSock.Use="off")\n'
            f'input(type="imuxsock" Socket="{self.socket}" CreatePath="on")\n'
            # Debian 12's rsyslog.conf names no template: rsyslog's default, RFC 3339 timestamps
            f'mail.* action(type="omfile" file="{self.logs[ISO8601]}" template="RSYSLOG_FileFormat")\n'
            f'mail.* action(type="omfile" file="{self.logs[TRADITIONAL]}" template="RSYSLOG_TraditionalFileFormat")\n'
        )
        command = [binary, "-n", "-f", str(config), "-i", str(self.directory / "rsyslogd.pid")]
        self._proc = subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                error = self._proc.stderr.read().decode() if self._proc.poll() is not None else "no socket after 10 s"
                self.__exit__(None, None, None)
                raise RuntimeError(f"rsyslogd did not start: {error}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            if self._proc.stderr:
                self._proc.stderr.close()


# Delivery agents and the queue manager chrooted in the queue directory, as Debian ships them;
# postlogd (writes the log file outside) not.
_MASTER_CF = """\
{listen} inet n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       y       300     1       qmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
flush     unix  n       -       y       1000?   0       flush
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
showq     unix  n       -       y       -       -       showq
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
discard   unix  -       -       y       -       -       discard
anvil     unix  -       -       y       -       1       anvil
scache    unix  -       -       y       -       1       scache
proxymap  unix  -       -       n       -       -       proxymap
postlog   unix-dgram n  -       n       -       1       postlogd
"""
_STATUS = re.compile(r" postfix[\w./-]*/\w+\[\d+\]: (?P<queue>[0-9A-Za-z]+): to=<[^>]*>,.* status=\w+ ")


class Postfix:
    """Postfix 3.7 in a directory of its own, delivering to RECEIVERS: ROUTES maps a recipient
    domain to the names of its receiving hosts, tried in that order."""

    def __init__(self, receivers: FakeReceivers, routes: Mapping[str, Sequence[str]], log: str = MAILLOG_FILE):
        if log not in (MAILLOG_FILE, SYSLOG):
            raise ValueError(f"log is {MAILLOG_FILE!r} or {SYSLOG!r}")
        self.receivers = receivers
        self.routes = {domain: list(hosts) for domain, hosts in routes.items()}
        self.log = log
        self.port = 0
        self.dir = Path()
        self.logs: dict[str, Path] = {}
        self._master: subprocess.Popen | None = None
        self._rsyslog: Rsyslog | None = None

    # -- starting and stopping ------------------------------------------------------------------------

    def __enter__(self) -> Postfix:
        postfix = _program("postfix", "/usr/sbin/postfix")
        if os.geteuid() != 0:
            raise RuntimeError("Postfix's master runs as root: run these tests as root (CI does)")
        try:
            owner = pwd.getpwnam("postfix")
        except KeyError:
            raise PostfixMissing(f"no postfix user: the postfix package is not installed right: {INSTALL}") from None
        self.dir = Path(tempfile.mkdtemp(prefix="senderwatch-postfix-"))
        self.dir.chmod(0o755)  # noqa: S103  # the postfix user walks into its queue directory
        try:
            self._configure(owner)
            if self.log == SYSLOG:
                self._rsyslog = Rsyslog(self.dir, self.dir / "queue" / "dev" / "log").__enter__()
                self.logs = dict(self._rsyslog.logs)
            else:
                self.logs = {MAILLOG_FILE: self.dir / "maillog"}
            self._start(postfix)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _configure(self, owner: pwd.struct_passwd) -> None:
        conf, queue, data = self.dir / "conf", self.dir / "queue", self.dir / "data"
        for path in (conf, queue, data, queue / "etc", queue / "dev"):
            path.mkdir(parents=True)
        os.chown(data, owner.pw_uid, owner.pw_gid)
        self.port = _free_port()
        port = self.receivers.port
        names = {host.name: host.addresses for host in self.receivers.hosts}
        unknown = sorted({h for hosts in self.routes.values() for h in hosts} - set(names))
        if unknown:
            raise ValueError(f"no fake receiver is called {', '.join(unknown)}")
        transport = [
            f"{domain} smtp:{', '.join(f'[{h}]:{port}' for h in hosts)}" for domain, hosts in self.routes.items()
        ]
        transport.append("example.net discard:")  # the sender's own domain: its bounce notices
        (conf / "transport").write_text("\n".join(transport) + "\n")
        (conf / "master.cf").write_text(_MASTER_CF.format(listen=f"127.0.0.1:{self.port}"))
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": queue,
            "data_directory": data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mail.example.net",
            "mydomain": "example.net",
            "myorigin": "$mydomain",
            "mydestination": "",
            "local_transport": "error:no local delivery here",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "smtp_bind_address": "127.0.0.1",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "smtp_connection_cache_on_demand": "no",
            "smtp_tls_security_level": "none",
            "smtputf8_enable": "no",
            "transport_maps": f"texthash:{conf / 'transport'}",
            "default_transport": "error:nothing leaves the test world",
            "relayhost": "",
            "biff": "no",
            # Postfix 3.7's own log file (postlogd), or syslog(3) to the chroot's dev/log
            "maillog_file": self.dir / "maillog" if self.log == MAILLOG_FILE else "",
            "maillog_file_prefixes": self.dir,
        }
        (conf / "main.cf").write_text("".join(f"{name} = {value}\n" for name, value in settings.items()))
        # The chroot's etc, as Debian fills /var/spool/postfix/etc (configure-instance.sh); its
        # hosts file gives the receivers' names their loopback addresses.
        etc = queue / "etc"
        hosts = ["127.0.0.1 localhost"] + [f"{a} {name}" for name, addresses in names.items() for a in addresses]
        (etc / "hosts").write_text("\n".join(hosts) + "\n")
        (etc / "nsswitch.conf").write_text("hosts: files\n")
        (etc / "host.conf").write_text("multi on\n")  # every address of a host, not the first one
        for name in ("services", "localtime"):
            if Path("/etc", name).exists():
                shutil.copy(Path("/etc", name), etc / name)

    def _start(self, postfix: str) -> None:
        status, said = _run(postfix, "-c", str(self.dir / "conf"), "check")  # also makes the queue's directories
        if status != 0:
            raise RuntimeError(f"postfix check failed: {said}")
        daemons = subprocess.run(  # noqa: S603
            [_program("postconf", "/usr/sbin/postconf"), "-c", str(self.dir / "conf"), "-h", "daemon_directory"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        output = (self.dir / "master.out").open("wb")
        self._master = subprocess.Popen(  # noqa: S603
            [os.path.join(daemons, "master"), "-c", str(self.dir / "conf"), "-d"],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,  # its own process group: on SIGTERM the master stops that group
        )
        output.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._master.poll() is not None:
                raise RuntimeError(f"Postfix's master exited: {(self.dir / 'master.out').read_text()}")
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=2) as client:
                    if client.noop()[0] == 250:
                        return
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)
        raise RuntimeError("Postfix did not answer on its port within 20 s")

    def __exit__(self, *exc) -> None:
        if self._master is not None and self._master.poll() is None:
            self._master.send_signal(signal.SIGTERM)  # the master stops its children
            try:
                self._master.wait(20)
            except subprocess.TimeoutExpired:
                self._master.kill()
                self._master.wait()
        if self._rsyslog is not None:
            self._rsyslog.__exit__(None, None, None)
        if self.dir != Path():
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- mail ------------------------------------------------------------------------------------------

    def send(self, recipients: Sequence[str], sender: str = SENDER, subject: str = "Your invoice") -> str:
        """One message to RECIPIENTS, submitted over SMTP; its queue ID."""
        body = f"From: <{sender}>\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n\r\nHello.\r\n"
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            client.ehlo("app01.example.net")
            client.mail(sender)
            for recipient in recipients:
                code, said = client.rcpt(recipient)
                if code != 250:
                    raise RuntimeError(f"Postfix refused {recipient}: {code} {said.decode()}")
            code, said = client.data(body.encode())
        found = re.search(rb"queued as ([0-9A-Za-z]+)", said)
        if code != 250 or not found:
            raise RuntimeError(f"Postfix did not queue the message: {code} {said.decode()}")
        return found.group(1).decode()

    def retry(self, queue_id: str) -> None:
        """Deliver a deferred message again now (postqueue -i), not when its backoff ends."""
        status, said = _run(_program("postqueue", "/usr/sbin/postqueue"), "-c", str(self.dir / "conf"), "-i", queue_id)
        if status != 0:
            raise RuntimeError(f"postqueue -i {queue_id} failed: {said}")

    def statuses(self, queue_id: str) -> int:
        """How many delivery results (to=... status=...) the logs hold for QUEUE_ID, in the log
        that has the fewest (each log is written on its own)."""
        counts = []
        for path in self.logs.values():
            text = path.read_text("utf-8", "replace") if path.exists() else ""
            counts.append(sum(1 for m in _STATUS.finditer(text) if m.group("queue") == queue_id))
        return min(counts)

    def wait(self, queue_id: str, results: int = 1, seconds: float = 30.0) -> None:
        """Until the logs hold RESULTS delivery results for QUEUE_ID (one per recipient per
        attempt): polled, with a deadline."""
        deadline = time.monotonic() + seconds
        while self.statuses(queue_id) < results:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Postfix logged {self.statuses(queue_id)} of {results} results for {queue_id}")
            time.sleep(0.02)

    def lines(self, log: str | None = None) -> list[str]:
        """The lines of one of the logs (the first, without LOG)."""
        path = self.logs[log] if log else next(iter(self.logs.values()))
        return path.read_text("utf-8", "replace").splitlines()
