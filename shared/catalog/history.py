"""The schemas as published at a git revision: the baseline of ``contracts check --against``.

The committed files in the working tree are not a baseline: one change can edit
a contract and its schema together. What consumers rely on is what was
published on the branch changes are merged into, so the gate reads the schema
files of that revision straight from git (``git ls-tree``, ``git show``),
without checking anything out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.catalog.schemas import SCHEMAS_DIR
from shared.exceptions import KitError

_Wording = Callable[[str], str]
"""Words a ``git`` failure for the developer, given git's last line of complaint."""


class BaselineError(KitError):
    """The revision to compare with cannot be read."""


@dataclass(frozen=True, slots=True)
class Baseline:
    """The schema files of the contracts directory at one revision.

    ``ref`` is the revision as given (``origin/main``), ``commit`` what it named
    when read; ``schemas`` maps each file name in ``schemas/`` to its bytes, and
    ``prefix`` is the contracts directory's path inside the repository.
    """

    ref: str
    commit: str
    prefix: str
    schemas: dict[str, bytes]

    def path(self, name: str) -> str:
        """``name``'s path inside the repository, as ``git`` names it."""
        return f"{self.prefix}{SCHEMAS_DIR}/{name}"


def published_at(contracts: Path, ref: str) -> Baseline:
    """The schema files under ``contracts`` as they are at ``ref`` in its repository.

    Raises :class:`BaselineError` when ``contracts`` is not inside a git work
    tree, or ``ref`` names no commit there.
    """
    if not ref or ref.startswith("-"):
        raise BaselineError(f"--against {ref!r} is not a git revision")
    prefix = _git(
        contracts,
        "rev-parse",
        "--show-prefix",
        problem=lambda detail: _not_a_repository(contracts, detail),
    )
    commit = _git(
        contracts,
        "rev-parse",
        "--verify",
        "--quiet",
        f"{ref}^{{commit}}",
        problem=lambda _: _no_such_ref(ref, contracts),
    )
    schemas = {
        path.rsplit("/", 1)[-1]: _show(contracts, ref, commit, path)
        for path in _schema_paths(contracts, ref, commit, prefix)
    }
    return Baseline(ref, commit[:12], prefix, schemas)


def _schema_paths(contracts: Path, ref: str, commit: str, prefix: str) -> list[str]:
    """The repository paths of the files in ``schemas/`` at ``commit`` (none if it had none)."""
    listing = _git(
        contracts,
        "ls-tree",
        "-z",
        "--name-only",
        "--full-tree",
        commit,
        "--",
        f"{prefix}{SCHEMAS_DIR}/",
        problem=lambda detail: f"cannot list the schemas at {ref}: {detail}",
    )
    return [path for path in listing.split("\0") if path]


def _show(contracts: Path, ref: str, commit: str, path: str) -> bytes:
    """The file at ``path`` (from the repository's top) as it is in ``commit``."""

    def problem(detail: str) -> str:
        return f"cannot read {path} at {ref}: {detail}"

    return _git_bytes(contracts, "show", f"{commit}:{path}", problem=problem)


def _git(where: Path, *args: str, problem: _Wording) -> str:
    """``git``'s standard output as text, without the final line break."""
    return _git_bytes(where, *args, problem=problem).decode().removesuffix("\n")


def _git_bytes(where: Path, *args: str, problem: _Wording) -> bytes:
    """``git``'s standard output, or :class:`BaselineError` worded by ``problem``."""
    try:
        done = subprocess.run(
            ["git", "-C", str(where), *args], capture_output=True, check=False, timeout=60
        )
    except FileNotFoundError as e:
        raise BaselineError("git is not installed: --against reads the published schemas") from e
    except subprocess.TimeoutExpired as e:
        raise BaselineError(f"git {args[0]} did not answer within 60 s") from e
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise BaselineError(problem(detail[-1] if detail else f"exit code {done.returncode}"))
    return done.stdout


def _not_a_repository(where: Path, detail: str) -> str:
    return f"--against reads git history, but {where} is not in a git repository ({detail})"


def _no_such_ref(ref: str, where: Path) -> str:
    return (
        f"--against {ref}: no such commit in the repository of {where} "
        "(a remote branch must be fetched first, e.g. `git fetch origin main`)"
    )
