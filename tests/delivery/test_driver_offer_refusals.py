"""The driver API's refusal of an offer id that names no offer repeats the id only as far as
:func:`~shared.api.echoed` goes: a 10 KB id is not sent back whole."""

from __future__ import annotations

import pytest

from shared.api import echoed
from tests.delivery.conftest import Delivery

LONG = "d-" + "x" * 10_000


@pytest.mark.parametrize("verdict", ["accept", "decline"])
def test_an_id_naming_no_offer_is_named_by_its_beginning(delivery: Delivery, verdict: str) -> None:
    delivery.driver("dan")

    answer = delivery.call("POST", f"/offers/{LONG}/{verdict}", "dan")

    assert answer.status_code == 404
    assert answer.get_json() == {
        "error": f"no such offer {echoed(repr(LONG))} (an offer is answered by its offerId)"
    }
