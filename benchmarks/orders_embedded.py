"""Orders per second through the whole system, embedded, and checkout-to-delivered latency.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/orders_embedded.py --orders 1000``).
It plays the demo's story (:mod:`scenario.story`) on the embedded stack: every
actor call goes through a BFF's HTTP API and every third-party call through the
gateway's HTTP client, served in process; orders arrive in waves while earlier
ones are cooked and delivered. It prints:

* orders/s: orders that reached a final state per second of wall time, seeding
  excluded (one process, so one core);
* p50/p95 latency from the checkout response to the ``delivered`` status event,
  in wall time;
* where the time went: delivering events (every function the orders caused,
  with the gateways' calls to the third parties) versus the actors' own HTTP
  calls to the BFFs, and the events published and deliveries made per order;
* the functions that took the most of it, with deliveries per order and the
  mean time per delivery.

Target: at least 200 orders/s on one core.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from scenario.stack import EmbeddedStack
from scenario.story import Story
from shared import logs
from shared.envelope import Envelope
from shared.hub.memory import InMemoryHub
from shared.hub.message import Message

TARGET_ORDERS_PER_S = 200


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--per-round", type=int, default=50, help="orders arriving per round")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logs.configure("text", level="CRITICAL")
    with tempfile.TemporaryDirectory() as tmp:
        stack = EmbeddedStack(dev_key=Path(tmp) / "key.pem")
        checkout: dict[str, float] = {}
        delivered: dict[str, float] = {}
        published = 0

        def observe(project: str, topic: str, message: Message) -> None:
            nonlocal published
            published += 1
            if (project, topic, message.attributes.get("type")) == (
                "order",
                "external",
                "order.order-status-changed",
            ):
                event = Envelope.from_bytes(message.data)
                if event.body["status"] == "delivered":
                    delivered.setdefault(event.partition_key, time.perf_counter())

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
            on_checkout=lambda order_id: record_first(checkout, order_id),
        )
        story.seed_world()
        published = 0
        delivering.update(s=0.0, deliveries=0)
        spent, runs = time_each_function(stack.system.hub)
        started = time.perf_counter()
        outcome = story.play(max_rounds=10 * args.orders)
        elapsed = time.perf_counter() - started
    latencies = sorted(delivered[o] - checkout[o] for o in delivered)
    rate = len(outcome.orders) / elapsed
    print(f"orders:            {len(outcome.orders)} in {elapsed:.2f} s ({outcome.rounds} rounds)")
    print(
        f"  delivered:       {outcome.count('delivered')}, cancelled {outcome.count('cancelled')}"
    )
    print(f"orders/s:          {rate:,.0f} (target >= {TARGET_ORDERS_PER_S})")
    if latencies:
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(
            f"latency checkout->delivered: p50 {statistics.median(latencies) * 1000:,.0f} ms, "
            f"p95 {p95 * 1000:,.0f} ms (wall time)"
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
    print("result:", "PASS" if rate >= TARGET_ORDERS_PER_S else "BELOW TARGET")


def record_first(times: dict[str, float], order_id: str) -> None:
    """Note when ``order_id`` checked out, unless noted already."""
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


if __name__ == "__main__":
    main()
