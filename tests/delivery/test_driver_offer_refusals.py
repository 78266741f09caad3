"""The driver API's refusal of an offer id that names no offer repeats the id only as far as
:func:`~shared.api.echoed` goes: a 10 KB id is not sent back whole; and a path naming what
cannot be an id is a 404 on every route, as the kit answers one (an offer's included)."""

from __future__ import annotations

import pytest

from shared.api import echoed
from tests.delivery.conftest import Delivery
from tests.problems import refusal

LONG = "d-" + "x" * 10_000


@pytest.mark.parametrize("verdict", ["accept", "decline"])
def test_an_id_naming_no_offer_is_named_by_its_beginning(delivery: Delivery, verdict: str) -> None:
    delivery.driver("dan")

    answer = delivery.call("POST", f"/offers/{LONG}/{verdict}", "dan")

    assert answer.status_code == 404
    assert refusal(answer) == {
        "error": f"no such offer {echoed(repr(LONG))} (an offer is answered by its offerId)"
    }


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/offers/__x__@5/accept", "ids matching __.*__ are reserved"),
        ("/offers/__x__@5/decline", "ids matching __.*__ are reserved"),
        ("/offers/..@5/accept", "'.' and '..' are reserved"),
        (f"/offers/{'d' * 1501}@5/accept", "longer than 1500 bytes"),
        ("/deliveries/__x__/picked-up", "ids matching __.*__ are reserved"),
        ("/deliveries/__x__/release", "ids matching __.*__ are reserved"),
    ],
)
def test_a_path_naming_what_cannot_be_an_id_is_404_on_every_route(
    delivery: Delivery, path: str, problem: str
) -> None:
    delivery.driver("dan")

    answer = delivery.call("POST", path, "dan", {} if path.endswith("release") else None)

    assert answer.status_code == 404
    assert problem in answer.get_json()["error"]


def test_the_openapi_says_an_id_that_cannot_exist_is_404(delivery: Delivery) -> None:
    paths = delivery.client.get("/openapi.json").get_json()["paths"]

    for path in ("/offers/{offer_id}/accept", "/deliveries/{delivery_id}/release"):
        [operation] = paths[path].values()
        assert "cannot exist" in operation["responses"]["404"]["description"]
