"""One subsystem running on its own, as its tests drive and observe it.

A subsystem's tests start from :class:`StandaloneSubsystem` and add the helpers of its
domain (its sister subsystems' events, its journeys) in a subclass::

    class Rating(StandaloneSubsystem):
        def __init__(self, key: Path) -> None:
            super().__init__(APP, dev_key=key, settings={"PARTNER_URL": "http://partner.test"})

    rating = Rating(tmp_path / "key.pem")
    rating.send("order", delivered)  # as Order publishes it, then everything it sets off
    alice = rating.bearer(Principal("customer", "alice"))
    answer = rating.api("score-bff").get("/scores", headers=alice)
    rating.advance(10)  # ten minutes later, the schedules that fired having run
    assert rating.faults() == []

It runs on an :class:`~shared.runtime.embedded.EmbeddedSystem` built ``standalone``
(the producers' ``external`` topics exist, empty, for :meth:`send`) on a
:class:`~shared.clock.ManualClock`, and records what the subsystem publishes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.auth import LocalIssuer, Principal
from shared.clock import ManualClock
from shared.hub.message import Message, from_message
from shared.runtime.embedded import EmbeddedSystem
from shared.topology.model import Topic

if TYPE_CHECKING:
    from pathlib import Path

    from flask.testing import FlaskClient
    from requests.adapters import BaseAdapter

    from shared.envelope import Envelope
    from shared.runtime.app import SubsystemApp
    from shared.stores import InMemoryDocumentStore

MINUTE_MS = 60_000


class StandaloneSubsystem:
    """``app`` alone on the embedded runtime, with what its tests need.

    ``clock`` is a new :class:`ManualClock` (at its default start) unless given.
    ``settings`` and ``transports`` are the
    :class:`~shared.runtime.embedded.EmbeddedSystem`'s (a third party's fake is served at
    its base URL by a :class:`~shared.http.WsgiTransport`). ``dev_key`` is the development
    signing key the subsystem's APIs verify tokens with (its ``DEV_KEY`` setting; created
    when missing) and :meth:`bearer` mints them with; ``issuer``, that key's issuer when it
    is already loaded (loading one takes a while: a test session may share one).
    """

    def __init__(
        self,
        app: SubsystemApp[Any],
        *,
        clock: ManualClock | None = None,
        settings: Mapping[str, str] | None = None,
        transports: Mapping[str, BaseAdapter] | None = None,
        dev_key: Path | None = None,
        issuer: LocalIssuer | None = None,
    ) -> None:
        if issuer is not None and dev_key is None:
            raise ValueError("an issuer needs the dev_key it was loaded from")
        self.name = app.name
        self.clock = clock or ManualClock()
        settings = dict(settings or {})
        if dev_key is not None:
            settings["DEV_KEY"] = str(dev_key)
            issuer = issuer or LocalIssuer.from_file(dev_key)
        self.issuer = issuer
        self.system = EmbeddedSystem(
            [app], standalone=True, clock=self.clock, settings=settings, transports=transports
        )
        self.messages: dict[Topic, list[Message]] = {topic: [] for topic in Topic}
        """Every message the subsystem published, per topic, as the hub carried it."""
        self.system.hub.observers.append(self._observe)

    def _observe(self, project: str, topic: str, message: Message) -> None:
        if project == self.name and topic in self.messages:
            self.messages[Topic(topic)].append(message)

    @property
    def store(self) -> InMemoryDocumentStore:
        """The subsystem's document store."""
        return self.system.stores[self.name]

    def events_on(self, topic: Topic, *types: str) -> list[Envelope]:
        """The events published on ``topic`` (``bus`` or ``external``: ``faults`` also
        carries dead letters, which are no envelopes), of the given types or, without
        any, all of them, in publication order."""
        found = [from_message(m) for m in self.messages[topic]]
        return [e for e in found if not types or e.type in types]

    def faults(self) -> list[dict[str, Any]]:
        """The faults the subsystem recorded."""
        return self.system.faults(self.name)

    def api(self, service: str) -> FlaskClient:
        """A Flask test client of ``service``'s HTTP endpoint (a BFF's API, a webhook)."""
        topology = self.system.apps[self.name].topology
        targets = [fn.target(s) for s, fn in topology.endpoints() if s.name == service]
        if len(targets) != 1:
            served = sorted({s.name for s, _ in topology.endpoints()})
            raise ValueError(
                f"{self.name} has {len(targets)} HTTP endpoints in a service named "
                f"{service!r}, not one (services with one: {', '.join(served) or 'none'})"
            )
        client: FlaskClient = self.system.serve(self.name, targets[0]).test_client()
        return client

    def bearer(self, principal: Principal) -> dict[str, str]:
        """Headers carrying a development token for ``principal``."""
        if self.issuer is None:
            raise ValueError(f"{self.name} runs without a dev_key: no token can be minted")
        return {"Authorization": "Bearer " + self.issuer.mint(principal)}

    def send(self, producer: str, *events: Envelope) -> None:
        """Publish ``events`` as ``producer`` does, then deliver everything they set off:
        on its ``external`` topic, or, when ``producer`` is this subsystem, on its ``bus``
        (as its own functions would). The events need the tags their producer stamps
        (``schemaVersion`` and the contract's attributes), or filters leave them out."""
        topic = Topic.BUS if producer == self.name else Topic.EXTERNAL
        for event in events:
            self.system.inject(producer, topic, event)
        self.system.run_until_quiet()

    def advance(self, minutes: float) -> None:
        """Let ``minutes`` pass, running each minute the schedules that fired and
        delivering what they set off (:meth:`EmbeddedSystem.advance`)."""
        self.system.advance(int(minutes * MINUTE_MS))
