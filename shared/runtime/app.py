"""What a subsystem hands the kit to be run: its topology and its bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from shared.clock import Clock
    from shared.stores.base import AbstractDocumentStore
    from shared.topology.model import Subsystem

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Infrastructure:
    """The kit-level adapters a subsystem's bootstrap builds its ports from.

    ``settings`` carries deployment values such as third-party base URLs.
    """

    subsystem: str
    store: AbstractDocumentStore
    clock: Clock
    env: str = "local"
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SubsystemApp(Generic[P]):
    """A runnable subsystem: the declaration plus the function that wires its ports.

    ``bootstrap`` is the one place where a subsystem builds its clients; it runs
    once per process, never at import time.
    """

    topology: Subsystem
    bootstrap: Callable[[Infrastructure], P]

    @property
    def name(self) -> str:
        """The subsystem's name."""
        return self.topology.name
