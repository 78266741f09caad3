"""What makes typed text fit to show to other people: a dish or a restaurant's name shown
to customers, a reason printed on a kitchen ticket, a driver's name on an order.

Such text holds no control characters: a dish named ``"Pizza\\x1b[2J"`` or a rejection
reason ``"Sorry\\x00"`` would reach every customer's app as it was typed. A name, id or
address part is one line (no line or paragraph separator either: ``"\\u2028"`` breaks the
line as ``"\\n"`` does); a description or a reason may break lines. Text that must say
something shows at least one character (``"\\u200b"``, a zero-width space, shows none).
A bidirectional embedding, override or isolate must be closed within the text: one left
open (``"Pizza\\u202e"``) reverses whatever an app shows after it, the dish's price too.
"""

from __future__ import annotations

import unicodedata

_LINE_BREAKS = frozenset("\t\n\r")
"""The control characters multi-line text may hold."""
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
"""Unicode categories that show nothing by themselves: controls, formats, separators."""
_SEPARATORS = frozenset({"Zl", "Zp"})
"""Unicode categories that break the line without being control characters (U+2028, U+2029)."""
_BIDI_OPENERS = {
    "\u202a": "\u202c",  # left-to-right embedding
    "\u202b": "\u202c",  # right-to-left embedding
    "\u202d": "\u202c",  # left-to-right override
    "\u202e": "\u202c",  # right-to-left override
    "\u2066": "\u2069",  # left-to-right isolate
    "\u2067": "\u2069",  # right-to-left isolate
    "\u2068": "\u2069",  # first-strong isolate
}
"""Each bidirectional formatting character that opens a run, and the one that closes it."""
_BIDI_CLOSERS = frozenset(_BIDI_OPENERS.values())


def text_problem(text: str, *, multiline: bool = False, may_be_blank: bool = False) -> str | None:
    """Why ``text`` may not be shown to others, or None: a control character (but for
    tabs and line breaks in ``multiline`` text), a line or paragraph separator in one-line
    text, a bidirectional embedding, override or isolate left unmatched, or nothing to show
    (unless ``may_be_blank``).
    """
    allowed = _LINE_BREAKS if multiline else frozenset()
    control = next((c for c in text if unicodedata.category(c) == "Cc" and c not in allowed), None)
    if control is not None:
        breaks = " (tabs and line breaks may)" if multiline else ""
        return f"must not hold control characters such as {control!r}{breaks}"
    if not multiline:
        separator = next((c for c in text if unicodedata.category(c) in _SEPARATORS), None)
        if separator is not None:
            return f"must be one line: no line separator such as {separator!r}"
    bidi = _unbalanced_bidi(text)
    if bidi is not None:
        return f"must close every bidirectional embedding, override or isolate it opens: {bidi!r}"
    if not may_be_blank and all(unicodedata.category(c) in _INVISIBLE for c in text):
        return "must hold a visible character"
    return None


def _unbalanced_bidi(text: str) -> str | None:
    """The first bidirectional formatting character left unmatched in ``text``: a closer
    with nothing open of its kind, or an opener never closed; None when all are balanced."""
    open_runs: list[str] = []
    for char in text:
        if char in _BIDI_OPENERS:
            open_runs.append(char)
        elif char in _BIDI_CLOSERS:
            if not open_runs or _BIDI_OPENERS[open_runs[-1]] != char:
                return char
            open_runs.pop()
    return open_runs[0] if open_runs else None
