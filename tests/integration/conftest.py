"""Every test in this folder runs against the real emulators."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.emulator)


@pytest.fixture(autouse=True)
def _emulators(emulator_hosts: dict[str, str]) -> dict[str, str]:
    return emulator_hosts
