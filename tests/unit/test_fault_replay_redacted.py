"""A trigger's change kept with fields masked is never handed back to the trigger.

A trigger's ``redact`` fields (a card token) are masked in its faults and dead letters;
replaying such a change would run the trigger on ``[redacted]`` in their place (a payment
attempted with no card): the replay is refused, saying why and what to do instead.
"""

from __future__ import annotations

import pytest

from order.topology import APP as ORDER
from shared.clock import ManualClock
from shared.exceptions import PoisonError
from shared.hub.message import to_message
from shared.runtime.consumer import REDACTED_ATTRIBUTE, change_message
from shared.runtime.fault_replay import NoWayBack, Origin, replay_request
from shared.runtime.faults import fault_event, fault_record
from shared.stores.base import DocumentChange
from shared.topology.model import Trigger

VERSION = "2026-01-01T12:30:45.123456Z"


def order_trigger() -> Origin:
    for service, fn in ORDER.topology.functions():
        if isinstance(fn, Trigger):
            return Origin("order", service, fn)
    raise AssertionError("the order subsystem has no trigger")


def recorded(redact: tuple[str, ...]) -> dict[str, object]:
    """The fault record of a change to an order, refused by an Order trigger."""
    found = order_trigger()
    change = DocumentChange(
        "orders", "o-1", None, {"id": "o-1", "card": {"token": "pm_1", "last4": "4242"}}, VERSION
    )
    event = fault_event(
        subsystem="order",
        function=found.qualified,
        message=change_message(change, redact=redact),
        error=PoisonError("no such order"),
        clock=ManualClock(1_000),
    )
    return fault_record(to_message(event))[1]


def test_a_change_kept_with_masked_fields_names_them() -> None:
    change = DocumentChange("orders", "o-1", {"a": 1}, {"a": 2, "card": {"token": "t"}}, VERSION)

    message = change_message(change, redact=("card.token", "a", "absent"))

    assert message.attributes[REDACTED_ATTRIBUTE] == "a,card.token"


def test_a_change_with_nothing_to_mask_names_nothing() -> None:
    change = DocumentChange("orders", "o-1", None, {"a": 2}, VERSION)

    assert REDACTED_ATTRIBUTE not in change_message(change, redact=("card.token",)).attributes


def test_a_change_kept_with_masked_fields_is_not_handed_back() -> None:
    with pytest.raises(NoWayBack, match=r"card\.token masked.*write the document again"):
        replay_request(order_trigger(), "acme-fd-order-dev", recorded(("card.token",)))


def test_a_change_kept_whole_is_handed_back() -> None:
    request = replay_request(order_trigger(), "acme-fd-order-dev", recorded(()))

    assert request.body
    assert request.headers["ce-type"].endswith("document.v1.written")
