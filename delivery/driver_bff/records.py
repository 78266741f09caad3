"""The driver BFF's collections and the states of what they hold."""

from __future__ import annotations

DRIVERS = "drivers"
"""``drivers/{driverId}``: ``{id, name, vehicle, online, location, updatedAt}``."""

OFFERS = "driver-offers"
"""``driver-offers/{deliveryId}``: the latest offer of a delivery, ``{deliveryId, orderId,
driverId, pickup{name,address}, dropoff, expiresAt, status, answeredAt, pastDrivers}``;
status is ``open``, ``accepted``, ``declined`` or ``withdrawn``."""

DELIVERIES = "driver-deliveries"
"""``driver-deliveries/{deliveryId}``: ``{deliveryId, orderId, driverId, pickup, dropoff, status,
assignedAt, pickedUpAt, deliveredAt}``; status is ``assigned``, ``picked-up``, ``delivered`` or
``cancelled``."""

ACTIVE = ("assigned", "picked-up")
"""Statuses of a delivery the driver still has to finish."""
