"""The topology declaration: one subsystem's services, functions and channels.

A subsystem declares, in plain Python, what it is made of. The declaration is
the single source of truth for the embedded runtime's wiring, emulator
provisioning, the Terraform inputs, the docs and the consistency checks::

    Subsystem(
        name="order",
        services=(
            Service("lifecycle", ServiceKind.CONTROL, (
                Consumer("listener", Role.LISTENER, Channel(on_types("order-placed")),
                         handlers=(collect,)),
                Trigger("trigger", Role.TRIGGER, collection="lifecycle-events",
                        handlers=(evaluate,)),
            )),
        ),
    )

Every object validates itself on construction, so a bad declaration fails at
import time with a message naming the subsystem, service and function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from types import ModuleType
from typing import TYPE_CHECKING, Any

from shared.exceptions import TopologyError
from shared.hub.limits import (
    MAX_ACK_DEADLINE_S,
    MAX_BACKOFF_S,
    MAX_DELIVERY_ATTEMPTS,
    MIN_ACK_DEADLINE_S,
    MIN_DELIVERY_ATTEMPTS,
)
from shared.hub.routing import Selection

if TYPE_CHECKING:
    from shared.runtime.context import Handler, TickHandler, TriggerHandler

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_SETTING = re.compile(r"^[A-Z][A-Z0-9_]*$")
KIT_SETTINGS = frozenset(
    {"MODE", "ENV", "PROJECT", "LOG_FORMAT"}  # shared.settings.Settings
    | {"AUTH", "DEV_KEY", "IDENTITY_PROJECT", "IDENTITY_TENANT", "JWKS_URL"}  # shared.auth
)
"""The ``FOODDELIVERY_*`` settings the kit reads (:class:`shared.settings.Settings`,
:func:`shared.auth.verifier_from`), most of which Terraform gives every function: a secret of
one of these names (or ``PROJECT_<NAME>``) would be a second variable of that name, which Cloud
Run refuses and the kit would not read, or the kit would take it for its own setting."""
PUBSUB_RESERVED_PREFIX = "goog"
"""Pub/Sub refuses topic and subscription ids that start with it."""


class ServiceKind(StrEnum):
    """The three kinds of autonomous service."""

    BFF = "bff"
    ESG = "esg"
    CONTROL = "control"


class Role(StrEnum):
    """What a function does for its service."""

    API = "api"
    LISTENER = "listener"
    TRIGGER = "trigger"
    INGRESS = "ingress"
    EGRESS = "egress"


class Topic(StrEnum):
    """The three topics every subsystem owns."""

    BUS = "bus"
    FAULTS = "faults"
    EXTERNAL = "external"


ROLES_BY_KIND: dict[ServiceKind, frozenset[Role]] = {
    ServiceKind.BFF: frozenset({Role.API, Role.LISTENER, Role.TRIGGER}),
    ServiceKind.ESG: frozenset({Role.INGRESS, Role.EGRESS, Role.API, Role.TRIGGER}),
    ServiceKind.CONTROL: frozenset({Role.LISTENER, Role.TRIGGER}),
}
"""An ESG may take a third party's calls over HTTP (a webhook, role ``api``): the
webhook stores what it receives in an inbox collection and the ESG's trigger
relays it to the bus, so an accepted callback is never lost."""
_KIND_NAMES: dict[ServiceKind, str] = {
    ServiceKind.BFF: "BFF",
    ServiceKind.ESG: "ESG",
    ServiceKind.CONTROL: "control service",
}
"""How messages name each kind of service."""
_ROLE_NAMES: dict[Role, str] = {Role.API: "API"}
"""How messages name a role, where not by its value."""


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: ``an ESG``, ``a BFF``, ``an ingress``."""
    return f"{'an' if noun[:1].lower() in 'aeio' else 'a'} {noun}"


def described(value: object) -> str:
    """How a message names a value given where another was expected."""
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, ModuleType):
        return f"the module {value.__name__}"
    if isinstance(value, type):
        return f"the class {value.__name__}"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"the function {value.__qualname__}"
    name = getattr(value, "name", None)
    kind = type(value).__name__
    return f"{_a(kind)} {name!r}" if isinstance(name, str) else _a(kind)


def tuple_problems(
    field: str,
    value: object,
    noun: str,
    accepts: Callable[[object], bool],
    *,
    hashed: bool = False,
) -> list[str]:
    """Why ``value`` is not the tuple of ``noun`` that ``field`` must be; empty when it is.

    ``(x)`` is ``x`` in Python: a lone item written without its trailing comma is the likely
    slip, and the message shows the fix. A module given for the service it declares is named
    with its ``SERVICE``. A list passes too, unless the field is ``hashed`` (a set holds it).
    """
    if not isinstance(value, tuple) and (hashed or not isinstance(value, list)):
        fix = f": write {field}=({_as_written(value)},), the trailing comma makes the tuple"
        lone = accepts(value)
        return [f"{field} must be a tuple of {noun}, got {described(value)}{fix if lone else ''}"]
    problems = []
    for n, item in enumerate(value):
        if not accepts(item):
            problem = f"{field}[{n}] is {described(item)}, not one of the {noun}"
            if isinstance(item, ModuleType) and hasattr(item, "SERVICE"):
                problem += f": name its service, {item.__name__}.SERVICE"
            problems.append(problem)
    return problems


def _as_written(value: object) -> str:
    """``value`` as the declaration would name it, where the message can tell."""
    if isinstance(value, str):
        return repr(value)
    name = getattr(value, "__name__", None)
    return name if isinstance(name, str) and callable(value) else "item"


def _strings(value: object) -> bool:
    return isinstance(value, str)


@dataclass(frozen=True, slots=True)
class Channel:
    """A subscription: the events of one topic that a routing rule selects.

    ``subsystem`` is ``None`` for the consumer's own subsystem; an ingress names
    the sister subsystem whose ``external`` topic it reads.
    """

    rule: Selection
    topic: Topic = Topic.BUS
    subsystem: str | None = None
    ordered: bool = True
    max_delivery_attempts: int = 5
    min_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    ack_deadline_s: int = 60

    def problems(self) -> Iterator[str]:
        """What is wrong with this channel, if anything."""
        if not isinstance(self.rule, Selection):
            yield (
                "the channel's rule must be a routing rule, on_types(...), on_prefixes(...) or "
                f"Rule(...), got {described(self.rule)}"
            )
        if not MIN_DELIVERY_ATTEMPTS <= self.max_delivery_attempts <= MAX_DELIVERY_ATTEMPTS:
            yield (
                f"max_delivery_attempts must be {MIN_DELIVERY_ATTEMPTS}-{MAX_DELIVERY_ATTEMPTS}, "
                f"got {self.max_delivery_attempts}"
            )
        if not 0 <= self.min_backoff_s <= self.max_backoff_s <= MAX_BACKOFF_S:
            yield f"backoff must satisfy 0 <= min_backoff_s <= max_backoff_s <= {MAX_BACKOFF_S}"
        if not MIN_ACK_DEADLINE_S <= self.ack_deadline_s <= MAX_ACK_DEADLINE_S:
            yield (
                f"ack_deadline_s must be {MIN_ACK_DEADLINE_S}-{MAX_ACK_DEADLINE_S}, "
                f"got {self.ack_deadline_s}"
            )
        if self.subsystem is not None and self.topic is not Topic.EXTERNAL:
            yield "a channel on another subsystem can only read its 'external' topic"


@dataclass(frozen=True, slots=True)
class Function:
    """Base of the function shapes; ``name`` is unique within its service.

    ``secrets`` names the secret settings the function reads (third-party
    keys): on Google Cloud only these are mounted into it, and only these can
    its identity read.
    """

    name: str
    role: Role
    secrets: tuple[str, ...] = field(default=(), kw_only=True)

    def target(self, service: Service) -> str:
        """The functions-framework target name, a Python identifier."""
        return f"{service.name}-{self.name}".replace("-", "_")

    def problems(self) -> Iterator[str]:
        """What is wrong with this function, if anything."""
        if not _NAME.match(self.name):
            yield f"name {self.name!r} must be lower-case words joined by '-'"
        wrong = tuple_problems("secrets", self.secrets, "setting names", _strings)
        yield from wrong
        if wrong:
            return
        for secret in self.secrets:
            if not _SETTING.match(secret):
                yield f"secret {secret!r} must be an upper-case setting name, e.g. API_KEY"
            elif secret in KIT_SETTINGS or secret.startswith("PROJECT_"):
                yield f"secret {secret!r} is the kit's setting FOODDELIVERY_{secret}: rename it"
        for secret in sorted({s for s in self.secrets if self.secrets.count(s) > 1}):
            yield f"secret {secret!r} is declared twice"


@dataclass(frozen=True, slots=True)
class Endpoint(Function):
    """An HTTP function: a BFF's API, or an ESG's webhook for a third party.

    ``app`` builds the WSGI application from the subsystem's ports.
    """

    app: Callable[[Any], Any] = field(repr=False)
    public: bool = True


@dataclass(frozen=True, slots=True)
class Consumer(Function):
    """A function fed by a channel: a listener, an ingress or an egress.

    ``handlers`` run in order on every event the channel's rule selects.
    An egress lists the external event types it ``publishes`` (none when it
    forwards to a third party over HTTP instead).
    """

    channel: Channel
    handlers: tuple[Handler, ...]
    publishes: tuple[str, ...] = ()

    def subscription(self, service: Service) -> str:
        """The subscription id, unique within the subsystem's project."""
        return f"{service.name}-{self.name}"

    def problems(self) -> Iterator[str]:
        yield from Function.problems(self)
        yield from self.channel.problems()
        yield from tuple_problems("handlers", self.handlers, "handler functions", callable)
        yield from tuple_problems("publishes", self.publishes, "external types", _strings)
        if not self.handlers:
            yield "a consumer needs at least one handler"
        if self.role not in (Role.LISTENER, Role.INGRESS, Role.EGRESS):
            yield f"a consumer cannot have role {self.role}"
        if self.channel.topic is Topic.EXTERNAL and self.role is not Role.INGRESS:
            yield "only an ingress reads an 'external' topic"
        if self.role is Role.INGRESS and self.channel.subsystem is None:
            # Else no check sees what it reads: its types need no producer, nor a version.
            yield (
                "an ingress reads another subsystem's 'external' topic: name it "
                "(channel.subsystem) and set topic=Topic.EXTERNAL"
            )
        if self.publishes and self.role is not Role.EGRESS:
            yield "only an egress publishes external events"


@dataclass(frozen=True, slots=True)
class Trigger(Function):
    """A database-first function fed by the change feed of one collection."""

    collection: str
    handlers: tuple[TriggerHandler, ...]
    correlate_by: str | None = None
    """The document field naming the flow its events belong to (their correlation id),
    e.g. ``orderId`` for a delivery; ``None``: the document's key."""
    redact: tuple[str, ...] = ()
    """Document fields (dotted paths) a fault or dead letter of this trigger must not keep,
    such as a card token: the change is stored with them masked."""

    def problems(self) -> Iterator[str]:
        yield from Function.problems(self)
        if not self.collection:
            yield "a trigger must name the collection it watches"
        else:
            yield from collection_problems(self.collection)
        yield from tuple_problems("handlers", self.handlers, "handler functions", callable)
        if not self.handlers:
            yield "a trigger needs at least one handler"
        if self.role is not Role.TRIGGER:
            yield f"a trigger cannot have role {self.role}"


@dataclass(frozen=True, slots=True)
class Schedule(Function):
    """A function run every ``every_s`` seconds: deadlines and timeouts.

    On GCP a Cloud Scheduler job calls it over HTTP; embedded, the system's
    clock drives it. Handlers receive the tick's time in epoch milliseconds.
    """

    every_s: int
    handlers: tuple[TickHandler, ...]

    def problems(self) -> Iterator[str]:
        yield from Function.problems(self)
        if not 60 <= self.every_s <= 86_400:
            yield f"every_s must be 60-86400 (Cloud Scheduler's range), got {self.every_s}"
        elif cron(self.every_s) is None:
            yield (
                f"every_s={self.every_s} cannot be a cron schedule: use a divisor of "
                "60 minutes or 24 hours"
            )
        yield from tuple_problems("handlers", self.handlers, "handler functions", callable)
        if not self.handlers:
            yield "a schedule needs at least one handler"
        if self.role is not Role.TRIGGER:
            yield f"a schedule cannot have role {self.role}"


def collection_problems(collection: str) -> Iterator[str]:
    """What Firestore (and a trigger's document path pattern) refuses in a collection id."""
    if not collection or collection in (".", "..") or "/" in collection:
        yield f"collection {collection!r} must be one collection id: not empty, '.', '..', no '/'"
    elif re.fullmatch(r"__.*__", collection):
        yield f"collection {collection!r}: ids of the form __name__ are Firestore's own"
    elif len(collection.encode()) > 1500:
        yield f"collection {collection[:20]!r}...: an id is at most 1500 bytes"


def cron(every_s: int) -> str | None:
    """The Cloud Scheduler cron expression firing every ``every_s`` seconds; ``None`` when
    cron cannot fire at that period (its steps divide an hour or a day)."""
    minutes, rest = divmod(every_s, 60)
    if rest == 0 and minutes == 1:
        return "* * * * *"
    if rest == 0 and 0 < minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    hours, rest = divmod(every_s, 3600)
    if rest == 0 and 0 < hours < 24 and 24 % hours == 0:
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if every_s == 86_400:
        return "0 0 * * *"
    return None


@dataclass(frozen=True, slots=True)
class Service:
    """An autonomous service: a BFF, an ESG or a control service."""

    name: str
    kind: ServiceKind
    functions: tuple[Function, ...]
    description: str = ""

    def problems(self) -> Iterator[str]:
        """What is wrong with this service, each prefixed with the function's name."""
        if not _NAME.match(self.name):
            yield f"name {self.name!r} must be lower-case words joined by '-'"
        if not self.functions:
            yield "a service needs at least one function"
        if self.name.startswith(PUBSUB_RESERVED_PREFIX) and any(
            isinstance(fn, Consumer) for fn in self.functions
        ):
            yield (
                f"name {self.name!r} starts its consumers' subscription ids, and Pub/Sub "
                f"refuses ids starting with {PUBSUB_RESERVED_PREFIX!r}"
            )
        seen: set[str] = set()
        for fn in self.functions:
            if fn.name in seen:
                yield f"function {fn.name!r} is declared twice"
            seen.add(fn.name)
            if fn.role not in ROLES_BY_KIND[self.kind]:
                yield (
                    f"function {fn.name!r}: {_a(_KIND_NAMES[self.kind])} cannot have "
                    f"{_a(_ROLE_NAMES.get(fn.role, fn.role))} function"
                )
            for problem in fn.problems():
                yield f"function {fn.name!r}: {problem}"


@dataclass(frozen=True, slots=True)
class Index:
    """A composite Firestore index that one of the subsystem's queries needs.

    ``fields`` lists equality fields first, then the ordered ones in the order
    Firestore sorts by (the ``order_by`` field, then any other range fields by name),
    each in the query's direction; ``"createdAt desc"`` orders a field descending.
    Terraform creates it on GCP; the embedded system refuses a query that needs one
    undeclared, as Firestore does (:mod:`shared.stores.indexes`); the emulator needs none.
    """

    collection: str
    fields: tuple[str, ...]

    def problems(self) -> Iterator[str]:
        """What is wrong with this index, if anything."""
        for problem in collection_problems(self.collection):
            yield f"index on {self.collection!r}: {problem}"
        if len(self.fields) < 2:
            yield f"index on {self.collection!r}: a composite index needs at least two fields"
        for spec in self.fields:
            name, _, order = spec.partition(" ")
            if not name or order not in ("", "asc", "desc"):
                yield f"index on {self.collection!r}: field {spec!r} must be 'name' or 'name desc'"


@dataclass(frozen=True, slots=True)
class Subsystem:
    """One autonomous subsystem: its own project, event hub and services."""

    name: str
    services: tuple[Service, ...]
    description: str = ""
    indexes: tuple[Index, ...] = ()
    ttl_collections: tuple[str, ...] = ()
    """Collections whose documents may carry ``expireAt`` (a timestamp): Terraform gives
    each a Firestore TTL policy on it, as for the kit's idempotency keys; embedded and on
    the emulator nothing expires."""

    def __post_init__(self) -> None:
        problems = list(self.problems())
        if problems:
            raise TopologyError(
                f"subsystem {self.name!r} is declared wrongly:\n  " + "\n  ".join(problems)
            )

    def problems(self) -> Iterator[str]:
        """Every inconsistency in the declaration, prefixed with the service's name."""
        if not _NAME.match(self.name):
            yield f"name {self.name!r} must be lower-case words joined by '-'"
        shapes = self._shape_problems()
        if shapes:  # the checks below walk the declaration's tuples
            yield from shapes
            return
        seen: set[str] = set()
        for service in self.services:
            if service.name in seen:
                yield f"service {service.name!r} is declared twice"
            seen.add(service.name)
            for problem in service.problems():
                yield f"service {service.name!r}: {problem}"
            for fn in service.functions:
                if isinstance(fn, Consumer) and fn.channel.subsystem == self.name:
                    yield (
                        f"service {service.name!r}: function {fn.name!r}: "
                        "reads its own subsystem, leave channel.subsystem unset"
                    )
        for index in self.indexes:
            yield from index.problems()
        for index in sorted({i for i in self.indexes if self.indexes.count(i) > 1}, key=repr):
            yield f"index on {index.collection!r} {index.fields} is declared twice"
        for collection in self.ttl_collections:
            for problem in collection_problems(collection):
                yield f"ttl collection {collection!r}: {problem}"
        for twice in sorted({c for c in self.ttl_collections if self.ttl_collections.count(c) > 1}):
            yield f"ttl collection {twice!r} is declared twice"
        targets = [fn.target(s) for s in self.services for fn in s.functions]
        for duplicate in sorted({t for t in targets if targets.count(t) > 1}):
            yield f"target {duplicate!r} is produced by two functions"

    def _shape_problems(self) -> list[str]:
        """Where the declaration holds something else than the tuples and objects its
        fields are: a lone item for a tuple of one, a module for its service."""
        problems = [
            *tuple_problems("services", self.services, "services", _services),
            *tuple_problems("indexes", self.indexes, "indexes", _indexes),
            *tuple_problems("ttl_collections", self.ttl_collections, "collection ids", _strings),
        ]
        if problems:
            return problems
        for service in self.services:
            where = f"service {service.name!r}"
            wrong = tuple_problems("functions", service.functions, "functions", _functions)
            problems += (f"{where}: {problem}" for problem in wrong)
            for fn in () if wrong else service.functions:
                if isinstance(fn, Consumer) and not isinstance(fn.channel, Channel):
                    problems.append(
                        f"{where}: function {fn.name!r}: channel must be a Channel, got "
                        f"{described(fn.channel)}: Channel(on_types(...))"
                    )
        for index in self.indexes:
            wrong = tuple_problems("fields", index.fields, "field names", _strings, hashed=True)
            problems += (f"index on {index.collection!r}: {problem}" for problem in wrong)
        return problems

    # -- views of the declaration ------------------------------------------------------

    def functions(self) -> Iterator[tuple[Service, Function]]:
        """Every (service, function) pair, in declaration order."""
        for service in self.services:
            for fn in service.functions:
                yield service, fn

    def consumers(self) -> Iterator[tuple[Service, Consumer]]:
        """Every function fed by a channel."""
        for service, fn in self.functions():
            if isinstance(fn, Consumer):
                yield service, fn

    def triggers(self) -> Iterator[tuple[Service, Trigger]]:
        """Every database-first trigger."""
        for service, fn in self.functions():
            if isinstance(fn, Trigger):
                yield service, fn

    def schedules(self) -> Iterator[tuple[Service, Schedule]]:
        """Every function run on a timer."""
        for service, fn in self.functions():
            if isinstance(fn, Schedule):
                yield service, fn

    def endpoints(self) -> Iterator[tuple[Service, Endpoint]]:
        """Every HTTP function."""
        for service, fn in self.functions():
            if isinstance(fn, Endpoint):
                yield service, fn

    @property
    def publishes(self) -> frozenset[str]:
        """The external event types this subsystem's egress functions publish."""
        return frozenset(t for _, fn in self.consumers() for t in fn.publishes)

    def consumes(self) -> dict[str, frozenset[str]]:
        """External event types read by ingress functions, by producing subsystem.

        Only the types their rules name: an ingress may not select types by prefix
        (:func:`~shared.topology.checks.check_system` refuses it).
        """
        found: dict[str, set[str]] = {}
        for _, fn in self.consumers():
            if fn.role is Role.INGRESS and fn.channel.subsystem is not None:
                found.setdefault(fn.channel.subsystem, set()).update(fn.channel.rule.types)
        return {k: frozenset(v) for k, v in found.items()}

    def find(self, target: str) -> tuple[Service, Function]:
        """The function behind a functions-framework target name."""
        for service, fn in self.functions():
            if fn.target(service) == target:
                return service, fn
        targets = ", ".join(fn.target(service) for service, fn in self.functions())
        raise TopologyError(
            f"subsystem {self.name!r} has no function with target {target!r} (its targets: "
            f"{targets})"
        )


def _functions(value: object) -> bool:
    return isinstance(value, Function)


def _services(value: object) -> bool:
    return isinstance(value, Service)


def _indexes(value: object) -> bool:
    return isinstance(value, Index)
