"""A schedule whose every tick fails becomes a fault a person can list, as a consumer's message
is dead-lettered after its attempts and a trigger's change after an hour of retries.

Cloud Scheduler retries no tick (``retry_count = 0``), the dev stack's scheduler and the
embedded runtime log a failed tick and wait for the next one: without this, a schedule that
fails on every tick (a bug, an index it needs and lacks, a permission) is a warning in the
logs for good while the deadlines it enforces are never enforced, and ``fooddelivery faults
list`` shows nothing.
"""

from __future__ import annotations

from typing import Any

from shared.clock import ManualClock
from shared.runtime.app import Infrastructure, SubsystemApp
from shared.runtime.consumer import TRIGGER_RETRY_WINDOW_S
from shared.runtime.embedded import EmbeddedSystem
from shared.topology import Role, Schedule, Service, ServiceKind, Subsystem

TOP_OF_AN_HOUR_MS = 1_767_225_600_000
WINDOW_MS = TRIGGER_RETRY_WINDOW_S * 1000


def failing_system(failing: dict[str, bool]) -> EmbeddedSystem:
    """A system with one schedule a minute that raises while ``failing["now"]`` is true."""

    def sweep(now_ms: int, _ctx: Any) -> None:
        if failing["now"]:
            raise RuntimeError("the deadlines index is missing")

    topology = Subsystem(
        name="ticks",
        services=(
            Service(
                "clock-control",
                ServiceKind.CONTROL,
                (Schedule("sweep", Role.TRIGGER, every_s=60, handlers=(sweep,)),),
            ),
        ),
    )

    def bootstrap(infra: Infrastructure) -> Any:
        return infra

    return EmbeddedSystem(
        [SubsystemApp(topology, bootstrap)], clock=ManualClock(TOP_OF_AN_HOUR_MS + 1_000)
    )


def test_a_schedule_failing_on_every_tick_for_the_retry_window_becomes_a_fault() -> None:
    # GIVEN a schedule that fails on every tick
    system = failing_system({"now": True})
    # WHEN it has failed for the window a trigger's change is retried in, and a minute more
    system.advance(WINDOW_MS + 60_000)
    # THEN a person can list it: one fault of the schedule, saying why it fails
    [fault] = system.faults("ticks")
    assert fault["function"] == "ticks/clock-control/sweep"
    assert "the deadlines index is missing" in str(fault["error"])


def test_a_schedule_that_fails_now_and_then_is_no_fault() -> None:
    # GIVEN a schedule that fails for a while, then succeeds
    failing = {"now": True}
    system = failing_system(failing)
    system.advance(WINDOW_MS - 5 * 60_000)
    failing["now"] = False
    system.advance(60_000)
    # WHEN it fails again, for less than the window since it last succeeded
    failing["now"] = True
    system.advance(WINDOW_MS - 5 * 60_000)
    # THEN nothing is recorded: each run of failures was shorter than the window
    assert system.faults("ticks") == []
