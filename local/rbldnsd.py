"""rbldnsd, the server real DNSBLs run, started on 127.0.0.1 for interop tests and benchmarks.

    with Rbldnsd({"bl.test": {"ip4set": ["192.0.2.25 :127.0.0.2:spam trap hit"]}}) as server:
        server.address  # ("127.0.0.1", port)

Data lines use rbldnsd's own dataset syntax. rbldnsd serves UDP only and will not run
as root without -u, so as root it runs as `nobody` and its files are world-readable.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from senderwatch import wire


class RbldnsdMissing(RuntimeError):
    pass


def _free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Rbldnsd:
    def __init__(self, zones: dict[str, dict[str, list[str]]], *, host: str = "127.0.0.1", port: int = 0):
        self.zones = zones
        self.host, self.port = host, port  # port 0: a free one
        self.address = (host, port)
        self._dir = ""
        self._proc: subprocess.Popen | None = None
        self._generation = 0

    def __enter__(self) -> Rbldnsd:
        binary = shutil.which("rbldnsd") or ("/usr/sbin/rbldnsd" if os.path.exists("/usr/sbin/rbldnsd") else None)
        if binary is None:
            raise RbldnsdMissing("rbldnsd is not installed: apt-get install rbldnsd (.ci/run does this)")
        self._dir = tempfile.mkdtemp(prefix="rbldnsd-")
        # rbldnsd drops to nobody and must read its data
        os.chmod(self._dir, 0o755)  # noqa: S103  # nosec B103
        specs = self._write(self.zones)
        for _ in range(5):
            port = self.port or _free_udp_port(self.host)
            command = [binary, "-n", "-q", "-b", f"{self.host}/{port}", "-w", self._dir, "-t", "60", *specs]
            if os.geteuid() == 0:
                command[1:1] = ["-u", "nobody"]
            self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
            self.address = (self.host, port)
            if self._wait_ready(next(iter(self.zones))):
                return self
            self._stop()
        raise RuntimeError("rbldnsd did not start: " + (self._proc.stderr.read().decode() if self._proc else ""))

    def _write(self, zones: dict[str, dict[str, list[str]]]) -> list[str]:
        specs = []
        for index, (zone, datasets) in enumerate(zones.items()):
            for kind, lines in datasets.items():
                path = os.path.join(self._dir, f"{index}-{kind}.zone")
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write("\n".join(lines) + "\n")
                os.chmod(path, 0o644)
                later = time.time() + 2 * (self._generation + 1)
                os.utime(path, (later, later))  # rbldnsd compares whole seconds: make each version newer
                specs.append(f"{zone}:{kind}:{os.path.basename(path)}")
        self._generation += 1
        return specs

    def reload(self, zones: dict[str, dict[str, list[str]]]) -> None:
        """Serve new data for the same zones and datasets (rbldnsd rereads its files on SIGHUP)."""
        if [(z, list(d)) for z, d in zones.items()] != [(z, list(d)) for z, d in self.zones.items()]:
            raise ValueError("reload() takes the same zones and datasets; start another Rbldnsd for others")
        self.zones = zones
        self._write(zones)
        self._proc.send_signal(signal.SIGHUP)

    def _wait_ready(self, zone: str, seconds: float = 10.0) -> bool:
        packet = wire.query_packet(1, wire.question(f"ready.{zone}", wire.A))
        deadline = time.monotonic() + seconds
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.05)
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    return False
                try:
                    sock.sendto(packet, self.address)
                    sock.recvfrom(4096)
                    return True
                except OSError:
                    continue
        return False

    def _stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._proc and self._proc.stderr:
            self._proc.stderr.close()

    def __exit__(self, *exc) -> None:
        self._stop()
        shutil.rmtree(self._dir, ignore_errors=True)
