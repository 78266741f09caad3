"""``fooddelivery contracts check --against REF``: the code held to what REF published.

Each test builds a throwaway repository whose first commit publishes the
schemas the code generates, commits a developer's change on top (contract,
exported files, deleted files, as the change would have them) and checks the
result against the first commit.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import Field

from customer.contracts import OrderCancelRequested, OrderPlaced
from order.contracts import OrderStatusChangedV2
from restaurant.contracts import MenuUpdated, OrderAccepted
from shared.catalog.gate import export
from shared.cli import main
from shared.contracts import SCHEMA_VERSION_TAG, Contract
from shared.runtime.app import SubsystemApp
from shared.system import checked, load_subsystems
from shared.topology import Consumer
from shared.topology.model import Function
from tests.conftest import _in_ci
from tests.unit.unreadable import refuse_reads

Apps = list[SubsystemApp[Any]]
CANCEL_SCHEMA = "schemas/customer.order-cancel-requested.v1.json"
PROJECT = Path(__file__).resolve().parents[2]


def git(where: Path, *args: str) -> str:
    identity = ("-c", "user.name=Gate Test", "-c", "user.email=gate@example.com")
    done = subprocess.run(
        ["git", *identity, "-c", "commit.gpgsign=false", *args],
        cwd=where,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def commit(contracts: Path, message: str) -> None:
    git(contracts, "add", "-A", ".")
    git(contracts, "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    """``contracts/`` in a new repository whose one commit published the current schemas."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    export(load_subsystems(), root / "contracts")
    commit(root / "contracts", "publish the contracts")
    return root / "contracts"


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    """Run ``contracts check`` on ``contracts`` with the code made of ``apps``."""

    def check(apps: Apps, contracts: Path, *against: str) -> int:
        # as load_subsystems does: an inconsistent system never reaches the gate
        monkeypatch.setattr("shared.catalog.command.load_subsystems", lambda: checked(apps))
        return main(["contracts", "check", "--dir", str(contracts), *against])

    return check


def schemas(contracts: Path) -> int:
    """How many schema files the working tree holds."""
    return len(list((contracts / "schemas").glob("*.json")))


def with_contracts(subsystem: str, *contracts: type[Contract]) -> Apps:
    """The system with ``subsystem`` publishing ``contracts`` instead of its own."""
    apps = load_subsystems()
    return [replace(a, contracts=contracts) if a.name == subsystem else a for a in apps]


def change(apps: Apps, contracts: Path, *, delete: tuple[str, ...] = ()) -> None:
    """A developer's change, committed: the files exported from ``apps``, ``delete`` gone."""
    export(apps, contracts)  # what `export --allow-breaking` writes
    for name in delete:
        (contracts / name).unlink()
    commit(contracts, "the change")


class CancelWithoutTime(Contract):
    """The cancel request without its required ``requestedAt``: a breaking change."""

    TYPE: ClassVar[str] = "customer.order-cancel-requested"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: str


class CancelWithReason(OrderCancelRequested):
    """The cancel request with a new optional field: a compatible change."""

    reason: str | None = None


class PlacedQuietly(OrderPlaced):
    """``notifyCustomer`` absent now means "do not notify": the same shape, another meaning."""

    notify_customer: bool = False


class MenuChanged(MenuUpdated):
    """``restaurant.menu-updated`` under a new name."""

    TYPE: ClassVar[str] = "restaurant.menu-changed"


def test_a_removed_required_field_exported_with_its_schema_is_refused(contracts, run, capsys):
    apps = with_contracts("customer", OrderPlaced, CancelWithoutTime)
    change(apps, contracts)

    assert run(apps, contracts) == 0  # the working tree agrees with the code it was exported from
    assert run(apps, contracts, "--against", "HEAD~1") == 1

    err = capsys.readouterr().err
    assert (
        "contracts: customer.order-cancel-requested v1 against HEAD~1: $.requestedAt: "
        "field-removed: the field is gone (removed or renamed) "
        "(bump the major version: publish v2 beside v1)\n"
    ) in err
    assert "stale" not in err


def test_a_removed_field_whose_schema_file_is_deleted_is_refused_not_called_stale(
    contracts, run, capsys
):
    apps = with_contracts("customer", OrderPlaced, CancelWithoutTime)
    change(apps, contracts, delete=(CANCEL_SCHEMA,))

    assert run(apps, contracts, "--against", "HEAD~1") == 1

    err = capsys.readouterr().err
    assert "customer.order-cancel-requested v1 against HEAD~1: $.requestedAt: field-removed" in err
    assert "after a compatible change" not in err


def test_a_deleted_schema_file_of_a_version_still_published_is_refused(contracts, run, capsys):
    apps = load_subsystems()
    change(apps, contracts, delete=(CANCEL_SCHEMA,))

    assert run(apps, contracts, "--against", "HEAD~1") == 1

    err = capsys.readouterr().err
    assert (
        f"contracts: customer.order-cancel-requested v1: contracts/{CANCEL_SCHEMA} is deleted, "
        "but v1 is still published (and was at HEAD~1)"
    ) in err
    assert f"contracts/{CANCEL_SCHEMA} is stale" not in err


def test_a_changed_default_is_refused(contracts, run, capsys):
    apps = with_contracts("customer", PlacedQuietly, OrderCancelRequested)
    change(apps, contracts)

    assert run(apps, contracts, "--against", "HEAD~1") == 1

    err = capsys.readouterr().err
    assert (
        "customer.order-placed v1 against HEAD~1: $.notifyCustomer: default-changed: "
        "true -> false (a value left out now reads as false)"
    ) in err


class AcceptedWithLongerPrep(OrderAccepted):
    """``prepMinutes`` may now reach 480: values a reader of the published schema refuses."""

    prep_minutes: int = Field(ge=0, le=480)


class AcceptedByRestaurant(OrderAccepted):
    """Keyed by the restaurant: one order's events are no longer ordered among themselves."""

    PARTITION_KEY: ClassVar[str] = "restaurant_id"


class CancelWithTags(OrderCancelRequested):
    """The cancel request with tags, none unless given."""

    tags: list[str] = []  # noqa: RUF012 (a pydantic field: each instance gets a copy)


class CancelWithTagsMadeFresh(OrderCancelRequested):
    """The same tags, none unless given, each list made afresh."""

    tags: list[str] = Field(default_factory=list)


def test_a_loosened_bound_is_refused(contracts, run, capsys):
    apps = with_contracts(
        "restaurant", *_restaurant_contracts_but(OrderAccepted), AcceptedWithLongerPrep
    )
    change(apps, contracts)

    assert run(apps, contracts, "--against", "HEAD~1") == 1

    err = capsys.readouterr().err
    assert (
        "contracts: restaurant.order-accepted v1 against HEAD~1: $.prepMinutes: "
        "constraint-loosened: maximum 240 -> 480 (bump the major version: publish v2 beside v1)\n"
    ) in err


def test_a_changed_partition_key_is_refused(contracts, run, capsys):
    apps = with_contracts(
        "restaurant", *_restaurant_contracts_but(OrderAccepted), AcceptedByRestaurant
    )
    change(apps, contracts)

    assert run(apps, contracts, "--against", "HEAD~1") == 1

    err = capsys.readouterr().err
    assert (
        "restaurant.order-accepted v1 against HEAD~1: $: partition-key-changed: "
        "events are keyed (and ordered) by 'restaurantId', not 'id'"
    ) in err


class StatusV2WithoutAttribute(OrderStatusChangedV2):
    """v2 no longer carrying its status as an attribute: filters on it receive nothing."""

    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()


def test_an_attribute_no_longer_published_is_refused(contracts, run, capsys):
    from order.contracts import OrderStatusChanged

    apps = with_contracts("order", OrderStatusChanged, StatusV2WithoutAttribute)
    change(apps, contracts)

    assert run(apps, contracts, "--against", "HEAD~1") == 1

    err = capsys.readouterr().err
    assert (
        "order.order-status-changed v2 against HEAD~1: $: attribute-removed: 'status' no "
        "longer travels as an attribute, so a subscription filtering on it receives nothing"
    ) in err


def test_an_envelope_attribute_renamed_and_exported_is_refused(contracts, run, capsys, monkeypatch):
    monkeypatch.setattr(
        "shared.runtime.context.KIT_TAGS", ("source", "function", "subsystem", "environment")
    )
    apps = load_subsystems()
    change(apps, contracts)  # the AsyncAPI document exported with the new attribute

    assert run(apps, contracts, "--against", "HEAD~1") == 1

    err = capsys.readouterr().err
    assert "the attributes against HEAD~1: $.env: field-removed" in err
    assert "publish a new envelope version" in err


def test_a_default_given_by_a_factory_instead_of_a_value_passes(contracts, run, capsys):
    change(with_contracts("customer", OrderPlaced, CancelWithTags), contracts)
    apps = with_contracts("customer", OrderPlaced, CancelWithTagsMadeFresh)
    change(apps, contracts)

    assert run(apps, contracts, "--against", "HEAD~1") == 0, capsys.readouterr().err


def test_a_renamed_type_whose_old_schema_is_deleted_is_refused_while_read(contracts, run, capsys):
    apps = with_contracts("restaurant", *_restaurant_contracts_but(MenuUpdated), MenuChanged)
    change(apps, contracts, delete=("schemas/restaurant.menu-updated.v1.json",))

    assert run(apps, contracts, "--against", "HEAD~1") == 2

    err = capsys.readouterr().err
    assert (
        "customer/restaurant-esg/ingress reads restaurant.menu-updated v1, which is not published"
    ) in err
    assert "after a compatible change" not in err


def test_a_compatible_change_passes(contracts, run, capsys):
    apps = with_contracts("customer", OrderPlaced, CancelWithReason)
    change(apps, contracts)

    assert run(apps, contracts, "--against", "HEAD~1") == 0

    out = capsys.readouterr().out
    assert out.startswith(f"contracts OK: {schemas(contracts)} schema(s) published at HEAD~1 (")
    assert out.endswith(") still compatible, catalog up to date\n")


def test_a_compatible_change_not_exported_yet_is_only_stale(contracts, run, capsys):
    apps = with_contracts("customer", OrderPlaced, CancelWithReason)

    assert run(apps, contracts, "--against", "HEAD") == 1

    err = capsys.readouterr().err
    assert f"contracts/{CANCEL_SCHEMA} is stale" in err
    assert "after a compatible change, run `fooddelivery contracts export`" in err


def test_retiring_a_version_nobody_selects_any_more_passes(contracts, run, capsys):
    """The one way to retire: class removed, schema deleted, its last reader moved over."""
    apps = [_reading_v2(a) for a in with_contracts("order", OrderStatusChangedV2)]
    change(apps, contracts, delete=("schemas/order.order-status-changed.v1.json",))

    assert run(apps, contracts, "--against", "HEAD~1") == 0

    out = capsys.readouterr().out
    assert out.startswith(
        "contracts: order.order-status-changed v1: retired since HEAD~1 "
        "(class removed, schema deleted)\n"
        f"contracts OK: {schemas(contracts)} schema(s) published at HEAD~1"
    )


def test_retiring_a_version_a_consumer_still_selects_is_refused(contracts, run, capsys):
    apps = with_contracts("order", OrderStatusChangedV2)
    change(apps, contracts, delete=("schemas/order.order-status-changed.v1.json",))

    assert run(apps, contracts, "--against", "HEAD~1") == 2

    err = capsys.readouterr().err
    assert "restaurant/order-esg/ingress reads order.order-status-changed v1" in err


def test_a_ref_that_names_no_commit_is_a_clear_usage_error(contracts, run, capsys):
    assert run(load_subsystems(), contracts, "--against", "origin/nowhere") == 2

    err = capsys.readouterr().err
    assert err.startswith(
        "fooddelivery contracts check: --against origin/nowhere: no such commit in "
    )
    assert err.count("\n") == 1


def test_a_directory_outside_git_is_a_clear_usage_error(tmp_path, run, capsys, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    outside = tmp_path / "plain" / "contracts"
    export(load_subsystems(), outside)

    assert run(load_subsystems(), outside, "--against", "HEAD") == 2

    err = capsys.readouterr().err
    assert err.startswith(
        f"fooddelivery contracts check: --against reads git history, but {outside} is not in"
    )


def test_a_revision_before_any_contract_was_published_holds_nothing(contracts, run, capsys):
    git(contracts, "checkout", "-q", "--orphan", "fresh")
    git(contracts, "rm", "-rq", "--cached", ".")
    git(contracts, "commit", "-q", "--allow-empty", "-m", "nothing published")

    assert run(load_subsystems(), contracts, "--against", "fresh") == 0
    assert "0 schema(s) published at fresh" in capsys.readouterr().out


# -- --against-branch: the base found from git, as `make test` finds it ---------------------


def clone(contracts: Path, *options: str) -> Path:
    """``contracts/`` in a clone of the repository of ``contracts`` (its branch: origin/main)."""
    git(contracts, "branch", "-M", "main")
    target = contracts.parents[1] / "clone"
    git(contracts.parents[1], "clone", "-q", *options, f"file://{contracts.parent}", str(target))
    return target / "contracts"


def test_a_shallow_clone_is_refused_not_checked_against_nothing(contracts, run, capsys):
    """CI's default checkout (one commit) has no base: a break must not pass unseen."""
    apps = with_contracts("customer", OrderPlaced, CancelWithoutTime)
    change(apps, contracts)
    shallow = clone(contracts, "--depth", "1")

    assert run(apps, shallow, "--against-branch", "origin/main") == 2

    err = capsys.readouterr().err
    assert err.startswith("fooddelivery contracts check: the repository of ")
    assert "is a shallow clone" in err
    assert "`git fetch --unshallow`" in err
    assert "`fetch-depth: 0`" in err


def test_a_ref_missing_from_a_shallow_clone_says_to_fetch_the_history(contracts, run, capsys):
    change(load_subsystems(), contracts)
    shallow = clone(contracts, "--depth", "1")

    assert run(load_subsystems(), shallow, "--against", "HEAD~1") == 2

    err = capsys.readouterr().err
    assert "no such commit" in err
    assert "it is a shallow clone: fetch the history first, `git fetch --unshallow`" in err


def test_on_the_branch_itself_the_base_is_the_previous_commit(contracts, run, capsys):
    apps = with_contracts("customer", OrderPlaced, CancelWithoutTime)
    change(apps, contracts)
    full = clone(contracts)

    assert run(apps, full, "--against-branch", "origin/main") == 1

    captured = capsys.readouterr()
    assert captured.out == (
        "contracts: checking against HEAD~1, the previous commit (HEAD is in origin/main already)\n"
    )
    assert "customer.order-cancel-requested v1 against HEAD~1: $.requestedAt: field-removed" in (
        captured.err
    )


def test_a_branch_is_held_to_where_it_left_main_not_to_its_last_commit(contracts, run, capsys):
    git(contracts, "branch", "-M", "main")
    base = git(contracts, "rev-parse", "--short=12", "HEAD").strip()
    git(contracts, "checkout", "-q", "-b", "feature")
    apps = with_contracts("customer", OrderPlaced, CancelWithoutTime)
    change(apps, contracts)
    commit(contracts, "an unrelated change on top")  # HEAD~1 holds the break already

    assert run(apps, contracts, "--against", "HEAD~1") == 0
    assert run(apps, contracts, "--against-branch", "main") == 1

    captured = capsys.readouterr()
    assert captured.out.endswith(f"contracts: checking against {base}, where HEAD left main\n")
    assert f"customer.order-cancel-requested v1 against {base}: $.requestedAt" in captured.err


def test_a_first_commit_has_only_the_working_tree_to_check(contracts, run, capsys):
    assert run(load_subsystems(), contracts, "--against-branch", "origin/main") == 0

    assert capsys.readouterr().out == (
        "contracts: HEAD is the first commit, so nothing was published before it: "
        "checking the working tree only\n"
        f"contracts OK: {schemas(contracts)} schema(s) compatible, catalog up to date\n"
    )


def test_a_tree_outside_git_has_only_the_working_tree_to_check(tmp_path, run, capsys):
    """A source archive unpacked (no .git) has no history: ``make test`` still runs."""
    outside = tmp_path / "plain" / "contracts"
    export(load_subsystems(), outside)

    assert run(load_subsystems(), outside, "--against-branch", "origin/main") == 0

    assert capsys.readouterr().out.startswith(
        f"contracts: {outside} is not in a git work tree, so it has no history: "
        "checking the working tree only\n"
    )


def test_a_mistyped_branch_is_refused_not_swapped_for_the_previous_commit(contracts, run, capsys):
    """A clone has its remote: a branch it does not know is a typo or not fetched, and
    checking against any other base would pass or fail the gate for the wrong reason."""
    apps = with_contracts("customer", OrderPlaced, CancelWithoutTime)
    change(apps, contracts)
    full = clone(contracts)

    assert run(apps, full, "--against-branch", "origin/mian") == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "fooddelivery contracts check: "
        "--against-branch origin/mian: no such branch in the repository of "
        f"{full} (list them: `git branch --all`; a remote branch must be fetched first, e.g. "
        "`git fetch origin main`; or name the base with --against REF)\n"
    )


def test_a_mistyped_local_branch_is_refused_in_a_repository_with_no_remote(contracts, run, capsys):
    git(contracts, "branch", "-M", "main")
    git(contracts, "checkout", "-q", "-b", "feature")
    change(load_subsystems(), contracts)

    assert run(load_subsystems(), contracts, "--against-branch", "mian") == 2

    err = capsys.readouterr().err
    assert err.startswith("fooddelivery contracts check: --against-branch mian: no such branch in ")


def test_a_remote_branch_in_a_repository_with_no_remote_is_the_previous_commit(
    contracts, run, capsys
):
    """``make test`` in a repository never pushed: nothing was published but its history."""
    apps = with_contracts("customer", OrderPlaced, CancelWithoutTime)
    change(apps, contracts)

    assert run(apps, contracts, "--against-branch", "origin/main") == 1

    captured = capsys.readouterr()
    assert captured.out == (
        "contracts: checking against HEAD~1, the previous commit "
        "(the repository has no remote, so no origin/main)\n"
    )
    assert "customer.order-cancel-requested v1 against HEAD~1: $.requestedAt" in captured.err


def test_a_branch_with_no_history_in_common_is_a_clear_usage_error(contracts, run, capsys):
    git(contracts, "branch", "-M", "main")
    git(contracts, "checkout", "-q", "--orphan", "fresh")
    commit(contracts, "the same files, another history")

    assert run(load_subsystems(), contracts, "--against-branch", "main") == 2

    assert capsys.readouterr().err == (
        "fooddelivery contracts check: HEAD and main share no commit: no base to check against\n"
    )


def make_binary() -> str:
    """The ``make`` on PATH. Missing, the test skips, unless ``CI`` is set: CI runs
    ``make test``, so a check skipped there would pass unseen."""
    found = shutil.which("make")
    if found is None:
        if _in_ci():
            pytest.fail("make is not on PATH, and CI=true forbids skipping this check")
        pytest.skip("make is not on PATH")
    return found


@pytest.mark.parametrize(
    ("variables", "against"),
    [((), "--against-branch origin/main"), (("CONTRACTS_BASE=abc123",), "--against abc123")],
)
def test_make_test_runs_the_gate_against_the_base(variables, against):
    dry_run = subprocess.run(
        [make_binary(), "-s", "-n", "-o", ".venv/.installed", "contracts-check", *variables],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert " ".join(dry_run.stdout.replace("\\\n", " ").split()) == (
        f".venv/bin/fooddelivery contracts check {against}"
    )


def _restaurant_contracts_but(left_out: type[Contract]) -> list[type[Contract]]:
    [restaurant] = [a for a in load_subsystems() if a.name == "restaurant"]
    return [c for c in restaurant.contracts if c is not left_out]


def _reading_v2(app: SubsystemApp[Any]) -> SubsystemApp[Any]:
    """``app`` with its ingress of ``order.order-status-changed`` v1 moved to v2."""
    if app.name != "restaurant":
        return app
    services = tuple(
        replace(s, functions=tuple(_selecting_v2(f) for f in s.functions))
        for s in app.topology.services
    )
    return replace(app, topology=replace(app.topology, services=services))


def _selecting_v2(fn: Function) -> Function:
    if not isinstance(fn, Consumer) or fn.channel.rule.tags.get(SCHEMA_VERSION_TAG) != "1":
        return fn
    rule = replace(fn.channel.rule, tags={SCHEMA_VERSION_TAG: "2"})
    return replace(fn, channel=replace(fn.channel, rule=rule))


def test_a_schemas_folder_that_cannot_be_read_is_named_not_a_traceback(
    contracts, run, capsys, monkeypatch
):
    refuse_reads(monkeypatch, contracts / "schemas")

    assert run(load_subsystems(), contracts, "--against", "HEAD") == 1

    err = capsys.readouterr().err
    assert err == (
        "contracts: contracts/schemas cannot be read (Permission denied): make it readable "
        "(the gate cannot check it)\n"
    )


def test_a_mistyped_remote_in_a_repository_with_no_remote_is_refused(contracts, run, capsys):
    """Only ``origin``, the name a repository's first remote gets, can stand for a remote
    the repository does not have yet: ``orign/main`` is a typo, not the previous commit."""
    change(load_subsystems(), contracts)

    assert run(load_subsystems(), contracts, "--against-branch", "orign/main") == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        "fooddelivery contracts check: --against-branch orign/main: no such branch in the "
        f"repository of {contracts}, which has no remote yet"
    )
