import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from senderwatch.text import clean_text, counted, duration, json_text


def test_terminal_escapes_and_controls_are_removed():
    hostile = "listed\x1b[2J\x1b]0;pwned\x07 by \x00trap\r\nsee\u202e http://x"
    assert clean_text(hostile) == "listed by trap see http://x"


def test_length_is_capped():
    assert len(clean_text("x" * 5000, limit=300)) == 300


# Strangers' text as it reaches the JSON: anything, with what a terminal acts on over-represented.
STRANGERS = st.text(alphabet=st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["\x1b[2J", "\x7f", "\x9b", "\u202e", "\u2028", "\x85", "\n", "\udc80", "é", '"', "\\"]
)
ENTRY = st.dictionaries(st.sampled_from(["ip", "zone", "reason"]), STRANGERS | st.integers() | st.none(), max_size=3)


@settings(deadline=None)  # a loaded machine is no failure
@given(st.lists(ENTRY, max_size=6), st.booleans())
def test_json_for_a_program_is_the_same_document_with_an_entry_per_line(entries, ascii_only):
    document = {"results": entries, "lines": 3, "unreadable": []}
    for_person = json_text(document, ascii_only=ascii_only)
    for_program = json_text(document, ascii_only=ascii_only, person=False)
    assert json.loads(for_program) == json.loads(for_person) == document
    lines = for_program.split("\n")
    assert [json.loads(line.strip().removesuffix(",")) for line in lines[2 : 2 + len(entries)]] == entries
    for text in (for_person, for_program):
        assert not any(c in text for c in "\x1b\x7f\x9b\u202e\u2028\x85\udc80")
        assert text.isascii() or not ascii_only


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "less than a minute"),
        (59, "less than a minute"),
        (60, "1 minute"),
        (40 * 60, "40 minutes"),
        (3600 + 5 * 60, "1 hour 5 minutes"),
        (86400, "1 day"),
        (2 * 86400 + 21 * 3600 + 59 * 60, "2 days 21 hours"),  # its two largest units, the rest left off
        (40 * 86400 + 61, "40 days"),
    ],
)
def test_a_duration_is_said_as_people_say_it(seconds, said):
    assert duration(seconds) == said


def test_a_count_agrees_with_its_noun():
    said = [counted(n, noun) for n, noun in ((1, "list"), (2, "list"), (0, "list"), (1, "address"), (3, "address"))]
    assert said == ["1 list", "2 lists", "0 lists", "1 address", "3 addresses"]
    assert counted(1, "failing run") == "1 failing run" and counted(4, "failing run") == "4 failing runs"
    assert counted(2, "mouse", "mice") == "2 mice"
