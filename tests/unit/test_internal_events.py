"""Each subsystem's internal events are named and described in one place: its ``events.py``.

The kit lists what a subsystem's channels route on, but not which internal types its
handlers emit (``publishes`` names external types only): the channels are checked here
against the constants, and the emitters are checked to name their type by a constant
rather than spell it.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import pytest

from shared.topology import Subsystem, Topic

ROOT = Path(__file__).resolve().parents[2]
SUBSYSTEMS = ("customer", "delivery", "order", "restaurant")


def _topology(subsystem: str) -> Subsystem:
    topology: Subsystem = importlib.import_module(f"{subsystem}.topology").TOPOLOGY
    return topology


def _events(subsystem: str) -> ModuleType:
    return importlib.import_module(f"{subsystem}.events")


def _constants(events: ModuleType) -> dict[str, str]:
    """The module's event type constants, by name."""
    return {
        name: value
        for name, value in vars(events).items()
        if name.isupper() and isinstance(value, str)
    }


def _routed(topology: Subsystem) -> tuple[set[str], set[str]]:
    """The types and type prefixes the subsystem's channels on its own bus route on."""
    types: set[str] = set()
    prefixes: set[str] = set()
    for _, consumer in topology.consumers():
        if consumer.channel.topic is Topic.BUS:
            for rule in consumer.channel.rule.alternatives:
                types.update(rule.types)
                prefixes.update(rule.type_prefixes)
    return types, prefixes


@pytest.mark.parametrize("subsystem", SUBSYSTEMS)
def test_every_type_a_channel_routes_on_is_an_event_of_the_subsystem(subsystem: str) -> None:
    documented = set(_constants(_events(subsystem)).values())
    types, prefixes = _routed(_topology(subsystem))

    assert types, f"{subsystem} routes on no internal type: is the topology read right?"
    assert types - documented == set()
    for prefix in prefixes:
        assert any(t.startswith(prefix) for t in documented), (
            f"{subsystem} routes on {prefix}*, which none of its events.py types starts with"
        )


@pytest.mark.parametrize("subsystem", SUBSYSTEMS)
def test_every_event_type_is_described_in_the_module_docstring(subsystem: str) -> None:
    events = _events(subsystem)
    constants = _constants(events)

    assert constants, f"{subsystem}/events.py defines no event type"
    assert [value for value in constants.values() if f"``{value}``" not in events.__doc__] == []


def _spelt_emits(path: Path) -> list[str]:
    """``ctx.emit(...)`` calls in ``path`` whose event type is a literal string (or f-string)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "emit"
            and node.args
        ):
            continue
        first = node.args[0]
        if isinstance(first, ast.JoinedStr) or (
            isinstance(first, ast.Constant) and isinstance(first.value, str)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


@pytest.mark.parametrize("subsystem", SUBSYSTEMS)
def test_no_emitter_spells_its_event_type(subsystem: str) -> None:
    """An emitter names its type by an events.py constant, so a new type is one there too."""
    sources = sorted((ROOT / subsystem).rglob("*.py"))

    assert sources
    assert [where for path in sources for where in _spelt_emits(path)] == []
