"""Text that strangers wrote (DNS names and TXT reasons, SPF records, labels typed into a table),
made safe to show on a terminal, in an email or an SMS, and in JSON."""

from __future__ import annotations

import json
import re

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]+")
_SURROGATES = re.compile(r"[\ud800-\udfff]")  # bytes that were not UTF-8 (decoded with surrogateescape)
# Characters JSON leaves raw that a terminal may act on: C1 controls, bidi overrides, line separators.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def clean_text(text: str, limit: int = 300) -> str:
    """Strip terminal escape sequences and control characters, fold spaces, cap the length."""
    text = _ESCAPES.sub("", str(text))
    text = _CONTROLS.sub(" ", text)
    text = _SURROGATES.sub("\ufffd", text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def visible(text: str, limit: int = 60) -> str:
    """A name or a key shown as written, with what a terminal would act on or hide written out
    as an escape (\\x1b, \\u202e): an odd name must not pass for another, real one."""
    text = _INVISIBLE.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", str(text)
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_text(document, *, ascii_only: bool = False, person: bool = True) -> str:
    """JSON that carries strangers' text faithfully but can be printed on a terminal as is.

    For a PERSON (a terminal), indented. For a program (a pipe, a file), the same document
    with each entry of its lists on a line of its own: json's C encoder writes it, where an
    indent makes CPython before 3.13 use its pure-Python encoder, four times slower (80 ms
    for 1,000 addresses x 20 lists); and each address is still a line for grep and diff.
    json.dumps escapes C0 controls; C1 controls, bidi overrides and undecodable bytes are
    escaped here too (as \\uXXXX, so a JSON reader gets the same string back).
    """
    if person:
        text = json.dumps(document, indent=2, ensure_ascii=ascii_only, default=str)
    else:
        text = _entry_per_line(document, json.JSONEncoder(ensure_ascii=ascii_only, default=str).encode)
    if text.isascii() and "\x7f" not in text:  # nothing to escape (all of it is \x7f and up): said at once
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _entry_per_line(document, encode) -> str:
    """An object's members one per line, and the entries of each list member one per line."""
    if not isinstance(document, dict) or not document:
        return encode(document)
    members = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            value_text = "[\n    " + ",\n    ".join(map(encode, value)) + "\n  ]"
        else:
            value_text = encode(value)
        members.append(f"  {encode(str(key))}: {value_text}")
    return "{\n" + ",\n".join(members) + "\n}"


def words(text: str) -> list[str]:
    """A list as people write one (a --zone, the Zones parameter, a CSV cell): names separated by
    commas, spaces or both."""
    return text.replace(",", " ").split()


def counted(count: int, noun: str, plural: str = "") -> str:
    """COUNT of NOUN as people say it: "1 list", "3 lists", "1 address", "2 addresses", "1 failing
    run" (PLURAL where adding -s or -es is not it)."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {plural or noun + ('es' if noun.endswith(('s', 'x', 'sh', 'ch')) else 's')}"


def duration(seconds: float) -> str:
    """How long something lasted, as people say it: its two largest units (2 days 21 hours,
    3 hours 5 minutes, 40 minutes), down to less than a minute."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    units = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    first = next(i for i, (n, _) in enumerate(units) if n)
    said = [counted(n, unit) for n, unit in units[first : first + 2] if n]
    return " ".join(said)
