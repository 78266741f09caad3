"""The kit throughput benchmark rates only runs in which every message arrived."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from shared.paths import PROJECT_ROOT


@pytest.fixture
def kit(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "benchmarks"))
    import kit_throughput

    yield kit_throughput
    sys.modules.pop("kit_throughput", None)


def test_a_consumer_that_timed_out_is_an_error_not_a_rate(kit: Any) -> None:
    with pytest.raises(RuntimeError, match="the kit consumer acked fewer than 3000 messages"):
        kit._all_consumed(False, "kit", 3000, 300.0)


def test_a_consumer_that_acked_every_message_is_timed(kit: Any) -> None:
    assert kit._all_consumed(True, "raw", 3000, 1.5) == 1.5


def test_the_embedded_hub_is_timed_only_when_every_event_was_delivered(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kit.embedded(200) > 0
    monkeypatch.setattr(kit.EmbeddedSystem, "run_until_quiet", lambda self: 150)
    with pytest.raises(RuntimeError, match="150 deliveries of 200 events"):
        kit.embedded(200)
