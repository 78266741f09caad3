"""account-bff: a profile saved on the account as read (``ETag`` / ``If-Match``), so that a
device holding a stale copy cannot undo what another one saved (a new delivery address)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.customer.conftest import ADDRESS, CARD, HOME, Customer

if TYPE_CHECKING:
    from werkzeug.test import TestResponse

PROFILE = {"name": "Alice", "email": "alice@example.com", "deliveryAddress": HOME}


def put(customer: Customer, body: dict[str, Any], tag: str | None = None) -> TestResponse:
    headers = {} if tag is None else {"If-Match": tag}
    return customer.call("account-bff", "PUT", "/me", body, headers=headers)


def read(customer: Customer) -> TestResponse:
    return customer.call("account-bff", "GET", "/me")


def test_the_account_is_answered_with_an_etag_that_changes_with_it(customer: Customer) -> None:
    created = put(customer, PROFILE)
    tag = read(customer).headers["ETag"]

    assert created.headers["ETag"] == tag
    assert tag.startswith('"') and tag.endswith('"')
    assert put(customer, PROFILE).headers["ETag"] == tag  # saved as it was: the same
    customer.call("account-bff", "PUT", "/me/payment-method", CARD)
    assert read(customer).headers["ETag"] != tag  # the card shows: a new tag


def test_a_save_from_a_stale_copy_is_refused_with_412_and_changes_nothing(
    customer: Customer,
) -> None:
    # GIVEN the phone and the laptop both read the account
    put(customer, PROFILE)
    as_read = read(customer).headers["ETag"]
    # AND the laptop moved the delivery address
    moved = put(customer, {**PROFILE, "deliveryAddress": ADDRESS}, as_read)
    assert moved.status_code == 200
    stored = customer.doc("accounts", "alice")
    told = len(customer.events("account-updated"))

    # WHEN the phone saves its copy, with notifications off, as it read it
    quiet = {**PROFILE, "preferences": {"notifications": False}}
    refused = put(customer, quiet, as_read)

    # THEN it is refused, and the new address stands
    assert refused.status_code == 412
    assert moved.headers["ETag"] in refused.get_json()["error"]
    assert customer.doc("accounts", "alice") == stored
    assert len(customer.events("account-updated")) == told
    assert customer.doc("checkout-accounts", "alice")["deliveryAddress"] == ADDRESS
    # AND the save made on the account as it is now goes through
    saved = put(customer, {**quiet, "deliveryAddress": ADDRESS}, moved.headers["ETag"])
    assert saved.status_code == 200
    assert saved.get_json()["preferences"]["notifications"] is False


def test_if_match_names_no_account_before_it_is_created(customer: Customer) -> None:
    for tag in ('"0"', "*"):
        assert put(customer, PROFILE, tag).status_code == 412

    assert customer.store.get("accounts", "alice") is None
    assert put(customer, PROFILE).status_code == 200
    assert put(customer, {**PROFILE, "name": "Al"}, "*").status_code == 200


def test_the_same_save_retried_after_its_answer_was_lost_is_answered_as_the_first(
    customer: Customer,
) -> None:
    put(customer, PROFILE)
    as_read = read(customer).headers["ETag"]
    first = put(customer, {**PROFILE, "name": "Al"}, as_read)

    retried = put(customer, {**PROFILE, "name": "Al"}, as_read)

    assert (retried.status_code, retried.get_json()) == (200, first.get_json())
    assert customer.doc("accounts", "alice")["revision"] == 2


def test_without_if_match_a_save_is_unconditional_as_it_was(customer: Customer) -> None:
    put(customer, PROFILE)

    assert put(customer, {**PROFILE, "name": "Al"}).status_code == 200
    assert put(customer, PROFILE, '"stale", W/"weak"').status_code == 412
    assert put(customer, PROFILE, "not a tag").status_code == 400


def test_the_api_documents_if_match_on_the_save_and_etag_on_its_answers(
    customer: Customer,
) -> None:
    document = customer.call("account-bff", "GET", "/openapi.json", subject=None).get_json()
    me = document["paths"]["/me"]

    assert "If-Match" in [p["name"] for p in me["put"]["parameters"] if p["in"] == "header"]
    assert "412" in me["put"]["responses"]
    for operation in ("get", "put"):
        assert "ETag" in me[operation]["responses"]["200"]["headers"]
