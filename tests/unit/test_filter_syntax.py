"""Subscription filters, held to Pub/Sub's filter grammar: the emulator accepts any filter,
so this is the only guard between the kit's rendering and a ``terraform apply`` that fails.

Every subscription the four subsystems declare is checked as the Terraform inputs carry
it: its filter must parse, and select exactly what its routing rule selects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import product
from typing import Any

import pytest

from shared.deploy.tfvars import function_name, render
from shared.hub.filter_syntax import (
    All,
    Either,
    Equals,
    FilterSyntaxError,
    HasPrefix,
    Not,
    Present,
    parse,
)
from shared.hub.routing import AnyOf, Rule, Selection, on_types
from shared.system import load_subsystems

# -- the grammar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ('attributes.type = "a"', Equals("type", "a")),
        ("attributes:domain", Present("domain")),
        ('attributes."odd key" = "v"', Equals("odd key", "v")),
        ('hasPrefix(attributes.type, "order.")', HasPrefix("type", "order.")),
        ("NOT attributes:domain", Not(Present("domain"))),
        (
            'attributes.a = "1" AND attributes.b = "2" AND attributes:c',
            All((Equals("a", "1"), Equals("b", "2"), Present("c"))),
        ),
        (
            '(attributes.a = "1" OR attributes.a = "2") AND NOT (attributes.b = "x")',
            All((Either((Equals("a", "1"), Equals("a", "2"))), Not(Equals("b", "x")))),
        ),
        ('attributes.q = "say \\"hi\\" \\\\ bye"', Equals("q", 'say "hi" \\ bye')),
    ],
)
def test_what_pubsub_documents_is_read(text: str, parsed: Any) -> None:
    assert parse(text) == parsed


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('attributes.a = "1" AND attributes.b = "2" OR attributes.c = "3"', "AND and OR mixed"),
        ('attributes.a = "1" OR attributes.b = "2" AND attributes.c = "3"', "AND and OR mixed"),
        ('attributes.a = "1" and attributes.b = "2"', "expected AND, OR or the end"),
        ("attributes.a = 1", "expected a string in double quotes"),
        ("attributes.a = 'x'", "unexpected text"),
        ('attributes.a == "x"', "expected a string"),
        ('attributes.a != "x"', "unexpected text"),
        ('type = "x"', "expected 'attributes'"),
        ('(attributes.a = "x"', "expected ')' at the end"),
        ('attributes.a = "x")', "expected AND, OR or the end"),
        ('hasPrefix(attributes.a "x")', "expected ','"),
        ('hasprefix(attributes.a, "x")', "expected 'attributes'"),
        ('NOT NOT attributes.a = "x"', "expected 'attributes'"),
        ('attributes.a = "x" AND', "at the end"),
        ('attributes.a = "tab\tin it"', "unexpected text"),
        ("", "at the end"),
    ],
)
def test_what_pubsub_refuses_is_refused_saying_where(text: str, problem: str) -> None:
    with pytest.raises(FilterSyntaxError, match=re.escape(problem)):
        parse(text)


def test_a_rule_whose_rendering_breaks_the_grammar_fails_where_it_is_declared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Rule, "to_filter", lambda self: 'attributes.type = "a" AND OR')
    with pytest.raises(FilterSyntaxError):
        on_types("a")


# -- every declared subscription -------------------------------------------------------------


def declared() -> Iterator[tuple[str, Selection, str]]:
    """(subscription, rule, filter as the Terraform inputs carry it) of every subscription."""
    apps = load_subsystems()
    assert sorted(app.name for app in apps) == ["customer", "delivery", "order", "restaurant"]
    tfvars = render([app.topology for app in apps])["subsystems"]
    for app in apps:
        for service, consumer in app.topology.consumers():
            entry = tfvars[app.name]["functions"][function_name(service, consumer)]
            name = f"{app.name}/{consumer.subscription(service)}"
            yield name, consumer.channel.rule, entry["subscription"]["filter"]


def samples(selection: Selection) -> Iterator[dict[str, str]]:
    """Attributes to tell the rule's filter from any other: each value it names, a near
    miss of each, another value and none, in every combination."""
    types: set[str | None] = {"no-such-type", None}
    tags: dict[str, set[str | None]] = {}
    for rule in selection.alternatives:
        types.update(rule.types)
        for prefix in rule.type_prefixes:
            types.update({prefix + "x", prefix[:-1]})
        for key in rule.tags:
            tags.setdefault(key, {"no-such-value", None}).update(rule.allows(key) or ())
    keys = sorted(tags)
    choices = [sorted(types, key=str), *(sorted(tags[k], key=str) for k in keys)]
    for values in product(*choices):
        named = dict(zip(["type", *keys], values, strict=True))
        yield {k: v for k, v in named.items() if v is not None}


def problems() -> Iterator[str]:
    """What is wrong with any declared subscription's filter."""
    for name, rule, text in declared():
        if not text:
            if not all(rule.matches(attributes) for attributes in samples(rule)):
                yield f"{name}: no filter, yet its rule selects"
            continue
        try:
            parsed = parse(text)
        except FilterSyntaxError as error:
            yield f"{name}: {error}"
            continue
        for attributes in samples(rule):
            if parsed.matches(attributes) != rule.matches(attributes):
                yield f"{name}: {text!r} and its rule disagree on {attributes}"
                break


def test_every_declared_subscription_has_a_filter_pubsub_accepts_selecting_what_its_rule_does() -> (
    None
):
    assert len(list(declared())) > 20  # the four subsystems' consumers, not none
    assert list(problems()) == []


def test_the_check_catches_a_rendering_that_mixes_and_with_or(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load_subsystems()  # declared as they are: the rendering goes wrong afterwards
    monkeypatch.setattr(
        AnyOf, "to_filter", lambda self: " OR ".join(r.to_filter() for r in self.alternatives)
    )
    assert any("AND and OR mixed" in problem for problem in problems())


def test_the_check_catches_a_rendering_that_selects_other_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # values of one tag joined with AND: well-formed, but no event has two statuses
    def wrong(self: Rule) -> str:
        return " AND ".join(
            f'attributes.{k} = "{v}"'
            for k, wanted in sorted({"type": self.types or {"x"}, **self.tags}.items())
            for v in sorted([wanted] if isinstance(wanted, str) else wanted)
        )

    load_subsystems()
    monkeypatch.setattr(Rule, "to_filter", wrong)
    assert any("disagree" in problem for problem in problems())
