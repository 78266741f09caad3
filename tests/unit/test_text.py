"""The kit's rules for typed text shown to other people (shared.text)."""

from __future__ import annotations

import pytest

from shared.text import text_problem


@pytest.mark.parametrize(
    "text",
    [
        "Trattoria Roma",
        "Pizza \U0001f468\u200d\U0001f373",
        "\u2067\u0641\u0644\u0627\u0641\u0644\u2069 wrap",
        "\u202b\u202dnested\u202c\u202c",
        "\u2068\u202eoverride inside an isolate\u202c\u2069",
        "\u200f\u0641\u0644\u0627\u0641\u0644",
    ],
)
def test_one_line_text_fit_to_show_has_no_problem(text: str) -> None:
    assert text_problem(text) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Roma\x1b[2J", "must not hold control characters such as '\\x1b'"),
        ("Roma\nMilano", "must not hold control characters such as '\\n'"),
        ("Roma\u2028Milano", "must be one line"),
        ("\u200b\u2060", "must hold a visible character"),
        ("Roma\u202e", "'\\u202e'"),
        ("Roma\u2069", "'\\u2069'"),
        ("\u2066Roma\u202c", "'\\u202c'"),
        ("\u202aRoma\u2069", "'\\u2069'"),
        ("\u2067Roma\u202e\u2069", "'\\u2069'"),
    ],
)
def test_text_unfit_to_show_is_told_why(text: str, problem: str) -> None:
    found = text_problem(text)
    assert found is not None
    assert problem in found


def test_multiline_text_may_break_lines_but_not_leave_a_run_open() -> None:
    assert text_problem("Tomato,\r\n\tbasil\u2028mozzarella", multiline=True) is None
    assert "bidirectional" in (text_problem("hot\n\u202e", multiline=True) or "")


def test_blank_text_is_refused_unless_allowed() -> None:
    assert text_problem(" ") == "must hold a visible character"
    assert text_problem("", may_be_blank=True) is None
