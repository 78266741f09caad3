"""The order benchmarks' figures and checks: percentiles on small samples, the run's header,
the side effects they verify, and SIGTERM stopping a run as Ctrl-C does."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import pytest

from shared.paths import PROJECT_ROOT


@pytest.fixture
def measure(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "benchmarks"))
    import measure

    yield measure
    sys.modules.pop("measure", None)


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1.0, 2.0], 95, 2.0),  # two samples: the p95 is the larger, not the smaller
        ([float(n) for n in range(1, 11)], 95, 10.0),  # 9.5 of 10 values rounds up to the 10th
        ([float(n) for n in range(1, 21)], 95, 19.0),
        ([float(n) for n in range(1, 101)], 95, 95.0),
        ([3.0, 1.0, 2.0], 50, 2.0),  # unsorted input
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([7.0], 95, 7.0),
        ([1.0, 2.0, 3.0], 100, 3.0),
    ],
)
def test_percentiles_take_the_nearest_rank(measure: Any, values, p, expected) -> None:
    assert measure.percentile(values, p) == expected


def test_a_percentile_of_nothing_is_an_error(measure: Any) -> None:
    with pytest.raises(ValueError, match="no values"):
        measure.percentile([], 95)
    with pytest.raises(ValueError, match="not in"):
        measure.percentile([1.0], 0)


def test_the_header_names_the_cores_and_every_parameter(measure: Any) -> None:
    line = measure.header("orders_x", {"orders": 5, "per_round": 3}, cores=2)
    assert line == "orders_x: 2 cores; --orders 5 --per-round 3"


def _payment(*kinds: str) -> dict[str, Any]:
    return {"operations": [{"kind": k} for k in ("authorize", *kinds)]}


def _told(order_id: str, *statuses: str) -> list[dict[str, Any]]:
    return [
        {"to": {"kind": "customer"}, "data": {"orderId": order_id, "status": s}} for s in statuses
    ]


PAYMENTS = {"a": [_payment("capture")], "b": [_payment("capture")], "r": [_payment("void")]}
TOLD = [
    *_told("a", "accepted", "assigned", "picked-up", "delivered"),
    *_told("b", "accepted", "delivered"),
    *_told("r", "cancelled"),
]


def _failures(measure: Any, statuses, payments=PAYMENTS, told=TOLD, cancelled=("r",)) -> list:
    return measure.side_effect_failures(statuses, lambda o: payments.get(o, []), told, cancelled)


def test_orders_delivered_paid_once_and_told_once_pass(measure: Any) -> None:
    statuses = {"a": "delivered", "b": "delivered", "r": "cancelled"}
    assert _failures(measure, statuses) == []


def test_an_order_not_delivered_fails(measure: Any) -> None:
    statuses = {"a": "delivered", "b": "unknown", "r": "cancelled"}
    assert _failures(measure, statuses) == ["order b ended unknown, not delivered"]


def test_an_order_cancelled_that_should_have_been_delivered_fails(measure: Any) -> None:
    failures = _failures(measure, {"a": "delivered", "r": "cancelled"}, cancelled=())
    assert failures == ["order r ended cancelled, not delivered"]


@pytest.mark.parametrize(
    "payments",
    [
        [_payment("capture", "capture")],
        [_payment()],
        [_payment("capture"), _payment("void")],
        [_payment("capture", "refund")],
        [],
    ],
)
def test_a_delivered_order_not_captured_exactly_once_fails(measure: Any, payments) -> None:
    failures = _failures(measure, {"a": "delivered"}, {"a": payments}, cancelled=())
    assert len(failures) == 1
    assert failures[0].startswith("order a delivered: ")


def test_a_cancelled_order_captured_or_left_authorized_fails(measure: Any) -> None:
    for payments in ([_payment("capture")], [_payment()]):
        failures = _failures(measure, {"r": "cancelled"}, {"r": payments})
        assert len(failures) == 1
        assert failures[0].startswith("order r cancelled: ")


def test_a_status_told_twice_fails(measure: Any) -> None:
    told = [*TOLD, *_told("a", "picked-up")]
    failures = _failures(measure, {"a": "delivered", "r": "cancelled"}, told=told)
    assert failures == ["2 notifications of picked-up for order a"]


def test_a_delivery_the_customer_never_heard_of_fails(measure: Any) -> None:
    told = [m for m in TOLD if m["data"] != {"orderId": "b", "status": "delivered"}]
    failures = _failures(measure, {"a": "delivered", "b": "delivered"}, told=told, cancelled=())
    assert failures == ["order b: its customer was never told it was delivered"]


def test_sigterm_ends_the_run_through_its_finally_blocks() -> None:
    script = (
        "import os, signal, time\n"
        "from measure import stop_on_sigterm\n"
        "stop_on_sigterm()\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(5)\n"
        "finally:\n"
        "    print('stopped the stack', flush=True)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT / "benchmarks",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode == 128 + signal.SIGTERM, run.stderr
    assert run.stdout == "stopped the stack\n"
