"""The demo scenario: restaurants open, customers order, kitchens cook, drivers deliver.

Everything happens through the actors' apps (:mod:`scenario.actors`), so the
same story runs on the embedded stack and on a running emulator stack. The
story works in rounds, as a day in a busy city would look from above: every
round each actor looks at their app and does what it shows, then time passes.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from scenario.actors import (
    ApiError,
    CustomerApp,
    DriverApp,
    PosTerminal,
    StaffApp,
    Urls,
    checkout_key,
    tokens,
)
from scenario.seed import CUSTOMER_NAMES, DRIVER_NAMES, RESTAURANTS, address_near
from shared.auth import LocalIssuer

FINAL = frozenset({"delivered", "cancelled", "payment-declined"})
REJECTION = "Out of fresh basil tonight"

ROUNDS_IN_FLIGHT = 8
"""Rounds an order stays open at most, from its checkout to its delivery (about three), with
room to spare: orders arriving round after round need drivers for this many rounds' arrivals,
not for the whole run's (a fleet growing with the run would crowd the city and slow every
dispatch search and every round of drivers looking at their apps)."""


class StoryStopped(Exception):
    """The story cannot go on: what it needs is not there (no restaurant open to order from)."""


class Stack(Protocol):
    """What the story needs from the system it drives."""

    urls: Urls
    issuer: LocalIssuer

    @property
    def session(self) -> requests.Session:
        """The HTTP session the apps use."""

    def settle(self) -> None:
        """Wait until the system has processed what the actors did."""

    def advance(self, ms: int) -> None:
        """Let time pass (a no-op where the clock is real)."""


@dataclass
class Outcome:
    """What happened to the orders, by id."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: str | None = None
    reoffered: str | None = None
    """The order whose first offer a driver let run out (with :attr:`Story.missed_offer`)."""
    rounds: int = 0

    def count(self, status: str) -> int:
        """Orders that ended in ``status``."""
        return sum(1 for o in self.orders.values() if o["status"] == status)

    def miscarried(self) -> list[str]:
        """The orders that ended otherwise than the story means: the one the kitchen refused
        not cancelled, or another not delivered (cancelled for want of a driver, say)."""
        return [
            order_id
            for order_id, o in self.orders.items()
            if o["status"] in FINAL
            and o["status"] != ("cancelled" if order_id == self.rejected else "delivered")
        ]


@dataclass
class Story:
    """The scenario's cast, built from a stack; :meth:`run` plays it."""

    stack: Stack
    orders: int
    seed: int = 7
    progress: Callable[[Outcome], None] | None = None
    arrivals_per_round: int | None = None
    """``None``: every order is placed before the first round; else this many per round."""
    on_checkout: Callable[[str, float], None] | None = None
    """Called with each order id as soon as its checkout succeeded, and the
    :func:`time.perf_counter` reading taken just before its checkout request was sent (for
    latency figures)."""
    on_tracked: Callable[[str, str], None] | None = None
    """Called with an order id and its status each time the customer's tracking view shows
    the order a status it did not show before (for latency figures)."""
    missed_offer: bool = False
    """The first driver offered a delivery lets the offer run out (their phone is in their
    pocket), so dispatch offers it again; only where time can be advanced at will (the
    embedded stack), as the offer runs out minutes later."""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        mint, session, urls = tokens(self.stack.issuer), self.stack.session, self.stack.urls
        self.staff = {
            r.id: StaffApp(session, urls, mint("staff", f"staff-{r.id}", r.id), r.id)
            for r in RESTAURANTS
        }
        self.pos = PosTerminal(session, urls)
        # A driver for every two orders in flight, so none waits past its driver deadline: all
        # of them at once, or the arrivals of the rounds an order stays open.
        in_flight = self.orders
        if self.arrivals_per_round is not None:
            in_flight = min(in_flight, ROUNDS_IN_FLIGHT * self.arrivals_per_round)
        drivers = max(3, (in_flight + 1) // 2)
        self.drivers = [self._driver_app(n) for n in range(drivers)]
        self.carrying: dict[int, str | None] = {}
        """The delivery each driver took on (by ``id(driver)``)."""
        self.assigned: set[int] = set()
        """The drivers whose app shows the delivery they took on as assigned to them; the
        others are still free as far as dispatch knows, and look at their offers."""
        self.ignored: str | None = None
        """The offer let run out (with :attr:`missed_offer`), by ``offerId``."""
        customers = min(max(self.orders, 1), 200)
        self.customers = [
            CustomerApp(session, urls, mint("customer", f"customer-{n}")) for n in range(customers)
        ]

    def run(self, max_rounds: int = 200) -> Outcome:
        """Seed the world, then :meth:`play`."""
        self.seed_world()
        return self.play(max_rounds)

    def play(self, max_rounds: int = 200) -> Outcome:
        """Place the orders and play rounds until every order has ended."""
        outcome = Outcome()
        per_round = self.arrivals_per_round or self.orders
        while outcome.rounds < max_rounds and not self._done(outcome):
            self.place_orders(outcome, min(per_round, self.orders - len(outcome.orders)))
            self.play_round(outcome)
            if self.progress:
                self.progress(outcome)
        return outcome

    def seed_world(self) -> None:
        """Restaurants publish profiles and menus; drivers and customers sign up (a driver an
        earlier run on this stack left with a delivery carries on with it, and those of an
        earlier, larger cast go offline)."""
        for restaurant in RESTAURANTS:
            self.staff[restaurant.id].publish(restaurant.profile(), restaurant.menu())
        for n, driver in enumerate(self.drivers):
            driver.sign_up(DRIVER_NAMES[n % len(DRIVER_NAMES)], self.rng.choice(["bike", "car"]))
            driver.go_online(*address_near(self.rng, 52.52, 13.405, spread=0.02)[1])
            self._take_up_earlier(driver)
        self._end_earlier_shifts()
        for n, customer in enumerate(self.customers):
            address, _ = address_near(self.rng, 52.51, 13.39, spread=0.03)
            customer.sign_up(CUSTOMER_NAMES[n % len(CUSTOMER_NAMES)], address, "pm_card_visa")
        self.stack.settle()

    def place_orders(self, outcome: Outcome, count: int) -> None:
        """``count`` customers browse a restaurant's menu and order from it."""
        for _ in range(count):
            n = len(outcome.orders)
            customer = self.customers[n % len(self.customers)]
            restaurant = self.rng.choice(self._open_restaurants(customer))
            menu = [item for item in customer.menu(restaurant["id"]) if item["available"]]
            picks = self.rng.sample(menu, k=min(len(menu), self.rng.randint(1, 3)))
            customer.fill_cart(
                restaurant["id"], [(item["id"], self.rng.randint(1, 2)) for item in picks]
            )
            sent = time.perf_counter()
            order_id = customer.checkout(checkout_key())
            outcome.orders[order_id] = {"customer": customer, "status": "pending-payment"}
            if self.on_checkout:
                self.on_checkout(order_id, sent)
            if n % 50 == 49:
                self.stack.settle()
                if self.progress and not outcome.rounds:
                    self.progress(outcome)  # placing many orders takes a while
        self.stack.settle()

    def _open_restaurants(self, customer: CustomerApp) -> list[dict[str, Any]]:
        """The restaurants ``customer`` can order from: never none (:class:`StoryStopped`)."""
        found = customer.restaurants()
        if not found:
            raise StoryStopped(
                "no restaurant is open to order from: the browse view has not shown the"
                " restaurants published (is the stack still catching up?)"
            )
        return found

    def play_round(self, outcome: Outcome) -> None:
        """Every actor acts on what their app shows, while a few minutes pass."""
        outcome.rounds += 1
        self.stack.advance(self.rng.randint(1, 2) * 60_000)
        self._kitchens(outcome)
        self._point_of_sale(outcome)
        self.stack.settle()
        self._back_online()
        self._answer_offers(outcome)
        self.stack.advance(self.rng.randint(2, 4) * 60_000)
        for driver in self.drivers:
            self._drive(driver)
        self.stack.settle()
        self._answer_offers(outcome)
        for order_id, order in outcome.orders.items():
            if order["status"] not in FINAL:
                view = order["customer"].track(order_id)
                if self.on_tracked and view["status"] != order["status"]:
                    self.on_tracked(order_id, view["status"])
                order["status"], order["reason"] = view["status"], view["reason"]

    def _kitchens(self, outcome: Outcome) -> None:
        for staff in self.staff.values():
            for ticket in staff.queue("accepted"):
                staff.ready(ticket["id"])
            for ticket in staff.queue("new"):
                if self._refuses(outcome, ticket["id"]):
                    outcome.rejected = ticket["id"]
                    staff.reject(ticket["id"], REJECTION)
                else:
                    staff.accept(ticket["id"], self.rng.randint(10, 25))

    @staticmethod
    def _refuses(outcome: Outcome, order_id: str) -> bool:
        """Whether the kitchen refuses this order: the first of the story's own it sees (a
        stack played on before may still hold orders nobody answered; those are taken)."""
        return outcome.rejected is None and order_id in outcome.orders

    def _point_of_sale(self, outcome: Outcome) -> None:
        """The restaurant on its own ordering system answers there; it refuses the order the
        story refuses when no kitchen app had one to refuse (every order came to it)."""
        for order in self.pos.accepted():
            self.pos.ready(order["orderId"])
        for order in self.pos.received():
            if self._refuses(outcome, order["orderId"]):
                outcome.rejected = order["orderId"]
                self.pos.reject(order["orderId"], REJECTION)
            else:
                self.pos.accept(order["orderId"], self.rng.randint(15, 30))

    def _back_online(self) -> None:
        """Free drivers the platform took offline (they let offers run out) go online again:
        the push telling them so asks for one tap, and every driver here wants work."""
        went = False
        for driver in self.drivers:
            if id(driver) not in self.assigned and not driver.profile()["online"]:
                driver.go_online_again()
                went = True
        if went:
            self.stack.settle()

    def _answer_offers(self, outcome: Outcome) -> None:
        """Free drivers take the offers their apps show, at once (an offer expires in minutes),
        but the one offer let run out (:attr:`missed_offer`).

        A driver whose accepted offer is not assigned to them yet looks too: dispatch offers
        work to free drivers only, so a new offer means the accepted one went elsewhere.
        """
        answered = True
        while answered:
            answered = False
            for driver in self.drivers:
                if id(driver) in self.assigned:
                    continue
                offers = driver.offers()
                if offers and self.missed_offer and outcome.reoffered is None:
                    self.ignored, outcome.reoffered = offers[0]["offerId"], offers[0]["orderId"]
                if offers and offers[0]["offerId"] == self.ignored:
                    continue
                if offers and self._accept(driver, offers[0]["offerId"]):
                    self.carrying[id(driver)] = offers[0]["deliveryId"]
                    answered = True
            self.stack.settle()

    def _take_up_earlier(self, driver: DriverApp) -> None:
        """The driver carries on with a delivery their app shows active from an earlier run on
        this stack (one stopped halfway): dispatch offers no work to a driver who has one, so
        left alone it would keep them from the story's orders."""
        active = [d for d in driver.deliveries() if d["status"] in ("assigned", "picked-up")]
        if active:
            self.carrying[id(driver)] = active[0]["deliveryId"]
            self.assigned.add(id(driver))

    def _driver_app(self, n: int) -> DriverApp:
        """The app of the story's ``n``-th driver (``driver-<n>``, in every run)."""
        token = tokens(self.stack.issuer)("driver", f"driver-{n}")
        return DriverApp(self.stack.session, self.stack.urls, token)

    def _end_earlier_shifts(self) -> None:
        """Drivers an earlier, larger run on this stack signed up beyond this cast go offline:
        left online, nobody answers the offers they get, and an order can wait for them, one
        offer after another, until it is cancelled for want of a driver. One still holding a
        delivery cannot go offline, but is offered nothing either."""
        for n in itertools.count(len(self.drivers)):
            driver = self._driver_app(n)
            try:
                online = driver.profile()["online"]
            except ApiError as error:
                if error.status != 404:
                    raise
                return  # no profile: no earlier run had this many drivers
            if online:
                try:
                    driver.go_offline()
                except ApiError as error:
                    if error.status != 409:
                        raise

    @staticmethod
    def _accept(driver: DriverApp, offer_id: str) -> bool:
        """Take the offer; False when it ran out or was withdrawn before the answer arrived
        (dispatch offers the delivery again)."""
        try:
            driver.accept(offer_id)
        except ApiError as error:
            if error.status != 409:
                raise
            return False
        return True

    def _drive(self, driver: DriverApp) -> None:
        """Move the driver's delivery one step: collect it, or hand it over."""
        delivery_id = self.carrying.get(id(driver))
        if not delivery_id:
            return
        try:
            delivery = driver.delivery(delivery_id)
        except ApiError as error:
            if error.status != 403:
                raise
            delivery = None  # dispatch gave it to another driver: back to the offers
            self._free(driver)
        status = delivery["status"] if delivery else None
        if status in ("assigned", "picked-up"):
            self.assigned.add(id(driver))
        if status == "assigned":
            if delivery and delivery["pickup"]["ready"]:  # else they wait at the restaurant
                driver.picked_up(delivery_id)
        elif status == "picked-up":
            driver.delivered(delivery_id)
            self._free(driver)
        elif status is not None:  # cancelled; None: not assigned to them (yet)
            self._free(driver)

    def _free(self, driver: DriverApp) -> None:
        self.carrying[id(driver)] = None
        self.assigned.discard(id(driver))

    def _done(self, outcome: Outcome) -> bool:
        return len(outcome.orders) == self.orders and all(
            o["status"] in FINAL for o in outcome.orders.values()
        )
