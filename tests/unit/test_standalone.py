"""StandaloneSubsystem: one subsystem alone, driven and observed as its tests do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shared.auth import LocalIssuer, Principal
from shared.auth.local import dev_verifier
from shared.clock import ManualClock
from shared.envelope import new_event
from shared.runtime.app import Infrastructure, SubsystemApp
from shared.runtime.standalone import StandaloneSubsystem
from shared.sample import alpha
from shared.topology import Role, Schedule, Service, ServiceKind, Subsystem, Topic

if TYPE_CHECKING:
    from pathlib import Path

    from shared.envelope import Envelope
    from shared.runtime.context import Context

START = 1_767_225_600_000
MINUTE = 60_000


def tick(now_ms: int, ctx: Context[Infrastructure]) -> None:
    ctx.emit("ticked", "tick", {"at": now_ms}, partition_key="tick")


TICKING = SubsystemApp(
    Subsystem(
        name="ticking",
        services=(
            Service(
                "clock-control",
                ServiceKind.CONTROL,
                (Schedule("minutely", Role.TRIGGER, every_s=60, handlers=(tick,)),),
            ),
        ),
    ),
    lambda infra: infra,
)
"""A subsystem whose one schedule publishes ``ticked`` every minute; its ports are its
:class:`Infrastructure`, for a test to read its settings."""


@pytest.fixture
def cart() -> StandaloneSubsystem:
    """The kit's sample ``alpha`` alone: ``beta``, which ships its orders, is not there."""
    return StandaloneSubsystem(alpha.APP, clock=ManualClock(START))


def checkout(cart: StandaloneSubsystem, cart_id: str, *items: str) -> None:
    response = cart.api("cart-bff").post(f"/carts/{cart_id}/checkout", json={"items": items})
    assert response.status_code == 202, response.get_json()
    cart.system.run_until_quiet()


def status(cart: StandaloneSubsystem, cart_id: str) -> object:
    """The status of the stored cart (None when there is none)."""
    return (cart.store.get("carts", cart_id) or {}).get("status")


def shipped(cart_id: str) -> Envelope:
    return new_event("beta.order-shipped", "order", {"id": cart_id}, partition_key=cart_id)


def test_what_the_subsystem_publishes_is_observed_per_topic(cart: StandaloneSubsystem) -> None:
    checkout(cart, "c1", "book")

    assert [e.type for e in cart.events_on(Topic.BUS)] == ["cart-checked-out"]
    [submitted] = cart.events_on(Topic.EXTERNAL, "alpha.order-submitted")
    assert submitted.body == {"id": "c1", "items": ["book"]}
    assert cart.events_on(Topic.BUS, "order-shipped") == []
    assert [len(cart.messages[topic]) for topic in Topic] == [1, 0, 1]  # bus, faults, external


def test_an_event_sent_as_a_sister_subsystem_is_delivered_with_what_it_sets_off(
    cart: StandaloneSubsystem,
) -> None:
    checkout(cart, "c1", "book")

    cart.send("beta", shipped("c1"))

    assert [e.type for e in cart.events_on(Topic.BUS)] == ["cart-checked-out", "order-shipped"]
    assert status(cart, "c1") == "shipped"
    assert cart.faults() == []


def test_an_event_sent_as_the_subsystem_itself_goes_on_its_bus(
    cart: StandaloneSubsystem,
) -> None:
    checkout(cart, "c1", "book")

    cart.send("alpha", new_event("order-shipped", "order", {"id": "c1"}, partition_key="c1"))

    assert status(cart, "c1") == "shipped"  # alpha's listener heard it
    assert [e.type for e in cart.events_on(Topic.BUS)] == ["cart-checked-out", "order-shipped"]
    assert len(cart.messages[Topic.EXTERNAL]) == 1


def test_a_refused_event_is_listed_among_the_faults(cart: StandaloneSubsystem) -> None:
    checkout(cart, "c1", "forbidden")

    [fault] = cart.faults()
    assert fault["function"] == "alpha/orders-esg/egress"
    assert "forbidden items cannot be ordered" in fault["error"]["message"]
    assert len(cart.messages[Topic.FAULTS]) == 1
    assert cart.events_on(Topic.EXTERNAL) == []


def test_advancing_moves_the_clock_and_runs_the_schedules_due_meanwhile() -> None:
    ticking = StandaloneSubsystem(TICKING, clock=ManualClock(START))

    ticking.advance(3)

    assert ticking.clock.now_ms() == START + 3 * MINUTE
    ticks = ticking.events_on(Topic.BUS, "ticked")
    assert [e.body["at"] for e in ticks] == [START + n * MINUTE for n in (1, 2, 3)]


def test_a_bearer_token_is_minted_with_the_key_the_subsystem_is_given(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    ticking = StandaloneSubsystem(TICKING, dev_key=key)

    [scheme, token] = ticking.bearer(Principal("customer", "alice"))["Authorization"].split()

    assert ticking.system.ports["ticking"].settings["DEV_KEY"] == str(key)
    assert scheme == "Bearer"
    assert dev_verifier(key).verify(token) == Principal("customer", "alice")


def test_what_it_cannot_do_is_said() -> None:
    ticking = StandaloneSubsystem(TICKING)

    with pytest.raises(ValueError, match="runs without a dev_key"):
        ticking.bearer(Principal("customer", "alice"))
    with pytest.raises(ValueError, match=r"ticking has 0 HTTP endpoints in a service named 'x'"):
        ticking.api("x")
    with pytest.raises(ValueError, match="needs the dev_key it was loaded from"):
        StandaloneSubsystem(TICKING, issuer=LocalIssuer())
