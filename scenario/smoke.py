"""``fooddelivery smoke --env dev``: one order through the deployed BFFs, until delivered.

The smoke test is a user's view of a fresh deployment: a restaurant publishes
its menu, a driver goes online, a customer signs up and orders, the kitchen
accepts and cooks, the driver delivers. Every step goes through the public BFF
URLs that ``terraform output`` lists, and waits (polling) for the events to
reach the views it reads. The environment must run with ``auth_mode =
"local-test"``: tokens are minted with the development key whose public half
``deploy``'s README step stored in each project's ``dev-signing-key`` secret.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from scenario.actors import ApiError, CustomerApp, DriverApp, StaffApp, Urls, tokens
from scenario.seed import RESTAURANTS
from shared.auth import DEV_KEY_PATH, LocalIssuer
from shared.deploy import tools
from shared.deploy.command import STATE_BUCKET_ENV, terraform_root
from shared.deploy.tfvars import DeployError

T = TypeVar("T")
BFFS = {
    "browse": ("customer", "browse-bff-api"),
    "account": ("customer", "account-bff-api"),
    "checkout": ("customer", "checkout-bff-api"),
    "tracking": ("customer", "tracking-bff-api"),
    "profile": ("restaurant", "profile-bff-api"),
    "kitchen": ("restaurant", "kitchen-bff-api"),
    "driver": ("delivery", "driver-bff-api"),
}
"""Each app's BFF: (subsystem, function) in ``terraform output endpoints``."""
NOT_YET = frozenset({404, 409, 422})
"""Answers that mean "the views have not caught up yet": poll again."""


def urls_from(outputs: dict[str, Any]) -> Urls:
    """The BFF URLs of a deployed environment, from its Terraform outputs."""
    endpoints = outputs.get("endpoints", {})
    try:
        found = {app: endpoints[sub][fn] for app, (sub, fn) in BFFS.items()}
    except KeyError as missing:
        raise DeployError(f"the environment has no endpoint {missing}: deploy it first") from None
    pos = outputs.get("settings", {}).get("order", {}).get("POS_URL", "")
    return Urls(**found, pos=pos)


def eventually(
    step: str,
    attempt: Callable[[], T | None],
    timeout_s: float,
    poll_s: float,
    settle: Callable[[], None] = lambda: None,
) -> T:
    """Call ``attempt`` until it returns a value; the views fill asynchronously.

    ``settle`` runs before each attempt (the embedded stack processes its events there).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        settle()
        try:
            result = attempt()
        except ApiError as error:
            if error.status not in NOT_YET:
                raise DeployError(f"smoke step {step!r} failed: {error}") from error
            result = None
        if result is not None:
            print(f"  ok  {step}")
            return result
        if time.monotonic() > deadline:
            raise DeployError(f"smoke step {step!r} did not happen within {timeout_s:.0f} s")
        time.sleep(poll_s)


def deliver_one_order(
    urls: Urls,
    issuer: LocalIssuer,
    timeout_s: float = 600,
    poll_s: float = 3,
    *,
    session: requests.Session | None = None,
    settle: Callable[[], None] = lambda: None,
) -> str:
    """Play one order from menu to doorstep; return its id."""
    session, mint, run = session or requests.Session(), tokens(issuer), uuid.uuid4().hex[:8]
    restaurant = next(r for r in RESTAURANTS if r.ordering == "kitchen")
    staff = StaffApp(
        session, urls, mint("staff", f"smoke-staff-{run}", restaurant.id), restaurant.id
    )
    driver = DriverApp(session, urls, mint("driver", f"smoke-driver-{run}"))
    customer = CustomerApp(session, urls, mint("customer", f"smoke-customer-{run}"))

    def wait(step: str, attempt: Callable[[], T | None]) -> T:
        return eventually(step, attempt, timeout_s, poll_s, settle)

    staff.publish(restaurant.profile(), restaurant.menu())
    driver.sign_up("Smoke Driver")
    driver.go_online(restaurant.lat, restaurant.lng)
    customer.sign_up(
        "Smoke Customer",
        {**restaurant.profile()["address"], "street": "Smoke Lane 1"},
        "pm_card_visa",
    )
    wait("menu reaches the customer", lambda: customer.menu(restaurant.id) or None)
    dish = restaurant.menu()[0]["id"]
    order_id = wait("checkout", lambda: customer.order(restaurant.id, [(dish, 1)]))
    wait("kitchen sees the order", lambda: _ticket(staff, "new", order_id))
    staff.accept(order_id, prep_minutes=10)
    wait("kitchen accepted", lambda: _ticket(staff, "accepted", order_id))
    staff.ready(order_id)
    offer = wait("driver gets an offer", lambda: next(iter(driver.offers()), None))
    delivery_id: str = offer["deliveryId"]
    driver.accept(offer["offerId"])
    wait("delivery assigned", lambda: _delivery(driver, delivery_id, "assigned"))
    driver.picked_up(delivery_id)
    wait("delivery picked up", lambda: _delivery(driver, delivery_id, "picked-up"))
    driver.delivered(delivery_id)
    wait("customer sees it delivered", lambda: _tracked(customer, order_id, "delivered"))
    return order_id


def _ticket(staff: StaffApp, status: str, order_id: str) -> bool | None:
    return True if any(t["id"] == order_id for t in staff.queue(status)) else None


def _delivery(driver: DriverApp, delivery_id: str, status: str) -> bool | None:
    delivery = driver.delivery(delivery_id)
    return True if delivery is not None and delivery["status"] == status else None


def _tracked(customer: CustomerApp, order_id: str, status: str) -> bool | None:
    return True if customer.track(order_id)["status"] == status else None


def run(args: argparse.Namespace, shell: tools.Shell | None = None) -> int:
    """Read the environment's URLs, then deliver one order through them."""
    shell = shell or tools.Shell()
    root = terraform_root(args)
    tools.preflight(shell)
    tools.check(shell, root.init(), tools.INIT_HINT)
    urls = urls_from(tools.outputs(shell, root))
    key = Path(os.environ.get("FOODDELIVERY_DEV_KEY", DEV_KEY_PATH))
    if not key.is_file():
        raise DeployError(f"no development key at {key}: smoke needs auth_mode = local-test")
    print(f"smoke test of {args.env}: one order through {urls.checkout}")
    order_id = deliver_one_order(urls, LocalIssuer.from_file(key), args.timeout)
    print(f"smoke test of {args.env}: order {order_id} delivered")
    return 0


def register(commands: Any) -> None:
    """Add ``smoke`` to the ``fooddelivery`` command."""
    parser = commands.add_parser(
        "smoke", help="place one order through a deployed environment and wait for delivery"
    )
    parser.add_argument("--env", required=True, help="environment under terraform/environments")
    parser.add_argument(
        "--state-bucket", help=f"GCS bucket of the Terraform state (or {STATE_BUCKET_ENV})"
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per step")
    parser.set_defaults(run=run)
