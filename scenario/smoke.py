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
import math
import os
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, TypeVar

import requests

from scenario.actors import (
    ApiError,
    CustomerApp,
    DriverApp,
    StaffApp,
    Urls,
    checkout_key,
    tokens,
)
from scenario.seed import RESTAURANTS
from shared.auth import LocalIssuer
from shared.auth.local import dev_key_path
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
BUSY = frozenset({429, 502, 503, 504})
"""Answers that mean "the service is busy or starting": poll again."""


class SmokeFailure(DeployError):
    """The deployed system did not do what a user needs (as opposed to a setup problem)."""


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

    A refusal in :data:`NOT_YET` or :data:`BUSY`, or a request that got no answer, is
    tried again, so ``attempt`` must be safe to repeat (a command sends the same
    ``Idempotency-Key`` each time). ``settle`` runs before each attempt (the embedded
    stack processes its events there). Raises :class:`SmokeFailure` naming the step.
    """
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        settle()
        try:
            result = attempt()
        except ApiError as error:
            if error.status not in NOT_YET | BUSY:
                raise SmokeFailure(f"smoke step {step!r} failed: {error}") from error
            result, last = None, str(error)
        except (requests.ConnectionError, requests.Timeout) as error:
            result, last = None, f"no answer: {error}"
        if result is not None:
            print(f"  ok  {step}", flush=True)
            return result
        if time.monotonic() > deadline:
            seen = f" (last answer: {last})" if last else ""
            raise SmokeFailure(f"smoke step {step!r} did not happen within {timeout_s:g} s{seen}")
        time.sleep(poll_s)


def once(step: str, action: Callable[[], object]) -> None:
    """Do ``action`` (one request a user's tap sends); :class:`SmokeFailure` naming the step
    when it is refused or gets no answer."""
    try:
        action()
    except (ApiError, requests.RequestException) as error:
        raise SmokeFailure(f"smoke step {step!r} failed: {error}") from error
    print(f"  ok  {step}", flush=True)


def deliver_one_order(
    urls: Urls,
    issuer: LocalIssuer,
    timeout_s: float = 600,
    poll_s: float = 3,
    *,
    session: requests.Session | None = None,
    settle: Callable[[], None] = lambda: None,
) -> str:
    """Play one order from menu to doorstep; return its id. A session made here is closed
    here."""
    with ExitStack() as owned:
        if session is None:
            session = owned.enter_context(requests.Session())
        return _deliver(urls, issuer, timeout_s, poll_s, session, settle)


def _deliver(
    urls: Urls,
    issuer: LocalIssuer,
    timeout_s: float,
    poll_s: float,
    session: requests.Session,
    settle: Callable[[], None],
) -> str:
    mint, run = tokens(issuer), uuid.uuid4().hex[:8]
    restaurant = next(r for r in RESTAURANTS if r.ordering == "kitchen")
    staff = StaffApp(
        session, urls, mint("staff", f"smoke-staff-{run}", restaurant.id), restaurant.id
    )
    driver = DriverApp(session, urls, mint("driver", f"smoke-driver-{run}"))
    customer = CustomerApp(session, urls, mint("customer", f"smoke-customer-{run}"))

    def wait(step: str, attempt: Callable[[], T | None]) -> T:
        return eventually(step, attempt, timeout_s, poll_s, settle)

    menu = restaurant.menu()
    once("restaurant publishes its menu", lambda: staff.publish(restaurant.profile(), menu))
    once("driver signs up", lambda: driver.sign_up("Smoke Driver"))
    once("driver goes online", lambda: driver.go_online(restaurant.lat, restaurant.lng))
    address = {**restaurant.profile()["address"], "street": "Smoke Lane 1"}
    once("customer signs up", lambda: customer.sign_up("Smoke Customer", address, "pm_card_visa"))
    wait("menu reaches the customer", lambda: customer.menu(restaurant.id) or None)
    lines = [(menu[0]["id"], 1)]
    wait("cart filled", lambda: _done(customer.fill_cart, restaurant.id, lines))
    key = checkout_key()  # every retry the same: a checkout that went through is not repeated
    order_id = wait("checkout", lambda: customer.checkout(key))
    wait("kitchen sees the order", lambda: _ticket(staff, "new", order_id))
    once("kitchen accepts", lambda: staff.accept(order_id, prep_minutes=10))
    wait("kitchen accepted", lambda: _ticket(staff, "accepted", order_id))
    once("kitchen marks it ready", lambda: staff.ready(order_id))
    delivery_id = wait("driver accepts the offer", lambda: _take_offer(driver, order_id))
    wait("delivery assigned", lambda: _delivery(driver, delivery_id, "assigned"))
    once("driver picks it up", lambda: driver.picked_up(delivery_id))
    wait("delivery picked up", lambda: _delivery(driver, delivery_id, "picked-up"))
    once("driver delivers it", lambda: driver.delivered(delivery_id))
    wait("customer sees it delivered", lambda: _tracked(customer, order_id, "delivered"))
    return order_id


def _take_offer(driver: DriverApp, order_id: str) -> str | None:
    """Accept the offer of this order's delivery (not another order's, in a shared
    environment); its delivery id. An offer that ran out meanwhile is refused with 409, and
    the next one is taken."""
    offer = next((o for o in driver.offers() if o["orderId"] == order_id), None)
    if offer is None:
        return None
    driver.accept(offer["offerId"])
    delivery_id: str = offer["deliveryId"]
    return delivery_id


def _done(action: Callable[..., None], *args: Any) -> bool:
    """Run ``action``; True once it went through (a refusal raises)."""
    action(*args)
    return True


def _ticket(staff: StaffApp, status: str, order_id: str) -> bool | None:
    return True if any(t["id"] == order_id for t in staff.queue(status)) else None


def _delivery(driver: DriverApp, delivery_id: str, status: str) -> bool | None:
    delivery = driver.delivery(delivery_id)
    return True if delivery is not None and delivery["status"] == status else None


def _tracked(customer: CustomerApp, order_id: str, status: str) -> bool | None:
    return True if customer.track(order_id)["status"] == status else None


def run(args: argparse.Namespace, shell: tools.Shell | None = None) -> int:
    """Read the environment's URLs, then deliver one order through them: 0 when it was
    delivered, 1 when a step failed (the message names it), 2 when the smoke test cannot
    start (bad options, no deployment, no key)."""
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise DeployError("--timeout must be a number of seconds above 0")
    root = terraform_root(args)
    key = dev_key_path(os.environ.get("FOODDELIVERY_DEV_KEY"))
    if not key.is_file():
        raise DeployError(f"no development key at {key}: smoke needs auth_mode = local-test")
    shell = shell or tools.Shell()
    tools.preflight(shell)
    tools.check(shell, root.init(), tools.INIT_HINT)
    urls = urls_from(tools.outputs(shell, root))
    print(f"smoke test of {args.env}: one order through {urls.checkout}", flush=True)
    try:
        order_id = deliver_one_order(urls, LocalIssuer.from_file(key), args.timeout)
    except SmokeFailure as failure:
        print(f"fooddelivery smoke: {args.env}: {failure}", file=sys.stderr)
        return 1
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
