"""account-bff: the customer's own profile and saved card; checkout learns what it needs."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest

from shared.auth import LocalIssuer
from shared.hub.memory import InMemoryPublisher
from shared.hub.message import Message
from shared.topology import Topic
from tests.customer.conftest import ADDRESS, CARD, HOME, Customer

if TYPE_CHECKING:
    from pathlib import Path

    from werkzeug.test import TestResponse

PROFILE = {"name": "Alice", "email": "alice@example.com"}


def account(customer: Customer, subject: str = "alice") -> TestResponse:
    return customer.call("account-bff", "GET", "/me", subject=subject)


def test_there_is_no_account_before_the_first_put(customer: Customer) -> None:
    response = account(customer)

    assert response.status_code == 404
    assert customer.store.get("accounts", "alice") is None


def test_an_account_is_created_with_default_preferences_and_no_card(customer: Customer) -> None:
    response = customer.call("account-bff", "PUT", "/me", PROFILE)

    expected = {
        "name": "Alice",
        "email": "alice@example.com",
        "phone": None,
        "deliveryAddress": None,
        "preferences": {"cuisines": [], "notifications": True},
        "paymentMethod": None,
    }
    assert response.status_code == 200
    assert response.get_json() == expected
    assert account(customer).get_json() == expected


def test_a_put_replaces_the_profile_and_keeps_the_card(customer: Customer) -> None:
    customer.call("account-bff", "PUT", "/me", PROFILE)
    customer.call("account-bff", "PUT", "/me/payment-method", CARD)
    profile = {
        "name": "Alice Liddell",
        "email": "alice@wonderland.example",
        "phone": "+44 20 7946 0000",
        "deliveryAddress": HOME,
        "preferences": {"cuisines": ["italian", "indian"], "notifications": False},
    }
    response = customer.call("account-bff", "PUT", "/me", profile)

    assert response.status_code == 200
    assert response.get_json() == {**profile, "paymentMethod": {"brand": "visa", "last4": "4242"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Alice", "email": "alice.example.com"}, "email"),
        ({"name": "", "email": "alice@example.com"}, "name"),
        ({**PROFILE, "phone": "call me"}, "phone"),
        ({**PROFILE, "deliveryAddress": {**HOME, "lat": 91}}, "deliveryAddress.lat"),
        ({**PROFILE, "deliveryAddress": {**HOME, "lat": True}}, "deliveryAddress.lat"),
        ({**PROFILE, "deliveryAddress": {**HOME, "lng": "13.409"}}, "deliveryAddress.lng"),
        ({**PROFILE, "deliveryAddress": {**HOME, "street": "   "}}, "deliveryAddress.street"),
        ({**PROFILE, "deliveryAddress": {**HOME, "postcode": "\t"}}, "deliveryAddress.postcode"),
        ({**PROFILE, "preferences": {"cuisines": [""]}}, "preferences.cuisines.0"),
        ({**PROFILE, "preferences": {"notifications": "no"}}, "preferences.notifications"),
        ({**PROFILE, "preferences": {"notifications": 0}}, "preferences.notifications"),
        ({**PROFILE, "role": "admin"}, "role"),
        ({"email": "alice@example.com"}, "name"),
        # text the driver or the customer's own app shows must be fit to show
        ({**PROFILE, "name": "Alice\u202e"}, "name"),
        (
            {**PROFILE, "deliveryAddress": {**HOME, "street": "Alle\x1b[2J 7"}},
            "deliveryAddress.street",
        ),
        ({**PROFILE, "deliveryAddress": {**HOME, "city": "Ber\u2028lin"}}, "deliveryAddress.city"),
        (
            {**PROFILE, "deliveryAddress": {**HOME, "postcode": "\u200b"}},
            "deliveryAddress.postcode",
        ),
        ({**PROFILE, "email": "alice\x00@example.com"}, "email"),
        ({**PROFILE, "email": "alice\u202e@example.com"}, "email"),
        (
            {**PROFILE, "preferences": {"cuisines": ["thai", "pi\u2028zza"]}},
            "preferences.cuisines.1",
        ),
        ({**PROFILE, "preferences": {"cuisines": ["\u200b"]}}, "preferences.cuisines.0"),
    ],
)
def test_a_bad_profile_gets_400_naming_the_field_and_changes_nothing(
    customer: Customer, body: dict[str, Any], field: str
) -> None:
    response = customer.call("account-bff", "PUT", "/me", body)

    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert customer.store.get("accounts", "alice") is None


def test_an_address_is_saved_without_surrounding_blanks(customer: Customer) -> None:
    padded = {**HOME, "street": " Kastanienallee 7 ", "city": "Berlin\n"}

    response = customer.call("account-bff", "PUT", "/me", {**PROFILE, "deliveryAddress": padded})

    assert response.status_code == 200
    assert response.get_json()["deliveryAddress"] == HOME
    assert customer.doc("checkout-accounts", "alice")["deliveryAddress"] == HOME


def test_a_card_needs_an_account_first(customer: Customer) -> None:
    response = customer.call("account-bff", "PUT", "/me/payment-method", CARD)

    assert response.status_code == 409
    assert customer.store.get("accounts", "alice") is None


def test_a_saved_card_is_shown_by_brand_and_last_digits_only(customer: Customer) -> None:
    customer.call("account-bff", "PUT", "/me", PROFILE)
    response = customer.call("account-bff", "PUT", "/me/payment-method", CARD)

    assert response.status_code == 200
    assert response.get_json() == {"brand": "visa", "last4": "4242"}
    assert account(customer).get_json()["paymentMethod"] == {"brand": "visa", "last4": "4242"}
    assert CARD["token"] not in account(customer).get_data(as_text=True)


@pytest.mark.parametrize(
    ("card", "field"),
    [
        ({**CARD, "token": "tok_visa"}, "token"),
        ({**CARD, "token": "pm_x"}, "token"),
        ({**CARD, "last4": "42"}, "last4"),
        ({**CARD, "last4": "42a4"}, "last4"),
        ({"token": "pm_card_visa", "last4": "4242"}, "brand"),
        # the app shows the brand as it was given
        ({**CARD, "brand": "vi\x1b[2Jsa"}, "brand"),
        ({**CARD, "brand": "visa\u202e"}, "brand"),
        ({**CARD, "brand": "\u200b"}, "brand"),
    ],
)
def test_a_bad_card_gets_400_naming_the_field(
    customer: Customer, card: dict[str, str], field: str
) -> None:
    customer.call("account-bff", "PUT", "/me", PROFILE)
    response = customer.call("account-bff", "PUT", "/me/payment-method", card)

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [field]
    assert account(customer).get_json()["paymentMethod"] is None


def test_a_card_can_be_forgotten(customer: Customer) -> None:
    customer.call("account-bff", "PUT", "/me", PROFILE)
    customer.call("account-bff", "PUT", "/me/payment-method", CARD)

    response = customer.call("account-bff", "DELETE", "/me/payment-method")

    assert response.status_code == 204
    assert account(customer).get_json()["paymentMethod"] is None
    assert customer.doc("accounts", "alice")["paymentMethod"] is None


def test_each_customer_has_their_own_account(customer: Customer) -> None:
    customer.call("account-bff", "PUT", "/me", PROFILE)

    assert account(customer, "bob").status_code == 404
    assert customer.call("account-bff", "GET", "/me", subject=None).status_code == 401
    staff = customer.call("account-bff", "GET", "/me", subject="sam", actor="driver")
    assert staff.status_code == 403


def test_checkout_learns_of_address_card_and_notification_changes_only(
    customer: Customer,
) -> None:
    customer.call("account-bff", "PUT", "/me", {**PROFILE, "deliveryAddress": HOME})
    customer.call("account-bff", "PUT", "/me", {**PROFILE, "name": "Al", "deliveryAddress": HOME})
    customer.call("account-bff", "PUT", "/me/payment-method", CARD)
    customer.call("account-bff", "DELETE", "/me/payment-method")
    quiet = {"notifications": False}
    customer.call(
        "account-bff", "PUT", "/me", {**PROFILE, "deliveryAddress": HOME, "preferences": quiet}
    )

    bodies = [e.body for e in customer.events("account-updated")]
    told = {"id": "alice", "deliveryAddress": HOME, "notifications": True}
    assert bodies == [
        {**told, "hasPaymentMethod": False, "revision": 1},
        {**told, "hasPaymentMethod": True, "revision": 3},  # the name's change was save 2
        {**told, "hasPaymentMethod": False, "revision": 4},
        {**told, "hasPaymentMethod": False, "notifications": False, "revision": 5},
    ]
    assert {e.partition_key for e in customer.events("account-updated")} == {"alice"}
    assert customer.doc("checkout-accounts", "alice")["hasPaymentMethod"] is False
    assert not any("pm_card" in str(e.body) for e in customer.events("account-updated"))


def test_each_save_that_changes_the_account_counts_one_revision_more(
    customer: Customer,
) -> None:
    customer.call("account-bff", "PUT", "/me", PROFILE)
    customer.call("account-bff", "PUT", "/me", PROFILE)  # no change: no revision
    customer.call("account-bff", "DELETE", "/me/payment-method")  # none saved: no change
    customer.call("account-bff", "PUT", "/me/payment-method", CARD)
    customer.call("account-bff", "PUT", "/me", {**PROFILE, "deliveryAddress": HOME})

    assert customer.doc("accounts", "alice")["revision"] == 3
    assert [e.body["revision"] for e in customer.events("account-updated")] == [1, 2, 3]
    assert "revision" not in account(customer).get_json()


def test_an_account_saved_before_revisions_were_counted_gets_its_first_on_its_next_change(
    customer: Customer,
) -> None:
    before = {"id": "alice", **PROFILE, "phone": None, "deliveryAddress": None}
    customer.store.put("accounts", "alice", {**before, "paymentMethod": None})
    customer.system.run_until_quiet()

    customer.call("account-bff", "PUT", "/me/payment-method", CARD)

    assert customer.doc("accounts", "alice")["revision"] == 1
    assert [e.body["revision"] for e in customer.events("account-updated")] == [None, 1]


def test_of_two_account_saves_in_one_millisecond_checkout_keeps_the_later_in_any_order(
    customer: Customer, signing_key: tuple[Path, LocalIssuer]
) -> None:
    customer.call("account-bff", "PUT", "/me", {**PROFILE, "deliveryAddress": ADDRESS})
    customer.call("account-bff", "PUT", "/me", {**PROFILE, "deliveryAddress": HOME})
    at_work, at_home = customer.events("account-updated")
    assert at_work.timestamp == at_home.timestamp  # the premise: their time cannot tell

    checkout = Customer(*signing_key)  # another checkout, hearing of them in reverse order
    checkout.send("customer", at_home, at_work)  # the first was retried, or overtaken

    assert checkout.doc("checkout-accounts", "alice")["deliveryAddress"] == HOME


def test_a_card_token_never_reaches_the_faults(
    customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN Pub/Sub refuses the account trigger's events until its change is dead-lettered
    publish = InMemoryPublisher.publish

    def outage(self: InMemoryPublisher, topic: Topic, messages: list[Message]) -> list[str]:
        if any(b'"account-updated"' in m.data for m in messages):
            raise ConnectionError("Pub/Sub is unavailable")
        return publish(self, topic, messages)

    monkeypatch.setattr(InMemoryPublisher, "publish", outage)
    customer.sign_up()  # the profile, then the saved card
    monkeypatch.setattr(InMemoryPublisher, "publish", publish)
    customer.system.run_until_quiet()

    # THEN the faults keep the change, its card masked
    faults = customer.faults()
    assert faults
    kept = [base64.b64decode(f["message"]["data"]).decode() for f in faults]
    assert all(CARD["token"] not in text for text in [json.dumps(faults), *kept])
    assert any('"token": "[redacted]"' in text for text in kept)


@pytest.mark.parametrize("uid", ["alice@example.com", "github:583231", "Jane Doe"])
def test_a_customer_whose_user_id_holds_separators_has_their_own_account(
    customer: Customer, uid: str
) -> None:
    created = customer.call("account-bff", "PUT", "/me", PROFILE, subject=uid)

    assert created.status_code == 200
    assert account(customer, uid).get_json() == created.get_json()
    assert customer.store.get("accounts", uid) is not None
    assert customer.doc("checkout-accounts", uid)["id"] == uid
    assert account(customer, "alice").status_code == 404


def test_a_preference_this_version_does_not_know_is_left_out_not_a_500(
    customer: Customer,
) -> None:
    customer.call("account-bff", "PUT", "/me", PROFILE)
    saved = customer.store.get("accounts", "alice")
    assert saved is not None
    later = {**saved["preferences"], "spiceLevel": 3}  # saved by a newer version, rolled back
    customer.store.put("accounts", "alice", {**saved, "preferences": later})

    response = account(customer)

    assert response.status_code == 200
    assert response.get_json()["preferences"] == {"cuisines": [], "notifications": True}


def test_a_cuisine_saved_before_unfit_ones_were_refused_still_reads(customer: Customer) -> None:
    customer.call("account-bff", "PUT", "/me", PROFILE)
    saved = customer.store.get("accounts", "alice")
    assert saved is not None
    earlier = {**saved["preferences"], "cuisines": ["thai\x00"]}
    customer.store.put("accounts", "alice", {**saved, "preferences": earlier})

    response = account(customer)

    assert response.status_code == 200
    assert response.get_json()["preferences"]["cuisines"] == ["thai\x00"]
