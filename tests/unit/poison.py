"""Two poison messages for the sample subsystem ``alpha``'s consumer of
``cart-checked-out``: one that breaks a rule, one that is no envelope at all."""

from __future__ import annotations

from dataclasses import replace

from shared.envelope import new_event
from shared.hub.message import Message, to_message

BREAKS_A_RULE = replace(
    to_message(
        new_event(
            "cart-checked-out", "cart", {"id": "c1", "items": ["forbidden"]}, partition_key="c1"
        )
    ),
    message_id="m-1",
)
UNDECODABLE = Message(
    data=b"{not an envelope", attributes={"type": "cart-checked-out"}, message_id="m-2"
)
