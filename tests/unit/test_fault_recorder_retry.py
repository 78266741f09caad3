"""The fault recorder retries a fault until the store takes it: nothing on ``faults`` is lost.

The recorder's subscription has no attempt limit and no dead-letter topic, only the
``RECORDER_BACKOFF_S`` backoff, so a fault whose write fails is delivered again until
the write succeeds. Fault ids are stable, so the fault is stored once.
"""

from __future__ import annotations

import base64
import json
from itertools import pairwise

import pytest

from shared.clock import ManualClock
from shared.envelope import new_event
from shared.exceptions import StoreError
from shared.hub.limits import MAX_RETENTION_S
from shared.runtime.embedded import EmbeddedSystem
from shared.runtime.faults import FAULTS_COLLECTION, RECORDER_BACKOFF_S
from shared.sample import alpha, beta
from shared.stores.base import Doc
from shared.topology import Topic

PUBSUB_MOST_ATTEMPTS = 100
"""The highest ``max_delivery_attempts`` Pub/Sub allows on any subscription."""


@pytest.fixture
def system():
    return EmbeddedSystem([alpha.APP, beta.APP], clock=ManualClock())


class FaultWrites:
    """Stands in for alpha's ``store.create``: the first ``failures`` fault writes fail.

    Notes each fault write it is asked for as (key, time in ms).
    """

    def __init__(self, system: EmbeddedSystem, failures: int) -> None:
        self._create = system.stores["alpha"].create
        self._clock = system.clock
        self.failures = failures
        self.attempts: list[tuple[str, int]] = []

    def __call__(self, collection: str, key: str, data: Doc) -> bool:
        if collection == FAULTS_COLLECTION:
            self.attempts.append((key, self._clock.now_ms()))
            if self.failures > 0:
                self.failures -= 1
                raise StoreError("firestore create failed: 503 the service is unavailable")
        return self._create(collection, key, data)


def fault_writes_failing(monkeypatch, system: EmbeddedSystem, failures: int) -> FaultWrites:
    writes = FaultWrites(system, failures)
    monkeypatch.setattr(system.stores["alpha"], "create", writes)
    return writes


def checked_out(cart_id: str, items: tuple[str, ...] = ("book",)):
    return new_event(
        "cart-checked-out", "cart", {"id": cart_id, "items": list(items)}, partition_key=cart_id
    )


def test_a_fault_whose_first_write_fails_is_retried_and_recorded_once(system, monkeypatch):
    # GIVEN alpha's store fails the first fault write it is asked for
    writes = fault_writes_failing(monkeypatch, system, failures=1)
    # WHEN two orders break a business rule, which makes two faults
    system.inject("alpha", Topic.BUS, checked_out("c1", ("forbidden",)))
    system.inject("alpha", Topic.BUS, checked_out("c2", ("forbidden",)))
    system.run_until_quiet()
    # THEN both faults are stored, once each: neither is lost to the failed write
    faults = system.faults("alpha")
    assert sorted(f["message"]["attributes"]["partitionKey"] for f in faults) == ["c1", "c2"]
    assert {f["reason"] for f in faults} == {"poison"}
    assert {f["error"]["type"] for f in faults} == {"BusinessRuleViolation"}
    # AND the failed fault was written again after the recorder's minimum backoff, then
    # acknowledged: three writes in all, the failed one retried once
    (failed, failed_at), *later = writes.attempts
    assert sorted(key for key, _ in writes.attempts) == sorted([failed, *(f["id"] for f in faults)])
    [retried_at] = [at for key, at in later if key == failed]
    assert retried_at - failed_at == RECORDER_BACKOFF_S[0] * 1000
    assert system.hub.idle


def test_a_dead_letter_is_retried_past_any_attempt_limit_until_recorded(system, monkeypatch):
    # GIVEN the partner stays down, so the order is dead-lettered to alpha's faults,
    system.ports["alpha"].fail_times["c1"] = 1_000
    # AND the store fails the fault's writes more times than any subscription may retry
    writes = fault_writes_failing(monkeypatch, system, failures=PUBSUB_MOST_ATTEMPTS)
    # WHEN the order arrives
    system.inject("alpha", Topic.BUS, checked_out("c1"))
    system.run_until_quiet()
    # THEN the recorder went on until the write succeeded, and stored the dead letter once
    [fault] = system.faults("alpha")
    assert fault["reason"] == "dead-letter"
    assert fault["function"] == "orders-esg-egress"
    original = json.loads(base64.b64decode(fault["message"]["data"]))
    assert (original["type"], original["partitionKey"]) == ("cart-checked-out", "c1")
    assert [key for key, _ in writes.attempts] == [fault["id"]] * (PUBSUB_MOST_ATTEMPTS + 1)
    # AND it backed off from the recorder's minimum to its maximum between attempts
    gaps = [later - earlier for (_, earlier), (_, later) in pairwise(writes.attempts)]
    assert gaps[0] == RECORDER_BACKOFF_S[0] * 1000
    assert max(gaps) == gaps[-1] == RECORDER_BACKOFF_S[1] * 1000
    assert system.hub.idle


def test_a_fault_never_recorded_is_dropped_after_the_retention_terraform_gives(
    system, monkeypatch, caplog
):
    # GIVEN alpha's store fails every fault write
    writes = fault_writes_failing(monkeypatch, system, failures=1_000_000)
    # WHEN an order breaks a business rule, which makes a fault
    system.inject("alpha", Topic.BUS, checked_out("c1", ("forbidden",)))
    system.run_until_quiet(max_deliveries=10_000)
    # THEN the recorder tried for as long as its subscription keeps a message on GCP (31
    # days: Terraform's retention without a dead-letter topic), then it was dropped
    first, last = writes.attempts[0][1], writes.attempts[-1][1]
    retention_ms, backoff_ms = MAX_RETENTION_S * 1000, RECORDER_BACKOFF_S[1] * 1000
    assert retention_ms - backoff_ms <= last - first < retention_ms
    assert "alpha/fault-recorder dropped message" in caplog.text
    assert system.faults("alpha") == []
    assert system.hub.idle
