"""``fooddelivery migrate``: run the subsystems' migrations on the stores their functions use.

The command reaches a store through :func:`shared.runtime.operator.connect`; here that
hands it in-memory stores, one per subsystem.
"""

from __future__ import annotations

from typing import Any

import pytest

from customer.browse_bff.models import RESTAURANTS
from shared.cli import main
from shared.migrations.command import migrate
from shared.runtime import operator
from shared.stores import InMemoryDocumentStore


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> dict[str, InMemoryDocumentStore]:
    """The store each subsystem the command connects to gets (created on first use)."""
    made: dict[str, InMemoryDocumentStore] = {}

    def connect(name: str, environ: Any = None) -> tuple[InMemoryDocumentStore, None]:
        return made.setdefault(name, InMemoryDocumentStore()), None

    monkeypatch.setattr(operator, "connect", connect)
    return made


def legacy_customer(stores: dict[str, InMemoryDocumentStore]) -> InMemoryDocumentStore:
    store = stores.setdefault("customer", InMemoryDocumentStore())
    store.put(RESTAURANTS, "r-1", {"id": "r-1", "name": "Zaika", "cuisine": "Indian"})
    store.put(RESTAURANTS, "r-2", {"id": "r-2", "name": "bao bar", "cuisine": "taiwanese"})
    return store


def test_migrate_runs_each_migration_and_says_what_it_changed(stores, capsys) -> None:
    store = legacy_customer(stores)

    assert main(["migrate", "customer"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "customer/idempotency-keys-expire: 0 documents changed (done: later runs skip it)",
        "customer/faults-arisen-at: 0 documents changed",
        "customer/catalog-sort-names: 2 documents changed",
        "customer/catalog-cuisine-tags: 1 document changed",
        "customer/catalog-menus-listed: 0 documents changed",  # no menus stored
    ]
    assert store.get(RESTAURANTS, "r-1")["sortName"] == "zaika"
    assert main(["migrate", "customer"]) == 0
    assert "catalog-sort-names: 0 documents changed" in capsys.readouterr().out


def test_a_dry_run_counts_what_would_change_and_writes_nothing(stores, capsys) -> None:
    store = legacy_customer(stores)
    before = {d.key: d.data for d in store.query(RESTAURANTS)}

    assert main(["migrate", "--dry-run", "customer"]) == 0

    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "customer/idempotency-keys-expire: 0 documents would change",
        "customer/faults-arisen-at: 0 documents would change",
        "customer/catalog-sort-names: 2 documents would change",
        "customer/catalog-cuisine-tags: 1 document would change",
        "customer/catalog-menus-listed: 0 documents would change",
    ]
    assert err == "dry run: nothing was written\n"
    assert {d.key: d.data for d in store.query(RESTAURANTS)} == before
    assert main(["migrate", "customer"]) == 0
    assert "customer/catalog-sort-names: 2 documents changed" in capsys.readouterr().out


def test_without_a_subsystem_every_subsystem_is_migrated(stores, capsys) -> None:
    legacy_customer(stores)

    assert main(["migrate"]) == 0

    assert sorted(stores) == ["customer", "delivery", "order", "restaurant"]
    assert "customer/catalog-sort-names: 2 documents changed" in capsys.readouterr().out


def test_a_subsystem_declaring_none_runs_the_kits(stores, capsys) -> None:
    assert main(["migrate", "delivery"]) == 0

    assert sorted(stores) == ["delivery"]
    assert capsys.readouterr() == (
        "delivery/idempotency-keys-expire: 0 documents changed (done: later runs skip it)\n"
        "delivery/faults-arisen-at: 0 documents changed\n",
        "",
    )


def test_no_subsystem_has_no_migrations_to_run(capsys) -> None:
    assert migrate([], lambda name: pytest.fail(f"connected to {name}")) == {}
    assert capsys.readouterr().err == "no migrations to run\n"


def test_list_names_the_migrations_and_runs_none(stores, capsys) -> None:
    assert main(["migrate", "--list"]) == 0

    out = capsys.readouterr().out
    assert out.startswith(
        "customer/idempotency-keys-expire (a backfill): answers to Idempotency-Key requests"
    )
    assert "\ncustomer/catalog-sort-names: restaurants stored before" in out
    assert "\ndelivery/idempotency-keys-expire (a backfill): " in out
    assert "\norder/order-records-expire (a backfill): " in out
    assert stores == {}


def test_an_unknown_subsystem_is_refused_before_anything_runs(stores, capsys) -> None:
    assert main(["migrate", "customer", "kitchen"]) == 2
    assert stores == {}
    assert "no subsystem 'kitchen': one of customer, delivery, order, restaurant" in (
        capsys.readouterr().err
    )


def test_a_failing_migration_is_named_and_the_next_ones_do_not_run(
    stores, capsys, monkeypatch
) -> None:
    store = legacy_customer(stores)
    update = store.update

    def unavailable(collection: str, *args: Any) -> Any:
        if collection == RESTAURANTS:
            raise OSError("unavailable")
        return update(collection, *args)

    monkeypatch.setattr(store, "update", unavailable)

    assert main(["migrate", "customer"]) == 2

    err = capsys.readouterr().err
    assert "customer/catalog-sort-names failed (OSError: unavailable)" in err
    assert "the migrations after it did not run" in err
    assert store.get(RESTAURANTS, "r-1")["cuisine"] == "Indian"  # the second did not run


def test_without_a_stack_or_a_project_the_command_says_how_to_reach_one(
    monkeypatch, capsys
) -> None:
    for name in ("FOODDELIVERY_MODE", "FOODDELIVERY_PROJECT_CUSTOMER", "K_SERVICE"):
        monkeypatch.delenv(name, raising=False)

    assert main(["migrate", "customer"]) == 2

    err = capsys.readouterr().err
    assert "FOODDELIVERY_MODE is not set: run `source <state dir>/env.sh` first" in err


@pytest.mark.parametrize("argv", [["delivery"], ["--list"], []])
def test_an_unknown_mode_is_refused_with_the_accepted_ones(stores, monkeypatch, capsys, argv):
    # `--list` reaches no store, so nothing else would read the mode
    monkeypatch.setenv("FOODDELIVERY_MODE", "bogus")

    assert main(["migrate", *argv]) == 2

    assert capsys.readouterr() == (
        "",
        "fooddelivery migrate: FOODDELIVERY_MODE must be memory, emulator or gcp, not 'bogus'\n",
    )
    assert stores == {}


def test_a_document_a_migration_cannot_rewrite_is_named(stores, capsys) -> None:
    store = legacy_customer(stores)
    store.put(RESTAURANTS, "r-3", {"id": "r-3", "cuisine": "thai"})  # no name: hand-made

    assert main(["migrate", "customer"]) == 2

    err = capsys.readouterr().err
    assert (
        "customer/catalog-sort-names failed (KeyError: 'name') at catalog-restaurants/r-3, "
        "after changing 2 documents; the migrations after it did not run"
    ) in err
    assert store.get(RESTAURANTS, "r-1")["sortName"] == "zaika"  # those before it stay done
