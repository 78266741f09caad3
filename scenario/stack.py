"""The whole system in one process, with its third parties and its BFFs reachable over HTTP.

:class:`EmbeddedStack` runs the four subsystems on the embedded runtime and
puts every HTTP surface — the BFF APIs, the Order subsystem's POS webhook and
the three third-party fakes — behind URLs:

* ``served=False`` (the demo, the benchmark): the URLs are served in process by
  :class:`~shared.http.WsgiTransport`, so a run is single-threaded and
  deterministic, yet every gateway and every actor still speaks HTTP through
  ``requests``;
* ``served=True`` (the end-to-end tests): every surface is a real HTTP server
  on 127.0.0.1, exactly as the functions and fakes run in development.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer.topology import APP as CUSTOMER
from delivery.topology import APP as DELIVERY
from fakes import payment_processor, point_of_sale, push_provider
from fakes.server import RunningServer, serve
from restaurant.topology import APP as RESTAURANT
from scenario.actors import Urls, processor_authorizations
from shared.auth import LocalIssuer
from shared.clock import Clock, ManualClock
from shared.emulators import free_port
from shared.http import WsgiTransport, http_session
from shared.runtime.embedded import EmbeddedSystem
from shared.system import load_subsystems

if TYPE_CHECKING:
    import requests

    from shared.runtime.app import SubsystemApp

PAYMENT_KEY = payment_processor.DEFAULT_API_KEY
PUSH_KEY = push_provider.DEFAULT_API_KEY
POS_KEY = point_of_sale.DEFAULT_API_KEY
POS_SECRET = point_of_sale.DEFAULT_WEBHOOK_SECRET
"""The fakes' keys: each fake's own default, as the dev stack runs them."""
BFFS: dict[str, tuple[SubsystemApp[Any], str]] = {
    "browse": (CUSTOMER, "browse_bff_api"),
    "account": (CUSTOMER, "account_bff_api"),
    "checkout": (CUSTOMER, "checkout_bff_api"),
    "tracking": (CUSTOMER, "tracking_bff_api"),
    "profile": (RESTAURANT, "profile_bff_api"),
    "kitchen": (RESTAURANT, "kitchen_bff_api"),
    "driver": (DELIVERY, "driver_bff_api"),
}
"""The actors' HTTP surfaces: field of :class:`Urls` -> (subsystem, target)."""


@dataclass
class EmbeddedStack:
    """Builds and owns the system, the fakes and the URLs; :meth:`close` stops servers."""

    dev_key: Path
    served: bool = False
    clock: Clock = field(default_factory=ManualClock)
    servers: list[RunningServer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.issuer = LocalIssuer.from_file(self.dev_key)
        self.actor_session = http_session()
        pos_session = http_session()
        self.payments_app = payment_processor.create_app(
            api_key=PAYMENT_KEY, now_s=lambda: self.clock.now_ms() / 1000
        )
        self.push_app = push_provider.create_app(api_key=PUSH_KEY)
        self.pos_app = point_of_sale.create_app(
            webhook_secret=POS_SECRET,
            api_key=POS_KEY,
            session=pos_session,
            now_s=lambda: self.clock.now_ms() / 1000,
        )
        transports: dict[str, Any] = {}
        payments = self.payments_url = self._expose("payments", self.payments_app, transports)
        push = self.push_url = self._expose("push", self.push_app, transports)
        pos = self._expose("pos", self.pos_app, transports)
        # The webhook is built from the Order subsystem's ports, which exist only once
        # the system does, but the system's settings must already name its URL.
        webhook_port = free_port() if self.served else 0
        webhook_url = (
            f"http://127.0.0.1:{webhook_port}" if self.served else "http://order-pos.embedded"
        )
        self.system = EmbeddedSystem(
            load_subsystems(),  # every registered one, not only the four the story drives
            clock=self.clock,
            settings=self._settings(payments, push, pos, webhook_url),
            transports=transports,
        )
        webhook_app = self.system.serve("order", "pos_esg_webhook")
        if self.served:
            self.servers.append(serve(webhook_app, port=webhook_port))
        else:
            pos_session.mount(webhook_url, WsgiTransport(webhook_app))
        urls = {"pos": pos}
        for name, (app, target) in BFFS.items():
            urls[name] = self._expose(name, self.system.serve(app.name, target), transports)
        self.urls = Urls(**urls)
        for prefix, transport in transports.items():
            self.actor_session.mount(prefix, transport)
        self.actor_session.trust_env = not transports

    def _expose(self, name: str, app: Any, transports: dict[str, Any]) -> str:
        if self.served:
            server = serve(app)
            self.servers.append(server)
            return server.url
        url = f"http://{name}.embedded"
        transports[url] = WsgiTransport(app)
        return url

    def _settings(self, payments: str, push: str, pos: str, webhook: str) -> dict[str, str]:
        return {
            "DEV_KEY": str(self.dev_key),
            "PAYMENT_PROCESSOR_URL": payments,
            "PAYMENT_PROCESSOR_KEY": PAYMENT_KEY,
            "PUSH_PROVIDER_URL": push,
            "PUSH_PROVIDER_KEY": PUSH_KEY,
            "POS_URL": pos,
            "POS_API_KEY": POS_KEY,
            "POS_CALLBACK_URL": webhook,
            "POS_WEBHOOK_SECRET": POS_SECRET,
        }

    @property
    def session(self) -> requests.Session:
        """The HTTP session the actors' apps use."""
        return self.actor_session

    def authorizations(self, order_id: str) -> list[dict[str, Any]]:
        """What the payment processor holds for ``order_id``, as its dashboard shows it."""
        return processor_authorizations(
            lambda path: self._inspect(self.payments_url, path, PAYMENT_KEY), order_id
        )

    def notifications(self) -> list[dict[str, Any]]:
        """Every message the push provider accepted."""
        found: list[dict[str, Any]] = self._inspect(self.push_url, "/v1/messages", PUSH_KEY)[
            "messages"
        ]
        return found

    def _inspect(self, base: str, path: str, key: str) -> Any:
        response = self.actor_session.get(
            f"{base}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def settle(self) -> None:
        """Deliver every pending event (and the events they cause)."""
        self.system.run_until_quiet()

    def advance(self, ms: int) -> None:
        """Let ``ms`` of (manual) time pass, running schedules as Cloud Scheduler would."""
        self.system.advance(ms)

    def close(self) -> None:
        """Stop every server this stack started."""
        for server in self.servers:
            server.stop()
        self.servers.clear()
