"""The internal event types on the Customer subsystem's bus, and their bodies.

Everything about one order is keyed by the order id; a restaurant and its menu by the
restaurant id; an account by the customer id. Times are epoch milliseconds.

``restaurant-updated`` (restaurant-esg ingress)
    id, name, cuisine (as the tag customers filter by), address{street,city,postcode,lat,lng},
    open, deliveryRadiusM, revision (``deliveryRadiusM`` and ``revision`` null when
    Restaurant did not say)
``menu-updated`` (restaurant-esg ingress)
    restaurantId, items[{id,name,description,price,currency,available}], revision (as above)
``account-updated`` (account-bff trigger): what checkout needs of an account, never its card
    id, deliveryAddress, hasPaymentMethod, notifications, revision (null for an account saved
    before saves were counted)
``order-submitted`` (checkout-bff trigger): the order created, in ``pending-payment``
``order-placed`` (checkout-bff trigger): its payment authorized
``order-payment-declined`` (checkout-bff trigger)
``order-cancelled`` (checkout-bff trigger): cancelled before it was placed (the customer, or
the payment deadline)
    each the whole order document but its ``paymentMethod``: id, customerId, customerRef,
    restaurant{id,name,address}, items[{menuItemId,name,quantity,price}], total, currency,
    deliveryAddress, notifyCustomer, status, createdAt; once placed also placedAt; once
    declined reason; once cancelled reason (customer, payment-timeout) and cancelledAt
``payment-authorized`` (payment-esg processor)
    orderId, authorizationId, amount, currency, authorizedAt (null for a payment stored
    before it was noted)
``payment-declined`` (payment-esg processor)
    orderId, reason
``payment-captured``, ``payment-voided``, ``payment-refunded`` (payment-esg processor)
    orderId, authorizationId, amount, currency, status (captured, voided, refunded)
``cancellation-requested`` (tracking-bff cancel-requests): the customer asked to cancel
    id, requestedAt
``order-cancel-requested`` (checkout-bff listener): the request goes on to Order, as the
order was placed
    id, requestedAt
``order-status-changed`` (order-esg ingress)
    id, status, reason, detail, readyBy, changedAt (``reason`` and ``detail`` null unless
    cancelled; ``readyBy`` null when Order did not say); tagged ``status`` too
``delivery-status-changed`` (delivery-esg ingress): keyed by the order id
    id (the delivery's), orderId, status (assigned, released, picked-up, delivered),
    driver{name}, location{lat,lng} (null when Delivery did not say), changedAt, revision
    (where the status comes in the delivery's course, as text that sorts in it; null when
    Delivery did not say)
"""

RESTAURANT_UPDATED = "restaurant-updated"
MENU_UPDATED = "menu-updated"
ACCOUNT_UPDATED = "account-updated"
ORDER_SUBMITTED = "order-submitted"
ORDER_PLACED = "order-placed"
ORDER_PAYMENT_DECLINED = "order-payment-declined"
ORDER_CANCELLED = "order-cancelled"
PAYMENT_AUTHORIZED = "payment-authorized"
PAYMENT_DECLINED = "payment-declined"
PAYMENT_CAPTURED = "payment-captured"
PAYMENT_VOIDED = "payment-voided"
PAYMENT_REFUNDED = "payment-refunded"
CANCELLATION_REQUESTED = "cancellation-requested"
ORDER_CANCEL_REQUESTED = "order-cancel-requested"
ORDER_STATUS_CHANGED = "order-status-changed"
DELIVERY_STATUS_CHANGED = "delivery-status-changed"
