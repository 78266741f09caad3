"""The OpenAPI document names each model once: two different models of one name are refused."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from shared.api import HttpApi
from shared.auth import LocalIssuer, Principal
from shared.exceptions import KitError


def model(name: str, **fields: type) -> type[BaseModel]:
    """A model class called ``name`` with ``fields``, as two modules might each define one."""
    return type(name, (BaseModel,), {"__annotations__": fields})


def api_answering(*responses: type[BaseModel]) -> HttpApi:
    api = HttpApi("Shop", LocalIssuer())
    for n, response in enumerate(responses):

        @api.route("GET", f"/things/{n}", actors={"customer"}, response=response)
        def handler(caller: Principal) -> BaseModel:
            raise AssertionError("not called")

        handler.__name__ = f"thing_{n}"
    return api


def test_two_different_models_of_one_name_are_refused() -> None:
    cart_address = model("Address", street=str)
    account_address = model("Address", street=str, city=str)

    with pytest.raises(KitError, match="two different models are named Address"):
        api_answering(cart_address, account_address).openapi()


def test_two_different_nested_models_of_one_name_are_refused() -> None:
    outer = model("Cart", line=model("Line", dish=str))
    other = model("Order", line=model("Line", dish=str, quantity=int))

    with pytest.raises(KitError, match="named Line"):
        api_answering(outer, other).openapi()


def test_one_model_used_twice_is_one_component() -> None:
    address = model("Address", street=str)
    document = api_answering(address, address).openapi()

    assert document["components"]["schemas"]["Address"]["required"] == ["street"]
