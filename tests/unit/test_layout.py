"""What users and developers run lives beside the product (local/, bench/), not in tests/: nothing
outside tests/ imports the tests, and the unit tests, collected alone, load no moto."""

import ast
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUTSIDE = ("bench", "local", "layers", "functions")  # the product and what is run beside it
TESTS_MODULE = re.compile(r"(?<![\w./-])tests(?:\.\w+)+")  # tests.support.x, as `-m` or `-c` code names it


def _tests_named(source: str, name: str) -> list[str]:
    """Where SOURCE imports the tests' package or names one of its modules in a string
    (`python -m tests.x`, `import_module("tests.x")`): "name:line: module" each."""
    found = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            modules = TESTS_MODULE.findall(node.value)
        else:
            continue
        found += [f"{name}:{node.lineno}: {m}" for m in modules if m == "tests" or m.startswith("tests.")]
    return found


def test_nothing_outside_the_tests_imports_them():
    files = {
        path.relative_to(REPO).as_posix(): path
        for folder in OUTSIDE
        for path in (REPO / folder).rglob("*.py")
        if ".egg-info" not in path.as_posix()
    }
    assert {"local/stack.py", "local/demo.py", "bench/bounces_bench.py", "functions/checker/app.py"} <= set(files)
    found = [hit for name, path in sorted(files.items()) for hit in _tests_named(path.read_text("utf-8"), name)]
    assert found == []


def test_no_make_target_runs_a_module_of_the_tests():
    makefile = (REPO / "Makefile").read_text("utf-8").splitlines()
    assert any("-m local.demo" in line for line in makefile)  # the recipes are the ones read here
    assert [f"Makefile:{n}: {line.strip()}" for n, line in enumerate(makefile, 1) if TESTS_MODULE.search(line)] == []


def test_each_way_of_reaching_the_tests_is_found():
    """What used to be here, read the same way: imports, `-m` and `-c` strings; not a relative
    import, not a path in prose."""
    sample = (
        "import tests.support\n"
        "from tests.support.fakes import MemoryReceivers\n"
        "from tests import support\n"
        'ARGS = ["-m", "tests.support.localstack", "invoke"]\n'
        'CODE = "from tests.support.localaws import lambda_python; print(lambda_python())"\n'
        "from .world import DOMAIN\n"
        'NOTE = "the in-memory fakes are in tests/support/fakes.py; these are the tests."\n'
    )
    assert sorted(hit.split(":", 1)[1] for hit in _tests_named(sample, "sample.py")) == [
        "1: tests.support",
        "2: tests.support.fakes",
        "3: tests",
        "4: tests.support.localstack",
        "5: tests.support.localaws",
    ]
    makefile = "demo: $(STAMP)\n\t$(BIN)/python -m tests.support.demo\n"
    assert [line for line in makefile.splitlines() if TESTS_MODULE.search(line)] == [makefile.splitlines()[1]]


_COLLECT = """
import sys, pytest
status = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests/unit"])
print(sorted(name for name in sys.modules if name.split(".")[0] == "moto"))
sys.exit(status)
"""


def test_the_unit_tests_load_no_moto():
    """The unit tests and their conftests, collected in a process of their own (a whole run has
    loaded the other layers' conftests by then): the AWS fixtures are not theirs."""
    proc = subprocess.run([sys.executable, "-c", _COLLECT], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"


def test_apprise_is_the_apprise_functions_alone():
    """Apprise is in that function's package, not the layer: no other function's cold start carries it.
    Only its handler imports the module that imports Apprise (and the benchmark of what a publish
    costs, which runs it as that function does)."""
    layer = (REPO / "layers" / "senderwatch" / "requirements.txt").read_text("utf-8")
    assert "apprise" not in layer.lower()
    assert "apprise==" in (REPO / "functions" / "apprise" / "requirements.txt").read_text("utf-8")
    importers = sorted(
        path.relative_to(REPO).as_posix()
        for folder in ("functions", "layers", "local", "bench")
        for path in (REPO / folder).rglob("*.py")
        if ".egg-info" not in path.as_posix()
        and re.search(
            r"^\s*(from|import) (senderwatch\.apprisesend|apprise)\b|^from \.apprisesend", path.read_text("utf-8"), re.M
        )
    )
    assert importers == [
        "bench/publish_bench.py",
        "functions/apprise/app.py",
        "layers/senderwatch/senderwatch/apprisesend.py",
    ]


def test_every_test_module_has_a_name_of_its_own():
    """pytest imports test modules by their basename (the folders are not packages): two files of one
    name in tests/unit and tests/integration stop the whole suite at collection."""
    names: dict[str, list[str]] = {}
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        names.setdefault(path.name, []).append(str(path.relative_to(REPO)))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}
