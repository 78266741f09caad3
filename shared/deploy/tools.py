"""The ``terraform`` and ``gcloud`` command lines the deploy commands run, and how.

Commands are built as argument lists by small functions (unit-tested), and run
through a :class:`Shell`, which tests replace with a recording fake.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.deploy.tfvars import DeployError

INTERRUPTED = 130
"""The exit code of a command the operator interrupted (as a shell reports SIGINT)."""
ADC_HINT = "run `gcloud auth login` and `gcloud auth application-default login` first"


class Shell:
    """Runs commands: :meth:`run` streams output to the terminal, :meth:`capture` keeps it;
    :meth:`confirm` asks the operator, if :meth:`can_ask`."""

    def which(self, program: str) -> str | None:
        """The program's path, or ``None`` when it is not installed."""
        return shutil.which(program)

    def run(self, argv: Sequence[str]) -> int:
        """Run with the terminal attached; return the exit code, :data:`INTERRUPTED` when
        the operator interrupted it.

        Ctrl-C reaches the program too, and Terraform stops gracefully: it finishes the
        calls under way, records them in its state and releases the state's lock. So the
        program is waited for, never killed, as :func:`subprocess.run` would kill it.
        """
        process = subprocess.Popen(list(argv))
        interrupted = False
        while True:
            try:
                code = process.wait()
            except KeyboardInterrupt:
                interrupted = True
                continue
            return INTERRUPTED if interrupted else code

    def capture(self, argv: Sequence[str], stdin: str = "") -> tuple[int, str, str]:
        """Run with output captured, ``stdin`` as its standard input; return (exit code,
        stdout, stderr)."""
        done = subprocess.run(list(argv), check=False, capture_output=True, text=True, input=stdin)
        return done.returncode, done.stdout, done.stderr

    def can_ask(self) -> bool:
        """Whether standard input is a terminal an operator can answer :meth:`confirm` on:
        not closed (``<&-``), nor a file or a pipe."""
        stdin = sys.stdin
        return stdin is not None and not stdin.closed and stdin.isatty()

    def confirm(self, question: str) -> bool:
        """Ask on the terminal; only ``yes`` is yes (as Terraform asks). No terminal, or
        none left (Ctrl-D), is no."""
        if not self.can_ask():
            return False
        try:
            return input(f"{question} Only 'yes' will be accepted: ").strip() == "yes"
        except EOFError:
            return False


def preflight(shell: Shell) -> None:
    """Fail clearly unless terraform and gcloud exist and application credentials work."""
    for program, hint in (
        ("terraform", "install Terraform >= 1.6 (https://developer.hashicorp.com/terraform)"),
        ("gcloud", "install the Google Cloud SDK (https://cloud.google.com/sdk)"),
    ):
        if shell.which(program) is None:
            raise DeployError(f"{program} is not installed: {hint}")
    code, _, _ = shell.capture(["gcloud", "auth", "application-default", "print-access-token"])
    if code != 0:
        raise DeployError(f"no Google application-default credentials: {ADC_HINT}")


def check(shell: Shell, argv: Sequence[str], hint: str = "") -> None:
    """Run ``argv``; a non-zero exit becomes a :class:`DeployError` naming the command."""
    code = shell.run(argv)
    if code != 0:
        suffix = f": {hint}" if hint else ""
        failed = "was interrupted" if code == INTERRUPTED else f"failed with exit code {code}"
        raise DeployError(f"`{' '.join(argv)}` {failed}{suffix}")


def failed(argv: Sequence[str], code: int, stderr: str) -> DeployError:
    """A captured command's failure: the command, its exit code and, when its standard error
    says, why (:func:`explanation`)."""
    why = explanation(stderr)
    return DeployError(f"`{' '.join(argv)}` failed with exit code {code}{f': {why}' * bool(why)}")


EXPLANATION_LENGTH = 300
"""The most characters of a command's own explanation a message quotes."""
_COLOR = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FRAME = "╷│╵"


def explanation(stderr: str) -> str:
    """The line of a command's standard error that says why it failed, without colors or
    Terraform's frames: Terraform's first ``Error:`` (gcloud's ``ERROR:``), else the first
    line that neither introduces something (ends with ``:``) nor belongs to one of
    Terraform's warnings; empty when there is none."""
    first = ""
    warning = False  # within a framed Terraform warning
    for raw in _COLOR.sub("", stderr).splitlines():
        framed = raw.strip()[:1] in _FRAME
        line = raw.strip().lstrip(_FRAME).strip()
        if raw.strip().startswith("╷"):
            warning = False
        if framed and line.startswith("Warning:"):
            warning = True
        if line.startswith(("Error:", "ERROR:")):
            return _cut(line)
        if line and not first and not line.endswith(":") and not (framed and warning):
            first = line
    return _cut(first)


def _cut(line: str) -> str:
    return line if len(line) <= EXPLANATION_LENGTH else f"{line[: EXPLANATION_LENGTH - 1]}…"


# -- terraform ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TerraformRoot:
    """One environment's root module and where its state lives."""

    directory: Path
    env: str
    state_bucket: str

    def _base(self) -> list[str]:
        return ["terraform", f"-chdir={self.directory}"]

    def init(self) -> list[str]:
        """``terraform init`` with the GCS backend for this environment."""
        return [
            *self._base(),
            "init",
            "-input=false",
            f"-backend-config=bucket={self.state_bucket}",
            f"-backend-config=prefix=fooddelivery/{self.env}",
        ]

    def plan(self, archive_dir: Path, plan_file: Path, *, targets: Sequence[str] = ()) -> list[str]:
        """``terraform plan`` of the environment (or of ``targets``), saved to ``plan_file``."""
        narrowed = [f"-target={target}" for target in targets]
        flags = self._vars(archive_dir, auto_approve=False)
        return [*self._base(), "plan", "-input=false", f"-out={plan_file}", *narrowed, *flags]

    def show(self, plan_file: Path) -> list[str]:
        """``terraform show -json`` of a saved plan."""
        return [*self._base(), "show", "-json", str(plan_file)]

    def state(self) -> list[str]:
        """``terraform show -json`` of the environment's state."""
        return [*self._base(), "show", "-json"]

    def apply(self, plan_file: Path) -> list[str]:
        """``terraform apply`` of a saved plan, exactly as it was shown."""
        return [*self._base(), "apply", "-input=false", str(plan_file)]

    def destroy(self, archive_dir: Path, *, auto_approve: bool) -> list[str]:
        """``terraform destroy`` of the environment."""
        return [*self._base(), "destroy", "-input=false", *self._vars(archive_dir, auto_approve)]

    def output(self) -> list[str]:
        """``terraform output -json``: every output of the environment."""
        return [*self._base(), "output", "-json"]

    def console(self, archive_dir: Path) -> list[str]:
        """``terraform console``: evaluates the expressions on its standard input."""
        return [*self._base(), "console", *self._vars(archive_dir, auto_approve=False)]

    @staticmethod
    def _vars(archive_dir: Path, auto_approve: bool) -> list[str]:
        flags = [f"-var=archive_dir={archive_dir.resolve()}"]
        return [*flags, "-auto-approve"] if auto_approve else flags


def secret_targets(subsystems: Sequence[str], sandbox: bool = False) -> list[str]:
    """The Secret Manager secrets of every subsystem, and its function builder's roles (and
    the ``sandbox``'s, in an environment that has one), as ``-target`` addresses.

    A first deployment creates them alone (with their projects), so an operator
    can add the values before the functions that read them are deployed, and the
    builders' grants have propagated (IAM takes minutes) before the first build.
    """
    targets = [
        f'module.system.module.subsystem["{name}"].{resource}'
        for name in subsystems
        for resource in (
            "google_secret_manager_secret.setting",
            "google_project_iam_member.builder",
        )
    ]
    return [*targets, "module.sandbox.google_project_iam_member.builder"] if sandbox else targets


INIT_HINT = (
    "the google provider could not be installed or the state bucket is unreachable; "
    "check network access to registry.terraform.io and the bucket name"
)


def planned(shell: Shell, root: TerraformRoot, plan_file: Path) -> dict[str, Any]:
    """The saved plan as ``terraform show -json`` describes it."""
    code, text, errors = shell.capture(root.show(plan_file))
    if code != 0:
        raise failed(root.show(plan_file), code, errors)
    return _json(root.show(plan_file), text)


def outputs(shell: Shell, root: TerraformRoot) -> dict[str, Any]:
    """The environment's outputs as plain values (``{}`` before the first apply)."""
    code, text, errors = shell.capture(root.output())
    if code != 0:
        raise failed(root.output(), code, errors)
    raw = _json(root.output(), text)
    return {name: value["value"] for name, value in raw.items()}


def holds_resources(shell: Shell, root: TerraformRoot) -> bool:
    """Whether the environment's Terraform state holds any resource: not before the first
    apply, nor after a destroy that finished."""
    code, text, errors = shell.capture(root.state())
    if code != 0:
        raise failed(root.state(), code, errors)
    values = _json(root.state(), text).get("values") or {}
    modules = [values.get("root_module") or {}]
    while modules:
        module = modules.pop()
        if module.get("resources"):
            return True
        modules += module.get("child_modules") or []
    return False


def configured_projects(
    shell: Shell, root: TerraformRoot, archive_dir: Path, sandbox: bool
) -> dict[str, str]:
    """The project ids the environment's variables name (``project_ids``, and
    ``sandbox_project_id`` when it has a ``sandbox``), as Terraform reads them.

    What the ``projects`` output says once applied; read where the outputs are gone: a
    destroy that stopped halfway has removed them, not the projects.
    """
    projects = "var.project_ids"
    if sandbox:
        projects = f"merge({projects}, {{ sandbox = var.sandbox_project_id }})"
    argv = root.console(archive_dir)
    code, text, errors = shell.capture(argv, stdin=f"jsonencode({projects})\n")
    if code != 0:
        raise failed(argv, code, errors)
    try:  # the JSON text, printed as a quoted string
        encoded = json.loads(text.strip() or '""')
        document = json.loads(encoded) if isinstance(encoded, str) else None
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
        raise DeployError(f"`{' '.join(argv)}` printed no project ids: {text[:200]!r}")
    return {str(name): id_ for name, id_ in document.items()}


def _json(argv: Sequence[str], text: str) -> dict[str, Any]:
    """What ``argv`` printed, as the JSON object it should be, or a DeployError saying so."""
    try:
        document = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        raise DeployError(f"`{' '.join(argv)}` printed no JSON ({error}): {text[:200]!r}") from None
    if not isinstance(document, dict):
        raise DeployError(f"`{' '.join(argv)}` printed {type(document).__name__}, not an object")
    return document


# -- gcloud: what a teardown may leave behind ---------------------------------------------

LEFTOVER_QUERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("function", ("functions", "list", "--v2")),
    ("Cloud Run service", ("run", "services", "list")),
    ("topic", ("pubsub", "topics", "list")),
    ("subscription", ("pubsub", "subscriptions", "list")),
    ("bucket", ("storage", "buckets", "list")),
    ("scheduler job", ("scheduler", "jobs", "list", "--location={region}")),
    ("Eventarc trigger", ("eventarc", "triggers", "list", "--location=-")),
    ("secret", ("secrets", "list")),
    ("Firestore database", ("firestore", "databases", "list")),
    ("Artifact Registry repository", ("artifacts", "repositories", "list")),
)
"""What the deployment creates inside a project, as ``gcloud`` list commands."""


def project_state_command(project: str) -> list[str]:
    """The project's lifecycle state (ACTIVE, DELETE_REQUESTED) as one word."""
    return ["gcloud", "projects", "describe", project, "--format=value(lifecycleState)"]


def leftover_commands(project: str, region: str) -> list[tuple[str, list[str]]]:
    """(kind, argv) listing each kind of resource left in ``project``, one name a line."""
    return [
        (
            kind,
            [
                "gcloud",
                *(part.format(region=region) for part in query),
                f"--project={project}",
                "--format=value(name)",
            ],
        )
        for kind, query in LEFTOVER_QUERIES
    ]


def leftovers(
    shell: Shell, project: str, region: str, *, unseen_is_gone: bool = False
) -> list[str]:
    """Everything of the deployment still in ``project``; ``[]`` when it is gone.

    A project that is deleted (or scheduled for deletion) holds nothing any more; one
    whose state cannot be read is reported, as what it holds cannot be known, unless
    ``unseen_is_gone`` (an environment never deployed: its projects were never created).
    """
    describe = project_state_command(project)
    code, state, errors = shell.capture(describe)
    if code != 0:
        why = explanation(errors)
        return (
            []
            if unseen_is_gone
            else [
                f"{project}: could not read whether it is deleted (`{' '.join(describe)}`"
                f"{f': {why}' * bool(why)})"
            ]
        )
    if state.strip() != "ACTIVE":
        return []
    found = []
    for kind, argv in leftover_commands(project, region):
        code, text, errors = shell.capture(argv)
        if code != 0:
            why = explanation(errors)
            found.append(
                f"{project}: could not list {kind}s (`{' '.join(argv)}`{f': {why}' * bool(why)})"
            )
            continue
        found += [f"{project}: {kind} {name}" for name in text.split() if name]
    return found
