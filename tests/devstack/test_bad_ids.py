"""Ids Firestore refuses get JSON refusals from the BFFs, on the emulators, not a 500."""

from __future__ import annotations

import pytest

from devstack.layout import Manifest
from devstack.live import LiveStack
from scenario.actors import ApiError, DriverApp
from tests.devstack.world import TRATTORIA, World

pytestmark = pytest.mark.emulator

RESERVED = "__x__"


def test_ids_firestore_refuses_are_404_in_the_path_and_400_in_the_body(
    manifest: Manifest,
) -> None:
    stack = LiveStack(manifest)
    world = World(stack)
    alice, kitchen = world.customer("alice"), world.staff[TRATTORIA]
    # not signed up, never online: an idle driver would take other tests' offers
    dan = DriverApp(stack.session, stack.urls, world.mint("driver", f"dan-{world.tag}"))
    in_the_path = [
        (alice.browse, "GET", f"/restaurants/{RESERVED}", None),
        (alice.tracking, "GET", f"/orders/{RESERVED}", None),
        (dan.api, "GET", f"/deliveries/{RESERVED}", None),
        (
            kitchen.kitchen,
            "POST",
            f"/restaurants/{TRATTORIA}/orders/{RESERVED}/accept",
            {"prepMinutes": 10},
        ),
    ]
    for api, method, path, body in in_the_path:
        with pytest.raises(ApiError) as refused:
            api.call(method, path, body)
        assert refused.value.status == 404, (method, path, refused.value.body)
        assert repr(RESERVED) in refused.value.body["error"]

    for restaurant in (RESERVED, "a/b", ".."):
        with pytest.raises(ApiError) as bad_cart:
            alice.checkout_api.call(
                "PUT",
                "/cart",
                {"restaurantId": restaurant, "items": [{"menuItemId": "x", "quantity": 1}]},
            )
        assert bad_cart.value.status == 400, bad_cart.value.body
        assert repr(restaurant) in bad_cart.value.body["fields"]["restaurantId"]
