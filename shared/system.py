"""The system: which subsystems form it, found through package entry points.

The kit knows no domain. A project lists its subsystems in ``pyproject.toml``::

    [project.entry-points."fooddelivery.subsystems"]
    order = "order.topology:APP"

so a team that copies the template changes one table, not the kit. An entry point is
named as its subsystem (``order`` above is ``APP.name``): deploying finds a subsystem's
files and projects by that name.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from shared.exceptions import TopologyError
from shared.runtime.app import SubsystemApp
from shared.topology.checks import check_attributes, check_system

SUBSYSTEMS_GROUP = "fooddelivery.subsystems"
COMMANDS_GROUP = "fooddelivery.commands"


def load_subsystems() -> list[SubsystemApp[Any]]:
    """Every registered subsystem, by name, checked for cross-subsystem consistency.

    The check includes the contracts: each egress type has one, each ingress
    reads a published version.
    """
    apps: list[SubsystemApp[Any]] = []
    for ep in sorted(entry_points(group=SUBSYSTEMS_GROUP), key=lambda e: e.name):
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
