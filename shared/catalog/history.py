"""The schemas as published at a git revision: the baseline of ``contracts check --against``.

The committed files in the working tree are not a baseline: one change can edit
a contract and its schema together. What consumers rely on is what was
published on the branch changes are merged into, so the gate reads the schema
files of that revision straight from git (``git ls-tree``, ``git show``),
without checking anything out. :func:`start_of_change` finds that revision
(``contracts check --against-branch``) and refuses a shallow clone, whose cut
history would otherwise leave the gate nothing to compare with, silently.
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


FIRST_REMOTE = "origin"
"""The name ``git clone`` and the hosts' instructions give a repository's first remote."""
ASYNCAPI_FILE = "asyncapi.yaml"
"""The AsyncAPI document in the contracts directory: the envelope and attributes published."""


class BaselineError(KitError):
    """The revision to compare with cannot be read."""


@dataclass(frozen=True, slots=True)
class Baseline:
    """The schema files of the contracts directory at one revision.

    ``ref`` is the revision as given (``origin/main``), ``commit`` what it named
    when read; ``schemas`` maps each file name in ``schemas/`` to its bytes, and
    ``prefix`` is the contracts directory's path inside the repository;
    ``asyncapi`` is the AsyncAPI document's bytes (``None`` if there was none).
    """

    ref: str
    commit: str
    prefix: str
    schemas: dict[str, bytes]
    asyncapi: bytes | None = None

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
    document = f"{prefix}{ASYNCAPI_FILE}"
    asyncapi = (
        _show(contracts, ref, commit, document)
        if document in _paths(contracts, ref, commit, document)
        else None
    )
    return Baseline(ref, commit[:12], prefix, schemas, asyncapi)


@dataclass(frozen=True, slots=True)
class Start:
    """The revision a change started from (``None``: nothing was committed before it),
    and how it was found, in words."""

    ref: str | None
    how: str


def start_of_change(contracts: Path, branch: str) -> Start:
    """The revision the change checked out at ``contracts`` started from.

    That is where ``HEAD`` left ``branch`` (their merge base) or, on ``branch``
    itself, the previous commit; on a first commit, or outside a git work tree
    (a source archive), none. A ``branch`` of ``origin`` (``origin/main``), the
    name a repository's first remote gets, in a repository with no remote at all
    (one never pushed) is no one's base yet: the previous commit again. Raises
    :class:`BaselineError` when the clone is shallow (the base may not have been
    fetched, and no previous commit would pass for "nothing published yet"), when
    ``branch`` names nothing (mistyped,
    or not fetched: any other base would pass or fail the gate for the wrong
    reason), or when ``HEAD`` and ``branch`` share no commit.
    """
    if not branch or branch.startswith("-"):
        raise BaselineError(f"--against-branch {branch!r} is not a git branch")
    try:
        _git(contracts, "rev-parse", "--show-prefix", problem=str)
    except BaselineError:  # e.g. unpacked from a source archive: it has no history at all
        return Start(None, f"{contracts} is not in a git work tree, so it has no history")
    if _is_shallow(contracts):
        raise BaselineError(_shallow(contracts))
    head = _commit(contracts, "HEAD")
    if head is None:
        return Start(None, "nothing is committed yet, so nothing was published before this change")
    upstream = _commit(contracts, branch)
    remoteless = not _git(contracts, "remote", problem=str)
    if upstream is None and not (remoteless and branch.startswith(f"{FIRST_REMOTE}/")):
        raise BaselineError(_no_such_branch(branch, contracts, remoteless=remoteless))
    if upstream is not None:
        base = _git(
            contracts,
            "merge-base",
            head,
            upstream,
            problem=lambda _: f"HEAD and {branch} share no commit: no base to check against",
        )
        if base != head:
            short = _git(contracts, "rev-parse", "--short=12", base, problem=str)
            return Start(short, f"where HEAD left {branch}")
    if _commit(contracts, "HEAD~1") is None:
        return Start(None, "HEAD is the first commit, so nothing was published before it")
    on = (
        f"HEAD is in {branch} already"
        if upstream is not None
        else f"the repository has no remote, so no {branch}"
    )
    return Start("HEAD~1", f"the previous commit ({on})")


def _is_shallow(contracts: Path) -> bool:
    """Whether the repository of ``contracts`` is a shallow clone (its history cut short)."""
    return _git(contracts, "rev-parse", "--is-shallow-repository", problem=str) == "true"


def _commit(contracts: Path, ref: str) -> str | None:
    """The commit ``ref`` names, or ``None`` if it names none."""
    try:
        return _git(contracts, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", problem=str)
    except BaselineError:
        return None


def _schema_paths(contracts: Path, ref: str, commit: str, prefix: str) -> list[str]:
    """The repository paths of the files in ``schemas/`` at ``commit`` (none if it had none)."""
    return _paths(contracts, ref, commit, f"{prefix}{SCHEMAS_DIR}/")


def _paths(contracts: Path, ref: str, commit: str, where: str) -> list[str]:
    """The repository paths of the files at or under ``where`` in ``commit``."""
    listing = _git(
        contracts,
        "ls-tree",
        "-z",
        "--name-only",
        "--full-tree",
        commit,
        "--",
        where,
        problem=lambda detail: f"cannot list {where} at {ref}: {detail}",
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


def _shallow(where: Path) -> str:
    return (
        f"the repository of {where} is a shallow clone: the schemas published before this "
        "change may not be in it, so the gate cannot hold the code to them; fetch the "
        "history (`git fetch --unshallow`; GitHub Actions: actions/checkout with "
        "`fetch-depth: 0`), or name a fetched base with --against REF"
    )


def _no_such_branch(branch: str, where: Path, *, remoteless: bool) -> str:
    if remoteless:
        return (
            f"--against-branch {branch}: no such branch in the repository of {where}, which "
            f"has no remote yet (list its branches: `git branch`; only {FIRST_REMOTE}/BRANCH, "
            "the branch of the remote it will have, stands for the previous commit; or name "
            "the base with --against REF)"
        )
    return (
        f"--against-branch {branch}: no such branch in the repository of {where} (list them: "
        "`git branch --all`; a remote branch must be fetched first, e.g. `git fetch origin "
        "main`; or name the base with --against REF)"
    )


def _no_such_ref(ref: str, where: Path) -> str:
    fetch = (
        "it is a shallow clone: fetch the history first, `git fetch --unshallow`"
        if _is_shallow(where)
        else "a remote branch must be fetched first, e.g. `git fetch origin main`"
    )
    return f"--against {ref}: no such commit in the repository of {where} ({fetch})"
