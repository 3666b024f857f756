"""The command as an operator installs it on a mail server: the release wheel (`python -m build`,
as docs/command.md says), installed into a fresh venv of its own, run from a folder away from the
checkout, with nothing of the checkout on its path and no AWS configuration. A data file the
wheel forgot (receivers.json, once) fails here, not on the mail server.

The wheel is built and installed once per test run, offline: pip installs the wheel alone, and
its dependencies are those of the project's own environment, made visible to the fresh venv (a
test reaches no index); `pip check` then holds them to what the wheel declares.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.pipeline import REPO
from local.world import DOMAIN, IPV4, IPV6, JUSTSPAM_REASON
from senderwatch import __version__
from senderwatch.zones import catalogue, domain_catalogue

PACKAGE = REPO / "layers" / "senderwatch" / "senderwatch"
MAILLOG = REPO / "tests" / "data" / "maillogs" / "postfix.log"


def _run(command: list, **options) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, **options)
    if proc.returncode:
        pytest.fail(f"{' '.join(map(str, command[:6]))} ... exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def release(tmp_path_factory) -> Path:
    """The sdist and the wheel built from it, from a copy of the checkout as a clone has it."""
    source = tmp_path_factory.mktemp("clone") / "senderwatch"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".*", "__pycache__", "*.egg-info", "build", "dist"))
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)])
    return dist


@pytest.fixture(scope="session")
def wheel(release) -> Path:
    (found,) = release.glob("senderwatch-*.whl")
    return found


@dataclass
class Installed:
    venv: Path
    home: Path

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """The installed command, as a shell on the mail server runs it: from the home folder, with
        the venv's bin on PATH and no PYTHONPATH, no AWS configuration, no credentials."""
        env = {"PATH": f"{self.venv / 'bin'}:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8"}
        return subprocess.run(
            ["senderwatch", *args], capture_output=True, text=True, input=stdin, cwd=self.home, env=env, timeout=120
        )


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory) -> Installed:
    """The wheel in a venv of its own (`python -m venv` + `pip install WHEEL`), with its dependencies.

    The dependencies come from this environment's site-packages, added to the venv's path by a
    .pth line: that adds the folder only (the editable install of the checkout there is a .pth
    of its own, which is not read), so `import senderwatch` finds the wheel's copy or nothing.
    """
    where = tmp_path_factory.mktemp("mailserver")
    venv, home = where / "venv", where / "home"
    home.mkdir()
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    _run([*pip, "install", "--quiet", "--no-index", "--no-deps", "--no-compile", str(wheel)], cwd=home)
    ours = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True
    ).stdout.strip()
    dependencies = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "dns").is_dir())
    Path(ours, "dependencies.pth").write_text(dependencies + "\n")
    checked = subprocess.run([*pip, "check"], capture_output=True, text=True, cwd=home)
    missing = [line for line in checked.stdout.splitlines() if line.startswith("senderwatch ")]
    assert missing == [], missing  # what the wheel declares is there
    return Installed(venv, home)


def test_the_wheel_carries_every_file_of_the_package(wheel, release):
    """Modules and the data files they read (catalogue.json, receivers.json, any added later), nothing
    else: compared with the package folder itself, so a new file cannot be left out unnoticed."""
    on_disk = {
        f"senderwatch/{path.relative_to(PACKAGE).as_posix()}"
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert {"senderwatch/catalogue.json", "senderwatch/receivers.json"} <= on_disk
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if ".dist-info/" not in name}
        entry_points = archive.read(f"senderwatch-{__version__}.dist-info/entry_points.txt").decode()
    assert shipped == on_disk
    assert "senderwatch = senderwatch.command:main" in entry_points
    (sdist,) = release.glob("senderwatch-*.tar.gz")  # a source release has them too
    with tarfile.open(sdist) as archive:
        sources = {name.split("/layers/senderwatch/", 1)[-1] for name in archive.getnames()}
    assert on_disk <= sources


def test_the_installed_command_is_its_own_copy(installed):
    """Not the checkout's package through some path: the venv's, at this version."""
    assert installed.run("--version").stdout.strip() == f"senderwatch {__version__}"
    python = installed.venv / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import senderwatch; print(senderwatch.__file__)"],
        capture_output=True,
        text=True,
        cwd=installed.home,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.venv) and not Path(where).is_relative_to(REPO)


def test_bounces_reads_the_mail_log(installed):
    """On the mail server, over its log: the receivers' words and what they mean (receivers.json)."""
    proc = installed.run("bounces", str(MAILLOG), "--format", "json")
    assert (proc.returncode, proc.stderr) == (1, "")
    rejections = json.loads(proc.stdout)["rejections"]
    ban = next(r for r in rejections if r["code"] == "5.7.606")
    assert (ban["receiver"], ban["sending_ip"]) == ("microsoft", IPV4)
    assert ban["delist"]["url"] == "https://sender.office.com/"
    table = installed.run("bounces", stdin=MAILLOG.read_text())
    assert (table.returncode, table.stderr) == (1, "")
    assert "Microsoft 365 (Exchange Online)" in table.stdout and "sender.office.com" in table.stdout


def test_check_asks_the_lists_and_evaluates_spf(installed, story):
    """The story's server through the story's DNS world: listed on JustSpam, SPF softfailing over IPv6
    (pyspf, as the venv has it), the list's own removal steps (catalogue.json)."""
    host, port = story.address
    common = ["--nameserver", f"{host}:{port}", "--timeout", "0.5"]
    proc = installed.run("check", IPV4, IPV6, "--sender", DOMAIN, *common, "--format", "json")
    assert (proc.returncode, proc.stderr) == (1, "")
    v4, v6 = json.loads(proc.stdout)["results"]
    justspam = next(v for v in v4["dnsbl"] if v["zone"] == "dnsbl.justspam.org")
    assert (justspam["status"], justspam["reason"]) == ("listed", JUSTSPAM_REASON)
    assert f"remove+{IPV4}@db.justspam.org" in justspam["delist"]["command"]
    assert (v4["spf"]["result"], v6["spf"]["result"]) == ("pass", "softfail")
    table = installed.run("check", IPV4, *common)
    assert table.returncode == 1
    assert any(line.split()[:2] == ["LISTED", "dnsbl.justspam.org"] for line in table.stdout.splitlines())


def test_zones_lists_the_whole_catalogue(installed):
    proc = installed.run("zones")
    assert (proc.returncode, proc.stderr) == (0, "")
    shown = [line.split()[0] for line in proc.stdout.splitlines()]
    assert shown == [*catalogue(), *domain_catalogue()]


def test_each_command_loads_only_what_it_needs(installed, story):
    """check, bounces and zones load nothing of AWS (a mail server needs no credentials and pays no
    start-up for boto3), and a check without a sender loads no SPF library."""
    code = (
        "import sys; from senderwatch.command import main; main(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'aws_lambda_powertools', 'spf'}))"
    )
    nameserver = "{}:{}".format(*story.address)
    for args, loaded in (
        (["zones"], "[]"),
        (["bounces", str(MAILLOG)], "[]"),
        (["check", IPV4, "--nameserver", nameserver], "[]"),
        (["check", IPV4, "--sender", DOMAIN, "--nameserver", nameserver], "['spf']"),
    ):
        proc = subprocess.run(
            [str(installed.venv / "bin" / "python"), "-c", code, *args],
            capture_output=True,
            text=True,
            cwd=installed.home,
            env={"PATH": "/usr/bin:/bin", "HOME": str(installed.home)},
            check=False,
        )
        assert proc.stdout.splitlines()[-1:] == [loaded], (args, proc.stderr)
