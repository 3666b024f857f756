"""Debian's Chromium, headless, for the tests that look at a page as a browser shows it.

Each call starts its own instance (its own profile folder), which loads one file and exits; it is
stopped by its process id if it does not. Every request it makes goes to a proxy on loopback that
only counts them and answers none: a page that fetches anything is seen, and nothing leaves the
machine. Debian's Chromium asks three services of its own at start whatever the flags
(BROWSER_OWN): those are told apart by host; every other request is the page's. The page's console
messages (a script's errors, what its Content-Security-Policy blocked) come back too.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\] (.*)")
QUIET = (  # what Chromium would fetch by itself: nothing, here
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
)

BROWSER_OWN = {"clients2.google.com", "update.googleapis.com", "accounts.google.com"}
_HOST = re.compile(r"^(?:CONNECT ([^:/ ]+)|\w+ \w+://([^:/ ]+))")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Loaded:
    dom: str  # the document as the browser has it after loading (--dump-dom)
    console: list[str]  # the console's messages
    requests: list[str] = field(default_factory=list)  # the first line of each request the page made
    browser: list[str] = field(default_factory=list)  # and of those Chromium made for itself


def _host(request: str) -> str:
    found = _HOST.match(request)
    return (found.group(1) or found.group(2)) if found else ""


class _CountingProxy:
    """A listener on loopback that Chromium sends every request to: it keeps their first lines
    and answers none."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.socket.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    first = connection.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first = b"?"
                self.seen.append(first.decode("latin-1"))

    def close(self) -> None:
        self.socket.close()


def load(
    path: Path, *, width: int = 1280, height: int = 2000, screenshot: Path | None = None, pdf: Path | None = None
) -> Loaded:
    """Open PATH (a local file) in headless Chromium at WIDTH x HEIGHT: its DOM, console and
    requests; with SCREENSHOT, a PNG of the top of the page there; with PDF, the page printed."""
    binary = chromium()
    assert binary, "Debian's chromium is needed: scripts/ensure-servers installs it"
    proxy = _CountingProxy()
    profile = tempfile.mkdtemp(prefix="senderwatch-chromium-")
    args = [
        binary,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",  # the tests run as root, where Chromium's sandbox cannot start
        f"--user-data-dir={profile}",
        f"--proxy-server={proxy.address}",
        "--proxy-bypass-list=<-loopback>",  # loopback too goes to the proxy: every request is seen
        "--enable-logging=stderr",
        "--v=0",
        f"--window-size={width},{height}",
        *QUIET,
    ]
    if screenshot:
        args.append(f"--screenshot={screenshot}")
    elif pdf:
        args += [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"]
    else:
        args.append("--dump-dom")
    process = subprocess.Popen(  # noqa: S603 - our own arguments
        [*args, path.resolve().as_uri()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=profile,
    )
    try:
        out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # its own process group: it and its helpers
            process.wait()
        proxy.close()
        shutil.rmtree(profile, ignore_errors=True)
    assert process.returncode == 0, err[-2000:]
    page = [r for r in proxy.seen if _host(r) not in BROWSER_OWN]
    return Loaded(out, CONSOLE.findall(err), page, [r for r in proxy.seen if r not in page])
