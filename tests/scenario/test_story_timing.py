"""The story's hooks for latency figures: the checkout's send time, and each status the
customer's tracking view shows."""

from __future__ import annotations

import time
from typing import Any

from scenario.stack import EmbeddedStack
from scenario.story import FINAL, Story


def test_the_hooks_see_the_checkout_sent_and_each_status_the_tracking_view_shows(
    tmp_path,
) -> None:
    stack = EmbeddedStack(tmp_path / "dev-key.pem")
    requests: list[tuple[str, str, float]] = []
    send = stack.session.request

    def timed(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        requests.append((method, url, time.perf_counter()))
        return send(method, url, *args, **kwargs)

    stack.session.request = timed  # type: ignore[method-assign]
    checkouts: dict[str, float] = {}
    tracked: list[tuple[str, str]] = []
    try:
        story = Story(
            stack,
            orders=3,
            seed=7,
            on_checkout=checkouts.__setitem__,
            on_tracked=lambda order_id, status: tracked.append((order_id, status)),
        )
        outcome = story.run(max_rounds=20)
    finally:
        stack.close()

    sent = [t for method, url, t in requests if method == "POST" and url.endswith("/checkout")]
    assert len(sent) == 3
    for started, request in zip(sorted(checkouts.values()), sent, strict=True):
        carts = [t for method, url, t in requests if url.endswith("/cart") and t < request]
        assert carts[-1] < started <= request  # after the cart was filled, before the send
    assert set(checkouts) == set(outcome.orders)
    for order_id, order in outcome.orders.items():
        seen = [status for o, status in tracked if o == order_id]
        assert seen[-1] == order["status"] in FINAL
        assert len(seen) == len(set(seen))  # told of a status once, when it first shows
    assert sum(status == "delivered" for _, status in tracked) == outcome.count("delivered")
