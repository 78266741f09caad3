"""Orders per second through the whole system, embedded, and checkout-to-delivered latency.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/orders_embedded.py --orders 1000``).
It plays the demo's story (:mod:`scenario.story`) on the embedded stack: every
actor call goes through a BFF's HTTP API and every third-party call through the
gateway's HTTP client, served in process; orders arrive in waves while earlier
ones are cooked and delivered. It prints:

* the machine's cores and the parameters (one process, so one core is used);
* orders/s: orders that reached a final state per second of wall time, from the
  first wave's arrival to the round in which the last order ended; building the
  stack and seeding are excluded, and there is no warm-up;
* p50/p95 latency (nearest rank) from sending the checkout request to the
  customer's tracking view showing the order delivered, in wall time (the
  customers look at it once a round, after the round's work);
* where the time went: delivering events (every function the orders caused,
  with the gateways' calls to the third parties) versus the actors' own HTTP
  calls to the BFFs, and the events published and deliveries made per order;
* the functions that took the most of it, with deliveries per order and the
  mean time per delivery;
* the floor the HTTP calls alone set: in-process HTTP requests per order (actors to
  BFFs, gateways to third parties) times the cost of a trivial request through the
  same transport and Flask, measured in the same run, and the orders/s that floor
  allows on one core.

It then checks the side effects (:func:`measure.side_effect_failures`): every order
delivered but the one the story's kitchen refuses (cancelled, its payment voided), every
delivered order's payment captured exactly once, and every customer told of each status
once at most and of the final one exactly once. It exits 1 when a check fails; below the
speed target it prints ``BELOW TARGET`` and exits 0.

Target: at least 200 orders/s on one core.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
from measure import header, percentile, side_effect_failures

from scenario.stack import EmbeddedStack
from scenario.story import FINAL, Story
from shared import logs
from shared.http import Session, WsgiTransport
from shared.hub.memory import InMemoryHub
from shared.hub.message import Message

TARGET_ORDERS_PER_S = 200


def main() -> int:
    """Run the benchmark and print its figures; exit 1 when a side-effect check fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--per-round", type=int, default=50, help="orders arriving per round")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logs.configure("text", level="CRITICAL")
    print(header("orders_embedded", vars(args)) + " (one process: one core used)")
    with tempfile.TemporaryDirectory() as tmp:
        stack = EmbeddedStack(dev_key=Path(tmp) / "key.pem")
        checkout: dict[str, float] = {}
        delivered: dict[str, float] = {}
        published = 0

        def observe(project: str, topic: str, message: Message) -> None:
            nonlocal published
            published += 1

        stack.system.hub.observers.append(observe)
        delivering = {"s": 0.0, "deliveries": 0}

        def timed_settle() -> None:
            began = time.perf_counter()
            delivering["deliveries"] += stack.system.run_until_quiet()
            delivering["s"] += time.perf_counter() - began

        stack.settle = timed_settle  # type: ignore[method-assign]
        story = Story(
            stack,
            args.orders,
            args.seed,
            arrivals_per_round=args.per_round,
            on_checkout=checkout.__setitem__,
            on_tracked=lambda order_id, status: record_seen(delivered, order_id, status),
        )
        story.seed_world()
        published = 0
        delivering.update(s=0.0, deliveries=0)
        spent, runs = time_each_function(stack.system.hub)
        http_calls = count_in_process_requests()
        started = time.perf_counter()
        outcome = story.play(max_rounds=10 * args.orders)
        elapsed = time.perf_counter() - started
        http_calls_made = http_calls()
        statuses = {order_id: order["status"] for order_id, order in outcome.orders.items()}
        rejected = [outcome.rejected] if outcome.rejected else []
        failures = side_effect_failures(
            statuses, stack.authorizations, stack.notifications(), rejected
        )
        if len(outcome.orders) != args.orders:
            failures.append(f"{len(outcome.orders)} orders placed, {args.orders} asked for")
    print(
        "set-up excluded: building the stack and seeding (restaurants, drivers, customers); "
        "no warm-up: the first wave runs on a cold process"
    )
    latencies = [delivered[o] - checkout[o] for o in delivered]
    ended = sum(1 for status in statuses.values() if status in FINAL)
    rate = ended / elapsed
    print(f"orders:            {len(outcome.orders)} in {elapsed:.2f} s ({outcome.rounds} rounds)")
    print(
        f"  delivered:       {outcome.count('delivered')}, cancelled {outcome.count('cancelled')}"
    )
    print(f"orders/s:          {rate:,.0f} ended (target >= {TARGET_ORDERS_PER_S})")
    if latencies:
        print(
            f"latency checkout->delivered: p50 {percentile(latencies, 50) * 1000:,.0f} ms, "
            f"p95 {percentile(latencies, 95) * 1000:,.0f} ms (wall time, from the checkout "
            "request to the customer's tracking view showing it delivered, which the "
            "customers look at once a round)"
        )
    per_order = max(len(outcome.orders), 1)
    print(
        f"time delivering events: {delivering['s']:.2f} s ({delivering['s'] / elapsed:.0%}), "
        f"{delivering['deliveries'] / per_order:.0f} deliveries and "
        f"{published / per_order:.1f} published events per order; the rest is the actors' "
        "HTTP calls and the story"
    )
    print("most of the delivery time:")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1])[:6]:
        print(
            f"  {seconds / max(delivering['s'], 1e-9):4.0%}  {name:<44} "
            f"{runs[name] / per_order:5.1f}/order, {seconds / runs[name] * 1e6:5.0f} us each"
        )
    trivial_s = trivial_request_seconds()
    floor_s = http_calls_made / per_order * trivial_s
    print(
        f"HTTP floor: {http_calls_made / per_order:.1f} in-process requests per order x "
        f"{trivial_s * 1e6:,.0f} us for a trivial one (same transport and Flask, measured "
        f"now) = {floor_s * 1000:.1f} ms per order: at most {1 / floor_s:,.0f} orders/s "
        "from the HTTP calls alone"
    )
    for failure in failures:
        print(f"FAIL: {failure}")
    verdict = "PASS" if rate >= TARGET_ORDERS_PER_S else "BELOW TARGET"
    print("result:", "FAIL" if failures else verdict)
    return 1 if failures else 0  # a side effect lost or doubled fails; a slow run does not


def record_seen(times: dict[str, float], order_id: str, status: str) -> None:
    """Note when the customer's tracking view first showed ``order_id`` delivered."""
    if status == "delivered":
        times.setdefault(order_id, time.perf_counter())


def time_each_function(hub: InMemoryHub) -> tuple[dict[str, float], Counter[str]]:
    """Seconds spent and deliveries made, by function (subscription), from now on."""
    spent: dict[str, float] = defaultdict(float)
    runs: Counter[str] = Counter()

    def observe(name: str, seconds: float) -> None:
        spent[name] += seconds
        runs[name] += 1

    hub.delivery_observers.append(observe)
    return spent, runs


def count_in_process_requests() -> Callable[[], int]:
    """Count every request served in process from now on; call the result for the count."""
    count = 0
    send = WsgiTransport.send

    def counted(self: WsgiTransport, request: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        return send(self, request, **kwargs)

    WsgiTransport.send = counted  # type: ignore[method-assign]
    return lambda: count


def trivial_request_seconds(requests: int = 2000) -> float:
    """Mean seconds of a JSON POST to a Flask route answering a constant, in process."""
    app = flask.Flask("trivial")
    app.add_url_rule("/", "trivial", lambda: {"ok": True}, methods=["POST"])
    session = Session()
    session.mount("http://trivial.embedded", WsgiTransport(app))
    for _ in range(requests // 10):  # warm up
        session.post("http://trivial.embedded/", json={"orderId": "o-1"})
    began = time.perf_counter()
    for _ in range(requests):
        session.post("http://trivial.embedded/", json={"orderId": "o-1"})
    return (time.perf_counter() - began) / requests


if __name__ == "__main__":
    sys.exit(main())
