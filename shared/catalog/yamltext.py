"""A small, deterministic YAML writer for JSON-like data (no dependency).

Strings are always double-quoted (JSON escapes are valid YAML), so no value
is ever read back as a number, a boolean or a date. Mappings keep their
insertion order.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.$-]*$")
_RESERVED = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
"""Words YAML 1.1 readers take for booleans or null: always quoted."""


def to_yaml(value: Any) -> str:
    """``value`` as a YAML document, ending in a newline."""
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
