"""Text that strangers wrote (DNS TXT reasons, SPF explanations), made safe to show."""

from __future__ import annotations

import re

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]+")


def clean_text(text: str, limit: int = 300) -> str:
    """Strip terminal escape sequences and control characters, fold spaces, cap the length."""
    text = _ESCAPES.sub("", text)
    text = _CONTROLS.sub(" ", text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text
