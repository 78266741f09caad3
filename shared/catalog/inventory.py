"""Who publishes what to whom: the published events and their readers, from the topology."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from shared.contracts import SCHEMA_VERSION_TAG, wire_name
from shared.prose import first_sentence
from shared.topology.model import Role

if TYPE_CHECKING:
    from shared.contracts import Contract
    from shared.hub.routing import Rule
    from shared.runtime.app import SubsystemApp


@dataclass(frozen=True, slots=True)
class Reading:
    """An ingress function that reads one version of an external event.

    ``subscription_filter`` is the Pub/Sub filter of the ingress's subscription
    (how it selects types and versions); it is not part of the identity.
    """

    subsystem: str
    service: str
    function: str
    subscription_filter: str = field(default="", compare=False)

    @property
    def qualified(self) -> str:
        """``subsystem/service/function``, as faults name it."""
        return f"{self.subsystem}/{self.service}/{self.function}"


@dataclass(frozen=True, slots=True)
class Published:
    """One major version of an external event: its contract, its producer, its readers.

    ``superseded_by`` is the newest major version of the same type when a newer
    one is published beside this one (which is then deprecated).
    """

    contract: type[Contract]
    producer: str
    service: str
    function: str
    consumers: tuple[Reading, ...]
    superseded_by: int | None = None

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
    def partition_key(self) -> str:
        """The payload field (on the wire) whose value is the event's partition key."""
        name = self.contract.PARTITION_KEY
        info = self.contract.model_fields[name]
        return info.serialization_alias or info.alias or name

    @property
    def attributes(self) -> tuple[str, ...]:
        """The payload fields (on the wire) that also travel as attributes, for filters."""
        return tuple(wire_name(self.contract, name) for name in self.contract.ATTRIBUTES)

    @property
    def key(self) -> str:
        """``<type>.v<major>``: the name of its schema file and AsyncAPI message."""
        return f"{self.type}.v{self.version}"

    @property
    def summary(self) -> str:
        """The first sentence of the contract's docstring, as prose."""
        return first_sentence(self.contract.__doc__ or self.type)


def inventory(apps: Sequence[SubsystemApp[Any]]) -> list[Published]:
    """Every published (type, major version), sorted, with its producer and readers."""
    found: list[Published] = []
    for app in sorted(apps, key=lambda a: a.name):
        for contract in app.contracts:
            service, function = _egress(app, contract.TYPE)
            readers = tuple(_readers(apps, app, contract))
            found.append(Published(contract, app.name, service, function, readers))
    newest = {p.type: max(q.version for q in found if q.type == p.type) for p in found}
    found = [
        replace(p, superseded_by=newest[p.type]) if p.version < newest[p.type] else p for p in found
    ]
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
            if any(_reads(rule, contract, len(versions)) for rule in channel.rule.alternatives):
                readers.append(Reading(app.name, service.name, fn.name, channel.rule.to_filter()))
    return readers


def _reads(rule: Rule, contract: type[Contract], published_versions: int) -> bool:
    """Whether ``rule`` selects ``contract``'s type and major version."""
    if contract.TYPE not in rule.types:
        return False
    versions = rule.allows(SCHEMA_VERSION_TAG)
    if versions is None:
        return published_versions == 1
    return str(contract.VERSION) in versions
