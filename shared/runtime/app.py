"""What a subsystem hands the kit to be run: its topology and its bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from shared.contracts import Contract
from shared.exceptions import TopologyError
from shared.http import http_session
from shared.migrations import Migration
from shared.migrations.kit import KIT_MIGRATIONS
from shared.runtime.secrets import Secret
from shared.topology.model import Subsystem, described, tuple_problems

if TYPE_CHECKING:
    import requests
    from requests.adapters import BaseAdapter

    from shared.clock import Clock
    from shared.stores.base import AbstractDocumentStore

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Infrastructure:
    """The kit-level adapters a subsystem's bootstrap builds its ports from.

    ``settings`` carries deployment values such as third-party base URLs, and the
    secrets (left out of the repr, so no log or test report shows them);
    ``transports`` serves some of those URLs in process (embedded runtime).
    """

    subsystem: str
    store: AbstractDocumentStore
    clock: Clock
    env: str = "local"
    settings: Mapping[str, str] = field(default_factory=dict, repr=False)
    transports: Mapping[str, BaseAdapter] = field(default_factory=dict)

    def setting(self, name: str) -> str:
        """A required setting, or a :class:`KeyError` naming its environment variable (and
        how an :class:`~shared.runtime.embedded.EmbeddedSystem` is given it: unprefixed)."""
        try:
            return self.settings[name]
        except KeyError:
            raise KeyError(
                f"{self.subsystem} needs the setting FOODDELIVERY_{name} (in the environment; "
                f"in process, EmbeddedSystem(settings={{{name!r}: ...}}))"
            ) from None

    def secret(self, name: str) -> Secret:
        """A secret setting, read when the adapter first uses it (see :class:`Secret`)."""
        return Secret(name, self.subsystem, self.settings)

    def http_session(self) -> requests.Session:
        """A ``requests`` session for third-party calls (see :mod:`shared.http`)."""
        return http_session(self.transports)


@dataclass(frozen=True, slots=True)
class SubsystemApp(Generic[P]):
    """A runnable subsystem: the declaration plus the function that wires its ports.

    ``bootstrap`` is the one place where a subsystem builds its clients; it runs
    once per process, never at import time. ``contracts`` are the external
    events its egress functions publish (every major version of each), for the
    consistency checks, the contracts catalog and the contract tests. ``migrations``
    bring the documents older versions stored up to date, in the order given, after
    the kit's (:attr:`all_migrations`, as ``fooddelivery migrate`` runs them).
    """

    topology: Subsystem
    bootstrap: Callable[[Infrastructure], P]
    contracts: tuple[type[Contract], ...] = ()
    migrations: tuple[Migration, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.topology, Subsystem):
            raise TopologyError(
                f"SubsystemApp's topology must be a Subsystem, got {described(self.topology)}: "
                "SubsystemApp(TOPOLOGY, bootstrap, ...)"
            )
        if not callable(self.bootstrap):
            raise TopologyError(
                f"{self.name}: bootstrap must be the function that builds the ports from the "
                f"Infrastructure, got {described(self.bootstrap)} (the kit calls it once per "
                "process)"
            )
        shapes = [
            *tuple_problems("contracts", self.contracts, "Contract classes", _is_contract),
            *tuple_problems("migrations", self.migrations, "migrations", _is_migration),
        ]
        if shapes:
            raise TopologyError(f"{self.name}: " + "; ".join(shapes))
        names = [migration.name for migration in self.all_migrations]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:  # a backfill done is recorded by its name
            raise TopologyError(
                f"{self.name}: more than one migration is named {', '.join(map(repr, twice))}"
            )

    @property
    def all_migrations(self) -> tuple[Migration, ...]:
        """The kit's migrations (:mod:`shared.migrations.kit`), then :attr:`migrations`."""
        return (*KIT_MIGRATIONS, *self.migrations)

    @property
    def name(self) -> str:
        """The subsystem's name."""
        return self.topology.name

    @property
    def published(self) -> frozenset[tuple[str, int]]:
        """Every (external type, major version) this subsystem publishes."""
        return frozenset((c.TYPE, c.VERSION) for c in self.contracts)


def _is_contract(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, Contract)


def _is_migration(value: object) -> bool:
    return isinstance(value, Migration)
