"""The demo story's actors: what they do when the system answers differently than usual."""

from __future__ import annotations

from scenario.actors import DriverApp
from scenario.stack import EmbeddedStack
from scenario.story import Story


def test_a_driver_whose_offer_ran_out_before_they_answered_takes_the_next_one(
    tmp_path, monkeypatch
):
    stack = EmbeddedStack(tmp_path / "dev-key.pem")
    late: list[str] = []
    accept = DriverApp.accept

    def accept_too_late(app: DriverApp, offer_id: str) -> None:
        if not late:  # the driver looks away from the app until the first offer expired
            late.append(offer_id)
            stack.advance(5 * 60_000)
            stack.settle()
        accept(app, offer_id)

    monkeypatch.setattr(DriverApp, "accept", accept_too_late)
    try:
        outcome = Story(stack, orders=2, seed=7).run(max_rounds=20)
    finally:
        stack.close()

    assert late
    assert sorted(o["status"] for o in outcome.orders.values()) == ["cancelled", "delivered"]
