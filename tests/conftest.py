"""Test-wide fixtures: the emulators, started once per test session when needed.

Tests marked ``emulator`` need gcloud's emulators. They skip only when gcloud
is absent *and* ``CI`` is not set; under ``CI=true`` a missing emulator fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shared import emulators


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def emulator_hosts() -> Iterator[dict[str, str]]:
    """Pub/Sub, Firestore and Storage emulators; yields their host:port by name."""
    missing = emulators.missing_tools()
    if missing:
        message = f"the emulators need {', '.join(missing)}"
        if _in_ci():
            pytest.fail(f"{message}, and CI=true forbids skipping emulator tests")
        pytest.skip(message)
    with emulators.running(*emulators.ALL) as running:
        yield {name: emulator.host_port for name, emulator in running.items()}
