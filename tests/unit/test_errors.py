"""One error family: every error senderwatch raises on purpose descends from SenderwatchError,
so a caller (the command, a handler) catches "ours" in one clause and maps it to what it means."""

import subprocess
import sys

from senderwatch.errors import ConfigError, InvalidInput, ServiceError, WireError

# Every module is imported in a process of its own: importing observability creates Powertools'
# logger under whatever service name the environment has, which the handler tests then miss.
_WALK = """
import importlib, inspect, pkgutil, senderwatch
from senderwatch.errors import SenderwatchError
defined = set()
for info in pkgutil.iter_modules(senderwatch.__path__):
    if info.name != "__main__":
        module = importlib.import_module("senderwatch." + info.name)
        defined |= {c for _, c in inspect.getmembers(module, inspect.isclass)
                    if issubclass(c, BaseException) and c.__module__.startswith("senderwatch")}
print(len(defined), *sorted(c.__qualname__ for c in defined if not issubclass(c, SenderwatchError)))
"""


def test_every_exception_the_package_defines_is_one_of_ours():
    found = subprocess.run([sys.executable, "-c", _WALK], capture_output=True, text=True, check=True).stdout.split()
    assert int(found[0]) >= 10  # the walk found them
    assert found[1:] == []  # none outside the family


def test_errors_that_were_value_errors_still_are():
    """Callers written against the standard exceptions keep working: bad input is a ValueError."""
    assert all(issubclass(cls, ValueError) for cls in (InvalidInput, ConfigError, WireError))
    assert not issubclass(ServiceError, ValueError)
