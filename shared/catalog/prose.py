"""Docstrings as the prose a published document shows: no reStructuredText, no hard wraps.

Contracts are documented in Python docstrings, where ``literal`` and
:class:`~module.Name` are the convention. A JSON Schema, the AsyncAPI document
and the catalog are read by people who never see the Python code, so their
descriptions use CommonMark's `code` instead and name no Python module.
"""

from __future__ import annotations

import inspect
import re

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`]+)`")
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
_LIST_ITEM = re.compile(r"^([*+-]|\d+\.)\s")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def prose(docstring: str) -> str:
    """``docstring`` as clean prose: `code` for literals and roles, one line per paragraph.

    A role keeps only the last part of the name (:class:`~a.b.Money` becomes
    `Money`); lines of a paragraph are joined, list items keep their own line,
    and paragraphs stay separated by a blank line.
    """
    text = _ROLE.sub(lambda m: f"`{m[1].rsplit('.', 1)[-1]}`", inspect.cleandoc(docstring))
    text = _LITERAL.sub(lambda m: f"`{m[1]}`", text)
    return "\n\n".join(_unwrap(p) for p in re.split(r"\n\s*\n", text) if p.strip())


def first_sentence(docstring: str) -> str:
    """The first sentence of ``docstring``'s first paragraph, as prose."""
    paragraph = prose(docstring).split("\n", 1)[0]
    return _SENTENCE_END.split(paragraph, 1)[0]


def _unwrap(paragraph: str) -> str:
    lines: list[str] = []
    for line in (raw.strip() for raw in paragraph.splitlines()):
        if lines and not _LIST_ITEM.match(line):
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
    return "\n".join(lines)
