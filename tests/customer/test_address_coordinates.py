"""Coordinates of the customer's :class:`~customer.contracts.Address` are JSON numbers.

A boolean or a string is refused with a 400 naming the field wherever a customer gives an
address (their account, a checkout), rather than read as a number (``true`` as 1.0, a
point in the Gulf of Guinea); whole numbers remain numbers. ``NaN`` and ``Infinity``, which
JSON lacks (the kit's reader refuses them), are refused as no finite number, not as out of
range.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from werkzeug.test import TestResponse

from customer.contracts import Address
from tests.customer.conftest import ADDRESS, HOME, Customer

PROFILE = {"name": "Alice", "email": "alice@example.com"}
NOT_NUMBERS = [("lat", True), ("lng", False), ("lat", "52.538"), ("lng", "13.409")]


@pytest.mark.parametrize(("field", "value"), NOT_NUMBERS)
def test_a_coordinate_that_is_no_number_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        Address.model_validate({**HOME, field: value})

    assert [error["loc"] for error in refused.value.errors()] == [(field,)]


def check_out_to(customer: Customer, address: dict[str, Any]) -> TestResponse:
    """Check a full cart out to ``address``, for a customer signed up at an open restaurant."""
    customer.open_restaurant()
    customer.sign_up()
    customer.fill_cart()
    return customer.call("checkout-bff", "POST", "/checkout", {"deliveryAddress": address})


def test_whole_degrees_are_numbers_too() -> None:
    assert Address.model_validate({**HOME, "lat": 52, "lng": 13}).lat == 52.0


@pytest.mark.parametrize(("field", "value"), NOT_NUMBERS)
def test_a_checkout_to_an_address_whose_coordinates_are_no_numbers_is_refused(
    customer: Customer, field: str, value: Any
) -> None:
    response = check_out_to(customer, {**ADDRESS, field: value})

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [f"deliveryAddress.{field}"]
    assert customer.store.query("orders") == []


def test_an_account_address_in_whole_degrees_is_kept(customer: Customer) -> None:
    whole = {**HOME, "lat": 52, "lng": 13}

    response = customer.call("account-bff", "PUT", "/me", {**PROFILE, "deliveryAddress": whole})

    assert response.status_code == 200
    assert response.get_json()["deliveryAddress"] == whole


NOT_FINITE = [("lat", float("nan")), ("lng", float("inf")), ("lat", float("-inf"))]


@pytest.mark.parametrize(("field", "value"), NOT_FINITE)
def test_a_saved_address_whose_coordinate_is_no_finite_number_is_refused_saying_so(
    customer: Customer, field: str, value: float
) -> None:
    """JSON has no ``NaN`` or ``Infinity`` (the kit's reader refuses them, naming the
    field): such a coordinate is no number, not one out of range."""
    body = {**PROFILE, "deliveryAddress": {**HOME, field: value}}

    response = customer.call("account-bff", "PUT", "/me", body)

    assert response.status_code == 400
    assert response.get_json()["fields"] == {
        f"deliveryAddress.{field}": "Input should be a finite number"
    }


@pytest.mark.parametrize(("field", "value"), NOT_FINITE)
def test_a_checkout_to_a_coordinate_that_is_no_finite_number_is_refused_saying_so(
    customer: Customer, field: str, value: float
) -> None:
    response = check_out_to(customer, {**ADDRESS, field: value})

    assert response.status_code == 400
    assert response.get_json()["fields"] == {
        f"deliveryAddress.{field}": "Input should be a finite number"
    }
    assert customer.store.query("orders") == []


def test_a_checkout_to_an_address_unfit_to_show_the_driver_is_refused_saying_why(
    customer: Customer,
) -> None:
    address = {**ADDRESS, "street": "Kastanienallee 7\u202e", "city": "Ber\x00lin"}

    response = check_out_to(customer, address)

    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert list(fields) == ["deliveryAddress.street", "deliveryAddress.city"]
    assert "bidirectional" in fields["deliveryAddress.street"]
    assert "control characters" in fields["deliveryAddress.city"]
    assert customer.store.query("orders") == []
