"""main.py exposes one functions-framework target per declared function, and nothing else."""

from __future__ import annotations

import inspect

from customer import main
from customer.topology import TOPOLOGY


def test_main_exposes_exactly_one_target_per_function() -> None:
    targets = {name for name, value in vars(main).items() if inspect.isfunction(value)}

    assert targets == {fn.target(service) for service, fn in TOPOLOGY.functions()}
    assert all(getattr(main, name).__name__ == name for name in targets)
