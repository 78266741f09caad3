from __future__ import annotations

import re

import pytest

from shared.exceptions import TopologyError
from shared.hub.routing import MATCH_ALL, AnyOf, Rule, on_prefixes, on_types


def test_types_render_to_a_pubsub_filter_and_match_the_same_messages():
    rule = on_types("order-placed", "order-cancelled")
    assert rule.to_filter() == (
        '(attributes.type = "order-cancelled" OR attributes.type = "order-placed")'
    )
    assert rule.matches({"type": "order-placed"})
    assert not rule.matches({"type": "order-paid"})
    assert not rule.matches({})


def test_prefixes_and_tags_combine_with_and():
    rule = Rule(types=frozenset({"x"}), type_prefixes=("customer.",), tags={"env": "dev"})
    assert rule.to_filter() == (
        '(attributes.type = "x" OR hasPrefix(attributes.type, "customer.")) '
        'AND attributes.env = "dev"'
    )
    assert rule.matches({"type": "customer.order-placed", "env": "dev"})
    assert not rule.matches({"type": "customer.order-placed", "env": "prod"})
    assert on_prefixes("customer.").matches({"type": "customer.x"})


def test_match_all_has_no_filter():
    assert MATCH_ALL.to_filter() == ""
    assert MATCH_ALL.matches({})


def test_tag_only_rule():
    rule = Rule(tags={"source": "kitchen-bff"})
    assert rule.to_filter() == 'attributes.source = "kitchen-bff"'
    assert rule.matches({"type": "anything", "source": "kitchen-bff"})


def test_a_tag_given_several_values_matches_any_of_them():
    rule = on_types("order-status-changed", status=("delivered", "cancelled"))
    assert rule.to_filter() == (
        'attributes.type = "order-status-changed" '
        'AND (attributes.status = "cancelled" OR attributes.status = "delivered")'
    )
    assert rule.matches({"type": "order-status-changed", "status": "cancelled"})
    assert rule.matches({"type": "order-status-changed", "status": "delivered"})
    assert not rule.matches({"type": "order-status-changed", "status": "ready"})
    assert not rule.matches({"type": "order-status-changed"})


def test_rules_joined_with_or_select_what_either_selects():
    either = on_types("order-submitted", "order-cancelled") | on_types(
        "order-status-changed", status=("delivered", "cancelled")
    )
    assert isinstance(either, AnyOf)
    assert either.to_filter() == (
        '(attributes.type = "order-cancelled" OR attributes.type = "order-submitted") OR '
        '(attributes.type = "order-status-changed" '
        'AND (attributes.status = "cancelled" OR attributes.status = "delivered"))'
    )
    assert either.types == {"order-submitted", "order-cancelled", "order-status-changed"}
    assert either.matches({"type": "order-submitted"})
    assert either.matches({"type": "order-status-changed", "status": "delivered"})
    assert not either.matches({"type": "order-status-changed", "status": "placed"})
    assert not either.matches({"type": "order-placed", "status": "delivered"})
    three = either | on_prefixes("driver-")
    assert len(three.alternatives) == 3
    assert three.matches({"type": "driver-updated"})


BAD_QUOTE = """value 'bad"quote' has characters a filter cannot hold"""
THE_ENVELOPES_OWN = "no event has such a tag, the name is the envelope's own attribute"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: on_types("a", status=()), "routing rule tag 'status' allows no value"),
        (lambda: on_types("a", status=("ok", 'bad"quote')), BAD_QUOTE),
        (lambda: AnyOf((on_types("a"),)), "AnyOf needs two rules or more"),
        (lambda: on_types("a") | MATCH_ALL, "AnyOf with a rule that matches everything"),
        (
            lambda: (
                on_types(*[f"event-type-number-{i}" for i in range(5)])
                | on_types(*[f"other-event-type-{i}" for i in range(5)])
            ),
            "routing rule filter exceeds 256 bytes",
        ),
    ],
)
def test_alternatives_a_filter_cannot_express_fail_fast(build, message):
    with pytest.raises(TopologyError, match=re.escape(message)):
        build()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: on_types('bad"quote'), BAD_QUOTE),
        (lambda: Rule(tags={"not valid": "x"}), "tag 'not valid' is not a valid attribute name"),
        (lambda: Rule(tags={"type": "x"}), f"tag 'type': {THE_ENVELOPES_OWN}"),
        (lambda: Rule(tags={"id": "x"}), f"tag 'id': {THE_ENVELOPES_OWN}"),
        (lambda: on_types("a", partitionKey="o-1"), f"tag 'partitionKey': {THE_ENVELOPES_OWN}"),
        (
            lambda: on_types(*[f"event-type-number-{i}" for i in range(10)]),
            "routing rule filter exceeds 256 bytes",
        ),
    ],
)
def test_rules_a_filter_cannot_express_fail_fast(build, message):
    with pytest.raises(TopologyError, match=re.escape(message)):
        build()


def test_a_rule_on_a_tag_named_like_an_envelope_attribute_says_what_to_do():
    with pytest.raises(TopologyError, match="'partitionKey': no event has such a tag"):
        on_types("a", partitionKey="o-1")
