"""The internal event types of the Order subsystem, and their bodies.

Everything about one order is keyed by the order id (a body's ``id``); a restaurant's
profile by the restaurant id. Times are epoch milliseconds. lifecycle-control's collector
records every event of an order in the order's micro event store (``order-events``), where
the rules fold them into the order's state.

On the bus:

``order-placed`` (intake-esg from-customer)
    id, customerRef, restaurant{id,name,address}, items[{menuItemId,name,quantity,price}],
    total, currency, deliveryAddress, placedAt, notifyCustomer; the collector records it
    with ``ordering`` (kitchen or pos, decided then) and ``receivedAt`` (when Order took it
    in) added
``cancel-requested`` (intake-esg from-customer): the customer asked to cancel
    id
``restaurant-accepted`` (intake-esg from-restaurant, pos-esg relay)
    id, restaurantId, prepMinutes
``restaurant-rejected`` (intake-esg from-restaurant, pos-esg relay)
    id, restaurantId, reason (the kitchen's words)
``restaurant-ready`` (intake-esg from-restaurant, pos-esg relay)
    id, restaurantId, readyAt (from the relay: when the webhook received the callback)
``restaurant-updated`` (intake-esg from-restaurant): keyed by the restaurant id
    id, name, ordering, revision (null when Restaurant did not say)
``driver-assigned``, ``driver-released``, ``order-picked-up``, ``order-delivered``
(intake-esg from-delivery): the delivery's ``assigned``, ``released`` (the driver handed
the order back before the pickup), ``picked-up`` and ``delivered``
    id (the order's), deliveryId, driverId, revision (where the status comes in the
    delivery's course, as text that sorts in it; null when Delivery did not say)
``order-status-changed`` (lifecycle-control announcer): once per status the order reached
    the order's state: order-placed's fields with ordering and receivedAt, then status,
    reason, detail, acceptedAt, readyBy, driverAssigned, assignedAt, driverId (the assigned
    driver's), releasedAt, handedBackBy (the drivers who handed it back), deliveryRevision
    (the greatest revision of the delivery's statuses applied; missing until one that has
    one is), changedAt, updatedAt, heardAt (when Order heard the latest event it applied, by
    its own clock: no deadline runs from before it), history[{status,at,readyBy}] (readyBy as
    the status was reached; entries written before they kept it lack it), answerBy (while
    placed: when the restaurant's time to answer runs out; else null); a status reached
    before the current one has its history entry's status, time and readyBy as ``status``,
    ``changedAt`` and ``readyBy``, and null ``reason`` and ``detail``; tagged ``status`` and
    ``ordering`` too

Never on the bus: the timeouts schedule records these straight into the order's event
store, stamped with the deadline they are for:

``restaurant-timed-out``, ``driver-timed-out``, ``pickup-timed-out``,
``delivery-timed-out`` (lifecycle-control timeouts)
    id
"""

ORDER_PLACED = "order-placed"
CANCEL_REQUESTED = "cancel-requested"
RESTAURANT_ACCEPTED = "restaurant-accepted"
RESTAURANT_REJECTED = "restaurant-rejected"
RESTAURANT_READY = "restaurant-ready"
RESTAURANT_UPDATED = "restaurant-updated"
DRIVER_ASSIGNED = "driver-assigned"
DRIVER_RELEASED = "driver-released"
ORDER_PICKED_UP = "order-picked-up"
ORDER_DELIVERED = "order-delivered"
ORDER_STATUS_CHANGED = "order-status-changed"
RESTAURANT_TIMED_OUT = "restaurant-timed-out"
DRIVER_TIMED_OUT = "driver-timed-out"
PICKUP_TIMED_OUT = "pickup-timed-out"
DELIVERY_TIMED_OUT = "delivery-timed-out"
