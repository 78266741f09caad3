"""A BFF handler's own refusals repeat at most MAX_ECHO_CHARS characters of what the request
sent, as the kit's do (shared.api): a path id (or a body's ``revision``) is never quoted back
whole, in the body or in a 403's ``WWW-Authenticate`` header."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from shared.api import MAX_ECHO_CHARS
from shared.auth import LocalIssuer
from tests.customer.conftest import Customer
from tests.restaurant.conftest import MENU_ITEMS, PROFILE, Restaurant

if TYPE_CHECKING:
    from werkzeug.test import TestResponse

LONG = "n" * 10_000
"""Longer than any id Firestore keeps: refused before the store is read, or by it."""
STORABLE = "n" * 1_400
"""An id Firestore could keep (at most 1,500 bytes): the store is read, and finds nothing."""


@pytest.fixture(scope="module")
def customer_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LocalIssuer]:
    key = tmp_path_factory.mktemp("auth") / "key.pem"
    return key, LocalIssuer.from_file(key)


@pytest.fixture
def customer(customer_key: tuple[Path, LocalIssuer]) -> Customer:
    return Customer(*customer_key)


@pytest.fixture
def restaurant(tmp_path: Path) -> Restaurant:
    return Restaurant(tmp_path)


def echoes_at_most_the_limit(answer: TestResponse, sent: str, status: int) -> None:
    """``answer`` is a ``status`` refusal that repeats no more than MAX_ECHO_CHARS + 1
    characters of ``sent`` in a row, in its body or any header."""
    assert answer.status_code == status, answer.get_data(as_text=True)
    too_much = sent[: MAX_ECHO_CHARS + 1]
    assert too_much not in answer.get_data(as_text=True)
    assert [name for name, value in answer.headers.items() if too_much in value] == []


@pytest.mark.parametrize("path", [f"/restaurants/{STORABLE}", f"/restaurants/{STORABLE}/menu"])
def test_browse_404_repeats_at_most_the_limit_of_the_restaurant_id(
    customer: Customer, path: str
) -> None:
    answer = customer.client("browse-bff").get(path, headers=customer.headers())
    echoes_at_most_the_limit(answer, STORABLE, 404)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/restaurants/{LONG}", None),
        ("GET", f"/restaurants/{LONG}/menu", None),
        ("PUT", f"/restaurants/{LONG}", PROFILE),
    ],
)
def test_profile_403_repeats_at_most_the_limit_of_the_restaurant_id(
    restaurant: Restaurant, method: str, path: str, body: Any
) -> None:
    answer = restaurant.client("profile-bff").open(
        path, method=method, json=body, headers=restaurant.staff("r-1")
    )
    echoes_at_most_the_limit(answer, LONG, 403)


@pytest.mark.parametrize("path", ["/restaurants/r-1", "/restaurants/r-1/menu"])
def test_a_revision_no_save_can_reach_is_refused_as_invalid_not_quoted_back(
    restaurant: Restaurant, path: str
) -> None:
    restaurant.open_restaurant("r-1")
    revision = int("9" * 4_000)  # JSON readers take it (Python up to 4,300 digits)
    body = PROFILE if path == "/restaurants/r-1" else {"items": MENU_ITEMS}
    answer = restaurant.client("profile-bff").put(
        path,
        data=f'{{"revision": {revision}, ' + json.dumps(body)[1:],
        content_type="application/json",
        headers=restaurant.staff("r-1"),
    )
    echoes_at_most_the_limit(answer, str(revision), 400)
    assert list(answer.get_json()["fields"]) == ["revision"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/restaurants/{LONG}/orders", 403),
        (f"/restaurants/{LONG}/orders/history", 403),
        (f"/restaurants/r-1/orders/{STORABLE}", 404),
    ],
)
def test_kitchen_refusals_repeat_at_most_the_limit_of_the_ids(
    restaurant: Restaurant, path: str, status: int
) -> None:
    answer = restaurant.client("kitchen-bff").get(path, headers=restaurant.staff("r-1"))
    echoes_at_most_the_limit(answer, LONG if status == 403 else STORABLE, status)
