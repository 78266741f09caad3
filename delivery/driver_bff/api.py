"""The drivers' HTTP API; the driver is the caller's token subject."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.driver_bff import deliveries, offers, profile, release
from shared.api import HttpApi

if TYPE_CHECKING:
    import flask

    from delivery.ports import DeliveryPorts


def driver_api(ports: DeliveryPorts) -> flask.Flask:
    """The Flask app serving every driver route."""
    api = HttpApi("Delivery driver API", ports.verifier, store=ports.store)
    profile.register(api, ports)
    offers.register(api, ports)
    deliveries.register(api, ports)
    release.register(api, ports)
    return api.flask_app()
