"""Which hosts keep a live stack from settling, and why: a warning that the stack "was
still busy" sent the operator through every host's log to find the one."""

from __future__ import annotations

from typing import Any

from devstack.live import busy_hosts

QUIET: dict[str, Any] = {
    "handled": 9,
    "published": 4,
    "inflight": 0,
    "pending": 0,
    "sinceRetryS": None,
}


def test_a_quiet_stack_has_no_busy_host() -> None:
    assert busy_hosts({"order": QUIET, "customer": {**QUIET, "sinceRetryS": 30.0}}, 5.0) == []


def test_each_busy_host_is_named_with_why() -> None:
    stats = {
        "customer": None,
        "order": {**QUIET, "inflight": 2, "pending": 1},
        "delivery": {**QUIET, "sinceRetryS": 1.4},
        "restaurant": QUIET,
    }
    assert busy_hosts(stats, 5.0) == [
        "customer (does not answer)",
        "order (2 in flight, 1 pending)",
        "delivery (a retry 1 s ago)",
    ]
