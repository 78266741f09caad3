"""What the cross-subsystem contract tests share: the system, the committed schemas, runtimes."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from scenario.stack import EmbeddedStack
from scenario.story import Story
from shared.catalog.inventory import Published, Reading, inventory
from shared.catalog.schemas import schema_file
from shared.clock import ManualClock
from shared.contracts import SCHEMA_VERSION_TAG
from shared.envelope import Envelope, derive_id
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message
from shared.hub.routing import Selection
from shared.runtime.app import Infrastructure, SubsystemApp
from shared.runtime.consumer import ConsumerRuntime
from shared.stores import InMemoryDocumentStore
from shared.system import load_subsystems
from shared.topology import Consumer, Topic

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
START = 1_767_225_600_000
APPS: list[SubsystemApp[Any]] = load_subsystems()
EVENTS: list[Published] = inventory(APPS)
_ids = itertools.count(1)


def settings(dev_key: Path) -> dict[str, str]:
    """Every setting the four bootstraps ask for and every secret their functions declare; no
    third party is ever called."""
    return {
        "DEV_KEY": str(dev_key),
        "PAYMENT_PROCESSOR_URL": "http://payments.test",
        "PAYMENT_PROCESSOR_KEY": "sk_test",
        "PUSH_PROVIDER_URL": "http://push.test",
        "PUSH_PROVIDER_KEY": "push_test",
        "POS_URL": "http://pos.test",
        "POS_API_KEY": "pos_test",
        "POS_CALLBACK_URL": "http://order.test/",
        "POS_WEBHOOK_SECRET": "secret",
    }


def committed_schema(event: Published) -> dict[str, Any]:
    """The producer's committed schema file of ``event``'s type and major version."""
    path = CONTRACTS / schema_file(event.type, event.version)
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def envelope(
    event: Published, body: dict[str, Any], attributes_from: dict[str, Any] | None = None
) -> Envelope:
    """``body`` as ``event``'s producer publishes it: type, entity, version tag and the
    contract's attributes, copied from ``attributes_from`` (by default ``body`` itself)."""
    source = body if attributes_from is None else attributes_from
    n = next(_ids)
    return Envelope(
        id=derive_id("contract-test", str(n)),
        type=event.type,
        timestamp=START,
        partition_key=f"key-{n}",
        entity=event.entity,
        body=body,
        tags={
            SCHEMA_VERSION_TAG: str(event.version),
            "source": event.service,
            "function": event.function,
            "subsystem": event.producer,
            "env": "test",
            **{name: source[name] for name in event.attributes},
        },
    )


def routed(selection: Selection, event: Published, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with each attribute that ``selection`` filters ``event`` on set to a value it
    allows (``body``'s own where it is one), so that a subscription of that rule carries it.

    The alternative that selects ``event``'s type and version decides (the first, if
    several do); :class:`LookupError` if none does.
    """
    for rule in selection.alternatives:
        versions = rule.allows(SCHEMA_VERSION_TAG)
        if event.type in rule.types and (versions is None or str(event.version) in versions):
            routed_body = dict(body)
            for name in event.attributes:
                allowed = rule.allows(name)
                if allowed is not None and str(body[name]) not in allowed:
                    routed_body[name] = sorted(allowed)[0]
            return routed_body
    raise LookupError(f"{selection.to_filter()!r} does not select {event.key}")


def app_named(name: str) -> SubsystemApp[Any]:
    """The loaded subsystem called ``name``."""
    [app] = [a for a in APPS if a.name == name]
    return app


def ingress_of(
    reading: Reading, app: SubsystemApp[Any] | None = None
) -> tuple[SubsystemApp[Any], Any, Consumer]:
    """The app (by default the loaded one), service and consumer function behind
    ``reading``."""
    app = app_named(reading.subsystem) if app is None else app
    for service, fn in app.topology.consumers():
        if service.name == reading.service and fn.name == reading.function:
            return app, service, fn
    raise LookupError(reading.qualified)


def ingresses() -> list[Reading]:
    """Every ingress function of the system."""
    found = {r for e in EVENTS for r in e.consumers}
    for app in APPS:
        for service, fn in app.topology.consumers():
            if fn.channel.subsystem is not None:
                found.add(Reading(app.name, service.name, fn.name))
    return sorted(found, key=lambda r: r.qualified)


class RecordingPublisher(AbstractPublisher):
    """Keeps what a runtime publishes, by topic."""

    def __init__(self) -> None:
        self.sent: dict[Topic, list[Message]] = {topic: [] for topic in Topic}

    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        self.sent[topic].extend(messages)
        return [m.message_id or str(i) for i, m in enumerate(messages)]

    def clear(self) -> None:
        for messages in self.sent.values():
            messages.clear()


@pytest.fixture(scope="session")
def dev_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development signing key for every bootstrap of the session."""
    return tmp_path_factory.mktemp("contract-pairs") / "key.pem"


@pytest.fixture(scope="session")
def external(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Message]]:
    """Every message each subsystem published on its ``external`` topic during a story.

    The demo story runs embedded: every subsystem, every gateway, the
    third-party fakes over in-process HTTP.
    """
    stack = EmbeddedStack(dev_key=tmp_path_factory.mktemp("story") / "key.pem")
    seen: dict[str, list[Message]] = {}

    def observe(project: str, topic: str, message: Message) -> None:
        if topic == Topic.EXTERNAL:
            seen.setdefault(project, []).append(message)

    stack.system.hub.observers.append(observe)
    try:
        outcome = Story(stack, 4, seed=3).run()
    finally:
        stack.close()
    assert len(outcome.orders) == 4
    return seen


@pytest.fixture(scope="session")
def ports(dev_key: Path) -> dict[str, Any]:
    """Each subsystem's real ports, on an in-memory store."""
    clock = ManualClock(START)
    return {
        app.name: app.bootstrap(
            Infrastructure(app.name, InMemoryDocumentStore(), clock, "test", settings(dev_key))
        )
        for app in APPS
    }


def runtime(
    reading: Reading, ports: dict[str, Any], publisher: AbstractPublisher
) -> ConsumerRuntime[Any]:
    """The consumer's real ingress function, run as Pub/Sub would run it."""
    app, service, fn = ingress_of(reading)
    return ConsumerRuntime(
        app.topology, service, fn, ports[app.name], publisher, ManualClock(START), "test"
    )
