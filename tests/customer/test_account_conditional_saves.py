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


# -- the saved card (/me/payment-method) ---------------------------------------------------

AMEX = {"token": "pm_card_amex", "brand": "amex", "last4": "0005"}
MASTERCARD = {"token": "pm_card_mastercard", "brand": "mastercard", "last4": "4444"}


def save_card(customer: Customer, card: dict[str, str], tag: str | None = None) -> TestResponse:
    headers = {} if tag is None else {"If-Match": tag}
    return customer.call("account-bff", "PUT", "/me/payment-method", card, headers=headers)


def remove_card(customer: Customer, tag: str | None = None) -> TestResponse:
    headers = {} if tag is None else {"If-Match": tag}
    return customer.call("account-bff", "DELETE", "/me/payment-method", headers=headers)


def read_card(customer: Customer) -> TestResponse:
    return customer.call("account-bff", "GET", "/me/payment-method")


def test_the_saved_card_is_answered_with_an_etag_that_changes_with_it(customer: Customer) -> None:
    put(customer, PROFILE)
    assert read_card(customer).status_code == 404

    saved = save_card(customer, CARD)
    read_back = read_card(customer)

    assert read_back.status_code == 200
    assert read_back.get_json() == {"brand": "visa", "last4": "4242"}
    assert saved.headers["ETag"] == read_back.headers["ETag"]
    assert put(customer, {**PROFILE, "name": "Al"}).status_code == 200
    assert read_card(customer).headers["ETag"] == saved.headers["ETag"]  # the card alone
    assert save_card(customer, AMEX).headers["ETag"] != saved.headers["ETag"]


def test_a_card_replaced_from_a_stale_copy_is_refused_with_412_and_changes_nothing(
    customer: Customer,
) -> None:
    # GIVEN the phone and the laptop both read the saved card
    put(customer, PROFILE)
    save_card(customer, CARD)
    as_read = read_card(customer).headers["ETag"]
    # AND the laptop replaced it
    replaced = save_card(customer, AMEX, as_read)
    assert replaced.status_code == 200
    stored = customer.doc("accounts", "alice")

    # WHEN the phone replaces the card it read with another
    refused = save_card(customer, MASTERCARD, as_read)

    # THEN it is refused, naming the card's tag now, and the laptop's card stands
    assert refused.status_code == 412
    assert replaced.headers["ETag"] in refused.get_json()["error"]
    assert customer.doc("accounts", "alice") == stored
    # AND the replacement made on the card as it is now goes through
    assert save_card(customer, MASTERCARD, replaced.headers["ETag"]).status_code == 200
    assert customer.doc("accounts", "alice")["paymentMethod"] == MASTERCARD


def test_a_card_removed_from_a_stale_copy_is_refused_with_412_and_stays(
    customer: Customer,
) -> None:
    put(customer, PROFILE)
    save_card(customer, CARD)
    as_read = read_card(customer).headers["ETag"]
    replaced = save_card(customer, AMEX)  # on another device

    refused = remove_card(customer, as_read)

    assert refused.status_code == 412
    assert replaced.headers["ETag"] in refused.get_json()["error"]
    assert customer.doc("accounts", "alice")["paymentMethod"] == AMEX
    assert remove_card(customer, replaced.headers["ETag"]).status_code == 204
    assert customer.doc("accounts", "alice")["paymentMethod"] is None
    # the removal retried after its answer was lost is answered as the first
    assert remove_card(customer, replaced.headers["ETag"]).status_code == 204


def test_if_match_names_no_card_when_none_is_saved(customer: Customer) -> None:
    put(customer, PROFILE)
    save_card(customer, CARD)
    as_read = read_card(customer).headers["ETag"]
    remove_card(customer)  # on another device

    for tag in (as_read, "*"):
        refused = save_card(customer, AMEX, tag)
        assert refused.status_code == 412
        assert "no card is saved" in refused.get_json()["error"]
    assert customer.doc("accounts", "alice")["paymentMethod"] is None
    assert save_card(customer, AMEX).status_code == 200


def test_the_same_card_saved_again_after_its_answer_was_lost_is_answered_as_the_first(
    customer: Customer,
) -> None:
    put(customer, PROFILE)
    save_card(customer, CARD)
    as_read = read_card(customer).headers["ETag"]
    first = save_card(customer, AMEX, as_read)

    retried = save_card(customer, AMEX, as_read)

    assert (retried.status_code, retried.get_json()) == (200, first.get_json())
    assert retried.headers["ETag"] == first.headers["ETag"]
    assert save_card(customer, CARD, '"stale"').status_code == 412
    assert save_card(customer, CARD, "not a tag").status_code == 400
    assert customer.doc("accounts", "alice")["paymentMethod"] == AMEX


def test_the_api_documents_if_match_and_etag_on_the_saved_card(customer: Customer) -> None:
    document = customer.call("account-bff", "GET", "/openapi.json", subject=None).get_json()
    card = document["paths"]["/me/payment-method"]

    for operation in ("put", "delete"):
        headers = [p["name"] for p in card[operation]["parameters"] if p["in"] == "header"]
        assert "If-Match" in headers
        assert "412" in card[operation]["responses"]
    for operation in ("get", "put"):
        assert "ETag" in card[operation]["responses"]["200"]["headers"]
    assert "404" in card["get"]["responses"]
