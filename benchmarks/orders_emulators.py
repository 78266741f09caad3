"""Concurrent orders through every function running on the Google emulators (``make bench-dev``).

Starts a ``fooddelivery dev`` stack in process (free ports, own emulators) or, with
``--attach``, uses the one running from ``--state-dir``. Seeds restaurants, one
customer and one driver per order, then places ``--orders`` orders at once
(``--workers`` threads) while kitchens, point-of-sale terminals and drivers act
as fast as their apps show them work. Everything goes through the BFF HTTP APIs.

It prints:

* the machine's cores and the parameters; starting the stack and seeding are excluded
  from every figure, and there are no warm-up orders;
* orders/s: orders delivered per second of wall time, from the first checkout
  to the tracking view showing the last one delivered;
* p50/p95 latency (nearest rank) from sending each checkout request to its customer's
  tracking view showing the order delivered (polled twice a second once Order
  announced it; target: p95 under 10 s);
* the Firestore write rate the functions achieved (writes counted by the
  hosts while the clock ran) as a ratio of the emulator's batched-write rate,
  measured in the same run, once the orders are done, by committing batches of
  100 documents (one warm-up batch first, not timed);
* the CPU time each process of the stack spent per order (emulators, function
  hosts, fakes, and this script's actors), and what that cost allows on this
  machine's cores: concurrent orders cannot finish sooner than
  ``orders x CPU per order / cores``, whatever the scheduling;

and checks that every order was delivered, every payment captured exactly
once, and every customer told of each status once at most and of the delivery
exactly once (:func:`measure.side_effect_failures`). SIGTERM stops the stack it
started as Ctrl-C does. It exits
non-zero when a check fails; a p95 over the target only prints ``BELOW TARGET``,
as the embedded benchmark does.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import os
import random
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from measure import header, percentile, side_effect_failures, stop_on_sigterm

from devstack.layout import STATE_DIR, Manifest, Ports
from devstack.live import LiveStack, NoStackError, attach
from devstack.stack import DevOptions, DevStack
from scenario.actors import (
    ApiError,
    CustomerApp,
    DriverApp,
    PosTerminal,
    StaffApp,
    checkout_key,
    tokens,
)
from scenario.seed import RESTAURANTS
from shared import logs
from shared.procfs import group_members

TARGET_P95_S = 10.0
BATCH = 100
FINAL = ("delivered", "cancelled")
FULL_ROUND_S = 5.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; ``--state-dir`` made absolute, from the working directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--workers", type=int, default=16, help="actor threads")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for all orders")
    parser.add_argument("--attach", action="store_true", help="use the running stack")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=STATE_DIR,
        help=f"with --attach: the running stack's (default {STATE_DIR})",
    )
    args = parser.parse_args(argv)
    args.state_dir = args.state_dir.resolve()
    return args


def main() -> int:
    """Run the benchmark; exit 1 when a check fails."""
    args = parse_args()
    logs.configure("text", level="WARNING")
    stop_on_sigterm()
    print(header("orders_emulators", vars(args)), flush=True)
    if args.attach:
        try:
            manifest = attach(args.state_dir)
        except NoStackError as error:  # none there, still starting, or part of it down
            print(f"orders_emulators: {error}", file=sys.stderr)
            return 2
        return run(manifest, args)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        stack = DevStack(
            DevOptions(
                ports=Ports(0, 0, 0, {}, {}),
                state_dir=Path(tmp),
                dev_key=Path(tmp) / "dev-key.pem",
                host_logs_to_files=True,
            )
        )
        try:
            manifest = stack.start()
            print(f"stack ready in {time.perf_counter() - started:.1f} s", flush=True)
            return run(manifest, args)
        finally:
            stack.stop()


class Bench:
    """The actors, the orders and their timings."""

    def __init__(self, stack: LiveStack, orders: int, workers: int) -> None:
        self.stack, self.n = stack, orders
        self.pool = concurrent.futures.ThreadPoolExecutor(workers)
        mint, session, urls = tokens(stack.issuer), stack.session, stack.urls
        tag = uuid.uuid4().hex[:6]
        self.staff = {
            r.id: StaffApp(session, urls, mint("staff", f"staff-{r.id}", r.id), r.id)
            for r in RESTAURANTS
        }
        self.pos = PosTerminal(session, urls)
        self.customers = [
            CustomerApp(session, urls, mint("customer", f"bench-{tag}-{n}")) for n in range(orders)
        ]
        self.drivers = [
            DriverApp(session, urls, mint("driver", f"bench-{tag}-{n}")) for n in range(orders)
        ]
        self.driver_by_id = {f"bench-{tag}-{n}": d for n, d in enumerate(self.drivers)}
        self.checkout_sent: dict[str, float] = {}
        """Each order's :func:`time.perf_counter` reading just before its checkout was sent."""
        self.delivered_seen: dict[str, float] = {}
        """When each order's tracking view was first seen delivered (the response's arrival)."""
        self.customer_of: dict[str, CustomerApp] = {}
        self.done = threading.Event()

    def seed(self) -> None:
        for r in RESTAURANTS:
            self.staff[r.id].publish(r.profile(), r.menu())
        rng = random.Random(3)

        def customer(n: int) -> None:
            address = {
                "street": f"Bench {n}",
                "city": "Berlin",
                "postcode": "10115",
                "lat": 52.51 + rng.uniform(-0.02, 0.02),
                "lng": 13.39 + rng.uniform(-0.02, 0.02),
            }
            self.customers[n].sign_up(f"Bench {n}", address, "pm_card_visa")

        def driver(n: int) -> None:
            self.drivers[n].sign_up(f"Driver {n}")
            self.drivers[n].go_online(52.52 + rng.uniform(-0.01, 0.01), 13.40)

        list(self.pool.map(customer, range(self.n)))
        list(self.pool.map(driver, range(self.n)))
        self.stack.settle()

    def checkout(self, n: int) -> None:
        restaurant = RESTAURANTS[n % len(RESTAURANTS)]
        dish = restaurant.dishes[n % len(restaurant.dishes)][0]
        self.customers[n].fill_cart(restaurant.id, [(dish, 1)])
        sent = time.perf_counter()
        order_id = self.customers[n].checkout(checkout_key())
        self.checkout_sent[order_id] = sent
        self.customer_of[order_id] = self.customers[n]

    def actors(self) -> list[threading.Thread]:
        """One thread per kitchen and one for the point of sale: each acts on its own,
        as real kitchens do, so one busy kitchen never holds up another."""
        loops: list[Callable[[], None]] = [
            functools.partial(self._kitchen_once, staff) for staff in self.staff.values()
        ]
        loops.append(self._pos_once)
        threads = [threading.Thread(target=self._act, args=(loop,), daemon=True) for loop in loops]
        threads.append(threading.Thread(target=self.dispatch, daemon=True))
        return threads

    def _act(self, step: Callable[[], None]) -> None:
        while not self.done.is_set():
            _tolerant(step)
            time.sleep(0.3)

    @staticmethod
    def _kitchen_once(staff: StaffApp) -> None:
        for ticket in staff.queue("new"):
            staff.accept(ticket["id"], 10)
        for ticket in staff.queue("accepted"):
            staff.ready(ticket["id"])

    def _pos_once(self) -> None:
        for order in self.pos.received():
            self.pos.accept(order["orderId"], 10)
        for order in self.pos.accepted():
            self.pos.ready(order["orderId"])

    def dispatch(self) -> None:
        """Drivers act on the offers pushed to their phones (the push provider's outbox)."""
        handled: set[str] = set()
        while not self.done.is_set():
            for message in self.stack.driver_messages():
                data = message.get("data") or {}
                if "expiresAt" in data and message["id"] not in handled:
                    handled.add(message["id"])
                    driver = self.driver_by_id.get(message["to"]["id"])
                    if driver is not None:  # each driver has their own phone: a thread
                        threading.Thread(
                            target=_tolerant,
                            args=(lambda d=driver, m=data: _deliver(d, m),),
                            daemon=True,  # a failed or interrupted run must not wait for them
                        ).start()
            time.sleep(0.2)

    def statuses(self, orders: list[str] | None = None) -> dict[str, str]:
        """What the customers' tracking shows for ``orders`` (default: every order)."""

        def track(order_id: str) -> tuple[str, str]:
            try:
                status = self.customer_of[order_id].track(order_id)["status"]
            except ApiError as e:  # the tracking view is built from events: not there yet
                if e.status != 404:
                    raise
                return order_id, "unknown"
            if status == "delivered":
                self.delivered_seen.setdefault(order_id, time.perf_counter())
            return order_id, status

        wanted = list(self.customer_of) if orders is None else orders
        return dict(self.pool.map(track, wanted))

    def wait_final(self, timeout_s: float) -> dict[str, str]:
        """Wait until every order's tracking shows it delivered or cancelled.

        Only orders the Order subsystem announced delivered are tracked on each
        round, the others every ``FULL_ROUND_S`` (a cancellation): polling every
        order's tracking twice a second would itself load the customer host.
        """
        statuses: dict[str, str] = {}
        order_host = self.stack.manifest.hosts["order"]
        after, announced = self.stack.cursor().get("order", 0), set()
        deadline, full_round = time.monotonic() + timeout_s, 0.0
        while time.monotonic() < deadline:
            response = self.stack.session.get(f"{order_host}/_dev/events?after={after}", timeout=30)
            for e in response.json()["events"]:
                after = max(after, e["seq"])
                if e["type"] == "order-delivered":
                    announced.add(e["key"])
            open_orders = [o for o in self.customer_of if statuses.get(o) not in FINAL]
            if time.monotonic() >= full_round:
                full_round = time.monotonic() + FULL_ROUND_S
                statuses.update(self.statuses(open_orders))
            else:
                statuses.update(self.statuses([o for o in open_orders if o in announced]))
            if all(statuses.get(o) in FINAL for o in self.customer_of):
                break
            time.sleep(0.5)
        return statuses


def run(manifest: Manifest, args: argparse.Namespace) -> int:
    stack = LiveStack(manifest)
    bench = Bench(stack, args.orders, args.workers)
    seeded = time.perf_counter()
    bench.seed()
    print(f"seeded {args.orders} customers and drivers in {time.perf_counter() - seeded:.1f} s")
    print("set-up excluded: starting the stack and seeding; no warm-up orders")
    writes_before = _writes(stack)
    cpu_before = cpu_seconds(manifest.groups)
    started = time.perf_counter()
    actors = bench.actors()
    for thread in actors:
        thread.start()
    list(bench.pool.map(bench.checkout, range(args.orders)))
    statuses = bench.wait_final(args.timeout)
    elapsed = time.perf_counter() - started
    writes = _writes(stack) - writes_before  # at the moment the clock stopped
    cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_seconds(manifest.groups).items()}
    bench.done.set()
    for thread in actors:
        thread.join(30)
    stack.settle()
    slow = True  # until a p95 says otherwise
    latencies = [t - bench.checkout_sent[o] for o, t in bench.delivered_seen.items()]
    batched = batched_write_rate(manifest)
    bench.pool.shutdown()

    failures = check(stack, statuses)
    delivered = Counter(statuses.values()).get("delivered", 0)
    print(f"orders:            {args.orders} in {elapsed:.1f} s")
    print(f"  delivered:       {delivered}")
    print(f"orders/s:          {delivered / elapsed:.2f} delivered")
    if latencies:
        p95 = percentile(latencies, 95)
        print(
            f"checkout->delivered: p50 {percentile(latencies, 50):.2f} s, p95 {p95:.2f} s "
            f"(target < {TARGET_P95_S:.0f} s; from sending the checkout request to the "
            "customer's tracking view showing it delivered)"
        )
        slow = p95 >= TARGET_P95_S
    rate = writes / elapsed
    print(
        f"firestore writes:  {writes} by the functions, {rate:,.0f}/s = "
        f"{rate / batched:.1%} of the emulator's batched rate ({batched:,.0f}/s, measured "
        "after the run on the idle stack's emulator, a fresh project, warm-up batch excluded)"
    )
    print_cpu(cpu, args.orders)
    for failure in failures:
        print(f"FAIL: {failure}")
    print("result:", "FAIL" if failures else "BELOW TARGET" if slow else "PASS")
    return 1 if failures else 0  # a side effect lost or doubled fails; a slow run does not


def check(stack: LiveStack, statuses: dict[str, str]) -> list[str]:
    """Every order delivered, captured once, one notification per status change."""
    return side_effect_failures(statuses, stack.authorizations, stack.notifications())


def _deliver(
    driver: DriverApp, offer: dict[str, Any], every_s: float = 0.3, shows_within_s: float = 30.0
) -> None:
    """Take the offered delivery, pick the order up and hand it over.

    The push can reach the phone before the driver's app knows the offer (two functions
    react to the same event): the app answers 404 until it does, so that is tried again
    for ``shows_within_s``; given up at once, the offer would run out untaken.
    """
    shown_by = time.monotonic() + shows_within_s
    while True:
        try:
            driver.accept(offer["offerId"])  # the push names the offer it is about
            break
        except ApiError as e:
            if e.status != 404 or time.monotonic() >= shown_by:
                raise
        time.sleep(every_s)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        mine = {d["deliveryId"]: d for d in driver.deliveries()}.get(offer["deliveryId"])
        if mine is not None and mine["status"] == "assigned":
            driver.picked_up(offer["deliveryId"])
        elif mine is not None and mine["status"] == "picked-up":
            driver.delivered(offer["deliveryId"])
            return
        time.sleep(every_s)


def _tolerant(step: Any) -> None:
    """Run one actor step; a refused call (an offer taken meanwhile, a race) is retried later."""
    try:
        step()
    except ApiError as e:
        if e.status >= 500:
            print(f"  server error: {e}", file=sys.stderr)


def cpu_seconds(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process group, and by these actors.

    Only live processes count: a host restarted between two readings loses its
    earlier time, so the difference undercounts it.
    """
    tick = os.sysconf("SC_CLK_TCK")
    name_of = {pgid: name for name, pgid in groups.items()}
    used: dict[str, float] = defaultdict(float)
    for pid, pgid, _ in group_members(list(groups.values())):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        used[name_of[pgid]] += (int(fields[11]) + int(fields[12])) / tick
    own = resource.getrusage(resource.RUSAGE_SELF)
    used["actors (this script)"] = own.ru_utime + own.ru_stime
    return used


def print_cpu(cpu: dict[str, float], orders: int) -> None:
    """CPU per order by process, and the least time ``orders`` concurrent orders can take."""
    cores = os.cpu_count() or 1
    total = sum(cpu.values()) / orders
    ranked = sorted(cpu.items(), key=lambda item: -item[1])
    parts = ", ".join(f"{name} {s / orders:.2f}" for name, s in ranked if s > 0)
    print(f"cpu per order:     {total:.2f} s ({parts})")
    print(
        f"  at that cost {cores} cores finish at most {cores / total:.2f} orders/s: "
        f"{orders} concurrent orders need >= {orders * total / cores:.0f} s"
    )


def _writes(stack: LiveStack) -> int:
    return sum(s["writes"] for s in stack.stats().values() if s)


def batched_write_rate(manifest: Manifest, docs: int = 2000) -> float:
    """Documents per second the Firestore emulator takes in batches of 100, one committer."""
    from google.cloud import firestore

    os.environ["FIRESTORE_EMULATOR_HOST"] = manifest.env["FIRESTORE_EMULATOR_HOST"]
    client = firestore.Client(project=f"bench-{uuid.uuid4().hex[:6]}")
    collection = client.collection("batched")
    payload: dict[str, Any] = {"status": "placed", "items": [{"id": "x", "quantity": 1}]}
    warm_up = client.batch()  # opens the channel; not timed
    for n in range(BATCH):
        warm_up.set(collection.document(f"warm-{n}"), {**payload, "n": n})
    warm_up.commit()
    started = time.perf_counter()
    for first in range(0, docs, BATCH):
        batch = client.batch()
        for n in range(first, min(first + BATCH, docs)):
            batch.set(collection.document(f"d{n}"), {**payload, "n": n})
        batch.commit()
    rate = docs / (time.perf_counter() - started)
    client.close()  # type: ignore[no-untyped-call]
    return rate


if __name__ == "__main__":
    sys.exit(main())
