"""The internal event types on the Restaurant subsystem's bus, and their bodies.

Everything about one order is keyed by the order id; a restaurant's profile and menu by
the restaurant id. Times are epoch milliseconds.

``restaurant-updated`` (profile-bff profile-trigger): the whole profile as saved
    id, name, cuisine, address{street,city,postcode,lat,lng}, open, ordering,
    deliveryRadiusM, revision (absent from a profile saved before saves were counted)
``menu-updated`` (profile-bff menu-trigger): the whole menu as saved
    restaurantId, items[{id,name,description,price,currency,available}], revision (as above)
``order-received`` (order-esg ingress): Order placed the order; stamped when Order recorded
    it and sent it here (its announcement's time)
    id, restaurantId, items[{menuItemId,name,quantity}] (each of one or more),
    total, currency, ordering, answerBy (``ordering`` and ``answerBy`` null when an older
    Order did not say)
``order-withdrawn`` (order-esg ingress): Order cancelled the order
    id, restaurantId, ordering, reason (Order's: customer, restaurant-timeout, no-driver, ...)
``order-collected`` (order-esg ingress): the driver has the order: Order's ``picked-up``,
    or its ``delivered`` (only a collected order is delivered), whichever is heard first:
    one per order, its id derived from the order's (a word heard again repeats it, never
    another)
    id, restaurantId, ordering
``order-accepted`` (kitchen-bff trigger)
    id, restaurantId, prepMinutes
``order-rejected`` (kitchen-bff trigger)
    id, restaurantId, reason (the staff's words; the kitchen's own for an order that lists
    no dish, refused on arrival)
``order-ready`` (kitchen-bff trigger)
    id, restaurantId, readyAt
"""

RESTAURANT_UPDATED = "restaurant-updated"
MENU_UPDATED = "menu-updated"
ORDER_RECEIVED = "order-received"
ORDER_WITHDRAWN = "order-withdrawn"
ORDER_COLLECTED = "order-collected"
ORDER_ACCEPTED = "order-accepted"
ORDER_REJECTED = "order-rejected"
ORDER_READY = "order-ready"
