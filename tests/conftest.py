"""Test-wide fixtures: the emulators, started once per test session when needed.

Tests marked ``emulator`` need gcloud's emulators. They skip only when gcloud
is absent *and* ``CI`` is not set; under ``CI=true`` a missing emulator fails.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from shared import emulators, logs


@pytest.fixture(autouse=True)
def kit_logging_as_it_was() -> Iterator[None]:
    """Each test leaves the kit's logger as it found it: :func:`shared.logs.configure`
    (which the demo and a function host call, in process) sets it for good, stopping its
    records from reaching pytest's capture in every test after; a command may also quiet one
    of its loggers (``fooddelivery dev`` quiets ``fooddelivery.runtime``), whose level is put
    back too."""
    root = logging.getLogger(logs.ROOT)
    handlers, level, propagate = list(root.handlers), root.level, root.propagate
    levels = {name: logger.level for name, logger in _kit_loggers()}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    root.propagate = propagate
    for name, logger in _kit_loggers():
        logger.setLevel(levels.get(name, logging.NOTSET))


def _kit_loggers() -> list[tuple[str, logging.Logger]]:
    """The kit's loggers below its root that exist, by name."""
    prefix = f"{logs.ROOT}."
    return [
        (name, logger)
        for name, logger in logging.root.manager.loggerDict.items()
        if name.startswith(prefix) and isinstance(logger, logging.Logger)
    ]


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
