"""What people may type: control characters are refused everywhere, line breaks in one-line fields.

Two rules, each with the one sentence that tells it:

- Free text (descriptions, blurbs, notes, comments, needs) keeps its line breaks and tabs, but
  no other control character: NUL cannot even be stored in PostgreSQL, and an escape code
  repaints whatever terminal shows it.
- One line (titles, names, venues, reasons, addresses, codes) takes no control character at
  all, nor a line or paragraph separator: such values go into e-mail subjects and calendar
  lines, where a line break makes the message impossible to write.

Nothing is stripped silently: a refused value gets the sentence and changes nothing.
"""
from __future__ import annotations

import unicodedata

from booking.domain import messages

#: Control characters, and lone surrogates (JSON can carry them; no database stores them).
_CONTROL = frozenset({"Cc", "Cs"})
#: What ends a line besides a control character (str.splitlines and e-mail headers agree).
_SEPARATORS = frozenset({"Zl", "Zp"})
_FREE_TEXT_BREAKS = frozenset("\n\r\t")


def has_control_characters(text: str) -> bool:
    """Whether free text holds a control character other than a line break or a tab."""
    return any(c not in _FREE_TEXT_BREAKS and unicodedata.category(c) in _CONTROL for c in text)


def breaks_line(text: str) -> bool:
    """Whether a one-line value holds any control character (tabs and line breaks included)."""
    return any(unicodedata.category(c) in _CONTROL | _SEPARATORS for c in text)


def problem(value, *, multiline: bool = False) -> str | None:
    """The sentence that refuses `value`, or None when it may be stored (non-text: None)."""
    if not isinstance(value, str):
        return None
    if multiline:
        return messages.CONTROL_CHARACTERS if has_control_characters(value) else None
    return messages.ONE_LINE if breaks_line(value) else None
