"""The deploy, teardown and tfvars commands: the command lines they run, and their failures."""

from __future__ import annotations

import io
import json
import re
from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customer.browse_bff.models import RESTAURANTS
from shared.cli import build_parser, main
from shared.deploy import command, tools
from shared.deploy.tfvars import DeployError
from shared.migrations.command import MigrationError
from shared.stores import InMemoryDocumentStore
from shared.system import load_subsystems


class FakeShell(tools.Shell):
    """Records commands; answers from canned results keyed by the command's first words."""

    def __init__(
        self, missing=(), codes=None, outputs=None, answer="yes", terminal=True, errors=None
    ):
        self.missing, self.codes, self.outputs = set(missing), codes or {}, outputs or {}
        self.errors = errors or {}
        self.answer, self.asked, self.terminal = answer, [], terminal
        self.ran: list[list[str]] = []
        self.stdin: list[str] = []

    def which(self, program):
        return None if program in self.missing else f"/usr/bin/{program}"

    def _answer(self, argv):
        self.ran.append(list(argv))
        for prefix, code in self.codes.items():
            if " ".join(argv).startswith(prefix):
                return code
        return 0

    def run(self, argv):
        return self._answer(argv)

    def capture(self, argv, stdin=""):
        self.stdin.append(stdin)
        code = self._answer(argv)
        text = next((out for key, out in self.outputs.items() if key in " ".join(argv)), "")
        error = next((err for key, err in self.errors.items() if key in " ".join(argv)), "")
        return code, text, error

    def can_ask(self):
        return self.terminal

    def confirm(self, question):
        self.asked.append(question)
        return self.answer == "yes"


def args(**overrides) -> Namespace:
    values = {
        "env": "dev",
        "state_bucket": "tf-state",
        "auto_approve": True,
        "archives_only": False,
        "secrets_only": False,
        "allow_replace": False,
        "force_backfills": False,
        "region": "europe-west1",
    }
    return Namespace(**{**values, **overrides})


@pytest.fixture
def archives(tmp_path, monkeypatch):
    monkeypatch.setattr(command, "ARCHIVES", tmp_path / "archives")
    # the project ids terraform.tfvars gives an operator's checkout (none is committed)
    monkeypatch.setenv("TF_VAR_project_ids", '{ customer = "acme-fd-customer-dev" }')
    return tmp_path / "archives"


def test_terraform_command_lines(tmp_path):
    root = tools.TerraformRoot(tmp_path / "dev", "dev", "tf-state")
    assert root.init() == [
        "terraform",
        f"-chdir={tmp_path / 'dev'}",
        "init",
        "-input=false",
        "-backend-config=bucket=tf-state",
        "-backend-config=prefix=fooddelivery/dev",
    ]
    plan = tmp_path / "dev.tfplan"
    assert root.plan(tmp_path / "a", plan) == [
        "terraform",
        f"-chdir={tmp_path / 'dev'}",
        "plan",
        "-input=false",
        f"-out={plan}",
        f"-var=archive_dir={tmp_path / 'a'}",
    ]
    assert root.show(plan)[2:] == ["show", "-json", str(plan)]
    assert root.apply(plan)[2:] == ["apply", "-input=false", str(plan)]
    assert root.destroy(tmp_path / "a", auto_approve=True)[3:] == [
        "-input=false",
        f"-var=archive_dir={tmp_path / 'a'}",
        "-auto-approve",
    ]


def test_deploy_builds_the_archives_then_inits_and_applies(archives):
    shell = FakeShell()
    assert command.run_deploy(args(), shell) == 0
    assert sorted(p.name for p in archives.iterdir()) == [
        "customer.zip",
        "delivery.zip",
        "fakes.zip",
        "order.zip",
        "restaurant.zip",
    ]
    steps = [argv[:2] if argv[0] == "gcloud" else [argv[0], argv[2]] for argv in shell.ran]
    assert steps == [
        ["gcloud", "auth"],
        ["terraform", "init"],
        ["terraform", "plan"],
        ["terraform", "show"],
        ["terraform", "apply"],
        ["terraform", "output"],  # the projects, to run the migrations in
    ]
    plan, show, apply, _ = shell.ran[-4:]
    assert f"-var=archive_dir={archives}" in plan
    saved = plan[4].removeprefix("-out=")
    assert show[-1] == apply[-1] == saved  # the plan applied is the plan checked
    assert shell.asked == []  # --auto-approve


def plan_replacing(resource_type: str, address: str, paths: list[list[str]]) -> str:
    """``terraform show -json`` of a plan that replaces one resource and updates another."""
    return json.dumps(
        {
            "format_version": "1.2",
            "resource_changes": [
                {
                    "address": address,
                    "type": resource_type,
                    "change": {"actions": ["delete", "create"], "replace_paths": paths},
                },
                {
                    "address": "google_pubsub_subscription.other",
                    "type": "google_pubsub_subscription",
                    "change": {"actions": ["update"]},
                },
            ],
        }
    )


SUBSCRIPTION = 'module.system.module.subsystem["order"].google_pubsub_subscription.push["to-pos"]'


def test_deploy_refuses_a_plan_that_replaces_a_subscription(archives):
    shell = FakeShell(
        outputs={
            "show -json": plan_replacing("google_pubsub_subscription", SUBSCRIPTION, [["filter"]])
        }
    )
    with pytest.raises(DeployError) as refused:
        command.run_deploy(args(), shell)
    assert str(refused.value).startswith(
        "the plan deletes or replaces 1 resource(s) holding messages or data:\n"
        f"  - {SUBSCRIPTION} (filter changed): its undelivered messages would be lost\n"
    )
    assert "--allow-replace" in str(refused.value)
    assert not [argv for argv in shell.ran if argv[2] == "apply"]


@pytest.mark.parametrize(
    ("resource_type", "loss"),
    [
        ("google_pubsub_topic", "messages published meanwhile would be lost"),
        ("google_firestore_database", "its documents would be lost"),
        ("google_storage_bucket", "its objects would be lost"),
        ("google_secret_manager_secret", "the values added to it would be lost"),
        ("google_project", r"everything in it \(messages, documents, objects, secrets\)"),
    ],
)
def test_deploy_refuses_to_replace_whatever_holds_data(archives, resource_type, loss):
    shell = FakeShell(outputs={"show -json": plan_replacing(resource_type, "x.y", [])})
    with pytest.raises(DeployError, match=f"  - x.y: {loss}"):
        command.run_deploy(args(), shell)


def test_deploy_refuses_a_plan_that_deletes_a_subscription(archives):
    plan = json.dumps(
        {
            "resource_changes": [
                {
                    "address": SUBSCRIPTION,
                    "type": "google_pubsub_subscription",
                    "change": {"actions": ["delete"]},
                }
            ]
        }
    )
    shell = FakeShell(outputs={"show -json": plan})
    with pytest.raises(DeployError, match=r"\(deleted\): its undelivered messages would be lost"):
        command.run_deploy(args(), shell)
    assert not [argv for argv in shell.ran if argv[2] == "apply"]


def test_replacing_a_function_or_updating_a_subscription_needs_no_permission(archives):
    shell = FakeShell(
        outputs={"show -json": plan_replacing("google_cloudfunctions2_function", "f", [["name"]])}
    )
    assert command.run_deploy(args(), shell) == 0
    assert applied_then_migrated(shell)


def test_allow_replace_applies_the_plan_anyway(archives):
    shell = FakeShell(
        outputs={
            "show -json": plan_replacing("google_pubsub_subscription", SUBSCRIPTION, [["filter"]])
        }
    )
    assert command.run_deploy(args(allow_replace=True), shell) == 0
    assert applied_then_migrated(shell)


def applied_then_migrated(shell: FakeShell) -> bool:
    """Whether the plan was applied, then the outputs read to run the migrations."""
    return [argv[2] for argv in shell.ran if argv[0] == "terraform"][-2:] == ["apply", "output"]


def test_after_the_apply_each_subsystems_migrations_run_on_its_project(
    archives, monkeypatch, capsys
):
    legacy = InMemoryDocumentStore()
    legacy.put(RESTAURANTS, "r-1", {"id": "r-1", "name": "Öz Kebap", "cuisine": "Turkish "})
    reached = []

    def connect(name, environ):
        reached.append(
            (name, environ["FOODDELIVERY_MODE"], environ[f"FOODDELIVERY_PROJECT_{name.upper()}"])
        )
        return legacy, None

    monkeypatch.setattr(command, "connect", connect)
    shell = FakeShell(outputs={"output -json": json.dumps({"projects": {"value": PROJECTS}})})

    assert command.run_deploy(args(), shell) == 0

    assert reached == [("customer", "gcp", "fd-customer-dev"), ("order", "gcp", "fd-order-dev")]
    assert legacy.get(RESTAURANTS, "r-1") == {
        "id": "r-1",
        "name": "Öz Kebap",
        "cuisine": "turkish",
        "sortName": "oz kebap",
    }
    assert "customer/catalog-sort-names: 1 document changed" in capsys.readouterr().out


def test_a_failed_apply_says_the_environment_may_be_partly_updated(archives, monkeypatch):
    monkeypatch.setattr(command, "connect", lambda *_: pytest.fail("connected"))
    shell = FakeShell(codes={f"terraform -chdir={command.environment('dev')} apply": 1})
    with pytest.raises(DeployError) as failed:
        command.run_deploy(args(), shell)
    assert "dev may be partly updated" in str(failed.value)
    assert "migrations did not run" in str(failed.value)
    assert "`fooddelivery deploy --env dev` again" in str(failed.value)


@pytest.mark.parametrize(
    "error", [RuntimeError("no application-default credentials"), MigrationError("x failed")]
)
def test_migrations_failing_after_the_apply_say_it_is_applied_and_how_to_finish(
    archives, monkeypatch, error
):
    def connect(name, environ):
        raise error

    monkeypatch.setattr(command, "connect", connect)
    shell = FakeShell(outputs={"output -json": json.dumps({"projects": {"value": PROJECTS}})})
    with pytest.raises(DeployError) as failed:
        command.run_deploy(args(), shell)
    message = str(failed.value)
    assert message.startswith("dev is applied, but its migrations did not all run")
    assert str(error) in message
    assert (
        "`FOODDELIVERY_MODE=gcp FOODDELIVERY_PROJECT_CUSTOMER=fd-customer-dev "
        "FOODDELIVERY_PROJECT_ORDER=fd-order-dev fooddelivery migrate`"
    ) in message


def test_unreadable_outputs_after_the_apply_say_it_is_applied(archives, monkeypatch):
    monkeypatch.setattr(command, "connect", lambda *_: pytest.fail("connected"))
    shell = FakeShell(codes={f"terraform -chdir={command.environment('dev')} output": 1})
    with pytest.raises(DeployError) as failed:
        command.run_deploy(args(), shell)
    assert str(failed.value).startswith("dev is applied, but its migrations did not all run")
    assert "`fooddelivery deploy --env dev` again" in str(failed.value)


@pytest.mark.parametrize("printed", ["Warning: no plan\n", "[]"])
def test_a_plan_terraform_shows_as_no_json_object_stops_the_deploy_clearly(archives, printed):
    shell = FakeShell(outputs={"show -json": printed})
    with pytest.raises(DeployError, match=r"`terraform -chdir=\S+ show -json \S+` printed"):
        command.run_deploy(args(), shell)
    assert not [argv for argv in shell.ran if argv[2] == "apply"]


def test_a_first_deploy_of_the_secrets_runs_no_migration(archives, monkeypatch):
    monkeypatch.setattr(command, "connect", lambda *_: pytest.fail("connected"))
    shell = FakeShell(outputs={"output -json": json.dumps({"projects": {"value": PROJECTS}})})

    assert command.run_deploy(args(secrets_only=True), shell) == 0
    assert [argv[2] for argv in shell.ran if argv[0] == "terraform"][-1] == "apply"


@pytest.mark.parametrize(("answer", "code"), [("yes", 0), ("no", 1)])
def test_without_auto_approve_the_operator_is_asked(archives, capsys, answer, code):
    shell = FakeShell(answer=answer)
    assert command.run_deploy(args(auto_approve=False), shell) == code
    assert shell.asked == ["Apply this plan to dev?"]
    applied = [argv for argv in shell.ran if argv[2] == "apply"]
    assert len(applied) == (1 if answer == "yes" else 0)


def test_without_a_terminal_to_ask_on_deploy_refuses_before_running_anything(archives):
    shell = FakeShell(terminal=False)
    with pytest.raises(DeployError) as refused:
        command.run_deploy(args(auto_approve=False), shell)
    assert str(refused.value) == (
        "applying the plan to dev needs a yes, and standard input is no terminal to answer "
        "on: run it in a terminal, or give --auto-approve"
    )
    assert (shell.ran, shell.asked) == ([], [])
    assert not archives.exists()


def test_without_a_terminal_auto_approve_and_archives_only_still_run(archives):
    no_terminal = FakeShell(terminal=False)
    assert command.run_deploy(args(), no_terminal) == 0
    assert command.run_deploy(args(auto_approve=False, archives_only=True), no_terminal) == 0


@pytest.mark.parametrize("stdin", ["closed", "at-end-of-file"])
def test_deploy_with_no_terminal_is_one_line_and_exit_2(monkeypatch, capsys, stdin):
    """``fooddelivery deploy --env dev <&-`` (Python's ``sys.stdin`` is then None) or
    ``< /dev/null``: refused before anything is built or run, never a traceback."""
    monkeypatch.setattr("sys.stdin", None if stdin == "closed" else io.StringIO(""))
    monkeypatch.setattr(command, "build_archives", lambda *_: pytest.fail("built"))
    for method in ("which", "run", "capture"):
        monkeypatch.setattr(tools.Shell, method, lambda *_: pytest.fail("ran"))

    assert main(["deploy", "--env", "dev", "--state-bucket", "tf-state"]) == 2

    err = capsys.readouterr().err
    assert err.startswith(
        "fooddelivery deploy: applying the plan to dev needs a yes, and standard "
    )
    assert err.endswith("give --auto-approve\n") and err.count("\n") == 1


def test_the_shell_asks_only_on_a_terminal(monkeypatch):
    class Terminal:
        closed = False

        def isatty(self):
            return True

    shell = tools.Shell()
    monkeypatch.setattr("builtins.input", lambda _: "yes")
    monkeypatch.setattr("sys.stdin", Terminal())
    assert shell.can_ask() and shell.confirm("Apply?")
    monkeypatch.setattr("sys.stdin", None)  # started with standard input closed
    assert not shell.can_ask() and not shell.confirm("Apply?")


@pytest.mark.parametrize(("env", "sandbox"), [("dev", True), ("prod", False)])
def test_a_first_deploy_can_create_only_the_secrets(archives, capsys, env, sandbox):
    shell = FakeShell()
    assert command.run_deploy(args(env=env, secrets_only=True), shell) == 0
    [plan] = [argv for argv in shell.ran if argv[2] == "plan"]
    targets = [a for a in plan if a.startswith("-target=")]
    subsystems = [
        f'-target=module.system.module.subsystem["{name}"].{resource}'
        for name in ("customer", "delivery", "order", "restaurant")
        for resource in (
            "google_secret_manager_secret.setting",
            "google_project_iam_member.builder",
        )
    ]
    # dev's sandbox builds the fakes: its builder's grants propagate ahead too
    builder = ["-target=module.sandbox.google_project_iam_member.builder"] if sandbox else []
    assert targets == subsystems + builder
    assert "add their values" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("shell", "message"),
    [
        (FakeShell(missing={"terraform"}), "terraform is not installed"),
        (FakeShell(missing={"gcloud"}), "gcloud is not installed"),
        (FakeShell(codes={"gcloud auth": 1}), "application-default login"),
        (FakeShell(codes={"terraform -chdir": 1}), "google provider could not be installed"),
    ],
)
def test_deploy_fails_clearly_without_tools_credentials_or_provider(archives, shell, message):
    with pytest.raises(DeployError, match=message):
        command.run_deploy(args(), shell)
    assert not [argv for argv in shell.ran if "apply" in argv]


def test_deploy_needs_a_state_bucket_and_a_known_environment(archives, monkeypatch):
    monkeypatch.delenv(command.STATE_BUCKET_ENV, raising=False)
    with pytest.raises(DeployError, match="--state-bucket"):
        command.run_deploy(args(state_bucket=None), FakeShell())
    with pytest.raises(DeployError, match=r"no environment 'staging' \(known: dev, prod\)"):
        command.run_deploy(args(env="staging"), FakeShell())


@pytest.mark.parametrize("env", ["dev/", "./dev", "../environments/dev"])
def test_an_environment_is_named_not_pathed(archives, env):
    # the same root, but another Terraform state: prefix=fooddelivery/<env> would be empty
    shell = FakeShell()
    with pytest.raises(DeployError, match=r"no environment .* \(known: dev, prod\)"):
        command.run_deploy(args(env=env), shell)
    assert shell.ran == []


@pytest.mark.parametrize("archives_only", [False, True])
def test_an_unknown_environment_is_refused_before_any_archive_is_built(
    archives, monkeypatch, capsys, archives_only
):
    monkeypatch.setattr(command, "build_archives", lambda: pytest.fail("built archives"))
    argv = ["deploy", "--env", "bogus", "--state-bucket", "b"]
    assert main(argv + (["--archives-only"] if archives_only else [])) == 2
    assert "no environment 'bogus' (known: dev, prod)" in capsys.readouterr().err
    assert not archives.exists()


def test_archives_only_and_secrets_only_together_are_refused(archives, monkeypatch, capsys):
    monkeypatch.setattr(command, "build_archives", lambda: pytest.fail("built archives"))
    argv = ["deploy", "--env", "dev", "--state-bucket", "b", "--archives-only", "--secrets-only"]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "not allowed with argument --archives-only" in capsys.readouterr().err
    assert not archives.exists()


def test_archives_only_needs_no_state_bucket(archives, monkeypatch):
    monkeypatch.delenv(command.STATE_BUCKET_ENV, raising=False)
    shell = FakeShell()
    assert command.run_deploy(args(archives_only=True, state_bucket=None), shell) == 0
    assert len(list(archives.glob("*.zip"))) == len(load_subsystems()) + 1  # and the fakes
    assert shell.ran == []


def test_no_archive_is_built_when_a_main_py_lacks_a_declared_function(archives, monkeypatch):
    monkeypatch.delattr("restaurant.main.kitchen_bff_api")
    with pytest.raises(DeployError, match=r"restaurant/main.py does not expose kitchen_bff_api"):
        command.run_deploy(args(archives_only=True, state_bucket=None), FakeShell())
    assert not archives.exists() or list(archives.iterdir()) == []


def test_no_archive_is_built_when_a_main_py_names_its_host_otherwise(archives, monkeypatch):
    # The archive's main.py imports `host` for the fault recorder: named otherwise, the
    # archive was built and failed to load on Cloud Functions with an ImportError.
    import restaurant.main

    monkeypatch.setattr(restaurant.main, "functions", restaurant.main.host, raising=False)
    monkeypatch.delattr(restaurant.main, "host")
    with pytest.raises(DeployError, match=r"restaurant/main.py does not expose host: name its"):
        command.run_deploy(args(archives_only=True, state_bucket=None), FakeShell())
    assert not archives.exists() or list(archives.iterdir()) == []


def test_deploy_without_a_state_bucket_builds_nothing(archives, monkeypatch):
    monkeypatch.delenv(command.STATE_BUCKET_ENV, raising=False)
    monkeypatch.setattr(command, "build_archives", lambda: pytest.fail("built archives"))
    with pytest.raises(DeployError, match="--state-bucket"):
        command.run_deploy(args(state_bucket=None), FakeShell())


def test_deploy_refuses_stale_tfvars(archives, monkeypatch, tmp_path):
    env = tmp_path / "environments" / "dev"
    env.mkdir(parents=True)
    (env / "main.tf").write_text("")
    monkeypatch.setattr(command, "environments", lambda: [env])
    monkeypatch.setattr(command, "ROOT", tmp_path)
    shell = FakeShell()
    with pytest.raises(DeployError, match="stale: run `fooddelivery tfvars`"):
        command.run_deploy(args(), shell)
    assert shell.ran == []


def test_cli_without_terraform_exits_2_with_the_reason(archives, monkeypatch, capsys):
    monkeypatch.setattr(tools.shutil, "which", lambda program: None)
    monkeypatch.setattr(tools.Shell, "can_ask", lambda self: True)  # run from a terminal
    assert main(["deploy", "--env", "dev", "--state-bucket", "b"]) == 2
    assert "terraform is not installed" in capsys.readouterr().err


def test_the_commands_are_registered():
    parser = build_parser()
    for name in ("deploy", "teardown", "tfvars"):
        assert parser.parse_args([name, "--env", "dev"] if name != "tfvars" else [name]).run


PROJECTS = {"customer": "fd-customer-dev", "order": "fd-order-dev"}


def teardown_shell(**kw) -> FakeShell:
    outputs = {
        "output -json": json.dumps({"projects": {"value": PROJECTS}}),
        **kw.pop("outputs", {}),
    }
    return FakeShell(outputs=outputs, **kw)


def test_teardown_destroys_then_finds_nothing_in_deleted_projects(archives, capsys):
    shell = teardown_shell(outputs={"lifecycleState": "DELETE_REQUESTED\n"})
    assert command.run_teardown(args(), shell) == 0
    verbs = [argv[2] for argv in shell.ran if argv[0] == "terraform"]
    assert verbs == ["init", "output", "destroy"]
    described = [argv[3] for argv in shell.ran if argv[:3] == ["gcloud", "projects", "describe"]]
    assert described == ["fd-customer-dev", "fd-order-dev"]
    assert "nothing left" in capsys.readouterr().out


def test_teardown_lists_what_is_left_and_exits_1(archives, capsys):
    shell = teardown_shell(
        outputs={"lifecycleState": "ACTIVE\n", "topics list": "projects/p/topics/bus\n"}
    )
    assert command.run_teardown(args(), shell) == 1
    err = capsys.readouterr().err
    assert "fd-customer-dev: topic projects/p/topics/bus" in err
    assert "fd-order-dev: topic projects/p/topics/bus" in err
    assert "subscription" not in err  # other lists came back empty


def test_teardown_that_cannot_read_a_projects_state_is_incomplete(archives, capsys):
    shell = teardown_shell(codes={"gcloud projects describe": 1})
    assert command.run_teardown(args(), shell) == 1
    captured = capsys.readouterr()
    assert "fd-customer-dev: could not read whether it is deleted" in captured.err
    assert "teardown of dev: INCOMPLETE" in captured.out


def test_a_failed_destroy_says_what_may_be_left_and_how_to_finish(archives):
    shell = teardown_shell(codes={f"terraform -chdir={command.environment('dev')} destroy": 1})
    with pytest.raises(DeployError, match=r"dev may be partly destroyed: .* teardown --env dev"):
        command.run_teardown(args(), shell)


def scheduler_locations(shell: FakeShell) -> set[str]:
    """The ``--location`` of every scheduler job listing a teardown ran."""
    return {argv[4] for argv in shell.ran if argv[1:4] == ["scheduler", "jobs", "list"]}


def test_teardown_looks_for_scheduler_jobs_in_the_environments_region(archives):
    deployed = {"projects": {"value": PROJECTS}, "region": {"value": "us-central1"}}
    shell = teardown_shell(
        outputs={"output -json": json.dumps(deployed), "lifecycleState": "ACTIVE\n"}
    )
    assert command.run_teardown(args(region=None), shell) == 0
    assert scheduler_locations(shell) == {"--location=us-central1"}
    assert build_parser().parse_args(["teardown", "--env", "dev"]).region is None


def test_teardown_region_named_on_the_command_line_wins(archives):
    deployed = {"projects": {"value": PROJECTS}, "region": {"value": "us-central1"}}
    shell = teardown_shell(
        outputs={"output -json": json.dumps(deployed), "lifecycleState": "ACTIVE\n"}
    )
    assert command.run_teardown(args(region="asia-east1"), shell) == 0
    assert scheduler_locations(shell) == {"--location=asia-east1"}


def test_every_environment_outputs_its_region():
    for env in command.environments():
        outputs = (env / "outputs.tf").read_text()
        assert re.search(r'output "region" \{[^}]*value\s*=\s*var\.region', outputs), env.name


def test_leftover_queries_cover_every_kind_the_deployment_creates():
    kinds = [kind for kind, _ in tools.leftover_commands("p", "europe-west1")]
    assert {
        "function",
        "topic",
        "subscription",
        "bucket",
        "scheduler job",
        "Eventarc trigger",
        "secret",
        "Firestore database",
    } <= set(kinds)
    scheduler = dict(tools.leftover_commands("p", "europe-west1"))["scheduler job"]
    assert scheduler == [
        "gcloud",
        "scheduler",
        "jobs",
        "list",
        "--location=europe-west1",
        "--project=p",
        "--format=value(name)",
    ]


def test_tfvars_check_reports_stale_files(monkeypatch, tmp_path, capsys):
    env = tmp_path / "environments" / "dev"
    env.mkdir(parents=True)
    monkeypatch.setattr(command, "environments", lambda: [env])
    monkeypatch.setattr(command, "ROOT", tmp_path)
    assert command.run_tfvars(Namespace(check=True)) == 1
    assert "stale: environments/dev/topology.auto.tfvars.json" in capsys.readouterr().err
    assert command.run_tfvars(Namespace(check=False)) == 0
    assert command.run_tfvars(Namespace(check=True)) == 0
    assert Path(env / "topology.auto.tfvars.json").is_file()


# -- failing early, re-running, and what an operator needs after a rollback ----------------


@pytest.mark.parametrize(
    "shell",
    [
        FakeShell(missing={"terraform"}),
        FakeShell(missing={"gcloud"}),
        FakeShell(codes={"gcloud auth": 1}),
    ],
)
def test_no_tools_or_credentials_stop_the_deploy_before_any_archive_is_built(archives, shell):
    with pytest.raises(DeployError):
        command.run_deploy(args(), shell)
    assert not archives.exists()


def test_teardown_without_tools_builds_nothing(archives):
    with pytest.raises(DeployError, match="terraform is not installed"):
        command.run_teardown(args(), teardown_shell(missing={"terraform"}))
    assert not archives.exists()


def test_the_project_ids_come_from_a_tfvars_file_or_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_VAR_project_ids", raising=False)
    (tmp_path / "topology.auto.tfvars.json").write_text("{}")  # generated: names no project
    with pytest.raises(DeployError, match=r"terraform.tfvars is missing: copy terraform.tfvars"):
        command.configured(tmp_path)
    monkeypatch.setenv("TF_VAR_project_ids", '{ customer = "c" }')
    command.configured(tmp_path)
    monkeypatch.delenv("TF_VAR_project_ids")
    for name in ("terraform.tfvars", "projects.auto.tfvars"):
        (tmp_path / name).write_text('project_ids = { customer = "c" }\n')
        command.configured(tmp_path)
        (tmp_path / name).unlink()


@pytest.mark.parametrize("verb", ["deploy", "teardown"])
def test_an_unconfigured_environment_is_one_line_and_exit_2_before_anything_runs(
    archives, monkeypatch, capsys, tmp_path, verb
):
    # no terraform.tfvars: Terraform would stop at the plan, after the archives and the init
    monkeypatch.delenv("TF_VAR_project_ids", raising=False)
    env = tmp_path / "dev"
    env.mkdir()
    (env / "main.tf").write_text("")
    monkeypatch.setattr(command, "environment", lambda name: env)
    for method in ("run", "capture"):
        monkeypatch.setattr(tools.Shell, method, lambda *_, **__: pytest.fail("ran"))
    argv = [verb, "--env", "dev", "--state-bucket", "b", "--auto-approve"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "terraform.tfvars is missing" in err
    assert not archives.exists()


def test_teardown_without_a_terminal_refuses_before_running_anything(archives):
    # Terraform would ask, find no answer ("error asking for approval: EOF") and fail, and
    # teardown would say the environment "may be partly destroyed".
    shell = teardown_shell(terminal=False)
    with pytest.raises(DeployError, match="destroying dev needs a yes, and standard"):
        command.run_teardown(args(auto_approve=False), shell)
    assert shell.ran == []
    assert not archives.exists()
    assert command.run_teardown(args(auto_approve=True), teardown_shell(terminal=False)) == 0


def test_teardown_again_after_a_destroy_stopped_halfway_looks_in_the_configured_projects(
    archives, capsys
):
    # A destroy that fails halfway removes the outputs, not what is left: `terraform output`
    # then prints {}, and the run the error message asks for checked no project at all.
    configured = {"customer": "fd-customer-dev", "sandbox": "fd-sandbox-dev"}
    shell = teardown_shell(
        outputs={
            "output -json": "{}\n",
            " console": json.dumps(json.dumps(configured)) + "\n",
            "show -json": STATE_WITH_A_PROJECT,
            "lifecycleState": "ACTIVE\n",
            "functions list": "checkout-bff-api\n",
        }
    )
    assert command.run_teardown(args(), shell) == 1
    err = capsys.readouterr().err
    assert "fd-customer-dev: function checkout-bff-api" in err
    assert "fd-sandbox-dev: function checkout-bff-api" in err
    consoled = next(i for i, argv in enumerate(shell.ran) if "console" in argv)
    assert consoled < next(i for i, argv in enumerate(shell.ran) if "destroy" in argv)


@pytest.mark.parametrize("sandbox", [True, False])
def test_the_configured_projects_are_asked_of_terraform(tmp_path, sandbox):
    root = tools.TerraformRoot(tmp_path / "dev", "dev", "tf-state")
    shell = FakeShell(outputs={" console": '"{\\"customer\\":\\"c-dev\\"}"\n'})
    assert tools.configured_projects(shell, root, tmp_path, sandbox) == {"customer": "c-dev"}
    assert shell.ran == [root.console(tmp_path)]
    expected = "var.project_ids"
    if sandbox:
        expected = "merge(var.project_ids, { sandbox = var.sandbox_project_id })"
    assert shell.stdin == [f"jsonencode({expected})\n"]


def test_a_protected_environment_is_not_torn_down(archives):
    # prod's projects are PREVENT, its databases ABANDON, its lakes kept: a destroy deleted
    # the functions, topics and subscriptions (and their messages) before failing at them.
    shell = teardown_shell()
    with pytest.raises(DeployError, match=r"prod is protected \(deletion_protection = true"):
        command.run_teardown(args(env="prod"), shell)
    assert shell.ran == []
    assert not archives.exists()


def test_teardown_that_cannot_read_the_configured_projects_destroys_nothing(archives):
    shell = teardown_shell(outputs={"output -json": "{}", " console": "Error: x\n"})
    with pytest.raises(DeployError, match=r" console .*` printed no project ids"):
        command.run_teardown(args(), shell)
    assert not [argv for argv in shell.ran if "destroy" in argv]


@pytest.mark.parametrize("force", [False, True])
def test_deploy_force_backfills_runs_the_backfills_recorded_done(
    archives, monkeypatch, capsys, force
):
    # After rolling back to a version older than a backfill and forward again, the backfill
    # recorded done must run again: the forward deploy is where the operator says so.
    from shared.migrations.done import record_done
    from shared.migrations.kit import KIT_MIGRATIONS

    store = InMemoryDocumentStore()
    record_done(store, KIT_MIGRATIONS[0], datetime(2026, 11, 1, tzinfo=UTC))
    monkeypatch.setattr(command, "connect", lambda name, environ: (store, None))
    shell = FakeShell(outputs={"output -json": json.dumps({"projects": {"value": PROJECTS}})})
    assert command.run_deploy(args(force_backfills=force), shell) == 0
    out = capsys.readouterr().out
    ran = "customer/idempotency-keys-expire: 0 documents changed"
    assert (ran in out) == force
    assert ("customer/idempotency-keys-expire: skipped" in out) == (not force)


def test_deploy_takes_force_backfills_on_the_command_line():
    parsed = build_parser().parse_args(["deploy", "--env", "dev", "--force-backfills"])
    assert parsed.force_backfills is True
    assert build_parser().parse_args(["deploy", "--env", "dev"]).force_backfills is False


def test_migrations_failing_after_a_forced_deploy_say_to_finish_with_force(archives, monkeypatch):
    def connect(name, environ):
        raise RuntimeError("quota")

    monkeypatch.setattr(command, "connect", connect)
    shell = FakeShell(outputs={"output -json": json.dumps({"projects": {"value": PROJECTS}})})
    with pytest.raises(DeployError) as failed:
        command.run_deploy(args(force_backfills=True), shell)
    assert "FOODDELIVERY_PROJECT_ORDER=fd-order-dev fooddelivery migrate --force`" in str(
        failed.value
    )


STATE_WITH_A_PROJECT = json.dumps(
    {
        "format_version": "1.0",
        "values": {
            "root_module": {
                "child_modules": [
                    {"child_modules": [{"resources": [{"address": "google_project.this"}]}]}
                ]
            }
        },
    }
)
NEVER_DEPLOYED = {
    "output -json": "{}\n",
    " console": json.dumps(json.dumps({"customer": "fd-customer-dev"})) + "\n",
    "show -json": '{"format_version": "1.0"}\n',
}
NOT_FOUND = "ERROR: (gcloud.projects.describe) [fd-customer-dev] not found or permission denied\n"


@pytest.mark.parametrize("state", ['{"format_version": "1.0"}', '{"values": {"root_module": {}}}'])
def test_tearing_down_what_was_never_deployed_is_one_line_and_exit_0(archives, capsys, state):
    # It destroyed nothing, then could not describe the projects never created: a line each
    # on stderr, INCOMPLETE and exit 1.
    outputs = {**NEVER_DEPLOYED, "show -json": state}
    shell = teardown_shell(
        outputs=outputs, codes={"gcloud projects describe": 1}, errors={"describe": NOT_FOUND}
    )

    assert command.run_teardown(args(), shell) == 0

    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == (
        "teardown of dev: nothing deployed (its Terraform state, gs://tf-state/fooddelivery/dev,"
        " holds no resources, and its projects hold nothing of it or do not exist)\n"
    )
    assert not [argv for argv in shell.ran if "destroy" in argv]


def test_an_empty_state_beside_a_deployment_still_lists_what_is_left(archives, capsys):
    # A mistyped state bucket names an empty state: what the projects hold is still told.
    outputs = {**NEVER_DEPLOYED, "lifecycleState": "ACTIVE\n", "topics list": "bus\n"}
    shell = teardown_shell(outputs=outputs)

    assert command.run_teardown(args(), shell) == 1

    captured = capsys.readouterr()
    assert captured.err == "left behind: fd-customer-dev: topic bus\n"
    assert captured.out.startswith("teardown of dev: INCOMPLETE (its Terraform state, gs://")


def test_a_deployed_state_is_destroyed_even_without_outputs(archives):
    shell = teardown_shell(outputs={**NEVER_DEPLOYED, "show -json": STATE_WITH_A_PROJECT})
    assert command.run_teardown(args(), shell) == 0
    assert [argv for argv in shell.ran if "destroy" in argv]


TERRAFORM_STDERR = (
    "There are some problems with the CLI configuration:\n"
    "\x1b[33m╷\x1b[0m\n"
    "\x1b[33m│\x1b[0m \x1b[1mWarning: Unable to open CLI configuration file\x1b[0m\n"
    "\x1b[33m│\x1b[0m\n"
    "\x1b[33m│\x1b[0m The CLI configuration file at ~/.terraformrc does not exist.\n"
    "\x1b[33m╵\x1b[0m\n"
    "\x1b[31m╷\x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[1m\x1b[31mError: \x1b[0m\x1b[1mBackend initialization required,"
    ' please run "terraform init"\x1b[0m\n'
    "\x1b[31m│\x1b[0m\n"
    "\x1b[31m│\x1b[0m Reason: Initial configuration of the requested backend\n"
    "\x1b[31m╵\x1b[0m\n"
)


@pytest.mark.parametrize("verb", ["output -json", "console"])
def test_a_failed_terraform_read_says_why_in_terraforms_words(archives, verb):
    # It said only "failed with exit code 1": the reason went to a stderr nobody saw.
    outputs = {"output -json": "{}", " console": json.dumps(json.dumps({"customer": "c"}))}
    command_line = f"terraform -chdir={command.environment('dev')} {verb}"
    shell = teardown_shell(
        outputs=outputs, codes={command_line: 1}, errors={command_line: TERRAFORM_STDERR}
    )
    with pytest.raises(DeployError) as failed:
        command.run_teardown(args(), shell)
    message = str(failed.value)
    assert message.startswith(f"`{command_line}")
    assert message.endswith(
        " failed with exit code 1: Error: Backend initialization required, please run"
        ' "terraform init"'
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("stderr", "why"),
    [
        ("", ""),
        (TERRAFORM_STDERR, 'Error: Backend initialization required, please run "terraform init"'),
        (
            "No state file was found!\n\nState management commands need one.\n",
            "No state file was found!",
        ),
        (NOT_FOUND, NOT_FOUND.strip()),
        ("x" * 400, "x" * 299 + "…"),
    ],
)
def test_a_commands_explanation_is_its_error_line(stderr, why):
    assert tools.explanation(stderr) == why


def test_a_project_that_cannot_be_described_says_why(archives, capsys):
    shell = teardown_shell(codes={"gcloud projects describe": 1}, errors={"describe": NOT_FOUND})
    assert command.run_teardown(args(), shell) == 1
    assert (
        "fd-customer-dev: could not read whether it is deleted (`gcloud projects describe"
        f" fd-customer-dev --format=value(lifecycleState)`: {NOT_FOUND.strip()})"
    ) in capsys.readouterr().err
