"""Delivery's log lines say what came of the event they note and name what it was about, so
an operator reading one knows whether anything is missing and where to look."""

from __future__ import annotations

import logging

import pytest

from tests.delivery.conftest import MINUTE, NEAR, START, Delivery, offer_then_accept


def messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == f"fooddelivery.{logger}"]


def test_a_status_heard_after_a_later_one_says_the_customer_was_not_notified(
    delivery: Delivery, caplog: pytest.LogCaptureFixture
) -> None:
    delivery.order("o-1", "cancelled", reason="rejected", changedAt=START + 2_000)

    with caplog.at_level(logging.INFO, logger="fooddelivery"):
        delivery.order("o-1", "accepted", changedAt=START + 1_000)

    assert "order o-1: accepted came after a later status; not notified" in messages(
        caplog, "delivery.notification-esg.push"
    )


def test_a_missed_offer_names_its_delivery_and_counts_the_run(
    delivery: Delivery, caplog: pytest.LogCaptureFixture
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")

    with caplog.at_level(logging.INFO, logger="fooddelivery"):
        delivery.system.advance(6 * MINUTE)

    assert [
        m for m in messages(caplog, "delivery.dispatch-control.rules") if m.startswith("dan ")
    ] == [
        "dan let the offer of d-o-1 run out (1 in a row)",
        "dan let the offer of d-o-1 run out (2 in a row)",
    ]


def test_an_acceptance_heard_after_a_delivery_status_says_it_was_not_notified(
    delivery: Delivery, caplog: pytest.LogCaptureFixture
) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    accepted = next(e for e in delivery.events["bus"] if e.type == "order-updated")

    with caplog.at_level(logging.INFO, logger="fooddelivery"):
        delivery.inject(accepted)  # redelivered after the assignment was told

    assert "order o-1: accepted came after a delivery status was told; not notified" in messages(
        caplog, "delivery.notification-esg.push"
    )
