"""The RFC 7208 test suite (203 tests), through senderwatch's resolver and a real DNS server.

Each scenario's zone data is served on 127.0.0.1; pyspf asks for it through the project's
own DNSLookup, exactly as it does in production.
"""

import asyncio
from pathlib import Path

import pytest
import yaml

from local.dnsserver import DNSServer
from senderwatch.resolver import Resolver
from senderwatch.spfresult import check_spf

# The suite and its licence travel with the project (tests/conformance/spf/).
SUITE = Path(__file__).resolve().parents[1] / "conformance" / "spf" / "rfc7208-tests.yml"


def _load():
    with SUITE.open("rb") as handle:
        scenarios = list(yaml.safe_load_all(handle))
    return [
        (index, name, test) for index, scenario in enumerate(scenarios) for name, test in scenario["tests"].items()
    ], scenarios


CASES, SCENARIOS = _load()


@pytest.fixture(scope="module")
def server():
    with DNSServer({}) as running:
        yield running


def test_the_whole_suite_is_here():
    assert len(CASES) == 203


@pytest.mark.parametrize(("scenario", "name", "test"), CASES, ids=[name for _, name, _ in CASES])
def test_rfc7208(server, scenario, name, test):
    server.load(SCENARIOS[scenario]["zonedata"])

    async def run():
        async with Resolver([server.address], timeout=0.1, attempts=1) as resolver:
            return await check_spf(resolver, test["host"], test["mailfrom"], test["helo"])

    result = asyncio.run(run())
    allowed = test["result"] if isinstance(test["result"], list) else [test["result"]]
    assert result.result in allowed, f"{name}: {test.get('description', '')}"
