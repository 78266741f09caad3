"""``fooddelivery demo``: orders cross every subsystem in one process.

Seeds restaurants, menus, drivers and customers through the BFF APIs, plays
the story (one restaurant refuses an order, so the payment is voided; one driver
lets an offer run out, so dispatch offers the delivery again), then prints the
timeline of those two orders and a summary.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from typing import Any, Protocol

from scenario.actors import ApiError
from scenario.stack import EmbeddedStack
from scenario.story import FINAL, Outcome, Story, StoryStopped
from shared import ids, logs
from shared.auth.local import dev_key_path
from shared.timeline import Entry, Timeline, causal_order, first_time, labelled

PROGRESS_FROM = 20
"""Above this many orders the demo also prints a progress line a round (on stderr)."""
MAX_ORDERS = 3_000
"""The most orders one run plays. Every order is placed at once, with a driver for every
two, so each costs more the more there are: 65 s for 1,000 orders (measured 2026-11-28)
and about eight minutes for 3,000 on the 2-core development machine. The benchmark
(``benchmarks/orders_embedded.py``) places them in waves instead."""
MAX_ROUNDS = 200
"""Rounds after which the story stops, finished or not."""


def run(args: argparse.Namespace) -> int:
    """Play the story with ``args.orders`` orders and print what happened; 0 when every
    order ended and no function recorded a fault, else 1 (2 for bad options)."""
    if args.orders < 1:
        print("fooddelivery demo: --orders must be at least 1", file=sys.stderr)
        return 2
    if args.orders > MAX_ORDERS:
        print(f"fooddelivery demo: --orders must be at most {MAX_ORDERS:,}", file=sys.stderr)
        return 2
    logs.configure("text", level="DEBUG" if args.verbose else "CRITICAL", stream=sys.stderr)
    try:
        stack = EmbeddedStack(dev_key=dev_key_path(os.environ.get("FOODDELIVERY_DEV_KEY")))
        # Ties in delivery order are broken by id: the seed must draw the ids too.
        ids.seed(args.seed)
        try:
            return _play(stack, args)
        finally:
            ids.seed(None)
    except KeyboardInterrupt:  # the command line exits with its code for Ctrl-C
        sys.stdout.flush()  # what was printed first, where stdout and stderr share a file
        print("fooddelivery demo: interrupted", file=sys.stderr)
        raise


def _play(stack: EmbeddedStack, args: argparse.Namespace) -> int:
    timeline = Timeline()
    stack.system.hub.observers.append(timeline.observe)
    show_progress = args.orders > PROGRESS_FROM
    # With --verbose the functions' log lines share the terminal: no line is rewritten.
    rewrite = sys.stderr.isatty() and not args.verbose
    line_open = False  # a progress line waits to be ended (once one was rewritten)

    def show(outcome: Outcome) -> None:
        nonlocal line_open
        line_open = rewrite
        progress(outcome, rewrite=rewrite)

    story = Story(stack, args.orders, args.seed, show if show_progress else None, missed_offer=True)
    # Flushed, as is the report before the verdict: stdout and stderr may share one file.
    across = plural(len(stack.system.apps), "subsystem")
    print(f"Food delivery, embedded: {plural(args.orders, 'order')} across {across}\n", flush=True)
    try:
        try:
            outcome = story.run(MAX_ROUNDS)
        finally:
            if line_open:
                print(file=sys.stderr)  # end the rewritten line, on Ctrl-C too
    except (ApiError, StoryStopped) as error:  # a defect, which the faults may explain
        refused = "a request was refused, " if isinstance(error, ApiError) else ""
        print(f"fooddelivery demo: {refused}the story stopped: {error}", file=sys.stderr)
        for fault in _faults(stack):
            print(f"  fault in {fault['function']}: {fault['error']['message']}", file=sys.stderr)
        return 1
    faults = _faults(stack)
    report(stack, timeline, outcome, faults, args.timeline)
    return verdict(outcome, args.orders, faults, "fooddelivery demo")


def verdict(outcome: Outcome, orders: int, faults: list[dict[str, Any]], command: str) -> int:
    """0 when all ``orders`` ended as the story means (every one delivered but the one the
    kitchen refused, cancelled) and no function recorded a fault; else 1, saying on stderr
    which orders did not and how many faults there were, a line each (``command`` names the
    command in the messages)."""
    sys.stdout.flush()  # the report first, where stdout and stderr share a file
    unfinished = orders - sum(1 for o in outcome.orders.values() if o["status"] in FINAL)
    if unfinished:
        print(
            f"{command}: {plural(unfinished, 'order')} had not ended"
            f" after {plural(outcome.rounds, 'round')}",
            file=sys.stderr,
        )
    miscarried = outcome.miscarried()
    if miscarried:
        ended = Counter(_status(outcome.orders[order_id]) for order_id in miscarried)
        print(
            f"{command}: {plural(len(miscarried), 'order')} ended otherwise than the story"
            f" means (delivered, or cancelled for the one the kitchen refused): {_counts(ended)}",
            file=sys.stderr,
        )
    if faults:
        listed = "it" if len(faults) == 1 else "them"
        print(
            f"{command}: {plural(len(faults), 'fault')} recorded (the summary lists {listed})",
            file=sys.stderr,
        )
    return 0 if not faults and not unfinished and not miscarried else 1


class ThirdParties(Protocol):
    """What the summary reads from the third parties' dashboards."""

    def authorizations(self, order_id: str) -> list[dict[str, Any]]:
        """The payment processor's authorizations for an order."""

    def notifications(self) -> list[dict[str, Any]]:
        """Every message the push provider accepted."""


def report(
    stack: ThirdParties,
    timeline: Timeline,
    outcome: Outcome,
    faults: list[dict[str, Any]],
    mode: str = "traced",
    rounds: str = "a few simulated minutes each",
) -> None:
    """Print the traced orders' timelines (``mode``: traced, all, none) and the summary.

    The traced orders are the one a driver let its offer run out for (else the first), and
    the one the kitchen refused."""
    # The order offered again (else the first the kitchen did not refuse: the refused one may
    # be the first placed), then the refused one; with one order, the refused one alone.
    others = [o for o in outcome.orders if o != outcome.rejected]
    first = [outcome.reoffered] if outcome.reoffered in others else others[:1]
    traced = [*first, *([outcome.rejected] if outcome.rejected else [])]
    for order_id in [] if mode == "none" else traced:
        _print_timeline(timeline, order_id, outcome.orders[order_id]["status"])
    if mode == "all":
        _print_entries("Every event", timeline.entries, keyed=True)
    _print_summary(stack, timeline, outcome, faults, rounds)


def progress(outcome: Outcome, *, rewrite: bool | None = None) -> None:
    """How many orders have ended (before the first round: been placed), on stderr: one line
    rewritten each round on a terminal (``rewrite``, by default when stderr is one), else a
    line a round."""
    placed = len(outcome.orders)
    done = sum(1 for o in outcome.orders.values() if o["status"] in FINAL)
    counted = f"{done}/{placed} orders done" if outcome.rounds else f"{placed} orders placed"
    line = f"  round {outcome.rounds:3d}: {counted}"
    if rewrite is None:
        rewrite = sys.stderr.isatty()
    if rewrite:
        print(f"\r{line}", end="", file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr, flush=True)


def _print_timeline(timeline: Timeline, order_id: str, status: str) -> None:
    entries = [e for e in timeline.entries if order_id in e.key]
    _print_entries(f"Order {order_id} ({status})", entries)


def _print_entries(title: str, entries: list[Entry], *, keyed: bool = False) -> None:
    """The entries as a table, an event published again marked as a duplicate; ``keyed``:
    with the key (order, driver, restaurant...) each is about, for a table of more than one
    order's events."""
    rows = labelled(causal_order(entries))
    width = max((len(label) for _, label in rows), default=0) if keyed else 0
    print(f"{title}:")
    heading = f"  {'time':>10}  {'subsystem':<10} {'topic':<8} {'service':<18} {'event':<{width}}"
    print(f"{heading} key" if keyed else heading)
    start = first_time(entries)
    for e, label in rows:
        minutes, ms = divmod(e.timestamp - start, 60_000)
        at = f"+{minutes:02d}:{ms / 1000:06.3f}" if e.readable else "?"
        row = f"  {at:>10}  {e.subsystem:<10} {e.topic:<8} {e.source:<18} {label:<{width}}"
        print(f"{row} {e.key}" if keyed else row)
    print()


def _print_summary(
    stack: ThirdParties,
    timeline: Timeline,
    outcome: Outcome,
    faults: list[dict[str, Any]],
    rounds: str,
) -> None:
    statuses = Counter(_status(o) for o in outcome.orders.values())
    payments = Counter(
        a["status"] for order_id in outcome.orders for a in stack.authorizations(order_id)
    )
    notifications = stack.notifications()
    again = timeline.duplicates()
    per_subsystem = ", ".join(
        f"{k} {v}" + (f" (+{plural(again[k], 'duplicate')})" if again[k] else "")
        for k, v in sorted(timeline.counts().items())
    )
    print("Summary:")
    print(f"  orders:        {len(outcome.orders)} placed, " + _counts(statuses))
    print(f"  payments:      {_counts(payments)}")
    print(f"  notifications: {len(notifications)} sent")
    print(f"  events:        {per_subsystem}")
    print(f"  rounds:        {outcome.rounds} ({rounds})")
    print(f"  faults:        {len(faults)}")
    for fault in faults:
        print(f"    {fault['function']}: {fault['error']['message']}")


def plural(count: int, noun: str) -> str:
    """``1 order``, ``2 orders``: ``count`` and ``noun``, with an s unless there is one."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _status(order: dict[str, Any]) -> str:
    """``delivered``, or ``cancelled (rejected)`` when the order ended for a reason."""
    return f"{order['status']} ({order['reason']})" if order.get("reason") else order["status"]


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counter.items())) or "none"


def _faults(stack: EmbeddedStack) -> list[dict[str, Any]]:
    return [f for name in stack.system.apps for f in stack.system.faults(name)]


def register(commands: Any) -> None:
    """Add the ``demo`` command."""
    parser = commands.add_parser(
        "demo",
        help="drive orders through every subsystem in one process",
        description=(
            "Play the demo story in one process: restaurants open, customers order, one"
            " kitchen refuses an order (its payment is voided), drivers deliver the others"
            " (one lets an offer run out, so dispatch offers the delivery again). Prints the"
            " timeline of the order offered again and of the refused one, and a summary;"
            " exits 1 when a function recorded a fault, a BFF refused a request, or an order"
            " did not end or ended otherwise (not delivered, but for the refused one), a line"
            " on stderr saying which."
        ),
    )
    parser.add_argument(
        "--orders", type=int, default=5, help=f"orders to place (default 5, at most {MAX_ORDERS:,})"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--timeline",
        choices=("traced", "all", "none"),
        default="traced",
        help=(
            "print the events of the order offered again and of the refused one (default),"
            " every event, or none"
        ),
    )
    parser.add_argument("--verbose", action="store_true", help="show every function's log lines")
    parser.set_defaults(run=run)
