"""The embedded runtime fires each schedule when its cron would, as Cloud Scheduler does."""

from __future__ import annotations

from typing import Any

import pytest

from shared.clock import ManualClock
from shared.runtime.app import Infrastructure, SubsystemApp
from shared.runtime.embedded import EmbeddedSystem
from shared.topology import Role, Schedule, Service, ServiceKind, Subsystem

HOUR_MS = 3_600_000
TOP_OF_AN_HOUR_MS = 1_767_225_600_000


def ticking_system(start_ms: int) -> tuple[EmbeddedSystem, dict[str, list[int]]]:
    """A system whose one service has a schedule a minute and one an hour, each noting when
    it ran."""
    ran: dict[str, list[int]] = {"minutely": [], "hourly": []}

    def noted(name: str) -> Any:
        def handler(now_ms: int, _ctx: Any) -> None:
            ran[name].append(now_ms)

        return handler

    topology = Subsystem(
        name="ticks",
        services=(
            Service(
                "clock-control",
                ServiceKind.CONTROL,
                (
                    Schedule("minutely", Role.TRIGGER, every_s=60, handlers=(noted("minutely"),)),
                    Schedule("hourly", Role.TRIGGER, every_s=3600, handlers=(noted("hourly"),)),
                ),
            ),
        ),
    )

    def bootstrap(infra: Infrastructure) -> Any:
        return infra

    system = EmbeddedSystem([SubsystemApp(topology, bootstrap)], clock=ManualClock(start_ms))
    return system, ran


def test_advancing_fires_each_schedule_at_its_own_cron_times() -> None:
    # GIVEN a system a second before the top of an hour
    system, ran = ticking_system(TOP_OF_AN_HOUR_MS - 1_000)
    # WHEN two hours pass, a minute at a time
    system.advance(2 * HOUR_MS)
    # THEN the minutely schedule ran every minute, the hourly one once an hour
    assert len(ran["minutely"]) == 120
    assert len(ran["hourly"]) == 2
    assert all(
        (at - TOP_OF_AN_HOUR_MS) // HOUR_MS != (after - TOP_OF_AN_HOUR_MS) // HOUR_MS
        for at, after in zip(ran["hourly"], ran["hourly"][1:], strict=False)
    )


@pytest.mark.parametrize("offset_ms", [0, 1, 59_999])
def test_an_hourly_schedule_does_not_fire_before_the_hour_comes(offset_ms: int) -> None:
    # GIVEN a system just after the top of an hour
    system, ran = ticking_system(TOP_OF_AN_HOUR_MS + offset_ms)
    # WHEN 59 minutes pass (the next hour is still to come)
    system.advance(59 * 60_000 - offset_ms)
    # THEN only the minutely schedule ran
    assert len(ran["minutely"]) == 59
    assert ran["hourly"] == []


def test_a_tick_by_hand_runs_every_schedule_now() -> None:
    system, ran = ticking_system(TOP_OF_AN_HOUR_MS + 5_000)
    system.tick()
    assert ran == {"minutely": [TOP_OF_AN_HOUR_MS + 5_000], "hourly": [TOP_OF_AN_HOUR_MS + 5_000]}
