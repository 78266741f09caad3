"""``fooddelivery dev --scenario``: the demo story over the BFF HTTP APIs of a running stack.

Prints the same timeline and summary as the embedded demo (:func:`scenario.demo.report`);
the timeline comes from the events the hosts published (``/_dev/events``).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from devstack.layout import FAKES, Manifest
from devstack.live import LiveStack
from devstack.third_parties import used_fakes
from scenario.actors import ApiError, Urls
from scenario.demo import plural, progress, report, verdict
from scenario.story import Story, StoryStopped
from shared.runtime.app import SubsystemApp
from shared.system import load_subsystems
from shared.timeline import Timeline


def story_problem(apps: Sequence[SubsystemApp[Any]]) -> str | None:
    """Why the demo story cannot be played on a stack of ``apps`` (a copy of the template
    without the demo's subsystems), or ``None`` when it can: it calls the demo's BFF APIs
    and reads the fakes' dashboards."""
    targets = {fn.target(service) for app in apps for service, fn in app.topology.endpoints()}
    bffs = [f"{name}_bff_api" for name in Urls.__dataclass_fields__ if name != "pos"]
    missing = [target for target in bffs if target not in targets]
    missing += [f"the fake {name}" for name in FAKES if name not in used_fakes(apps)]
    if not missing:
        return None
    return (
        "--scenario plays the demo's story, which needs the demo's subsystems; "
        f"this system has no {', '.join(missing)}"
    )


def play(manifest: Manifest, args: argparse.Namespace) -> int:
    """Play ``args.orders`` orders; 0 when each ended as the story means and no new fault was
    recorded meanwhile, else 1 (:func:`scenario.demo.verdict`)."""
    try:
        return _play(manifest, args)
    except (requests.ConnectionError, requests.Timeout) as error:
        print(f"\nfooddelivery dev: the stack stopped answering: {error}", file=sys.stderr)
        return 1
    except (ApiError, StoryStopped) as error:
        refused = "a request was refused, " if isinstance(error, ApiError) else ""
        print(f"\nfooddelivery dev: {refused}the story stopped: {error}", file=sys.stderr)
        return 1


def _play(manifest: Manifest, args: argparse.Namespace) -> int:
    stack = LiveStack(manifest)
    earlier, cursor = {f["id"] for f in stack.faults()}, stack.cursor()
    # The hosts log to the same terminal: a rewritten line would run into their lines.
    story = Story(stack, args.orders, args.seed, functools.partial(progress, rewrite=False))
    # Flushed: progress and the verdict go to stderr, which may share stdout's file.
    across = plural(len(load_subsystems()), "subsystem")
    print(
        f"\nFood delivery on the emulators: {plural(args.orders, 'order')} across {across}\n",
        flush=True,
    )
    started = time.perf_counter()
    outcome = story.run()
    stack.settle()
    print(f"  played in {time.perf_counter() - started:.1f} s\n", file=sys.stderr)
    faults = [f for f in stack.faults() if f["id"] not in earlier]
    timeline = Timeline(entries=stack.events(cursor))
    this_run = ThisRun(stack, set(outcome.orders))
    report(this_run, timeline, outcome, faults, args.timeline, rounds="real time")
    return verdict(outcome, args.orders, faults, "fooddelivery dev")


@dataclass(frozen=True, slots=True)
class ThisRun:
    """The third parties' dashboards, narrowed to this run's orders (a stack may be reused)."""

    stack: LiveStack
    orders: set[str]

    def authorizations(self, order_id: str) -> list[dict[str, Any]]:
        """The payment processor's authorizations for an order."""
        return self.stack.authorizations(order_id)

    def notifications(self) -> list[dict[str, Any]]:
        """The push messages about this run's orders."""
        return [
            m
            for m in self.stack.notifications()
            if (m.get("data") or {}).get("orderId") in self.orders
        ]
