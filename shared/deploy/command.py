"""``fooddelivery tfvars``, ``deploy`` and ``teardown``.

* ``tfvars [--check]`` writes (or checks) every environment's generated
  ``topology.auto.tfvars.json``;
* ``deploy --env dev`` checks the tools and credentials, refuses stale tfvars,
  builds the source archives (the subsystems', and the dev sandbox's fakes),
  then runs ``terraform init`` and ``plan``, refuses a plan that replaces a
  subscription, topic, database, bucket, secret or project (and so loses what it holds) unless
  ``--allow-replace``, asks (unless ``--auto-approve``) and applies that plan
  (``--secrets-only``: only the projects and the empty secrets, on a first run),
  then runs the subsystems' migrations (:mod:`shared.migrations`) on their
  Firestore databases (``--force-backfills``: the backfills recorded done too);
* ``teardown --env dev`` runs ``terraform destroy`` (asking, unless ``--auto-approve``)
  and then lists, with
  ``gcloud``, anything left in the environment's projects (the subsystems', and
  dev's sandbox): exit 1 if anything is.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from shared.deploy import archive, tfvars, tools
from shared.deploy.replacements import lossy_replacements, refusal
from shared.deploy.tfvars import DeployError
from shared.migrations.command import migrate
from shared.paths import PROJECT_ROOT
from shared.runtime.operator import connect
from shared.system import load_subsystems

ROOT = PROJECT_ROOT
"""The repository: pyproject.toml, the packages and terraform/."""
TERRAFORM = ROOT / "terraform"
ARCHIVES = ROOT / "build" / "archives"
STATE_BUCKET_ENV = "FOODDELIVERY_TF_STATE_BUCKET"
PROJECT_IDS_ENV = "TF_VAR_project_ids"
"""Where Terraform also reads the ``project_ids`` variable from (its case matters)."""
DEFAULT_REGION = "europe-west1"
"""The environments' default region (terraform/environments/*/variables.tf)."""


def environments(root: Path = TERRAFORM) -> list[Path]:
    """The environment roots (``terraform/environments/<env>``)."""
    return sorted(p for p in (root / "environments").iterdir() if (p / "main.tf").is_file())


def current_tfvars() -> dict[str, Any]:
    """The tfvars document for the registered subsystems, as generated now."""
    topologies = [app.topology for app in load_subsystems()]
    return tfvars.render(topologies)


def build_archives(out_dir: Path | None = None) -> list[Path]:
    """Build every subsystem's source archive, then the dev sandbox's ``fakes.zip``.

    Into ``out_dir`` (default build/archives). Every environment gets the fakes
    archive; only dev's configuration (terraform/modules/sandbox) uploads it.
    """
    packages, out = archive.subsystem_packages(), out_dir or ARCHIVES
    specs = [archive.spec_for(app.topology, packages[app.name]) for app in load_subsystems()]
    for spec in specs:
        missing = archive.missing_targets(spec)
        if missing:
            raise DeployError(
                f"{spec.package}/main.py does not expose {', '.join(missing)}: name its "
                'FunctionHost `host` and add `<target> = host.target("<target>")` for each '
                "declared function"
            )
    return [*[archive.build(spec, ROOT, out) for spec in specs], archive.build_fakes(ROOT, out)]


def shown(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def environment(name: str) -> Path:
    """The root of environment ``name`` (``terraform/environments/<name>``), or DeployError.

    Only an environment's own name: ``dev/`` or ``../environments/dev`` reach the same root,
    but would name another Terraform state (``prefix=fooddelivery/<name>``), an empty one.
    """
    known = [p.name for p in environments()]
    if name not in known:
        raise DeployError(f"no environment {name!r} (known: {', '.join(known)})")
    return TERRAFORM / "environments" / name


def configured(directory: Path) -> None:
    """A DeployError unless the environment at ``directory`` is given its project ids: in
    ``terraform.tfvars`` (copied from the example beside it), another ``*.auto.tfvars``
    file, or ``TF_VAR_project_ids``. Terraform would stop at the plan, after the init."""
    given = [directory / "terraform.tfvars", directory / "terraform.tfvars.json"]
    given += [p for p in directory.glob("*.auto.tfvars*") if p.name != tfvars.TFVARS_NAME]
    if any(p.is_file() for p in given) or os.environ.get(PROJECT_IDS_ENV):
        return
    raise DeployError(
        f"{shown(directory / 'terraform.tfvars')} is missing: copy terraform.tfvars.example "
        "beside it and set the project ids, folder and billing account "
        "(README, Deploy to GCP, 2. Configure)"
    )


_PROTECTED = re.compile(r"^\s*deletion_protection\s*=\s*true\b", re.MULTILINE)


def unprotected(directory: Path, env: str) -> None:
    """A DeployError when the environment at ``directory`` protects its data from deletion
    (``deletion_protection = true``, prod's): a destroy would delete its functions, topics
    and subscriptions, and only then stop at the projects (``PREVENT``), keeping the
    databases (``ABANDON``) and any lake bucket holding objects."""
    if _PROTECTED.search((directory / "main.tf").read_text()):
        raise DeployError(
            f"{env} is protected (deletion_protection = true in {shown(directory / 'main.tf')}):"
            " a destroy would delete its functions, topics and subscriptions, then fail at the "
            "projects, keeping its databases and lakes; to tear it down, set it to false and "
            f"`fooddelivery deploy --env {env}` first"
        )


def has_sandbox(directory: Path) -> bool:
    """Whether the environment at ``directory`` deploys the sandbox (dev's fakes)."""
    return 'module "sandbox"' in (directory / "main.tf").read_text()


def needs_a_terminal(args: argparse.Namespace, shell: tools.Shell, asks: str) -> None:
    """A DeployError when, without ``--auto-approve``, the command would ask (``asks``:
    "applying the plan to dev needs a yes") and standard input is no terminal to answer on."""
    if not args.auto_approve and not shell.can_ask():
        raise DeployError(
            f"{asks}, and standard input is no terminal to answer on: run it in a terminal, "
            "or give --auto-approve"
        )


def terraform_root(args: argparse.Namespace) -> tools.TerraformRoot:
    """The environment the command works on, with its state bucket."""
    directory = environment(args.env)
    bucket = args.state_bucket or os.environ.get(STATE_BUCKET_ENV)
    if not bucket:
        raise DeployError(f"name the Terraform state bucket: --state-bucket or {STATE_BUCKET_ENV}")
    return tools.TerraformRoot(directory, args.env, bucket)


def run_tfvars(args: argparse.Namespace) -> int:
    """Write or check the generated tfvars."""
    document, envs = current_tfvars(), environments()
    if args.check:
        stale = tfvars.stale(document, envs)
        for path in stale:
            print(f"stale: {shown(path)} (run `fooddelivery tfvars`)", file=sys.stderr)
        return 1 if stale else 0
    for path in tfvars.write(document, envs):
        print(f"wrote {shown(path)}")
    return 0


def run_deploy(args: argparse.Namespace, shell: tools.Shell | None = None) -> int:
    """Build the archives and apply the environment.

    The arguments, and (unless ``--archives-only``) the configuration, the tools and the
    credentials, are checked before anything is built: a mistyped environment, a missing
    state bucket or ``terraform.tfvars``, no terminal to ask on without ``--auto-approve``,
    no terraform or gcloud, or no credentials writes nothing.
    """
    shell = shell or tools.Shell()
    environment(args.env)
    root = None if args.archives_only else terraform_root(args)
    if root is not None:
        needs_a_terminal(args, shell, f"applying the plan to {args.env} needs a yes")
        configured(root.directory)
    stale = tfvars.stale(current_tfvars(), environments())
    if stale:
        raise DeployError(f"{shown(stale[0])} is stale: run `fooddelivery tfvars`")
    if root is not None:
        tools.preflight(shell)
    for path in build_archives():
        print(f"built {shown(path)}")
    if root is None:
        return 0
    tools.check(shell, root.init(), tools.INIT_HINT)
    subsystems = sorted(current_tfvars()["subsystems"])
    sandbox = has_sandbox(root.directory)
    targets = tools.secret_targets(subsystems, sandbox) if args.secrets_only else ()
    with tempfile.TemporaryDirectory(prefix="fooddelivery-plan-") as scratch:
        plan_file = Path(scratch) / f"{args.env}.tfplan"
        tools.check(shell, root.plan(ARCHIVES, plan_file, targets=targets))
        replacements = lossy_replacements(tools.planned(shell, root, plan_file))
        if replacements and not args.allow_replace:
            raise DeployError(refusal(replacements))
        if not args.auto_approve and not shell.confirm(f"Apply this plan to {args.env}?"):
            print("not applied")
            return 1
        tools.check(shell, root.apply(plan_file), partly_applied(args.env))
    if args.secrets_only:
        print("secrets created: add their values (README, Deploy to GCP), then deploy again")
        return 0
    projects: dict[str, str] = {}
    try:
        projects = tools.outputs(shell, root).get("projects", {})
        migrate_deployed(projects, force=args.force_backfills)
    except Exception as error:  # the apply is done: say so, whatever stopped the migrations
        raise DeployError(
            not_migrated(args.env, projects, error, force=args.force_backfills)
        ) from error
    return 0


def partly_applied(env: str) -> str:
    """What a failed ``terraform apply`` left, and what to do."""
    return (
        f"{env} may be partly updated (what was applied before the error stays) and its "
        f"migrations did not run: fix the cause, then `fooddelivery deploy --env {env}` again"
    )


def not_migrated(
    env: str, projects: dict[str, str], error: Exception, *, force: bool = False
) -> str:
    """Why the migrations after a successful apply did not all run, and how to run them
    (with ``--force`` if they ran so)."""
    settings = " ".join(
        f"FOODDELIVERY_PROJECT_{name.upper()}={id_}" for name, id_ in sorted(projects.items())
    )
    again = (
        f"`FOODDELIVERY_MODE=gcp {settings} fooddelivery migrate{' --force' * force}`"
        if projects
        else f"`fooddelivery deploy --env {env}{' --force-backfills' * force}` again"
    )
    return (
        f"{env} is applied, but its migrations did not all run "
        f"({type(error).__name__}: {error}); its functions may read documents not migrated "
        f"yet: fix the cause, then run {again}"
    )


def migrate_deployed(projects: dict[str, str], *, force: bool = False) -> None:
    """Run every subsystem's migrations on its project's Firestore, as the functions now
    deployed read it (application-default credentials, as Terraform's); with ``force``, the
    backfills recorded done too (``fooddelivery migrate --force``)."""
    settings = {"FOODDELIVERY_MODE": "gcp"} | {
        f"FOODDELIVERY_PROJECT_{name.upper()}": project for name, project in projects.items()
    }
    apps = [app for app in load_subsystems() if app.name in projects]
    migrate(apps, lambda name: connect(name, settings)[0], force=force)


def run_teardown(args: argparse.Namespace, shell: tools.Shell | None = None) -> int:
    """Destroy the environment, then list what is left; exit 1 if anything is.

    Safe to run again after a destroy that stopped halfway: that one removed the outputs,
    so the projects to look in are then read from the environment's variables. An
    environment whose state holds nothing (never deployed) is not destroyed: one line says
    so (see :func:`_nothing_deployed`).
    """
    shell = shell or tools.Shell()
    root = terraform_root(args)
    unprotected(root.directory, args.env)
    needs_a_terminal(args, shell, f"destroying {args.env} needs a yes")
    configured(root.directory)
    tools.preflight(shell)
    build_archives()  # the configuration hashes the archives, even to destroy
    tools.check(shell, root.init(), tools.INIT_HINT)
    deployed = tools.outputs(shell, root)
    projects = deployed.get("projects") or tools.configured_projects(
        shell, root, ARCHIVES, has_sandbox(root.directory)
    )
    # The scheduler jobs are where the environment put them, unless told otherwise.
    region = args.region or deployed.get("region") or DEFAULT_REGION
    if not deployed and not tools.holds_resources(shell, root):
        return _nothing_deployed(shell, root, projects, region)
    partly = (
        f"{args.env} may be partly destroyed: fix the cause, then "
        f"`fooddelivery teardown --env {args.env}` again"
    )
    tools.check(shell, root.destroy(ARCHIVES, auto_approve=args.auto_approve), partly)
    left = [item for p in sorted(projects.values()) for item in tools.leftovers(shell, p, region)]
    for item in left:
        print(f"left behind: {item}", file=sys.stderr)
    print(f"teardown of {args.env}: {'INCOMPLETE' if left else 'nothing left'}")
    return 1 if left else 0


def _nothing_deployed(
    shell: tools.Shell, root: tools.TerraformRoot, projects: dict[str, str], region: str
) -> int:
    """The teardown of an environment whose state holds nothing (never deployed, or already
    torn down): nothing to destroy; its projects are still looked in, as the state may be
    another's (a mistyped bucket), but one that cannot be seen was never created."""
    left = [
        item
        for project in sorted(projects.values())
        for item in tools.leftovers(shell, project, region, unseen_is_gone=True)
    ]
    for item in left:
        print(f"left behind: {item}", file=sys.stderr)
    state = f"gs://{root.state_bucket}/fooddelivery/{root.env}"
    if left:
        print(f"teardown of {root.env}: INCOMPLETE (its Terraform state, {state}, is empty)")
        return 1
    print(
        f"teardown of {root.env}: nothing deployed (its Terraform state, {state}, holds no "
        "resources, and its projects hold nothing of it or do not exist)"
    )
    return 0


def register(commands: Any) -> None:
    """Add ``tfvars``, ``deploy`` and ``teardown`` to the ``fooddelivery`` command."""
    generate = commands.add_parser(
        "tfvars", help="write each Terraform environment's topology.auto.tfvars.json"
    )
    generate.add_argument("--check", action="store_true", help="exit 1 if any file is stale")
    generate.set_defaults(run=run_tfvars)

    deploy = commands.add_parser("deploy", help="build the archives and terraform apply")
    _environment_options(deploy)
    only = deploy.add_mutually_exclusive_group()
    only.add_argument(
        "--archives-only", action="store_true", help="only build build/archives/*.zip"
    )
    only.add_argument(
        "--secrets-only",
        action="store_true",
        help="first deployment: create the projects and empty secrets only, to fill them",
    )
    deploy.add_argument(
        "--allow-replace",
        action="store_true",
        help=(
            "apply even if the plan deletes or replaces a subscription, topic, database, "
            "bucket, secret or project"
        ),
    )
    deploy.add_argument(
        "--force-backfills",
        action="store_true",
        help=(
            "run the backfills recorded done too, as `fooddelivery migrate --force` (after "
            "rolling back to a version older than one, and forward again)"
        ),
    )
    deploy.set_defaults(run=run_deploy)

    teardown = commands.add_parser(
        "teardown", help="terraform destroy, then list anything left behind"
    )
    _environment_options(teardown)
    teardown.add_argument(
        "--region",
        help=(
            "region of the scheduler jobs to look for (default: the environment's, "
            f"from its outputs, or {DEFAULT_REGION})"
        ),
    )
    teardown.set_defaults(run=run_teardown)


def _environment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="environment under terraform/environments")
    parser.add_argument(
        "--state-bucket", help=f"GCS bucket of the Terraform state (or {STATE_BUCKET_ENV})"
    )
    parser.add_argument("--auto-approve", action="store_true", help="apply/destroy without asking")
