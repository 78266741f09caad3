"""What a subsystem's archive leaves out: whatever no deployed function reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.deploy import archive
from shared.paths import PROJECT_ROOT as ROOT

SHIPPED = ("shop/__init__.py", "shop/main.py", "shop/menu/__init__.py", "shop/menu/dishes.json")
LEFT_OUT = (
    "shop/.env",
    "shop/menu/.env.local",
    "shop/.mypy_cache/3.12/shop.json",
    "shop/.pytest_cache/v/cache/lastfailed",
    "shop/.DS_Store",
    "shop/tests/__init__.py",
    "shop/tests/test_menu.py",
    "shop/conftest.py",
    "shop/menu/test_dishes.py",
    "shop/menu/dishes_test.py",
    "shop/main.py~",
    "shop/.main.py.swp",
    "shop/main.py.orig",
    "shop/shop.egg-info/PKG-INFO",
    "shop/__pycache__/main.cpython-312.pyc",
    "shop/menu/__pycache__/__init__.cpython-311.opt-1.pyc",
    "shop/main.pyc",
    "shop/main.py.bak",
    "shop/menu/dishes.json.tmp",
    "shop/#main.py#",
)


def tree(root: Path) -> Path:
    for name in (*SHIPPED, *LEFT_OUT, "shared/__init__.py"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("SECRET=1\n" if ".env" in name else "")
    return root


def names(root: Path) -> set[str]:
    spec = archive.ArchiveSpec("shop", "shop", ("cart_api",))
    return {name for name, _ in archive.entries(spec, root, "")}


def test_tests_caches_secrets_and_build_leftovers_stay_out(tmp_path):
    shipped = names(tree(tmp_path))
    assert set(SHIPPED) <= shipped
    assert shipped & set(LEFT_OUT) == set()


def test_a_checkout_inside_a_hidden_directory_still_ships_its_packages(tmp_path):
    # Only the names inside a package decide: ~/.local/src/fooddelivery is a fine checkout.
    shipped = names(tree(tmp_path / ".local" / "src" / "fooddelivery"))
    assert set(SHIPPED) <= shipped


def test_a_dependency_marked_for_another_platform_or_python_is_not_required(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[project]\n"
        'name = "shop"\n'
        "dependencies = [\n"
        '  "flask>=3",\n'
        "  \"pywin32>=306; sys_platform == 'win32'\",\n"
        "  \"tomli>=2; python_version < '3.11'\",\n"
        "]\n"
    )
    constraints = ROOT / "constraints.txt"
    pinned = archive.requirements(pyproject, constraints).splitlines()[1:]
    assert any(line.startswith("flask==") for line in pinned)
    assert not [line for line in pinned if line.startswith(("pywin32", "tomli"))]


def test_a_link_out_of_its_package_is_refused(tmp_path):
    # It shipped what it pointed to: here a secret kept next to the checkout.
    secret = tmp_path / "elsewhere" / "prod.json"
    secret.parent.mkdir()
    secret.write_text('{"key": "s3cr3t"}')
    root = tree(tmp_path / "checkout")
    (root / "shop" / "settings.json").symlink_to(secret)

    with pytest.raises(archive.DeployError, match=r"shop/settings.json links to .*prod.json"):
        names(root)


def test_a_link_within_its_package_ships_what_it_points_to(tmp_path):
    root = tree(tmp_path)
    (root / "shop" / "dishes.json").symlink_to(root / "shop" / "menu" / "dishes.json")
    spec = archive.ArchiveSpec("shop", "shop", ("cart_api",))
    shipped = dict(archive.entries(spec, root, ""))
    assert shipped["shop/dishes.json"] == shipped["shop/menu/dishes.json"]
