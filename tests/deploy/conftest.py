"""Fixtures of the deployment tests: the repository's Terraform, parsed, and the topology."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import hcl2
import pytest

from shared.deploy.command import ROOT, current_tfvars
from shared.system import load_subsystems
from shared.topology.model import Subsystem

TERRAFORM = ROOT / "terraform"


def terraform_binary() -> str:
    """The ``terraform`` on PATH. Missing, the test skips, unless ``CI`` is set: ``make test``
    runs ``terraform fmt`` first, so CI has it, and a check skipped there would pass unseen."""
    found = shutil.which("terraform")
    if found is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("terraform is not on PATH, and CI=true forbids skipping this check")
        pytest.skip("terraform is not on PATH")
    return found


def _unquote(value: Any) -> Any:
    """Strip the quotes python-hcl2 keeps on labels and string literals, recursively."""
    if isinstance(value, dict):
        return {k.strip('"'): _unquote(v) for k, v in value.items() if k != "__comments__"}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load_module(directory: Path) -> dict[str, dict[str, Any]]:
    """One module's blocks: ``{"resource": {"type.name": body}, "module": {...}, ...}``."""
    blocks: dict[str, dict[str, Any]] = {
        "resource": {},
        "module": {},
        "variable": {},
        "locals": {},
        "check": {},
        "output": {},
    }
    for path in sorted(directory.glob("*.tf")):
        with path.open() as f:
            parsed = _unquote(hcl2.load(f))
        for entry in parsed.get("resource", []):
            for kind, named in entry.items():
                for name, body in named.items():
                    blocks["resource"][f"{kind}.{name}"] = body
        for kind in ("module", "variable", "locals", "check", "output"):
            for entry in parsed.get(kind, []):
                blocks[kind].update(entry)
    return blocks


@pytest.fixture(scope="session")
def modules() -> dict[str, dict[str, dict[str, Any]]]:
    """Every module and environment root, parsed, by path under terraform/."""
    roots = [*TERRAFORM.glob("modules/*"), *TERRAFORM.glob("environments/*")]
    return {p.relative_to(TERRAFORM).as_posix(): load_module(p) for p in sorted(roots)}


@pytest.fixture(scope="session")
def topologies() -> dict[str, Subsystem]:
    """The registered subsystems' topologies by name."""
    return {app.name: app.topology for app in load_subsystems()}


@pytest.fixture(scope="session")
def generated() -> dict[str, Any]:
    """The tfvars document as generated from the topology now."""
    return current_tfvars()
