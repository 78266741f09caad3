"""A message unacknowledged longer than its subscription's retention is dropped with a
warning, as Pub/Sub deletes it (``message_retention_duration``, 7 days by default)."""

from __future__ import annotations

import pytest

from shared.clock import ManualClock
from shared.hub.limits import DEFAULT_RETENTION_S, MIN_RETENTION_S
from shared.hub.memory import InMemoryHub, Subscription
from shared.hub.message import Message
from shared.runtime.outcome import Outcome
from tests.unit import hub_fixtures
from tests.unit.hub_fixtures import msg

BACKOFF_MS = 600_000
"""The longest backoff Pub/Sub allows: a message refused for ever comes every 10 minutes."""
LOOP_GUARD = 2_000
"""More deliveries than a week of them: a message never dropped fails a test at once."""

clock, hub = hub_fixtures.clock, hub_fixtures.hub  # the fixtures


class RefusingOne:
    """Refuses every delivery of ``b"1"``, acknowledges the others."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def __call__(self, message: Message, attempt: int) -> Outcome:
        self.seen.append(message.data)
        return Outcome.RETRY if message.data == b"1" else Outcome.ACK


def refusing_subscription(target: RefusingOne, **settings: int) -> Subscription:
    """Without a dead-letter policy, as the fault recorder's: only retention ends it."""
    return Subscription(
        "p/s", target, min_backoff_ms=BACKOFF_MS, max_backoff_ms=BACKOFF_MS, **settings
    )


def test_a_message_refused_past_the_default_retention_is_dropped_with_those_behind_it(
    hub: InMemoryHub, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    target = RefusingOne()
    hub.subscribe("p", "bus", refusing_subscription(target))
    start = clock.now_ms()
    ids = hub.publish("p", "bus", [msg("1", "k"), msg("2", "k")])

    hub.run_until_quiet(max_deliveries=LOOP_GUARD)

    week_s = DEFAULT_RETENTION_S
    assert target.seen == [b"1"] * (week_s * 1000 // BACKOFF_MS)  # every 10 minutes, a week
    assert clock.now_ms() - start == week_s * 1000  # dropped when its retention ended
    assert hub.idle
    for message_id in ids:  # the key's next message waited as long: Pub/Sub deletes it too
        assert (
            f"p/s dropped message {message_id}, unacknowledged {week_s} s after it was "
            f"published: past the subscription's message retention ({week_s} s)"
        ) in caplog.text


def test_after_a_dropped_message_its_key_moves_on(hub: InMemoryHub, clock: ManualClock) -> None:
    start = clock.now_ms()
    seen: list[bytes] = []
    published: list[str] = []

    def refuse_1_and_publish_2_six_days_on(message: Message, attempt: int) -> Outcome:
        seen.append(message.data)
        if message.data == b"2":
            return Outcome.ACK
        if not published and clock.now_ms() - start >= 6 * 86_400_000:
            published.extend(hub.publish("p", "bus", [msg("2", "k")]))
        return Outcome.RETRY

    hub.subscribe(
        "p",
        "bus",
        Subscription(
            "p/s",
            refuse_1_and_publish_2_six_days_on,
            min_backoff_ms=BACKOFF_MS,
            max_backoff_ms=BACKOFF_MS,
        ),
    )
    hub.publish("p", "bus", [msg("1", "k")])

    hub.run_until_quiet(max_deliveries=LOOP_GUARD)

    assert seen[-3:] == [b"1", b"1", b"2"]
    assert clock.now_ms() - start == DEFAULT_RETENTION_S * 1000


def test_a_subscriptions_own_retention_is_kept(
    hub: InMemoryHub, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    target = RefusingOne()
    hub.subscribe("p", "bus", refusing_subscription(target, retention_ms=2 * BACKOFF_MS))
    hub.publish("p", "bus", [msg("1"), msg("2")])

    hub.run_until_quiet(max_deliveries=LOOP_GUARD)

    assert sorted(target.seen) == [b"1", b"1", b"2"]
    assert "message retention (1200 s)" in caplog.text


def test_a_message_waiting_out_a_backoff_is_dropped_when_its_retention_ends(
    hub: InMemoryHub, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    target = RefusingOne()
    retention_ms = BACKOFF_MS * 3 // 2  # it would come again 300 s after its retention ended
    hub.subscribe("p", "bus", refusing_subscription(target, retention_ms=retention_ms))
    start = clock.now_ms()
    [message_id] = hub.publish("p", "bus", [msg("1")])

    hub.run_until_quiet(max_deliveries=LOOP_GUARD)

    assert target.seen == [b"1", b"1"]  # at 0 and 600 s
    assert clock.now_ms() - start == retention_ms
    assert f"p/s dropped message {message_id}, unacknowledged 900 s after" in caplog.text
    assert hub.idle


def test_a_message_acknowledged_within_the_retention_is_not_dropped(
    hub: InMemoryHub, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([Outcome.RETRY, Outcome.ACK])
    seen: list[int] = []

    def late_ack(message: Message, attempt: int) -> Outcome:
        seen.append(clock.now_ms())
        return next(answers)

    hub.subscribe(
        "p",
        "bus",
        Subscription(
            "p/s",
            late_ack,
            min_backoff_ms=BACKOFF_MS,
            max_backoff_ms=BACKOFF_MS,
            retention_ms=BACKOFF_MS + 1,
        ),
    )
    hub.publish("p", "bus", [msg("1")])

    hub.run_until_quiet(max_deliveries=LOOP_GUARD)

    assert len(seen) == 2
    assert "dropped" not in caplog.text


@pytest.mark.parametrize("retention_ms", [MIN_RETENTION_S * 1000 - 1, 32 * 86_400_000])
def test_a_retention_pubsub_would_refuse_is_refused(retention_ms: int) -> None:
    with pytest.raises(ValueError, match="message retention must be 600-2678400 s"):
        Subscription("s", RefusingOne(), retention_ms=retention_ms)
