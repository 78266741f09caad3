"""``fooddelivery demo`` for the kit's sample: checkouts through both subsystems."""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

from shared import logs
from shared.clock import ManualClock
from shared.runtime.embedded import EmbeddedSystem
from shared.sample import alpha, beta
from shared.timeline import Timeline


def run(args: argparse.Namespace) -> int:
    """Drive ``args.orders`` checkouts and print the timeline and a summary."""
    logs.configure("text", level="DEBUG" if args.verbose else "CRITICAL", stream=sys.stderr)
    rng = random.Random(args.seed)
    clock = ManualClock()
    system = EmbeddedSystem([alpha.APP, beta.APP], clock=clock)
    timeline = Timeline()
    system.hub.observers.append(timeline.observe)
    client = alpha.api(system.ports["alpha"]).test_client()
    for n in range(args.orders):
        items = rng.sample(["book", "lamp", "mug", "pen", "forbidden"], k=rng.randint(1, 2))
        client.post(f"/carts/c{n}/checkout", json={"items": items})
        clock.advance(rng.randint(100, 2000))
        system.run_until_quiet()
    print("The kit's sample flow (alpha -> beta -> alpha), embedded:")
    for line in timeline.lines():
        print(" ", line)
    carts = system.stores["alpha"].query("carts")
    shipped = sum(1 for c in carts if c.data.get("status") == "shipped")
    faults: list[dict[str, Any]] = system.faults("alpha") + system.faults("beta")
    print(
        f"\n{shipped} of {len(carts)} carts shipped; events per subsystem: "
        f"{dict(timeline.counts())}; faults: {len(faults)}"
    )
    for fault in faults:
        print(f"  fault {fault['function']}: {fault['error']['message']}")
    return 0


def register(commands: Any) -> None:
    """Add the ``demo`` command."""
    parser = commands.add_parser("demo", help="run the kit's sample flow in one process")
    parser.add_argument("--orders", type=int, default=5, help="checkouts to drive")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--verbose", action="store_true", help="show every function's log lines")
    parser.set_defaults(run=run)
