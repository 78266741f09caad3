"""A subsystem of the project that the installed entry points leave out is warned of, not
silently missing: a ``topology.py`` no entry point names, or a ``pyproject.toml`` table the
installed package does not match (not reinstalled since)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from shared import system
from shared.paths import PROJECT_ROOT
from shared.system import REINSTALL, SUBSYSTEMS_GROUP, load_subsystems, registration_problems

TABLE = f'[project.entry-points."{SUBSYSTEMS_GROUP}"]\n'
APP_MODULE = "from shared.runtime.app import SubsystemApp\n\n{line}\n"
A_SUBSYSTEM = APP_MODULE.format(line="APP = SubsystemApp(TOPOLOGY, bootstrap)")


def installed(**values: str) -> list[EntryPoint]:
    return [EntryPoint(name, value, SUBSYSTEMS_GROUP) for name, value in values.items()]


def a_project(root: Path, table: dict[str, str], packages: dict[str, str]) -> Path:
    """``root`` with a ``pyproject.toml`` of ``table`` and a ``topology.py`` per package."""
    lines = "".join(f'{name} = "{value}"\n' for name, value in table.items())
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n{TABLE}{lines}')
    for package, text in packages.items():
        (root / package).mkdir()
        (root / package / "topology.py").write_text(text)
    return root


def test_a_topology_no_entry_point_names_is_named_with_the_fix(tmp_path: Path) -> None:
    root = a_project(
        tmp_path,
        {"order": "order.topology:APP"},
        {
            "order": A_SUBSYSTEM,
            "rating": APP_MODULE.format(line="RATING: SubsystemApp[Any] = SubsystemApp(T, b)"),
            "geo": "TOPOLOGY = 'a library module of the same name, no subsystem'\n",
        },
    )
    assert registration_problems(root, installed(order="order.topology:APP")) == [
        "rating/topology.py declares a SubsystemApp, but no entry point registers the "
        "package 'rating', so the system leaves it out: add "
        '`rating = "rating.topology:RATING"` (named as its Subsystem) under '
        f'[project.entry-points."{SUBSYSTEMS_GROUP}"] in pyproject.toml and {REINSTALL}'
    ]


def test_a_table_the_installed_package_does_not_match_says_to_reinstall(
    tmp_path: Path,
) -> None:
    root = a_project(tmp_path, {"order": "order.topology:APP", "tip": "tip.topology:APP"}, {})
    found = installed(order="order.topology:APP", old="old.topology:APP")
    assert registration_problems(root, found) == [
        "pyproject.toml registers subsystem 'tip' (tip.topology:APP), but the installed "
        f"package does not: {REINSTALL}",
        "subsystem 'old' (old.topology:APP) is installed, but pyproject.toml no longer "
        f"registers it: {REINSTALL}",
    ]


def test_a_package_only_installed_or_only_in_the_table_is_not_named_twice(
    tmp_path: Path,
) -> None:
    root = a_project(
        tmp_path,
        {"tip": "tip.topology:APP"},
        {"tip": A_SUBSYSTEM},
    )
    assert len(registration_problems(root, installed())) == 1


def test_outside_a_checkout_nothing_is_checked(tmp_path: Path) -> None:
    (tmp_path / "rating").mkdir()
    (tmp_path / "rating" / "topology.py").write_text(A_SUBSYSTEM)
    assert registration_problems(tmp_path, installed()) == []


def test_this_project_registers_every_subsystem_it_holds() -> None:
    assert registration_problems(PROJECT_ROOT) == []


@pytest.fixture
def warned_afresh() -> Iterator[None]:
    system._warn_once.cache_clear()
    yield
    system._warn_once.cache_clear()


@pytest.mark.usefixtures("warned_afresh")
def test_loading_the_system_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "pyproject.toml").write_text((PROJECT_ROOT / "pyproject.toml").read_text())
    (tmp_path / "rating").mkdir()
    (tmp_path / "rating" / "topology.py").write_text(A_SUBSYSTEM)
    monkeypatch.setattr(system, "PROJECT_ROOT", tmp_path)
    with caplog.at_level(logging.WARNING, logger="fooddelivery.system"):
        names = [app.name for app in load_subsystems()]
        load_subsystems()
    assert "rating" not in names
    warnings = [r.getMessage() for r in caplog.records if r.name == "fooddelivery.system"]
    assert len(warnings) == 1
    assert warnings[0].startswith("rating/topology.py declares a SubsystemApp")
