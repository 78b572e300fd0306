"""Text from outside (data files, alerts, users, model answers), made safe where it lands.

Three places take such text: a prompt (``runtime.prompting`` fences or escapes it), a
data file (``actions.workspace`` writes it as one CSV cell) and a terminal (the CLI cuts
it before showing it). They share the pieces here: a length cut that says how much went,
and a normalisation that folds look-alike angle brackets to ASCII and drops the characters
a reader cannot see (zero-width, bidi overrides, control characters).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

__all__ = [
    "INPUT_LIMIT",
    "SAFE_ID",
    "SHOWN_LIMIT",
    "cut",
    "cut_strings",
    "normalise",
    "safe_id",
    "shown",
]

SHOWN_LIMIT = 2_000
"""Characters of one outside string a terminal line shows."""
INPUT_LIMIT = 65_536
"""Characters of one string in a run's inputs (an alert's title, a note): a run stores its
inputs with every checkpoint, so a 50 MB title would be stored many times over."""

# Characters drawn like "<" or ">" (fullwidth, small form, angle brackets, arrowheads):
# a model reads them as tag delimiters as readily as the ASCII ones.
_LOOKALIKES = str.maketrans(
    {
        **dict.fromkeys("\uff1c\ufe64\u2039\u2329\u3008\u27e8\u02c2\u1438\u276e\u29fc", "<"),
        **dict.fromkeys("\uff1e\ufe65\u203a\u232a\u3009\u27e9\u02c3\u1433\u276f\u29fd", ">"),
    }
)
# an identifier from outside input that may be used as one (in keys, thread ids, file rows)
SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")
_SPACES = re.compile(r"[ \t\n]+")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def cut(text: str, limit: int) -> str:
    """``text`` bounded to ``limit`` characters, with a marker saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} [cut {len(text) - limit} chars]"


def cut_strings(value: Any, limit: int = INPUT_LIMIT) -> Any:
    """``value`` (JSON-like) with every string in it, keys included, cut to ``limit``."""
    if isinstance(value, str):
        return cut(value, limit)
    if isinstance(value, Mapping):
        return {cut_strings(k, limit): cut_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [cut_strings(v, limit) for v in value]
    return value


def _visible(ch: str, keep: str) -> bool:
    return ch in keep or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs")


def normalise(text: str, *, single_line: bool = False) -> str:
    """Line breaks as ``\\n``, look-alike brackets as ``<`` / ``>``, invisible and control
    characters removed; ``single_line`` also turns runs of whitespace into one space."""
    if text.isascii() and not _ASCII_CONTROL.search(text):
        # nothing to change but whitespace: the line breaks to fold and the look-alikes
        # are all control or non-ASCII characters (the common case in facts, checked fast)
        return _SPACES.sub(" ", text).strip() if single_line else text
    text = _NEWLINES.sub("\n", text).translate(_LOOKALIKES)
    if text.isascii():
        text = _ASCII_CONTROL.sub("", text)
    else:
        text = "".join(ch for ch in text if _visible(ch, "\n\t"))
    if single_line:
        text = _SPACES.sub(" ", text).strip()
    return text


def shown(text: object, limit: int = SHOWN_LIMIT) -> str:
    """An outside string as a terminal shows it: one line of at most ``limit`` characters
    (cut before it is normalised: showing 2 KB of a 50 MB title reads only 2 KB)."""
    raw = str(text)
    line = normalise(raw[:limit], single_line=True)
    return f"{line} [cut {len(raw) - limit} chars]" if len(raw) > limit else line


def safe_id(value: Any, default: str | None = None) -> str | None:
    """``value`` as a short identifier when it is one (``SAFE_ID``), else ``default``."""
    text = str(value).strip() if value is not None else ""
    return text if SAFE_ID.match(text) else default
