"""What the order benchmarks share: percentiles, the run's header, the side-effect checks
and stopping cleanly on SIGTERM.

The benchmarks run as scripts (``python benchmarks/x.py``), so this module is imported
as ``measure`` from the script's own directory.
"""

from __future__ import annotations

import math
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import FrameType
from typing import Any


def percentile(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0 < p <= 100) of ``values`` by the nearest-rank method: the
    smallest value that at least ``p`` % of the values do not exceed (so the p95 of 10
    values is the largest, never one below it)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values to take a percentile of")
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is not in (0, 100]")
    return ordered[math.ceil(p / 100 * len(ordered)) - 1]


def header(script: str, parameters: Mapping[str, object], cores: int | None = None) -> str:
    """The run's first line: the script, this machine's cores and every parameter."""
    given = " ".join(f"--{name.replace('_', '-')} {value}" for name, value in parameters.items())
    return f"{script}: {cores or os.cpu_count() or 1} cores; {given}"


def side_effect_failures(
    statuses: Mapping[str, str],
    authorizations: Callable[[str], Sequence[Mapping[str, Any]]],
    notifications: Iterable[Mapping[str, Any]],
    cancelled: Iterable[str] = (),
) -> list[str]:
    """What went wrong with the orders' side effects, as one line each (none: all well).

    ``statuses`` is what each order's tracking view showed last. Every order must have been
    delivered, but those named in ``cancelled`` (refused on purpose), which must have been
    cancelled. A delivered order has one payment, captured once and never voided; a
    cancelled one has at most one, voided and never captured. The customer hears of every
    status once at most, and of the order's final status exactly once.
    """
    expected_cancelled = set(cancelled)
    failures: list[str] = []
    for order_id, status in statuses.items():
        wanted = "cancelled" if order_id in expected_cancelled else "delivered"
        if status != wanted:
            failures.append(f"order {order_id} ended {status}, not {wanted}")
    for order_id, status in statuses.items():
        payments = authorizations(order_id)
        kinds = Counter(op["kind"] for p in payments for op in p.get("operations", ()))
        settled = (kinds["capture"], kinds["void"], kinds["refund"])
        if status == "delivered" and (len(payments) != 1 or settled != (1, 0, 0)):
            failures.append(f"order {order_id} delivered: {len(payments)} payments, {_ops(kinds)}")
        if status == "cancelled" and (len(payments) > 1 or kinds["capture"] or _unvoided(payments)):
            failures.append(f"order {order_id} cancelled: {len(payments)} payments, {_ops(kinds)}")
    told = Counter(
        (m["data"].get("orderId"), m["data"].get("status"))
        for m in notifications
        if m["to"]["kind"] == "customer" and m["data"].get("orderId") in statuses
    )
    failures += [f"{n} notifications of {s} for order {o}" for (o, s), n in told.items() if n > 1]
    failures += [
        f"order {o}: its customer was never told it was {s}"
        for o, s in statuses.items()
        if s in ("delivered", "cancelled") and not told[(o, s)]
    ]
    return failures


def _unvoided(payments: Sequence[Mapping[str, Any]]) -> bool:
    return any(not any(op["kind"] == "void" for op in p.get("operations", ())) for p in payments)


def _ops(kinds: Counter[str]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "no operations"


def stop_on_sigterm() -> None:
    """Make SIGTERM raise :class:`SystemExit` (code 143) in the main thread, as Ctrl-C raises
    KeyboardInterrupt, so the ``finally`` blocks that stop what the run started still run."""

    def leave(signum: int, frame: FrameType | None) -> None:
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
