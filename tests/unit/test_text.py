from senderwatch.text import clean_text


def test_terminal_escapes_and_controls_are_removed():
    hostile = "listed\x1b[2J\x1b]0;pwned\x07 by \x00trap\r\nsee\u202e http://x"
    assert clean_text(hostile) == "listed by trap see http://x"


def test_length_is_capped():
    assert len(clean_text("x" * 5000, limit=300)) == 300
