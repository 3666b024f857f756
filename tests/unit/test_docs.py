"""The docs say what the code does, so they cannot drift from it: every relative link in them lands
on a file and, with an anchor, on a heading there (as GitHub names headings); every path of the
repository they name in code exists; and every command they show in a code block is one the
command line and the Makefile know - the subcommand (and the `targets` action), every option, and a
value among the option's choices where it has some, parsed by `senderwatch`'s own parser."""

from __future__ import annotations

import argparse
import contextlib
import functools
import glob
import io
import re
import shlex
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from senderwatch.commands import build_parser
from senderwatch.errors import InvalidInput

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted(
    path.relative_to(REPO).as_posix()
    for path in [REPO / "README.md", REPO / "CHANGELOG.md", REPO / "SECURITY.md", *(REPO / "docs").glob("*.md")]
)
SHELL = {"", "sh", "shell", "bash", "console"}  # blocks of commands; any other block is output (```text)
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
# A path of the repository named in code (`tests/integration/test_faults.py`, `local/`).
TOP = ("layers", "functions", "local", "tests", "bench", "scripts", "events", "docs", ".ci")
REPO_PATH = re.compile(rf"^(?:{'|'.join(map(re.escape, TOP))})/[\w.{{}},*/-]*$")
PLACEHOLDER = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # a literal value; NAME, S, ... are placeholders


@dataclass(frozen=True)
class Line:
    doc: str
    number: int
    text: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.number}: {self.text.strip()}"


# -- reading Markdown ------------------------------------------------------------------------------


def _read(doc: str) -> list[str]:
    return (REPO / doc).read_text("utf-8").splitlines()


def blocks(lines: list[str]) -> Iterator[tuple[int, str, list[str]]]:
    """Each fenced code block: (the line number of its first line, its language, its lines)."""
    fence = None
    for number, line in enumerate(lines, 1):
        found = FENCE.match(line)
        if fence is None:
            if found:
                fence, lang, start, body = found.group(1), found.group(2).lower(), number + 1, []
        elif found and found.group(1)[0] == fence[0] and len(found.group(1)) >= len(fence) and not found.group(2):
            yield start, lang, body
            fence = None
        else:
            body.append(line)


def outside_blocks(lines: list[str]) -> str:
    """The text outside fenced code blocks, line numbers kept (each line of a block left blank)."""
    inside = set()
    for start, _, body in blocks(lines):
        inside.update(range(start - 1, start + len(body) + 1))
    return "\n".join("" if number in inside else line for number, line in enumerate(lines, 1))


def prose(lines: list[str]) -> str:
    """The text outside fenced code blocks and code spans, line numbers kept."""
    return CODE_SPAN.sub(lambda m: "\n" * m.group(0).count("\n"), outside_blocks(lines))


def code_spans(lines: list[str]) -> Iterator[tuple[int, str]]:
    """Each code span outside fenced blocks: (its line number, its text joined onto one line)."""
    text = outside_blocks(lines)
    for span in CODE_SPAN.finditer(text):
        if "\n\n" not in span.group(0):
            yield text.count("\n", 0, span.start()) + 1, " ".join(span.group(2).split())


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lower-cased, punctuation dropped (letters, digits,
    '-' and '_' stay), each space a '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    parts = CODE_SPAN.split(text)  # outside, fence, code, outside, ...: tags and emphasis only outside code
    text = "".join(
        part if index % 3 == 2 else re.sub(r"<[^>]+>", "", part).replace("**", "")
        for index, part in enumerate(parts)
        if index % 3 != 1
    )
    kept = (c for c in text.lower() if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return "".join(kept).replace(" ", "-")


def anchors(lines: list[str]) -> set[str]:
    """Every heading's anchor, a repeated one numbered as GitHub numbers it (name, name-1, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for line in outside_blocks(lines).splitlines():
        heading = HEADING.match(line)
        if heading:
            name = slug(heading.group(2))
            found.add(f"{name}-{seen[name]}" if name in seen else name)
            seen[name] = seen.get(name, 0) + 1
    return found


def links(doc: str) -> Iterator[tuple[Line, str]]:
    lines = _read(doc)
    text = prose(lines)
    for pattern in (LINK, REFERENCE):
        for found in pattern.finditer(text):
            number = text.count("\n", 0, found.start(1)) + 1
            yield Line(doc, number, lines[number - 1]), found.group(1)


def broken_link(doc: str, target: str) -> str | None:
    """Why a link from DOC to TARGET does not land (None when it does); links off the site are not followed."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
        return None
    path, _, anchor = target.partition("#")
    file = (REPO / doc).parent / path if path else REPO / doc
    file = file.resolve()
    if REPO not in file.parents and file != REPO:
        return f"{target} leaves the repository"
    if not file.exists():
        return f"{target}: no such file {file.relative_to(REPO).as_posix()}"
    if anchor:
        if file.suffix != ".md":
            return f"{target}: an anchor into a file that is not Markdown"
        if anchor not in anchors(file.read_text("utf-8").splitlines()):
            return f"{target}: {file.relative_to(REPO).as_posix()} has no heading #{anchor}"
    return None


# -- commands --------------------------------------------------------------------------------------


def commands_in_prose(doc: str) -> Iterator[Line]:
    """Each command named in a code span of the text (`senderwatch status --stack NAME`, `make bench`)."""
    for number, span in code_spans(_read(doc)):
        span = span.replace("\\|", "|")  # a table cell's escaped '|'
        if re.match(r"^(\S*/)?senderwatch\s|^make\s", span):
            yield Line(doc, number, span)


def commands(doc: str, lines: list[str] | None = None) -> Iterator[Line]:
    """Each command line a doc shows in a code block: every line of a shell block (```sh or no
    language; comments aside), and the lines after a `$ ` prompt in any block. A line ending in
    a backslash continues it, and so does, in a shell block, an indented line (a usage synopsis)."""
    for start, lang, body in blocks(_read(doc) if lines is None else lines):
        current: Line | None = None
        for offset, raw in enumerate(body):
            number = start + offset
            indented = lang in SHELL and raw[:1].isspace() and raw.strip()
            if current is not None and (current.text.endswith("\\") or indented):
                current = Line(doc, current.number, current.text.rstrip("\\").rstrip() + " " + raw.strip())
                continue
            if current is not None:
                yield current
                current = None
            stripped = raw.strip()
            if stripped.startswith("$ "):
                current = Line(doc, number, stripped[2:])
            elif lang in SHELL and stripped and not stripped.startswith("#"):
                current = Line(doc, number, stripped)
        if current is not None:
            yield current


def _uncommented(text: str) -> str:
    """TEXT without its shell comment: a '#' that begins a word, outside quotes."""
    quote = None
    for index, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1].isspace()):
            return text[:index]
    return text


def simple_commands(text: str) -> Iterator[list[str]]:
    """The words of each command of a shell line (a pipeline's and a list's), assignments before it left out."""
    words: list[str] = []
    for word in [*shlex.split(_uncommented(text)), ";"]:
        if word not in ("|", "||", "&&", ";"):
            words.append(word)
            continue
        while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in ("sudo", "env")):
            words.pop(0)
        if words:
            yield words
        words = []


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return None


def _bare(word: str) -> str:
    """A word of a usage synopsis without its brackets and repeat marks: `[--zone` -> `--zone`."""
    return word.strip("[](){}").removesuffix("...").strip("[](){}")


def senderwatch_problems(args: list[str]) -> list[str]:
    """What in `senderwatch ARGS` the command does not know: a subcommand, an action, an option, a choice."""
    parser = build_parser()
    path, current, rest = ["senderwatch"], parser, list(args)
    while (choices := _subcommands(current)) is not None:
        while rest and _bare(rest[0]).startswith("-"):  # options before the subcommand (--version)
            option = _bare(rest.pop(0)).partition("=")[0]
            if option not in current._option_string_actions:
                return [f"{' '.join(path)} has no option {option}"]
        if not rest:
            break
        word = rest.pop(0)
        if "|" in word:  # a synopsis' choice of subcommands: targets add|remove|list|import
            unknown = [w for w in word.split("|") if w not in choices]
            return [f"{' '.join(path)} has no command {w!r} (it has: {', '.join(choices)})" for w in unknown]
        if word not in choices:
            return [f"{' '.join(path)} has no command {word!r} (it has: {', '.join(choices)})"]
        path.append(word)
        current = choices[word]
    where = " ".join(path)
    known = current._option_string_actions
    problems = []
    for index, word in enumerate(rest):
        for piece in word.split("|"):  # a synopsis' alternatives: [--disabled|--enabled]
            bare = _bare(piece)
            if not bare.startswith("-") or bare == "-" or re.fullmatch(r"-\d[\d.]*", bare):
                continue
            option, has_value, value = bare.partition("=")
            action = known.get(option)
            if action is None:
                options = sorted(o for o in known if o.startswith("--"))
                problems.append(f"{where} has no option {option} (it has: {', '.join(options)})")
                continue
            if action.choices is None or action.nargs == 0:
                continue
            if not has_value:
                value = rest[index + 1] if index + 1 < len(rest) else ""
            for choice in map(_bare, value.split("|")):
                if PLACEHOLDER.fullmatch(choice) and choice not in action.choices:
                    problems.append(f"{where} {option} takes {', '.join(action.choices)}, not {choice!r}")
    if problems or any(c in word for word in args for c in "[]|<>{}"):
        return problems  # a usage synopsis: its options are known; it is not an invocation
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # --help, --version print
            parser.parse_args(args)  # a line as it would be run: the parser itself must take it
    except InvalidInput as exc:
        return [f"{where}: {exc}"]
    except SystemExit:  # --help, --version
        pass
    return []


@functools.cache
def make_targets() -> set[str]:
    makefile = (REPO / "Makefile").read_text("utf-8")
    targets = set()
    for line in makefile.splitlines():
        rule = re.match(r"^([A-Za-z0-9_.-][A-Za-z0-9_. -]*):(?!=)", line)
        if rule and not rule.group(1).startswith("."):
            targets.update(rule.group(1).split())
    return targets


def command_problems(line: Line) -> list[str]:
    try:
        parts = list(simple_commands(line.text))
    except ValueError as exc:  # unbalanced quotes
        return [f"{line}\n    cannot be read as a shell command: {exc}"]
    problems = []
    for words in parts:
        if Path(words[0]).name == "senderwatch":
            problems += [f"{line}\n    {problem}" for problem in senderwatch_problems(words[1:])]
        elif words[0] == "make":
            wanted = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
            unknown = sorted(set(wanted) - make_targets())
            problems += [f"{line}\n    the Makefile has no target {t!r}" for t in unknown]
    return problems


# -- the tests -------------------------------------------------------------------------------------


def test_the_docs_are_there():
    """The README, the pages by topic, the changelog and the security notes are all read here."""
    assert {"README.md", "CHANGELOG.md", "SECURITY.md", "docs/README.md"} <= set(DOCS)
    assert len(DOCS) >= 10


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_lands(doc):
    broken = [f"{line}\n    {why}" for line, target in links(doc) if (why := broken_link(doc, target))]
    assert not broken, "links that do not land:\n" + "\n".join(broken)


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_named_in_code_exists(doc):
    lines = _read(doc)
    code = [*code_spans(lines), *((start + i, line) for start, _, body in blocks(lines) for i, line in enumerate(body))]
    missing = []
    for number, span in code:
        for word in re.split(r"[\s=]+", span):
            word = word.rstrip(".,;:)")
            if not REPO_PATH.match(word):
                continue
            paths = [word]
            if (braces := re.search(r"\{([^}]*)\}", word)) is not None:
                paths = [word[: braces.start()] + part + word[braces.end() :] for part in braces.group(1).split(",")]
            missing += [f"{doc}:{number}: {path}" for path in paths if not glob.glob(str(REPO / path))]
    assert not missing, "paths named in the docs that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize("doc", DOCS)
def test_every_command_shown_exists(doc):
    shown = list(commands(doc))
    problems = [problem for line in shown for problem in command_problems(line)]
    assert not problems, "commands the docs show that senderwatch or the Makefile do not know:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", DOCS)
def test_every_command_named_in_the_text_exists(doc):
    problems = [problem for line in commands_in_prose(doc) for problem in command_problems(line)]
    assert not problems, "commands the docs name that senderwatch or the Makefile do not know:\n" + "\n".join(problems)


def test_the_readme_shows_the_commands_a_newcomer_runs_first():
    shown = [words for line in commands("README.md") for words in simple_commands(line.text)]
    assert ["make", "demo"] in [words[:2] for words in shown]
    assert ["make", "test"] in [words[:2] for words in shown]
    run = [words[1:3] for words in shown if Path(words[0]).name == "senderwatch"]
    assert ["doctor", "--stack"] in run


# -- the checks themselves catch what they are for -------------------------------------------------


def test_github_anchors():
    lines = [
        "# senderwatch",
        "## Checking by hand: `senderwatch check`",
        "## What receivers say: the mail log",
        "## Deploy in three commands",
        "## Notes",
        "### Notes",
        "## Spamhaus — DQS (`<key>.zen.dq.spamhaus.net`)",
        "## `commands/__init__.py`",
        "```sh",
        "# not a heading",
        "```",
    ]
    assert anchors(lines) == {
        "senderwatch",
        "checking-by-hand-senderwatch-check",
        "what-receivers-say-the-mail-log",
        "deploy-in-three-commands",
        "notes",
        "notes-1",
        "spamhaus--dqs-keyzendqspamhausnet",
        "commands__init__py",
    }


@pytest.mark.parametrize(
    "text, says",
    [
        ("senderwatch chek 192.0.2.25", "senderwatch has no command 'chek'"),
        ("senderwatch check 192.0.2.25 --senders example.com", "senderwatch check has no option --senders"),
        ("senderwatch check 192.0.2.25 --format yaml", "senderwatch check --format takes table, json, not 'yaml'"),
        ("senderwatch targets ad mail.example.com --stack sw", "senderwatch targets has no command 'ad'"),
        ("senderwatch targets add|remve|list", "senderwatch targets has no command 'remve'"),
        ("senderwatch targets add mail.example.com --sender x --stack sw --label y --zones z", "no option --zones"),
        ("senderwatch targets add --stack senderwatch", "required: TARGET"),
        ("senderwatch doctor --stack a --table b", "not allowed with argument"),
        ("senderwatch test-alert --table t", "senderwatch test-alert has no option --table"),
        ("journalctl -u postfix | .venv/bin/senderwatch bounces - --since today", "bounces has no option --since"),
        ("SPAMHAUS_DQS_KEY=k senderwatch status --helth-table h", "status has no option --helth-table"),
        ("senderwatch check TARGET... [--sender ADDR] [--zone ZONE]... [--format table|yaml]", "not 'yaml'"),
        ("senderwatch status [--stack NAME|--tabel NAME]", "senderwatch status has no option --tabel"),
        ("make demo && make tests", "the Makefile has no target 'tests'"),
    ],
)
def test_a_broken_example_is_caught(text, says):
    problems = command_problems(Line("docs/example.md", 7, text))
    assert problems, f"not caught: {text}"
    assert problems[0].startswith(f"docs/example.md:7: {text}\n")
    assert says in "\n".join(problems)


@pytest.mark.parametrize(
    "text",
    [
        "senderwatch check 192.0.2.25 2001:db8::25 --sender example.com --format json  # and SPF",
        ".venv/bin/senderwatch targets add 2001:db8::25 --label 'postfix-1 IPv6' --stack senderwatch",
        "senderwatch check TARGET... [--sender ADDR|DOMAIN] [--nameserver IP[:PORT]]... [--format table|json]",
        "senderwatch doctor --stack NAME",
        "senderwatch --version",
        "make invoke FUNCTION=NotifierFunction EVENT=events/stream-listed.json",
        "python3 -m venv /opt/senderwatch && /opt/senderwatch/bin/pip install .",
        "sam build && sam deploy --guided   # stack name e.g. senderwatch; answer AlertEmail",
        "curl -s https://example.com/#top | senderwatch bounces -",
    ],
)
def test_a_right_example_passes(text):
    assert command_problems(Line("docs/example.md", 1, text)) == []


def test_command_lines_are_found_in_blocks_and_after_prompts():
    lines = [
        "```sh",
        "make demo   # the whole pipeline",
        "# a comment",
        "aws dynamodb put-item --table-name T \\",
        "  --item '{}'",
        "```",
        "```text",
        "$ senderwatch check 192.0.2.25",
        "  192.0.2.25  LISTED  output, indented",
        "senderwatch: error: output, not a command",
        "```",
        "```",
        "senderwatch check TARGET... [--sender ADDR|DOMAIN]",
        "                  [--timeout S]",
        "```",
        "```json",
        '{"senderwatch": "check"}',
        "```",
    ]
    found = [(line.number, line.text) for line in commands("docs/example.md", lines)]
    assert found == [
        (2, "make demo   # the whole pipeline"),
        (4, "aws dynamodb put-item --table-name T --item '{}'"),
        (8, "senderwatch check 192.0.2.25"),
        (13, "senderwatch check TARGET... [--sender ADDR|DOMAIN] [--timeout S]"),
    ]


def test_a_link_that_does_not_land_is_caught(tmp_path):
    assert broken_link("README.md", "docs/nowhere.md") == "docs/nowhere.md: no such file docs/nowhere.md"
    assert broken_link("README.md", "CHANGELOG.md#no-such-heading") == (
        "CHANGELOG.md#no-such-heading: CHANGELOG.md has no heading #no-such-heading"
    )
    assert broken_link("README.md", "#no-such-heading") == "#no-such-heading: README.md has no heading #no-such-heading"
    assert broken_link("README.md", "../../etc/passwd") == "../../etc/passwd leaves the repository"
    assert broken_link("README.md", "https://example.com/missing") is None
    assert broken_link("README.md", "CHANGELOG.md#changelog") is None


# -- and the other way: what the code has, the docs show -------------------------------------------


def _parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command and action of the parser, by its words: ("check", parser), ("targets add", ...)."""
    stack = [("", build_parser())]
    while stack:
        path, parser = stack.pop()
        choices = _subcommands(parser)
        if choices is None:
            yield path, parser
        else:
            stack += [(f"{path} {name}".strip(), sub) for name, sub in choices.items()]


def _shown_options() -> set[tuple[str, str]]:
    """(command words, option) for every option a doc shows a command with, in a block or the text."""
    shown = set()
    lines = [line for doc in DOCS for line in (*commands(doc), *commands_in_prose(doc))]
    paths = {path for path, _ in _parsers()}
    for line in lines:
        for words in simple_commands(line.text):
            if Path(words[0]).name != "senderwatch":
                continue
            rest = [_bare(w) for w in words[1:]]
            path = next((p for p in sorted(paths, key=len, reverse=True) if rest[: len(p.split())] == p.split()), None)
            if path is not None:
                options = {_bare(piece).partition("=")[0] for w in rest for piece in w.split("|")}
                shown |= {(path, option) for option in options if option.startswith("--")}
    return shown


def test_every_command_and_option_is_shown_somewhere():
    """A new command or option cannot go undocumented: each is shown with its command in a doc."""
    shown = _shown_options()
    missing = [
        f"senderwatch {path} {option}"
        for path, parser in _parsers()
        for option in parser._option_string_actions
        if option.startswith("--") and option != "--help" and (path, option) not in shown
    ]
    commands_shown = {path for path, _ in shown} | {
        " ".join(words[1:3])
        for doc in DOCS
        for line in (*commands(doc), *commands_in_prose(doc))
        for words in simple_commands(line.text)
    }
    missing += [f"senderwatch {path}" for path, _ in _parsers() if path not in commands_shown and path.split()[0]]
    assert not missing, "shown in no doc:\n" + "\n".join(missing)


def test_every_event_is_in_the_alerts_table():
    from senderwatch.findings import Event

    table = (REPO / "docs" / "alerts.md").read_text("utf-8").split("## The events", 1)[1].split("\n## ", 1)[0]
    assert [event.value for event in Event if f"`{event.value}`" not in table] == []


def test_every_parameter_of_the_template_is_in_the_parameters_table():
    template = (REPO / "template.yaml").read_text("utf-8")
    parameters = re.findall(r"^  (\w+):$", template.split("\nParameters:\n", 1)[1].split("\nConditions:", 1)[0], re.M)
    table = (REPO / "docs" / "deploy.md").read_text("utf-8").split("## Parameters", 1)[1].split("\n## ", 1)[0]
    assert "AlertEmail" in parameters and "MailLogGroupName" in parameters
    assert [name for name in parameters if f"| `{name}` |" not in table] == []
