"""pos-esg: orders lifecycle-control sends to their restaurant's point of sale (``ordering``).

The egress sends placed orders to the point of sale over HTTP (and withdraws
cancelled ones); the webhook takes the point of sale's signed callbacks into an
inbox; the relay turns each stored callback into the restaurant's answer.
"""

from __future__ import annotations

from order.events import ORDER_STATUS_CHANGED
from order.lifecycle_control.announcer import ORDERING_TAG, STATUS_TAG
from order.pos_esg.relay import relay
from order.pos_esg.to_pos import HANDLED, forward_to_pos
from order.pos_esg.webhook import INBOX, webhook
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Endpoint, Role, Service, ServiceKind, Trigger

SERVICE = Service(
    "pos-esg",
    ServiceKind.ESG,
    (
        Consumer(
            "to-pos",
            Role.EGRESS,
            # A point of sale back within the restaurant's 10 minutes still gets the order:
            # retried for about half an hour (backoff up to a minute) before it is a fault.
            # Only orders that go to a point of sale, and only the statuses acted on.
            Channel(
                on_types(ORDER_STATUS_CHANGED, **{ORDERING_TAG: "pos", STATUS_TAG: HANDLED}),
                max_delivery_attempts=30,
                min_backoff_s=5,
            ),
            handlers=(forward_to_pos,),
            secrets=("POS_API_KEY",),
        ),
        Endpoint("webhook", Role.API, app=webhook, secrets=("POS_WEBHOOK_SECRET",)),
        Trigger("relay", Role.TRIGGER, collection=INBOX, handlers=(relay,)),
    ),
    description="Sends orders to restaurants' point-of-sale systems and relays their answers.",
)
