"""Holding back one event from one consumer, as Pub/Sub may deliver it late."""

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
