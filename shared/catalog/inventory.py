"""Who publishes what to whom: the published events and their readers, from the topology."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.contracts import SCHEMA_VERSION_TAG
from shared.topology.model import Role

if TYPE_CHECKING:
    from shared.contracts import Contract
    from shared.runtime.app import SubsystemApp


@dataclass(frozen=True, slots=True)
class Reading:
    """An ingress function that reads one version of an external event."""

    subsystem: str
    service: str
    function: str

    @property
    def qualified(self) -> str:
        """``subsystem/service/function``, as faults name it."""
        return f"{self.subsystem}/{self.service}/{self.function}"


@dataclass(frozen=True, slots=True)
class Published:
    """One major version of an external event: its contract, its producer, its readers."""

    contract: type[Contract]
    producer: str
    service: str
    function: str
    consumers: tuple[Reading, ...]

    @property
    def type(self) -> str:
        """The namespaced external type, e.g. ``order.order-status-changed``."""
        return self.contract.TYPE

    @property
    def version(self) -> int:
        """The major version."""
        return self.contract.VERSION

    @property
    def entity(self) -> str:
        """The envelope field that carries the payload."""
        return self.contract.ENTITY

    @property
    def key(self) -> str:
        """``<type>.v<major>``: the name of its schema file and AsyncAPI message."""
        return f"{self.type}.v{self.version}"

    @property
    def summary(self) -> str:
        """The first line of the contract's docstring."""
        return (self.contract.__doc__ or self.type).strip().splitlines()[0]


def inventory(apps: Sequence[SubsystemApp[Any]]) -> list[Published]:
    """Every published (type, major version), sorted, with its producer and readers."""
    found: list[Published] = []
    for app in sorted(apps, key=lambda a: a.name):
        for contract in app.contracts:
            service, function = _egress(app, contract.TYPE)
            readers = tuple(_readers(apps, app, contract))
            found.append(Published(contract, app.name, service, function, readers))
    return sorted(found, key=lambda p: (p.type, p.version))


def _egress(app: SubsystemApp[Any], event_type: str) -> tuple[str, str]:
    for service, fn in app.topology.consumers():
        if event_type in fn.publishes:
            return service.name, fn.name
    return "-", "-"


def _readers(
    apps: Sequence[SubsystemApp[Any]], producer: SubsystemApp[Any], contract: type[Contract]
) -> list[Reading]:
    versions = {c.VERSION for c in producer.contracts if c.TYPE == contract.TYPE}
    readers: list[Reading] = []
    for app in sorted(apps, key=lambda a: a.name):
        for service, fn in app.topology.consumers():
            channel = fn.channel
            if fn.role is not Role.INGRESS or channel.subsystem != producer.name:
                continue
            if contract.TYPE not in channel.rule.types:
                continue
            wanted = channel.rule.tags.get(SCHEMA_VERSION_TAG)
            if wanted == str(contract.VERSION) or (wanted is None and len(versions) == 1):
                readers.append(Reading(app.name, service.name, fn.name))
    return readers
