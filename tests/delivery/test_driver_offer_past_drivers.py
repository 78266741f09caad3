"""driver-bff: an offer's ``pastDrivers`` never names the driver it is made to now, however
often the delivery went back and forth between drivers: their answer is to the offer open to
them, and every driver it was offered to before is told, late, that theirs was withdrawn."""

from __future__ import annotations

from tests.delivery.conftest import MINUTE, START, Delivery, offered_o9


def test_a_delivery_offered_again_to_an_earlier_driver_is_theirs_not_past(
    delivery: Delivery,
) -> None:
    # GIVEN o-9 offered to dan, then eve, then dan again (each offer before ran out)
    delivery.driver("dan")
    delivery.driver("eve")
    for n, driver in enumerate(["dan", "eve", "dan"], start=1):
        delivery.inject(offered_o9(START + n * MINUTE, timestamp=START + n, driver=driver))

    # THEN dan holds the offer, and only eve is past
    offer = delivery.store.get("driver-offers", "d-o-9")
    assert offer is not None
    assert (offer["driverId"], offer["pastDrivers"]) == ("dan", ["eve"])

    # AND the offer moving on to eve again names dan as past, and eve no more
    delivery.inject(offered_o9(START + 4 * MINUTE, timestamp=START + 4, driver="eve"))
    offer = delivery.store.get("driver-offers", "d-o-9")
    assert offer is not None
    assert (offer["driverId"], offer["pastDrivers"]) == ("eve", ["dan"])
    assert delivery.answer("d-o-9", "accept", "dan").status_code == 409  # withdrawn
    assert delivery.answer("d-o-9", "accept", "eve").status_code == 200
