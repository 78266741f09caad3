"""The end-to-end flows again, under chaos mode, with a few fixed seeds.

Chaos mode (:mod:`shared.hub.chaos`) shuffles deliveries wherever Pub/Sub and Eventarc
give no order and redelivers some acknowledged ones, as Google may; the flows must
hold all the same. The stack is served in process (the delivery order does not depend
on the HTTP servers), so a seed costs about half a second. To reproduce a failing seed
with the flow's own test:

    FOODDELIVERY_CHAOS_SEED=<seed> .venv/bin/pytest tests/e2e/test_order_flows.py -k <flow>

A flow that fails under chaos shows a real ordering or duplicate defect; the two first
found (a delivery heard of before its pickup was dropped; a driver who missed an offer was
offered it again before a free driver) are fixed, and their flows are played here.

The main flow and the fact count are also played with overlapping deliveries (handlings
paused past their ack deadline, at a publish or as a store operation starts, while their
redelivery and other messages are handled, and resumed later: ``FOODDELIVERY_CHAOS_OVERLAP``,
:data:`OVERLAP`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

import tests.e2e.test_order_flows as flows
from scenario.stack import EmbeddedStack
from scenario.story import Story
from shared.hub.chaos import CHAOS_ENV, OVERLAP_ENV
from shared.hub.message import ATTRIBUTE_ID, ATTRIBUTE_TYPE
from tests.e2e.conftest import World

if TYPE_CHECKING:
    from pathlib import Path

    from shared.hub.message import Message

SEEDS = (1, 2, 3, 4, 5, 6)
OVERLAP = 0.3
"""The overlap rate the runs with overlapping deliveries play under."""
RUNS = [(seed, 0.0) for seed in SEEDS] + [(seed, OVERLAP) for seed in (*SEEDS, 7, 8)]
"""(seed, overlap rate) of the runs played with and without overlapping deliveries."""


def chaotic_stack(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overlap: float = 0.0
) -> EmbeddedStack:
    """An in-process stack whose system runs under chaos with ``seed`` (and ``overlap``)."""
    with monkeypatch.context() as env:
        env.setenv(CHAOS_ENV, str(seed))
        env.setenv(OVERLAP_ENV, str(overlap))
        return EmbeddedStack(dev_key=tmp_path / "dev-key.pem")


def failures(
    flow: Callable[[World], None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """``flow`` under each of :data:`SEEDS`: the seeds it failed with, and how."""
    failed = []
    for seed in SEEDS:
        stack = chaotic_stack(seed, tmp_path, monkeypatch)
        try:
            flow(World(stack))
        except AssertionError as failure:
            failed.append(f"seed {seed}: {str(failure).splitlines()[0] if str(failure) else ''}")
        finally:
            stack.close()
    return failed


@pytest.mark.parametrize(("seed", "overlap"), RUNS)
def test_an_order_is_delivered_and_paid_once_under_chaos(seed, overlap, tmp_path, monkeypatch):
    stack = chaotic_stack(seed, tmp_path, monkeypatch, overlap)
    try:
        flows.test_an_order_is_delivered_and_paid_once(World(stack))
    finally:
        stack.close()


@pytest.mark.parametrize(("seed", "overlap"), [(s, o) for s in SEEDS[:3] for o in (0.0, OVERLAP)])
def test_the_demo_story_ends_every_order_once_under_chaos(seed, overlap, tmp_path, monkeypatch):
    stack = chaotic_stack(seed, tmp_path, monkeypatch, overlap)
    try:
        outcome = Story(stack, orders=10, seed=7).run()

        assert len(outcome.orders) == 10  # else the checks below hold of fewer, or of none
        assert {o["status"] for o in outcome.orders.values()} <= {"delivered", "cancelled"}
        for order_id, order in outcome.orders.items():
            [authorization] = stack.authorizations(order_id)
            kinds = [op["kind"] for op in authorization["operations"]]
            if order["status"] == "delivered":
                assert (authorization["status"], kinds.count("capture")) == ("captured", 1)
            else:
                assert authorization["status"] == "voided"
        told = Counter(
            (m["data"]["orderId"], m["data"]["status"])
            for m in stack.notifications()
            if m["to"]["kind"] == "customer"
        )
        assert [fact for fact, times in told.items() if times > 1] == []
        assert [f for name in stack.system.apps for f in stack.system.faults(name)] == []
    finally:
        stack.close()


def test_a_pickup_and_delivery_reported_together_deliver_the_order_under_chaos(
    tmp_path, monkeypatch
):
    assert failures(flows.test_a_restaurant_on_its_own_point_of_sale, tmp_path, monkeypatch) == []


def test_an_unanswered_offer_goes_to_the_next_driver_under_chaos(tmp_path, monkeypatch):
    flow = flows.test_an_unanswered_offer_is_offered_to_the_next_driver
    assert failures(flow, tmp_path, monkeypatch) == []


def test_a_driver_handing_the_order_back_delivers_it_under_chaos(tmp_path, monkeypatch):
    flow = flows.test_a_driver_hands_the_order_back_and_the_next_one_delivers_it
    assert failures(flow, tmp_path, monkeypatch) == []


@pytest.mark.parametrize("overlap", [0.0, OVERLAP])
def test_a_seed_makes_the_same_run_again(overlap, tmp_path, monkeypatch):
    def events_of_a_run() -> list[tuple[str, str, str]]:
        stack = chaotic_stack(5, tmp_path, monkeypatch, overlap)
        seen: list[tuple[str, str, str]] = []

        def observe(project: str, topic: str, message: Message) -> None:
            seen.append((project, topic, message.attributes.get("id", "")))

        stack.system.hub.observers.append(observe)
        try:
            Story(stack, orders=12, seed=3).run()
        finally:
            stack.close()
        return seen

    first = events_of_a_run()
    assert len(first) > 12, "the story published nothing to compare"
    assert events_of_a_run() == first


def test_the_chaotic_stack_redelivers_acknowledged_messages(tmp_path, monkeypatch, caplog):
    """The flows above prove something only if their stack is chaotic: it is."""
    stack = chaotic_stack(5, tmp_path, monkeypatch)
    try:
        with caplog.at_level(logging.INFO, logger="fooddelivery.hub"):
            Story(stack, orders=3, seed=3).run()
    finally:
        stack.close()

    again = [m for m in caplog.messages if m.startswith("chaos: ") and "again" in m]
    assert again, "no acknowledged message was delivered again"


def test_the_overlapping_stack_overruns_handlings(tmp_path, monkeypatch, caplog):
    """The runs with an overlap rate prove something only if handlings overrun: they do."""
    stack = chaotic_stack(5, tmp_path, monkeypatch, OVERLAP)
    try:
        with caplog.at_level(logging.INFO, logger="fooddelivery.hub"):
            Story(stack, orders=3, seed=3).run()
    finally:
        stack.close()

    overruns = [m for m in caplog.messages if "overruns its ack deadline" in m]
    assert len(overruns) > 10, "few handlings overran their ack deadline"


@pytest.mark.parametrize("orders", [5, 20])
@pytest.mark.parametrize(("seed", "overlap"), RUNS)
def test_under_chaos_every_fact_is_told_as_often_as_in_a_calm_run(
    seed, overlap, orders, tmp_path, monkeypatch
):
    """A redelivered or duplicated message may publish its event again, with the same id,
    which consumers drop; never as a new event (a new id), which they take for a new fact:
    a kitchen told twice that an order was collected, a second decline of a paid order."""

    def facts_told(stack: EmbeddedStack) -> Counter[tuple[str, str, str]]:
        ids: dict[tuple[str, str, str], set[str]] = {}

        def observe(project: str, topic: str, message: Message) -> None:
            kind = (project, topic, message.attributes.get(ATTRIBUTE_TYPE, ""))
            ids.setdefault(kind, set()).add(message.attributes.get(ATTRIBUTE_ID, ""))

        stack.system.hub.observers.append(observe)
        try:
            Story(stack, orders=orders, seed=7).run()
        finally:
            stack.close()
        return Counter({kind: len(told) for kind, told in ids.items()})

    calm = facts_told(EmbeddedStack(dev_key=tmp_path / "dev-key.pem"))
    chaotic = facts_told(chaotic_stack(seed, tmp_path, monkeypatch, overlap))

    assert sum(calm.values()) > orders, "the story published nothing to compare"
    assert {k: (calm[k], chaotic[k]) for k in calm | chaotic if calm[k] != chaotic[k]} == {}
