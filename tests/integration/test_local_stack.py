"""`make local-stack` runs the whole pipeline: a target added with `senderwatch targets add` is
checked, `make local-run` fires the schedule, `senderwatch check-now` is checked from the check
queue, and a change of the DNS world (`make local-world`, or its file) comes back as its alerts,
in the alert log a user reads.

The stack runs as `make local-stack` runs it, in a process of its own, on loopback and free ports,
with its files in a directory of the test's; it is stopped by its process id."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SENDERWATCH = Path(sys.executable).with_name("senderwatch")
ADDRESS = "192.0.2.77"


@pytest.fixture
def local_stack(tmp_path):
    """The local stack serving from TMP_PATH; yields a function running a command against it."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    server = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "local.stack", "--state", str(tmp_path), "serve", "--bind", "127.0.0.1"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # a bound for a broken start, not a measure
        while not (tmp_path / "state.json").exists():
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "the local stack did not start"
            time.sleep(0.2)
        endpoint = json.loads((tmp_path / "env-local.json").read_text())["Parameters"]["LOCAL_AWS_ENDPOINT"]
        aws = {
            **env,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }

        def run(*argv: str, exits: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
            if argv[0] == "senderwatch":
                command = [str(SENDERWATCH), *argv[1:]]
            else:  # what make local-run and make local-world run
                command = [sys.executable, "-m", "local.stack", "--state", str(tmp_path), *argv]
            done = subprocess.run(command, cwd=REPO, env=aws, capture_output=True, text=True, timeout=600)  # noqa: S603
            assert done.returncode in exits, done.stdout + done.stderr
            return done

        def alerts() -> list[dict]:
            log = tmp_path / "alerts.jsonl"
            lines = log.read_text().split("\n")[:-1] if log.exists() else []  # a line being written is not yet one
            return [json.loads(line) for line in lines]

        run.alerts = alerts  # type: ignore[attr-defined]
        yield run
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_a_target_added_is_checked_and_a_listing_played_in_the_world_comes_back_as_its_alerts(local_stack, tmp_path):
    run = local_stack
    run("run-now")  # the story's own targets checked and alerted: what follows is the new target's
    # the functions answer to the stack's name, as a deployment's do: their alerts' commands name it, no table
    assert json.loads((tmp_path / "env-local.json").read_text())["Parameters"]["STACK_NAME"] == "senderwatch-local"
    assert run.alerts() and not [a["subject"] for a in run.alerts() if "--table " in a["email"]]
    added = run("senderwatch", "targets", "add", ADDRESS, "--label", "scenario", "--stack", "senderwatch-local")
    assert "added" in added.stdout
    first = run("run-now")  # the stream's first check of the new target is delivered before the run ends
    assert "sent no alert" in first.stdout
    # status exits 1: the story's own targets have something wrong
    status = json.loads(
        run("senderwatch", "status", "--stack", "senderwatch-local", "--format", "json", exits=(1,)).stdout
    )
    (row,) = [r for r in status["targets"] if r["ip"] == ADDRESS]
    assert row["checked"] and row["rated"] and row["listed"] == []  # checked, found on no list

    run("world", "list", ADDRESS, "dnsbl.justspam.org")
    listed = run("run-now")
    assert f"{ADDRESS} (scenario) is listed on dnsbl.justspam.org" in listed.stdout
    assert [(a["event"], a["zone"]) for a in run.alerts() if a.get("ip") == ADDRESS] == [
        ("LISTED", "dnsbl.justspam.org")
    ]

    run("world", "clear", ADDRESS)
    cleared = run("run-now")
    assert f"{ADDRESS} (scenario) is no longer listed on dnsbl.justspam.org" in cleared.stdout
    assert [a["event"] for a in run.alerts() if a.get("ip") == ADDRESS] == ["LISTED", "DELISTED"]


def test_check_now_is_checked_by_the_local_stack_as_by_the_deployed_checker(local_stack):
    """`senderwatch check-now` puts a manual run's checks on the stack's check queue; the local
    stack's checker takes them from there, and the change they find is alerted."""
    run = local_stack
    run("senderwatch", "targets", "add", ADDRESS, "--label", "scenario", "--stack", "senderwatch-local")
    run("run-now")  # its first check is over: clean
    run("world", "list", ADDRESS, "dnsbl.justspam.org")
    sent = run("senderwatch", "check-now", ADDRESS, "--stack", "senderwatch-local")
    assert f"1 target sent to the check queue of stack senderwatch-local (1 message): {ADDRESS}" in sent.stdout
    deadline = time.monotonic() + 120  # a bound for a stack that never delivers, not a measure
    while not [a for a in run.alerts() if a.get("ip") == ADDRESS]:
        assert time.monotonic() < deadline, "the checks check-now sent were not delivered to the checker"
        time.sleep(0.2)
    assert [(a["event"], a["zone"]) for a in run.alerts() if a.get("ip") == ADDRESS] == [
        ("LISTED", "dnsbl.justspam.org")
    ]


def test_the_world_file_edited_by_hand_is_read_again_and_a_file_that_does_not_read_changes_nothing(
    local_stack, tmp_path
):
    run = local_stack
    world = tmp_path / "world.json"
    scenario = json.loads(world.read_text())
    run("run-now")  # the story's first checks and their alerts are over
    world.write_text("{not json")
    assert "sent no alert" in run("run-now").stdout  # the story's world still: nothing changed
    scenario["records"] = {
        "example.com": [{"TXT": "v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 ~all"}, {"MX": [10, "mail.example.com"]}]
    }
    world.write_text(json.dumps(scenario))
    run("run-now")
    recovered = [a for a in run.alerts() if a["event"] == "SPF_RECOVERED"]
    assert [a["ip"] for a in recovered] == ["2001:db8::25"]
