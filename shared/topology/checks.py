"""Checks across subsystems: what one consumes, another publishes, in a version it reads."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from shared.contracts import SCHEMA_VERSION_TAG, Contract, wire_name
from shared.hub.routing import Rule, Selection
from shared.topology.model import Role, Subsystem

UNKNOWN_SUBSYSTEM_HINT = (
    "check the channel's subsystem=, and that the producer is registered (an entry point in "
    "pyproject.toml, installed by make); a test of a subsystem alone runs it in "
    "EmbeddedSystem(..., standalone=True)"
)
"""What to do when an ingress reads a subsystem that is not part of the system loaded."""


def check_system(
    subsystems: tuple[Subsystem, ...],
    contracts: Mapping[str, Collection[tuple[str, int]]] | None = None,
) -> list[str]:
    """Cross-subsystem checks: every consumed external type has a producer, and every
    ingress names the types it reads (:func:`_check_named_types`).

    With ``contracts`` (the (type, major version) pairs each subsystem
    publishes, see :attr:`SubsystemApp.published
    <shared.runtime.app.SubsystemApp.published>`), each subsystem's contracts
    must match its egress functions (:func:`check_contracts`), and every
    ingress must read a version that is published, choosing one explicitly
    when the producer publishes several.
    """
    by_name = {s.name: s for s in subsystems}
    problems: list[str] = []
    for sub in subsystems:
        for producer, types in sub.consumes().items():
            if producer not in by_name:
                problems.append(
                    f"{sub.name} reads unknown subsystem {producer!r} (known: "
                    f"{', '.join(sorted(by_name))}): {UNKNOWN_SUBSYSTEM_HINT}"
                )
                continue
            for missing in sorted(types - by_name[producer].publishes):
                problems.append(
                    f"{sub.name} consumes {missing!r} but {producer} does not publish it"
                )
        for service, fn in sub.consumers():
            source = fn.channel.subsystem
            if fn.role is Role.INGRESS and source is not None:
                where = f"{sub.name}/{service.name}/{fn.name}"
                publishes = by_name[source].publishes if source in by_name else None
                problems += _check_named_types(where, fn.channel.rule, source, publishes)
    if contracts is None:
        return problems
    for sub in subsystems:
        if sub.name in contracts:
            problems += check_contracts(sub, contracts[sub.name])
    for sub in subsystems:
        for service, fn in sub.consumers():
            source = fn.channel.subsystem
            if fn.role is Role.INGRESS and source is not None and source in contracts:
                published = contracts[source]
                where = f"{sub.name}/{service.name}/{fn.name}"
                problems += _check_versions(where, fn.channel.rule, published)
    return problems


def check_contracts(subsystem: Subsystem, published: Collection[tuple[str, int]]) -> list[str]:
    """A subsystem's contracts against its egress functions.

    Every type an egress ``publishes`` needs a contract and every contract an
    egress that publishes it, one only; external types are namespaced by the subsystem
    (``order.order-status-changed``).
    """
    problems: list[str] = []
    declared = {t for t, _ in published}
    name = subsystem.name
    for missing in sorted(subsystem.publishes - declared):
        problems.append(f"{name} publishes {missing!r} from an egress but has no contract for it")
    for orphan in sorted(declared - subsystem.publishes):
        problems.append(f"{name} has a contract for {orphan!r} but no egress publishes it")
    for event_type in sorted(declared):
        if not event_type.startswith(f"{name}."):
            problems.append(f"{name}'s external type {event_type!r} must start with '{name}.'")
    egresses: dict[str, list[str]] = {}
    for service, fn in subsystem.consumers():
        for event_type in fn.publishes:
            egresses.setdefault(event_type, []).append(f"{name}/{service.name}/{fn.name}")
    for event_type, where in sorted(egresses.items()):
        if len(where) > 1:
            problems.append(
                f"{name} publishes {event_type!r} from {len(where)} egress functions "
                f"({', '.join(where)}): one egress owns each external type, so that its "
                "versions, ids and ordering keys come from one place"
            )
    return problems


def _check_named_types(
    where: str, selection: Selection, producer: str, publishes: Collection[str] | None
) -> Iterator[str]:
    """An ingress names each type it reads, in each of its rules: no prefix, no rule of
    every type.

    An ingress has a reader for each type (and version) it reads; every other check, and
    the catalog, go by the types it names. A prefix would also select the types its
    producer adds later, which no reader expects (a deployed filter cannot change), or
    none at all. ``publishes`` is ``None`` when the producer is unknown (reported apart).
    """
    known = publishes or ()
    for rule in selection.alternatives:
        if rule.types and not rule.type_prefixes:
            continue
        if rule.type_prefixes:
            prefixes = ", ".join(map(repr, rule.type_prefixes))
            what = f"selects types by prefix {prefixes}"
            matching = sorted(t for t in known if t.startswith(rule.type_prefixes))
        else:
            what = "selects every type"
            matching = sorted(known)
        if matching:
            example = _on_types(sorted(rule.types.union(matching)), rule)
            how = f"name each type it has a reader for, e.g. {example}"
        else:
            if rule.type_prefixes and publishes is not None:
                what += f", and no type {producer} publishes starts with it"
            how = "name each type it has a reader for with on_types(...)"
        yield f"{where} {what}: an ingress must {how}"


def _on_types(types: Collection[str], rule: Rule) -> str:
    """``rule`` written with ``on_types`` for ``types``, its tags kept."""
    tags = [
        f"{key}={value!r}" if isinstance(value, str) else f"{key}={tuple(sorted(value))!r}"
        for key, value in sorted(rule.tags.items())
    ]
    return f"on_types({', '.join([*map(repr, types), *tags])})"


def _check_versions(
    where: str, selection: Selection, published: Collection[tuple[str, int]]
) -> Iterator[str]:
    """An ingress names the published version it reads, in each of its rules.

    Even while one version exists: a subscription's filter cannot change once it
    is deployed, so adding the selection when a v2 appears would mean recreating
    the subscription (and losing what it holds).
    """
    for rule in selection.alternatives:
        versions = rule.allows(SCHEMA_VERSION_TAG)
        if versions is None:
            yield (
                f"{where} selects no version: add the routing tag {SCHEMA_VERSION_TAG} "
                "(a deployed subscription's filter cannot change later)"
            )
            continue
        for version in sorted(v for v in versions if not _is_major(v)):
            yield (
                f"{where} selects {SCHEMA_VERSION_TAG}={version!r}, which no event carries: "
                f"the tag is the major version's number, e.g. {SCHEMA_VERSION_TAG}="
                f"{_major_of(version)!r}"
            )
        for event_type in sorted(rule.types):
            for version in sorted(v for v in versions if _is_major(v)):
                if (event_type, int(version)) not in published:
                    yield f"{where} reads {event_type} v{version}, which is not published"


def _is_major(version: str) -> bool:
    """Whether ``version`` is a major version as producers tag it: ``str(int)``."""
    return version.isdecimal() and version.isascii() and str(int(version)) == version


def _major_of(version: str) -> str:
    """The tag ``version`` was meant to be (``"v2"``, ``"02"``: ``"2"``), at a guess."""
    digits = "".join(c for c in version if c.isascii() and c.isdigit())
    return str(int(digits)) if digits else "1"


def check_attributes(
    subsystems: tuple[Subsystem, ...], contracts: Mapping[str, Collection[type[Contract]]]
) -> list[str]:
    """An ingress selects only on attributes its producer's contract says travel with the
    event (:attr:`Contract.ATTRIBUTES <shared.contracts.Contract.ATTRIBUTES>`): on any other,
    its subscription would receive nothing."""
    problems: list[str] = []
    for sub in subsystems:
        for service, fn in sub.consumers():
            source = fn.channel.subsystem
            if fn.role is not Role.INGRESS or source is None or source not in contracts:
                continue
            where = f"{sub.name}/{service.name}/{fn.name}"
            for rule in fn.channel.rule.alternatives:
                for contract in _selected(rule, contracts[source]):
                    published = {wire_name(contract, a) for a in contract.ATTRIBUTES}
                    for tag in sorted(set(rule.tags) - published - {SCHEMA_VERSION_TAG}):
                        problems.append(
                            f"{where} filters {contract.TYPE} v{contract.VERSION} on {tag!r}, "
                            "which its contract does not publish as an attribute"
                        )
    return problems


def _selected(rule: Rule, contracts: Collection[type[Contract]]) -> Iterator[type[Contract]]:
    """The contracts (type and version) ``rule`` selects."""
    versions = rule.allows(SCHEMA_VERSION_TAG)
    for contract in contracts:
        if contract.TYPE in rule.types and (versions is None or str(contract.VERSION) in versions):
            yield contract
