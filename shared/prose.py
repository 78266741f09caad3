"""Docstrings as the prose a published document shows: no reStructuredText, no hard wraps.

Contracts and APIs are documented in Python docstrings, where ``literal`` and
:class:`~module.Name` are the convention. JSON Schemas, the AsyncAPI and
OpenAPI documents and the catalog are read by people who never see the Python
code, so their descriptions use CommonMark's `code` instead and name no Python
module. :func:`described` applies that to every description of a JSON Schema.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`]+)`")
_TITLED = re.compile(r"(.+?)\s*<[^>]+>")
"""A role's explicit title and its target: ``Money.cents <a.b.Money.cents>``."""
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
_LIST_ITEM = re.compile(r"^([*+-]|\d+\.)\s")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!e\.g\.)(?<!i\.e\.)\s+(?=[A-Z])")


def prose(docstring: str) -> str:
    """``docstring`` as clean prose: `code` for literals and roles, one line per paragraph.

    A role keeps only the last part of the name (:class:`~a.b.Money` becomes
    `Money`), or its explicit title (``Money.cents <a.b.Money.cents>`` in a role becomes
    `Money.cents`); lines of a paragraph are joined, list items keep their own
    line, and paragraphs stay separated by a blank line.
    """
    text = _ROLE.sub(_role, inspect.cleandoc(docstring))
    text = _LITERAL.sub(lambda m: f"`{m[1]}`", text)
    return "\n\n".join(_unwrap(p) for p in re.split(r"\n\s*\n", text) if p.strip())


def help_text(docstring: str, width: int = 79) -> str:
    """``docstring`` as :func:`prose` filled to ``width`` columns, for a command's ``--help``
    (with :class:`argparse.RawDescriptionHelpFormatter`, which keeps the paragraphs)."""
    return "\n\n".join(
        "\n".join(textwrap.fill(line, width) for line in paragraph.split("\n"))
        for paragraph in prose(docstring).split("\n\n")
    )


def _role(match: re.Match[str]) -> str:
    titled = _TITLED.fullmatch(match[1])
    return f"`{titled[1]}`" if titled else f"`{match[1].rsplit('.', 1)[-1]}`"


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


Schema = dict[str, Any]
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs"})
"""JSON Schema keywords whose value maps names (not keywords) to schemas."""
_DATA = frozenset({"const", "default", "enum", "examples"})
"""JSON Schema keywords whose value is instance data, never a schema."""


def each_schema(schema: Schema, visit: Callable[[Schema], Schema]) -> Schema:
    """``schema`` with ``visit`` applied to it and to every schema inside it, at any depth;
    instance data (``default``, ``enum``, ``const``, ``examples``) is left as it is."""
    out: Schema = {}
    for key, value in visit(schema).items():
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            out[key] = {name: each_schema(sub, visit) for name, sub in value.items()}
        elif key in _DATA:
            out[key] = value
        elif isinstance(value, dict):
            out[key] = each_schema(value, visit)
        elif isinstance(value, list):
            out[key] = [each_schema(v, visit) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def described(schema: Schema) -> Schema:
    """``schema`` with every ``description`` in it as :func:`prose`."""
    return each_schema(schema, _prose_description)


def _prose_description(schema: Schema) -> Schema:
    text = schema.get("description")
    return {**schema, "description": prose(text)} if isinstance(text, str) else schema
