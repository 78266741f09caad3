"""Holding back one event from one consumer, as Pub/Sub may deliver it late; and another
instance's work landing between two writes of one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.hub.message import Message, from_message
from shared.runtime import consumer
from shared.runtime.outcome import Outcome

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

    from tests.delivery.conftest import Delivery


def hold_event(
    delivery: Delivery,
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    event_type: str,
    when: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> Callable[[], None]:
    """Keep the next ``event_type`` whose body passes ``when`` from the consumer named
    ``function``, acknowledged as if handled; calling the function returned delivers it then
    (as a redelivery or a late first delivery is), with whatever it sets off."""
    real = consumer.ConsumerRuntime.handle
    held: list[tuple[consumer.ConsumerRuntime[Any], Message]] = []

    def handle(self: consumer.ConsumerRuntime[Any], message: Message) -> Outcome:
        if (
            self.name == function
            and not held
            and message.attributes.get("type") == event_type
            and when(from_message(message).body)
        ):
            held.append((self, message))
            return Outcome.ACK
        return real(self, message)

    monkeypatch.setattr(consumer.ConsumerRuntime, "handle", handle)

    def deliver_late() -> None:
        [(runtime, message)] = held
        assert real(runtime, message) == Outcome.ACK
        delivery.system.run_until_quiet()

    return deliver_late


def before_update(
    delivery: Delivery,
    monkeypatch: pytest.MonkeyPatch,
    collection: str,
    made_by: str,
    step: Callable[[], None],
) -> list[str]:
    """Run ``step`` once, just before the first ``store.update`` of ``collection`` whose
    updater ``made_by`` built (its qualified name's prefix, e.g. ``"_offer."``): another
    instance's work landing in between, or, if ``step`` raises, this instance dying there.
    Returns the keys of the documents it ran before (one, once it ran)."""
    update, seen = delivery.store.update, []

    def interleaved(written: str, key: str, updater: Any) -> Any:
        if written == collection and updater.__qualname__.startswith(made_by) and not seen:
            seen.append(key)
            step()
        return update(written, key, updater)

    monkeypatch.setattr(delivery.store, "update", interleaved)
    return seen
