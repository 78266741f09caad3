"""The demo story's actors: what they do when the system answers differently than usual."""

from __future__ import annotations

from scenario.actors import DriverApp
from scenario.stack import EmbeddedStack
from scenario.story import ROUNDS_IN_FLIGHT, Outcome, Story


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


def delivered_but_the_rejected(story: Story, outcome: Outcome) -> bool:
    """Every order of the story was placed and delivered, but one the kitchen refused (none
    lacked a driver)."""
    ended = {(o["status"], o["reason"]) for o in outcome.orders.values()}
    return (
        len(outcome.orders) == story.orders  # else it holds of fewer orders, or of none
        and ended <= {("delivered", None), ("cancelled", "rejected")}
        and outcome.count("delivered") >= len(outcome.orders) - 1
    )


def _answer_held_back_until_the_offer_was_withdrawn(stack: EmbeddedStack, monkeypatch) -> list[str]:
    """The first accept gets through to the driver's app, but dispatch hears of it only after
    withdrawing the offer as run out (the event carrying the answer was delivered late)."""
    held: list[str] = []
    accept = DriverApp.accept

    def accept_heard_late(app: DriverApp, offer_id: str) -> None:
        accept(app, offer_id)
        if not held:
            held.append(offer_id)
            stack.clock.advance(3 * 60_000)  # past the offer's expiry and its grace
            stack.system.tick()  # dispatch's sweep runs before the answer's event arrives

    monkeypatch.setattr(DriverApp, "accept", accept_heard_late)
    return held


def test_a_driver_whose_accepted_offer_went_to_another_driver_goes_back_to_the_offers(
    tmp_path, monkeypatch
):
    stack = EmbeddedStack(tmp_path / "dev-key.pem")
    held = _answer_held_back_until_the_offer_was_withdrawn(stack, monkeypatch)
    story = Story(stack, orders=2, seed=7)
    try:
        outcome = story.run(max_rounds=20)
    finally:
        stack.close()

    assert held
    assert delivered_but_the_rejected(story, outcome)
    assert not any(story.carrying.values())  # nobody waits for a delivery that is not theirs


def test_a_driver_whose_accepted_offer_was_withdrawn_takes_it_when_offered_again(
    tmp_path, monkeypatch
):
    stack = EmbeddedStack(tmp_path / "dev-key.pem")
    held = _answer_held_back_until_the_offer_was_withdrawn(stack, monkeypatch)
    story = Story(stack, orders=2, seed=7)
    story.drivers = story.drivers[:2]
    offers = DriverApp.offers
    # The other driver never looks: the delivery they let run out comes back to the first,
    # whose app still shows it as not assigned to them (404).
    monkeypatch.setattr(
        DriverApp, "offers", lambda app: [] if app is story.drivers[1] else offers(app)
    )
    try:
        outcome = story.run(max_rounds=20)
    finally:
        stack.close()

    assert held
    assert delivered_but_the_rejected(story, outcome)


def test_a_driver_the_platform_took_offline_goes_online_again(tmp_path, monkeypatch):
    stack = EmbeddedStack(tmp_path / "dev-key.pem")
    offers = DriverApp.offers
    back_at = stack.clock.now_ms() + 12 * 60_000

    def in_the_pocket(app: DriverApp) -> list[dict]:
        if stack.clock.now_ms() < back_at:  # the phone is in the pocket: offers run out
            return []
        return offers(app)

    monkeypatch.setattr(DriverApp, "offers", in_the_pocket)
    story = Story(stack, orders=2, seed=7)
    story.drivers = story.drivers[:1]
    try:
        outcome = story.run(max_rounds=20)
        pushed = [m for m in stack.notifications() if m["title"] == "You are offline"]
    finally:
        stack.close()

    assert len(pushed) == 1  # the platform did take them offline
    assert delivered_but_the_rejected(story, outcome)


def test_orders_arriving_round_after_round_need_drivers_for_those_in_flight_only(tmp_path):
    # a fleet growing with the whole run would crowd the city: every dispatch search and
    # every round of drivers looking at their apps would cost more the longer the run
    stack = EmbeddedStack(tmp_path / "dev-key.pem")
    story = Story(stack, orders=90, seed=7, arrivals_per_round=5)
    try:
        outcome = story.run(max_rounds=60)
    finally:
        stack.close()

    assert len(story.drivers) == 5 * ROUNDS_IN_FLIGHT // 2 < 90 // 2
    assert len(outcome.orders) == 90
    assert delivered_but_the_rejected(story, outcome)  # and none waited past its driver deadline


def test_on_a_stack_played_on_before_the_kitchen_refuses_one_of_the_storys_own_orders(
    tmp_path, capsys
):
    # `dev --scenario --attach` again after an interrupted run: the kitchen still shows an
    # order nobody answered. Refusing it (it is no order of this run) left the story without
    # its refusal, and the report failed looking the refused order up among the run's orders.
    from scenario.actors import CustomerApp, tokens
    from scenario.demo import report
    from shared.timeline import Timeline

    stack = EmbeddedStack(tmp_path / "dev-key.pem")
    story = Story(stack, orders=2, seed=7)
    try:
        story.seed_world()
        earlier = CustomerApp(stack.session, stack.urls, tokens(stack.issuer)("customer", "early"))
        address = {"street": "Torstraße 3", "city": "Berlin", "postcode": "10115"}
        earlier.sign_up("Early", {**address, "lat": 52.52, "lng": 13.40}, "pm_card_visa")
        stack.settle()
        earlier.fill_cart("trattoria-roma", [("margherita", 1)])
        left_over = earlier.checkout("checkout-left-over")
        stack.settle()
        outcome = story.play(max_rounds=20)
        report(stack, Timeline(), outcome, [], "none")
        left_over_status = earlier.track(left_over)["status"]
    finally:
        stack.close()

    assert outcome.rejected in outcome.orders
    assert delivered_but_the_rejected(story, outcome)
    assert outcome.count("cancelled") == 1
    assert left_over_status == "delivered"  # the staff took it, as they take every other
    assert "2 placed, 1 cancelled (rejected), 1 delivered" in capsys.readouterr().out


def test_on_a_stack_played_on_before_drivers_finish_the_deliveries_left_to_them(tmp_path):
    # `dev --scenario --attach` again after a run stopped while every driver carried a
    # delivery: dispatch offers no work to a driver with one, so the new run's orders
    # waited for drivers nobody would free.
    stack = EmbeddedStack(tmp_path / "dev-key.pem")
    try:
        earlier = Story(stack, orders=3, seed=7)
        earlier.seed_world()
        earlier.place_orders(Outcome(), 3)
        for _ in range(10):  # kitchens cook and drivers take offers, but nobody drives
            earlier._kitchens(Outcome())
            earlier._point_of_sale(Outcome())
            stack.advance(60_000)
            stack.settle()
            earlier._answer_offers(Outcome())
            if all(any(d["status"] == "assigned" for d in a.deliveries()) for a in earlier.drivers):
                break
        else:
            raise AssertionError("the earlier run's drivers did not all get a delivery")
        story = Story(stack, orders=2, seed=8)
        outcome = story.run(max_rounds=20)
        left = [d for a in story.drivers for d in a.deliveries() if d["status"] == "assigned"]
    finally:
        stack.close()

    assert len(story.drivers) == len(earlier.drivers)  # the same drivers, by their tokens
    assert delivered_but_the_rejected(story, outcome)
    assert left == []


def test_on_a_stack_played_on_by_a_larger_cast_its_other_drivers_go_offline(tmp_path):
    # `dev --scenario --attach --orders 4` after a run of 40 orders: its drivers beyond this
    # cast stayed online, were offered this run's deliveries and let the offers run out,
    # until an order was cancelled for want of a driver.
    stack = EmbeddedStack(tmp_path / "dev-key.pem")
    try:
        earlier = Story(stack, orders=40, seed=7)
        earlier.seed_world()
        story = Story(stack, orders=4, seed=8)
        outcome = story.run(max_rounds=30)
        others = earlier.drivers[len(story.drivers) :]
        online = [app for app in others if app.profile()["online"]]
    finally:
        stack.close()

    assert len(others) > len(story.drivers)
    assert delivered_but_the_rejected(story, outcome)
    assert online == []
