"""What makes staff-typed text fit to show to customers (and print on kitchen tickets).

Such text holds no control characters: a dish named ``"Pizza\\x1b[2J"`` or a rejection
reason ``"Sorry\\x00"`` would reach every customer's app as it was typed. A name, id or
address part is one line (no line or paragraph separator either: ``"\\u2028"`` breaks the
line as ``"\\n"`` does); a description or a reason may break lines. Text that must say
something shows at least one character (``"\\u200b"``, a zero-width space, shows none).
"""

from __future__ import annotations

import unicodedata

_LINE_BREAKS = frozenset("\t\n\r")
"""The control characters multi-line text may hold."""
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
"""Unicode categories that show nothing by themselves: controls, formats, separators."""
_SEPARATORS = frozenset({"Zl", "Zp"})
"""Unicode categories that break the line without being control characters (U+2028, U+2029)."""


def text_problem(text: str, *, multiline: bool = False, may_be_blank: bool = False) -> str | None:
    """Why ``text`` may not be shown to customers, or None: a control character (but for
    tabs and line breaks in ``multiline`` text), a line or paragraph separator in one-line
    text, or nothing to show (unless ``may_be_blank``).
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
    if not may_be_blank and all(unicodedata.category(c) in _INVISIBLE for c in text):
        return "must hold a visible character"
    return None
