"""The trigger feed's retries, dead letters and checkpoints, without emulators."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from devstack.checkpoint import Checkpoint
from devstack.stats import Stats
from devstack.triggers import TriggerFeed
from shared.hub.message import DEAD_LETTER_PREFIX
from shared.runtime.consumer import TriggerRuntime
from shared.runtime.outcome import Outcome
from shared.stores.base import DocumentChange
from shared.topology.model import Topic


class Publisher:
    def __init__(self) -> None:
        self.sent: list[tuple[Topic, Any]] = []

    def publish(self, topic, messages):
        self.sent += [(topic, m) for m in messages]
        return ["id"] * len(messages)


class Runtime:
    """Asks for a retry ``failures`` times, then acknowledges; dead-letters as a real
    trigger runtime does."""

    subscription = TriggerRuntime.subscription
    dead_letter = TriggerRuntime.dead_letter

    def __init__(self, failures: int) -> None:
        self.failures, self.attempts = failures, []
        self.fn = SimpleNamespace(collection="tickets", name="trigger", redact=())
        self.service = SimpleNamespace(name="kitchen-bff")
        self.subsystem = SimpleNamespace(name="restaurant")
        self.qualified = "restaurant/kitchen-bff/trigger"
        self.publisher = Publisher()

    def handle(self, change, attempt):
        self.attempts.append(attempt)
        return Outcome.RETRY if len(self.attempts) <= self.failures else Outcome.ACK


class Feed:
    def __init__(self) -> None:
        self.callback, self.resume = None, None

    def watch(self, collection, callback, *, resume=None):
        self.callback, self.resume = callback, resume
        return SimpleNamespace(stop=lambda: None)


def change(version: str = "2026-01-01T00:00:00.000001Z", status: str = "new") -> DocumentChange:
    return DocumentChange("tickets", "o-1", None, {"status": status}, version)


def run(runtime: Runtime, checkpoint: Checkpoint, *changes: DocumentChange) -> TriggerFeed:
    trigger = TriggerFeed(
        "kitchen_bff_trigger",
        runtime,  # type: ignore[arg-type]
        checkpoint,
        Stats("restaurant"),
        max_attempts=3,
        min_backoff_s=0.01,
        max_backoff_s=0.02,
    )
    feed = Feed()
    trigger.start(feed)  # type: ignore[arg-type]
    for c in changes:
        feed.callback(c)
    deadline = time.monotonic() + 5
    while trigger.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    trigger.stop()
    return trigger


def test_a_failed_run_is_retried_with_the_next_attempt_number(tmp_path) -> None:
    runtime, checkpoint = Runtime(failures=2), Checkpoint(tmp_path / "cp.jsonl")
    run(runtime, checkpoint, change())
    assert runtime.attempts == [1, 2, 3]
    assert runtime.publisher.sent == []
    assert checkpoint.state("kitchen_bff_trigger") == {
        "o-1": ("2026-01-01T00:00:00.000001Z", {"status": "new"})
    }


def test_after_the_last_attempt_the_change_is_dead_lettered_to_faults(tmp_path) -> None:
    runtime, checkpoint = Runtime(failures=99), Checkpoint(tmp_path / "cp.jsonl")
    run(runtime, checkpoint, change())
    assert runtime.attempts == [1, 2, 3]
    [(topic, message)] = runtime.publisher.sent
    assert topic is Topic.FAULTS
    assert message.attributes[f"{DEAD_LETTER_PREFIX}Subscription"] == "kitchen-bff-trigger"
    assert message.attributes[f"{DEAD_LETTER_PREFIX}DeliveryCount"] == "3"
    assert "o-1" in checkpoint.state("kitchen_bff_trigger")  # not replayed after a restart


def test_a_restarted_host_resumes_its_watch_from_the_checkpoint(tmp_path) -> None:
    first = Checkpoint(tmp_path / "cp.jsonl")
    assert not first.resumed
    run(Runtime(0), first, change("2026-01-01T00:00:02.000000Z", "accepted"))
    first.close()

    again = Checkpoint(tmp_path / "cp.jsonl")
    trigger = TriggerFeed("kitchen_bff_trigger", Runtime(0), again, Stats("restaurant"))  # type: ignore[arg-type]
    feed = Feed()
    trigger.start(feed)  # type: ignore[arg-type]
    trigger.stop()
    assert again.resumed
    assert feed.resume == {"o-1": ("2026-01-01T00:00:02.000000Z", {"status": "accepted"})}


def test_a_late_older_version_does_not_overwrite_the_checkpoint(tmp_path) -> None:
    checkpoint = Checkpoint(tmp_path / "cp.jsonl")
    checkpoint.record("t", change("2026-01-01T00:00:02.000000Z", "accepted"))
    checkpoint.record("t", change("2026-01-01T00:00:01.000000Z", "new"))
    checkpoint.close()
    assert Checkpoint(tmp_path / "cp.jsonl").state("t")["o-1"][1] == {"status": "accepted"}


def test_a_host_restarted_before_it_handled_any_change_announces_what_it_missed(
    tmp_path,
) -> None:
    """A host stopped (or killed) with its first changes queued or retrying left an empty
    checkpoint: its next run must announce the collection's documents, not take them for
    the initial snapshot of a fresh stack and drop them."""
    first = Checkpoint(tmp_path / "cp.jsonl")
    first.close()

    again = Checkpoint(tmp_path / "cp.jsonl")
    trigger = TriggerFeed("kitchen_bff_trigger", Runtime(0), again, Stats("restaurant"))  # type: ignore[arg-type]
    feed = Feed()
    trigger.start(feed)  # type: ignore[arg-type]
    trigger.stop()
    assert again.resumed
    assert feed.resume == {}  # every document the watch finds is a change it missed


class FirstWriteRetries(Runtime):
    """Asks for a retry of the document's first write (``status`` new) until told, and
    acknowledges every other write."""

    def __init__(self) -> None:
        super().__init__(failures=0)
        self.handled: list[str] = []
        self.fixed = False

    def handle(self, change, attempt):
        if change.after["status"] == "new" and not self.fixed:
            return Outcome.RETRY
        self.handled.append(change.version)
        return Outcome.ACK


def test_a_later_write_handled_first_does_not_move_the_checkpoint_past_an_earlier_one(
    tmp_path,
) -> None:
    """The document's first write waits for its retry while its second is handled: a host
    stopped now must resume from before the first write, else it never runs it."""
    runtime, checkpoint = FirstWriteRetries(), Checkpoint(tmp_path / "cp.jsonl")
    trigger = TriggerFeed(
        "kitchen_bff_trigger",
        runtime,  # type: ignore[arg-type]
        checkpoint,
        Stats("restaurant"),
        max_attempts=5,
        min_backoff_s=0.3,
        max_backoff_s=0.3,
    )
    feed = Feed()
    trigger.start(feed)  # type: ignore[arg-type]
    first, second = change(status="new"), change("2026-01-01T00:00:02.000000Z", "accepted")
    feed.callback(first)
    feed.callback(second)
    deadline = time.monotonic() + 5
    while second.version not in runtime.handled and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runtime.handled == [second.version]  # the second write ran, the first waits

    # THEN the checkpoint has not moved past the first write
    assert checkpoint.state("kitchen_bff_trigger") == {}
    # AND once the first write is handled, it moves to the second at once
    runtime.fixed = True
    while trigger.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    trigger.stop()
    assert checkpoint.state("kitchen_bff_trigger") == {
        "o-1": (second.version, {"status": "accepted"})
    }
