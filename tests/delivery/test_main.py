"""main.py exposes exactly one functions-framework target per declared function."""

from __future__ import annotations

from delivery import main
from delivery.topology import TOPOLOGY


def test_main_has_one_target_per_function_of_the_topology() -> None:
    expected = {fn.target(service) for service, fn in TOPOLOGY.functions()}
    exposed = {n for n, v in vars(main).items() if callable(v) and not isinstance(v, type)}

    assert exposed == expected
    assert len(expected) == 11
    for name in expected:
        assert getattr(main, name).__name__ == name
