"""``fooddelivery dev --scenario`` judges its run as the demo does: the story played over a
stand-in for the running stack (the embedded one), so no emulator is needed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from devstack import scenario as dev_scenario
from scenario.stack import EmbeddedStack
from scenario.story import Story
from shared.timeline import Entry, Timeline


class EmbeddedAsLive(EmbeddedStack):
    """The embedded stack answering what :class:`devstack.live.LiveStack` answers."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.timeline = Timeline()
        self.system.hub.observers.append(self.timeline.observe)

    def faults(self) -> list[dict[str, Any]]:
        return [
            {"id": str(n), **f}
            for n, f in enumerate(f for name in self.system.apps for f in self.system.faults(name))
        ]

    def cursor(self) -> int:
        return len(self.timeline.entries)

    def events(self, after: int = 0) -> list[Entry]:
        return self.timeline.entries[after:]


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        dev_scenario, "LiveStack", lambda manifest: EmbeddedAsLive(tmp_path / "dev-key.pem")
    )


def play(orders: int) -> int:
    args = argparse.Namespace(orders=orders, seed=7, timeline="none")
    return dev_scenario.play(manifest=None, args=args)  # type: ignore[arg-type]


def test_a_story_played_as_meant_passes(stand_in, capsys) -> None:
    assert play(2) == 0
    assert "2 placed, 1 cancelled (rejected), 1 delivered" in capsys.readouterr().out


def test_orders_that_never_end_fail_the_scenario(stand_in, capsys, monkeypatch) -> None:
    # It exited 0 (only a fault failed it): a story that got stuck looked like a success.
    def nobody_acts(self: Story, outcome: Any) -> None:
        outcome.rounds += 1

    monkeypatch.setattr(Story, "play_round", nobody_acts)
    assert play(2) == 1
    assert "fooddelivery dev: 2 orders had not ended after 200 rounds" in capsys.readouterr().err


def test_a_refused_request_stops_the_scenario_with_a_line_saying_so(
    stand_in, capsys, monkeypatch
) -> None:
    # It ended in a traceback of the story's internals.
    from scenario.actors import StaffApp

    accept = StaffApp.accept
    monkeypatch.setattr(
        StaffApp, "accept", lambda app, order_id, minutes=15: accept(app, order_id, 0)
    )
    assert play(5) == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("fooddelivery dev: a request was refused, the story stopped: POST ")
    assert "/accept -> 400: " in last
