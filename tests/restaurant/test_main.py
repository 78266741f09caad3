"""The deployable surface: one functions-framework target per declared function."""

from __future__ import annotations

import inspect

from restaurant import contracts, main
from restaurant.topology import TOPOLOGY


def test_main_exposes_exactly_one_target_per_function() -> None:
    targets = {
        name
        for name, value in vars(main).items()
        if inspect.isfunction(value) and value.__module__ == "shared.runtime.functions"
    }
    assert targets == {fn.target(service) for service, fn in TOPOLOGY.functions()}
    assert all(getattr(main, name).__name__ == name for name in targets)


def test_the_subsystem_publishes_its_contracts_and_reads_only_order_status() -> None:
    assert TOPOLOGY.publishes == {contract.TYPE for contract in contracts.PUBLISHED}
    assert TOPOLOGY.consumes() == {"order": {"order.order-status-changed"}}
