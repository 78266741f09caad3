"""Pub/Sub's subscription filter language, read strictly: the guard on the kit's rendering.

The Pub/Sub emulator stores any filter it is given, malformed or not, and applies none,
so nothing local refuses a filter that Pub/Sub would refuse when Terraform creates the
subscription. :func:`parse` reads a filter by the grammar Pub/Sub documents for it
(https://cloud.google.com/pubsub/docs/subscription-message-filter), as much of it as a
routing rule may render::

    filter     := expression
    expression := unary ( ("AND" unary)+ | ("OR" unary)+ )?   (AND and OR need parentheses
                                                               to be mixed)
    unary      := "NOT" primary | primary
    primary    := "(" expression ")"
                | "attributes" ":" key                         (the attribute is present)
                | "attributes" "." key "=" string              (it has that value)
                | "hasPrefix" "(" "attributes" "." key "," string ")"
    key        := a run of letters, digits, "_" and "-" | string
    string     := '"' characters, with \\" and \\\\ escaped '"'

Operators are upper case, as Pub/Sub requires. It is stricter than Pub/Sub where the kit
has no use for more (``!=``, escapes other than ``\\"`` and ``\\\\``, control
characters in a string): a filter it accepts, Pub/Sub's grammar accepts. What it returns
evaluates the filter on a message's attributes, as the broker would, so a test can hold
the rendering to the rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from shared.exceptions import TopologyError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<punct>[():.,=])
      | (?P<string>"(?:[^"\\\x00-\x1f]|\\["\\])*")
      | (?P<word>[A-Za-z0-9_-]+)
    )""",
    re.VERBOSE,
)


class FilterSyntaxError(TopologyError):
    """A filter that Pub/Sub's filter grammar does not accept."""


@dataclass(frozen=True, slots=True)
class Present:
    """``attributes:key``."""

    key: str

    def matches(self, attributes: Mapping[str, str]) -> bool:
        """Whether a message with these attributes passes."""
        return self.key in attributes


@dataclass(frozen=True, slots=True)
class Equals:
    """``attributes.key = "value"``."""

    key: str
    value: str

    def matches(self, attributes: Mapping[str, str]) -> bool:
        """Whether a message with these attributes passes."""
        return attributes.get(self.key) == self.value


@dataclass(frozen=True, slots=True)
class HasPrefix:
    """``hasPrefix(attributes.key, "prefix")``."""

    key: str
    prefix: str

    def matches(self, attributes: Mapping[str, str]) -> bool:
        """Whether a message with these attributes passes."""
        value = attributes.get(self.key)
        return value is not None and value.startswith(self.prefix)


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT operand``."""

    operand: Expression

    def matches(self, attributes: Mapping[str, str]) -> bool:
        """Whether a message with these attributes passes."""
        return not self.operand.matches(attributes)


@dataclass(frozen=True, slots=True)
class All:
    """``a AND b AND ...``."""

    operands: tuple[Expression, ...]

    def matches(self, attributes: Mapping[str, str]) -> bool:
        """Whether a message with these attributes passes."""
        return all(operand.matches(attributes) for operand in self.operands)


@dataclass(frozen=True, slots=True)
class Either:
    """``a OR b OR ...``."""

    operands: tuple[Expression, ...]

    def matches(self, attributes: Mapping[str, str]) -> bool:
        """Whether a message with these attributes passes."""
        return any(operand.matches(attributes) for operand in self.operands)


Expression = Present | Equals | HasPrefix | Not | All | Either
"""A parsed filter."""


def parse(text: str) -> Expression:
    """Read the filter ``text``; raise :class:`FilterSyntaxError` saying where it breaks
    Pub/Sub's grammar. ``""`` (no filter) is not an expression: test for it first."""
    parser = _Parser(text)
    expression = parser.expression()
    if parser.peek() is not None:
        parser.fail("expected AND, OR or the end")
    return expression


class _Parser:
    """A recursive-descent reader of one filter."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[int, str, str]] = []  # (offset, kind, text)
        at = 0
        while text[at:].strip():
            found = _TOKEN.match(text, at)
            if found is None or found.lastgroup is None:
                offset = len(text) - len(text[at:].lstrip())
                raise FilterSyntaxError(f"filter {text!r}: unexpected text at {offset}")
            self.tokens.append(
                (found.start(found.lastgroup), found.lastgroup, found[found.lastgroup])
            )
            at = found.end()
        self.position = 0

    def peek(self) -> str | None:
        if self.position == len(self.tokens):
            return None
        return self.tokens[self.position][2]

    def fail(self, wanted: str) -> NoReturn:
        if self.position == len(self.tokens):
            where = "at the end"
        else:
            offset, _, token = self.tokens[self.position]
            where = f"at {offset} ({token!r})"
        raise FilterSyntaxError(f"filter {self.text!r}: {wanted} {where}")

    def take(self, token: str) -> None:
        if self.peek() != token:
            self.fail(f"expected {token!r}")
        self.position += 1

    def expression(self) -> Expression:
        first = self.unary()
        operator = self.peek()
        if operator not in ("AND", "OR"):
            return first
        operands = [first]
        while self.peek() in ("AND", "OR"):
            if self.peek() != operator:
                self.fail("AND and OR mixed without parentheses")
            self.position += 1
            operands.append(self.unary())
        return All(tuple(operands)) if operator == "AND" else Either(tuple(operands))

    def unary(self) -> Expression:
        if self.peek() == "NOT":
            self.position += 1
            return Not(self.primary())
        return self.primary()

    def primary(self) -> Expression:
        token = self.peek()
        if token == "(":
            self.position += 1
            inner = self.expression()
            self.take(")")
            return inner
        if token == "hasPrefix":
            self.position += 1
            self.take("(")
            self.take("attributes")
            self.take(".")
            key = self.key()
            self.take(",")
            prefix = self.string()
            self.take(")")
            return HasPrefix(key, prefix)
        self.take("attributes")
        if self.peek() == ":":
            self.position += 1
            return Present(self.key())
        self.take(".")
        key = self.key()
        self.take("=")
        return Equals(key, self.string())

    def key(self) -> str:
        if self.position < len(self.tokens):
            _, kind, token = self.tokens[self.position]
            if kind == "word":
                self.position += 1
                return token
            if kind == "string":
                return self.string()
        self.fail("expected an attribute name")

    def string(self) -> str:
        if self.position < len(self.tokens):
            _, kind, token = self.tokens[self.position]
            if kind == "string":
                self.position += 1
                return re.sub(r"\\(.)", r"\1", token[1:-1])
        self.fail("expected a string in double quotes")
