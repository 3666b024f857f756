"""`make demo`: the origin story, checked against a local DNS world (no internet)."""

from __future__ import annotations

from ..cli import main
from .dnsserver import DNSServer
from .world import DOMAIN, IPV4, IPV6, story_world


def run() -> int:
    with DNSServer(story_world()) as server:
        host, port = server.address
        print(f"Local DNS world on {host}:{port}: {IPV4} and {IPV6} send mail for {DOMAIN}.\n")
        command = ["check", IPV4, IPV6, "--sender", DOMAIN, "--nameserver", f"{host}:{port}", "--timeout", "0.5"]
        print("$ senderwatch " + " ".join(command) + "\n", flush=True)
        status = main(command)
        print(f"\nexit status {status}: 0 nothing wrong, 1 something wrong, 3 some checks could not be completed")
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
