"""A small, deterministic YAML writer for JSON-like data (no dependency), and its reader.

Strings are always double-quoted (JSON escapes are valid YAML), so no value
is ever read back as a number, a boolean or a date. Mappings keep their
insertion order. :func:`from_yaml` reads back what :func:`to_yaml` writes (the
gate reads the committed AsyncAPI document with it), and nothing else: any other
YAML is a :class:`ValueError`.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.$-]*$")
_PLAIN_KEY_AT_START = re.compile(r"^([A-Za-z_$][A-Za-z0-9_.$-]*):(?: |$)")
_RESERVED = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
"""Words YAML 1.1 readers take for booleans or null: always quoted."""


def to_yaml(value: Any) -> str:
    """``value`` as a YAML document, ending in a newline."""
    if isinstance(value, dict | list) and not value:
        return _empty(value) + "\n"
    return "\n".join(_lines(value, 0)) + "\n"


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _key(key: str) -> str:
    plain = _PLAIN_KEY.match(key) and key.lower() not in _RESERVED
    return key if plain else _scalar(key)


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _empty(value: Any) -> str:
    return "{}" if isinstance(value, dict) else "[]"


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        out: list[str] = []
        for key, item in value.items():
            if _is_block(item):
                out.append(f"{pad}{_key(str(key))}:")
                out += _lines(item, indent + 2)
            else:
                shown = _empty(item) if isinstance(item, dict | list) else _scalar(item)
                out.append(f"{pad}{_key(str(key))}: {shown}")
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            if _is_block(item):
                nested = _lines(item, indent + 2)
                out.append(f"{pad}- {nested[0].lstrip()}")
                out += nested[1:]
            else:
                shown = _empty(item) if isinstance(item, dict | list) else _scalar(item)
                out.append(f"{pad}- {shown}")
        return out
    return [pad + _scalar(value)]


def from_yaml(text: str) -> Any:
    """The value :func:`to_yaml` wrote as ``text``; :class:`ValueError` if it is not such text."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        raise ValueError("no YAML value: the text is empty")
    value, end = _read(lines, 0, 0)
    if end != len(lines):
        raise ValueError(f"line {end + 1}: unexpected indentation")
    return value


def _read(lines: list[str], i: int, indent: int) -> tuple[Any, int]:
    """The value whose first line is ``lines[i]``, at ``indent``; and the line after it."""
    if i >= len(lines) or not _at(lines[i], indent):
        raise ValueError(f"line {i + 1}: a value indented by {indent} expected")
    pad = " " * indent
    if lines[i][indent:].startswith("- "):
        items: list[Any] = []
        while i < len(lines) and lines[i].startswith(pad + "- "):
            lines[i] = pad + "  " + lines[i][indent + 2 :]  # the item, as if on its own line
            item, i = _read(lines, i, indent + 2)
            items.append(item)
        return items, i
    if _key_of(lines[i][indent:]) is None:
        return _json(lines[i][indent:], i), i + 1
    mapping: dict[str, Any] = {}
    while i < len(lines) and _at(lines[i], indent):
        found = _key_of(lines[i][indent:])
        if found is None:
            raise ValueError(f"line {i + 1}: a mapping key expected")
        key, rest = found
        if rest:
            mapping[key], i = _json(rest, i), i + 1
        else:
            mapping[key], i = _read(lines, i + 1, indent + 2)
    return mapping, i


def _at(line: str, indent: int) -> bool:
    """Whether ``line`` starts a value at exactly ``indent``."""
    return len(line) > indent and line.startswith(" " * indent) and line[indent] != " "


def _key_of(body: str) -> tuple[str, str] | None:
    """``(key, the value's text)`` of a ``key: value`` line, ``None`` when it is not one."""
    plain = _PLAIN_KEY_AT_START.match(body)
    if plain:
        return plain[1], body[plain.end() :]
    if not body.startswith('"'):
        return None
    try:
        key, end = json.JSONDecoder().raw_decode(body)
    except ValueError:
        return None
    if body[end : end + 1] != ":" or body[end + 1 : end + 2] not in ("", " "):
        return None
    return str(key), body[end + 2 :]


def _json(text: str, i: int) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise ValueError(f"line {i + 1}: not a JSON scalar: {text[:40]!r}") from e
