"""Functions read only the secrets they declare, so every bootstrap must start without any."""

from __future__ import annotations

from pathlib import Path

from shared.clock import ManualClock
from shared.hub.routing import on_types
from shared.runtime.app import Infrastructure
from shared.stores import InMemoryDocumentStore
from shared.system import load_subsystems
from shared.topology.model import Channel, Consumer, Role

PLAIN_SETTINGS = {
    "PAYMENT_PROCESSOR_URL": "http://payments.test",
    "PUSH_PROVIDER_URL": "http://push.test",
    "POS_URL": "http://pos.test",
    "POS_CALLBACK_URL": "http://order.test",
}


def test_every_subsystem_starts_with_no_secret_at_all(tmp_path: Path) -> None:
    key = tmp_path / "absent" / "key.pem"  # nor the development key: only BFF APIs read it
    apps = load_subsystems()
    declared = {s for app in apps for _, fn in app.topology.functions() for s in fn.secrets}
    assert declared == {
        "PAYMENT_PROCESSOR_KEY",
        "POS_API_KEY",
        "POS_WEBHOOK_SECRET",
        "PUSH_PROVIDER_KEY",
    }
    settings = {**PLAIN_SETTINGS, "DEV_KEY": str(key)}
    for app in apps:
        store, clock = InMemoryDocumentStore(), ManualClock()
        app.bootstrap(Infrastructure(app.name, store, clock, settings=settings))
    assert not key.exists()


def test_a_secret_name_must_look_like_a_setting() -> None:
    function = Consumer(
        "push", Role.EGRESS, Channel(on_types("x-happened")), handlers=(), secrets=("push-key",)
    )
    assert "secret 'push-key' must be an upper-case setting name, e.g. API_KEY" in list(
        function.problems()
    )
