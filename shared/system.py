"""The system: which subsystems form it, found through package entry points.

The kit knows no domain. A project lists its subsystems in ``pyproject.toml``::

    [project.entry-points."fooddelivery.subsystems"]
    order = "order.topology:APP"

so a team that copies the template changes one table, not the kit. An entry point is
named as its subsystem (``order`` above is ``APP.name``): deploying finds a subsystem's
files and projects by that name.

Entry points are read from the installed package's metadata, so a subsystem added to the
table, or a package with a ``topology.py`` left out of it, would simply be missing: loading
the system warns of both (:func:`registration_problems`).
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from shared.exceptions import TopologyError
from shared.paths import PROJECT_ROOT
from shared.runtime.app import SubsystemApp
from shared.topology.checks import check_attributes, check_system

SUBSYSTEMS_GROUP = "fooddelivery.subsystems"
COMMANDS_GROUP = "fooddelivery.commands"
REINSTALL = (
    "reinstall the project: `.venv/bin/pip install -c constraints.txt -e '.[dev]'` "
    "(the next `make demo` or `make test` does it)"
)
_APP_ASSIGNED = re.compile(r"^(\w+)\s*(?::[^=\n]*)?=\s*SubsystemApp\b", re.MULTILINE)
_log = logging.getLogger("fooddelivery.system")


def load_subsystems() -> list[SubsystemApp[Any]]:
    """Every registered subsystem, by name, checked for cross-subsystem consistency.

    The check includes the contracts: each egress type has one, each ingress
    reads a published version. What :func:`registration_problems` finds is logged as a
    warning, once per process.
    """
    found = tuple(entry_points(group=SUBSYSTEMS_GROUP))
    _warn_once(found)
    apps: list[SubsystemApp[Any]] = []
    for ep in sorted(found, key=lambda e: e.name):
        app = ep.load()
        if not isinstance(app, SubsystemApp):
            raise TopologyError(f"entry point {ep.name} = {ep.value} is not a SubsystemApp")
        if app.name != ep.name:
            raise TopologyError(
                f"entry point {ep.name} = {ep.value} names subsystem {app.name!r}: name the "
                f"entry point {app.name!r}, as its subsystem is named"
            )
        apps.append(app)
    return checked(apps)


def checked(apps: list[SubsystemApp[Any]]) -> list[SubsystemApp[Any]]:
    """``apps``, once :func:`~shared.topology.checks.check_system` finds them consistent;
    else :class:`TopologyError` listing every problem. Two subsystems of one name are
    refused first: every other check goes by names."""
    names = [app.name for app in apps]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise TopologyError(f"two subsystems are named {', '.join(map(repr, twice))}")
    contracts = {app.name: app.published for app in apps}
    topologies = tuple(app.topology for app in apps)
    problems = check_system(topologies, contracts)
    problems += check_attributes(topologies, {app.name: app.contracts for app in apps})
    if problems:
        raise TopologyError("the system is inconsistent:\n  " + "\n  ".join(problems))
    return apps


def registration_problems(
    root: Path = PROJECT_ROOT, installed: Iterable[EntryPoint] | None = None
) -> list[str]:
    """What would leave a subsystem of the project at ``root`` out of the system unsaid.

    Compares ``pyproject.toml``'s ``fooddelivery.subsystems`` table with the ``installed``
    entry points (default: the environment's), and looks for a package with a
    ``topology.py`` that declares a :class:`SubsystemApp` no entry point names. Reads files
    only, importing nothing. Outside a checkout (no ``pyproject.toml`` at ``root``), none.
    """
    pyproject = root / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    declared: dict[str, str] = project.get("entry-points", {}).get(SUBSYSTEMS_GROUP, {})
    if installed is None:
        installed = entry_points(group=SUBSYSTEMS_GROUP)
    present = {ep.name: ep.value for ep in installed}
    problems = [
        f"pyproject.toml registers subsystem {name!r} ({value}), but the installed package "
        f"does not: {REINSTALL}"
        for name, value in sorted(declared.items())
        if present.get(name) != value
    ]
    problems += [
        f"subsystem {name!r} ({value}) is installed, but pyproject.toml no longer registers "
        f"it: {REINSTALL}"
        for name, value in sorted(present.items())
        if name not in declared
    ]
    named = {_package(value) for value in [*declared.values(), *present.values()]}
    for topology in sorted(root.glob("*/topology.py")):
        package = topology.parent.name
        if package in named or package.startswith("."):
            continue
        try:
            found = _APP_ASSIGNED.search(topology.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if found is None:
            continue
        entry = f'{package} = "{package}.topology:{found.group(1)}"'
        problems.append(
            f"{package}/topology.py declares a SubsystemApp, but no entry point registers the "
            f"package {package!r}, so the system leaves it out: add `{entry}` (named as its "
            f'Subsystem) under [project.entry-points."{SUBSYSTEMS_GROUP}"] in pyproject.toml '
            f"and {REINSTALL}"
        )
    return problems


def _package(value: str) -> str:
    """The top-level package of an entry point's ``module:attribute``."""
    return value.split(":", 1)[0].strip().split(".", 1)[0]


@functools.cache
def _warn_once(installed: tuple[EntryPoint, ...]) -> None:
    """Log each of :func:`registration_problems` as a warning, once per process."""
    for problem in registration_problems(PROJECT_ROOT, installed):
        _log.warning("%s", problem)
