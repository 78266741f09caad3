"""notification-esg: an offer delivered twice at once (a redelivery after an ack deadline
while the first delivery still sends it) reaches the driver once: both sends carry the
offer's idempotency key, which the provider delivers once; no claim in the offer's record
is needed for that."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from delivery.notification_esg.provider import HttpPushProvider
from tests.delivery.conftest import Delivery
from tests.delivery.held import hold_event

if TYPE_CHECKING:
    import pytest

    from delivery.notification_esg.provider import PushMessage


def test_an_offer_delivered_again_while_it_is_sent_is_pushed_once(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan is offered o-1; the push function's first delivery of the offer is held back
    delivery.driver("dan")
    deliver_late = hold_event(delivery, monkeypatch, "push", "delivery-offered")
    delivery.order("o-1", "accepted")
    real, sends = HttpPushProvider.send, []

    def send(self: HttpPushProvider, message: PushMessage, *, idempotency_key: str) -> Any:
        sends.append(idempotency_key)
        if len(sends) == 1:
            deliver_late()  # the offer delivered again, handled in full meanwhile
        return real(self, message, idempotency_key=idempotency_key)

    monkeypatch.setattr(HttpPushProvider, "send", send)

    # WHEN the offer is handled
    deliver_late()

    # THEN both sends name the offer alike, and dan is pushed it once
    assert len(sends) == 2
    assert sends[0] == sends[1]
    assert len(delivery.push.to("driver", "dan")) == 1
