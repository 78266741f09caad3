"""Function source archives: reproducible, complete, and pinned."""

from __future__ import annotations

import ast
import hashlib
import zipfile

import pytest

from shared.deploy import archive
from shared.deploy.command import ROOT, build_archives
from shared.deploy.tfvars import FAULT_RECORDER


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return {path.stem: path for path in build_archives(tmp_path_factory.mktemp("archives"))}


def test_each_subsystem_has_an_archive_and_the_sandbox_one(built, topologies):
    assert set(built) == set(topologies) | {archive.FAKES}


def test_builds_are_byte_identical(built, tmp_path):
    again = {path.stem: path for path in build_archives(tmp_path)}
    for name, path in built.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert hashlib.sha256(again[name].read_bytes()).hexdigest() == digest, name


def test_entries_are_sorted_with_fixed_times_and_no_caches(built):
    with zipfile.ZipFile(built["order"]) as z:
        infos = z.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {archive.ZIP_EPOCH}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert {"main.py", "requirements.txt", "order/main.py", "shared/__init__.py"} <= set(names)
    assert not [
        n
        for n in names
        if n.split("/")[0] not in {"order", "shared", "main.py", "requirements.txt"}
    ]


def exported(path):
    """The ``__all__`` of the archive's ``main.py``."""
    with zipfile.ZipFile(path) as z:
        tree = ast.parse(z.read("main.py"))
    value = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "__all__"  # type: ignore[attr-defined]
    )
    return set(ast.literal_eval(value))


def test_main_exports_every_target_and_the_fault_recorder(built, topologies):
    for name, topology in topologies.items():
        targets = {fn.target(s) for s, fn in topology.functions()}
        assert exported(built[name]) == targets | {FAULT_RECORDER.replace("-", "_")}


def test_the_fakes_archive_holds_the_fakes_and_exports_one_target_per_fake(built):
    from fakes import main as sandbox

    with zipfile.ZipFile(built[archive.FAKES]) as z:
        infos = z.infolist()
        requirements = z.read("requirements.txt")
    with zipfile.ZipFile(built["customer"]) as z:
        assert requirements == z.read("requirements.txt")  # one venv serves every archive
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {archive.ZIP_EPOCH}
    assert {"main.py", "requirements.txt", "fakes/main.py", "fakes/point_of_sale/__init__.py"} <= (
        set(names)
    )
    assert {n.split("/")[0] for n in names} == {"fakes", "main.py", "requirements.txt"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert exported(built[archive.FAKES]) == set(sandbox.TARGETS) == set(sandbox.__all__)


def test_the_fakes_targets_are_read_from_the_source(tmp_path):
    (tmp_path / "fakes").mkdir()
    entry = tmp_path / "fakes" / "main.py"
    entry.write_text('__all__ = ["b", "a"]\n')
    assert archive.fakes_targets(tmp_path) == ("a", "b")
    entry.write_text("__all__ = names()\n")
    with pytest.raises(archive.DeployError, match="no literal __all__"):
        archive.fakes_targets(tmp_path)


def test_requirements_pin_the_runtime_closure_from_constraints(built):
    with zipfile.ZipFile(built["customer"]) as z:
        lines = z.read("requirements.txt").decode().splitlines()[1:]
    pins = dict(line.split("==") for line in lines)
    constraints = dict(
        line.split("==")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    )
    normalized = {k.lower().replace("_", "-"): v for k, v in constraints.items()}
    assert {"functions-framework", "google-cloud-pubsub", "cryptography", "flask"} <= set(pins)
    assert {name: normalized[name] for name in pins} == pins
    assert not {"pytest", "mypy", "ruff", "python-hcl2"} & set(pins)  # dev tools stay out


def test_an_unpinned_runtime_dependency_is_refused(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("flask==3.1.3\n")
    with pytest.raises(archive.DeployError, match="not pinned"):
        archive.requirements(ROOT / "pyproject.toml", constraints)
