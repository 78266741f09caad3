"""A host whose trigger hears no changes says so on ``/healthz`` (without emulators).

A trigger's watch that lost its listener reopens it (:mod:`shared.stores.firestore_feed`);
while that takes longer than a short grace the host answers 503 naming the trigger and
why, and the stack's supervisor (:func:`devstack.health.unhealthy_because`) reads it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.test import Client

from devstack import command
from devstack import stack as stack_module
from devstack.checkpoint import Checkpoint
from devstack.health import NO_ANSWER, unhealthy_because
from devstack.host_app import build_app
from devstack.host_runtime import DEAF_GRACE_S, HostRuntime
from devstack.processes import Child
from devstack.stack import DevOptions, DevStack
from devstack.stats import Stats
from devstack.triggers import TriggerFeed
from shared.stores.base import Watch
from tests.devstack.test_usage import a_manifest


class DeafWatch(Watch):
    def __init__(self) -> None:
        self.down: tuple[float, str] | None = None

    def stop(self) -> None:
        pass

    def outage(self) -> tuple[float, str] | None:
        return self.down


class Feed:
    def __init__(self) -> None:
        self.watch_ = DeafWatch()

    def watch(self, collection: str, callback: Any, *, resume: Any = None) -> Watch:
        return self.watch_


@pytest.fixture
def host(tmp_path: Any) -> Iterator[tuple[Any, DeafWatch]]:
    """A host of one trigger whose watch's outage the test sets."""
    runtime = SimpleNamespace(fn=SimpleNamespace(collection="tickets"))
    trigger = TriggerFeed(
        "kitchen_bff_trigger",
        runtime,  # type: ignore[arg-type]
        Checkpoint(tmp_path / "checkpoint.jsonl"),
        Stats("restaurant"),
        workers=1,
    )
    feed = Feed()
    trigger.start(feed)  # type: ignore[arg-type]
    fake = SimpleNamespace(
        app=SimpleNamespace(name="restaurant"),
        project="restaurant-dev",
        feeds=[trigger],
        targets=dict,
    )
    fake.problems = lambda: HostRuntime.problems(fake)  # type: ignore[arg-type]
    yield fake, feed.watch_
    trigger.stop()


def healthz(host: Any) -> tuple[int, dict[str, Any]]:
    response = Client(build_app(host)).get("/healthz")
    return response.status_code, response.get_json()


def test_a_host_whose_trigger_hears_no_changes_past_the_grace_is_unhealthy(host: Any) -> None:
    fake, watch = host
    why = "closed on PermissionDenied('listen refused'); reopening it"

    assert healthz(fake)[0] == 200
    watch.down = (time.monotonic() - 1, why)  # reopening: within the grace
    assert healthz(fake)[0] == 200
    watch.down = (time.monotonic() - DEAF_GRACE_S - 2, why)
    status, body = healthz(fake)
    watch.down = None
    assert healthz(fake)[0] == 200

    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["subsystem"] == "restaurant"
    [problem] = body["problems"]
    assert problem.startswith("trigger kitchen_bff_trigger has heard no changes for 1")
    assert problem.endswith(f" s: {why}")


@pytest.fixture
def served(host: tuple[Any, DeafWatch]) -> Iterator[tuple[str, DeafWatch]]:
    """(base URL, watch) of the host's app served on a free port."""
    fake, watch = host
    server = make_server("127.0.0.1", 0, build_app(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", watch
    server.shutdown()
    thread.join()
    server.server_close()


def test_the_supervisor_reads_why_a_host_is_unhealthy(served: tuple[str, DeafWatch]) -> None:
    base, watch = served
    assert unhealthy_because(base) is None
    watch.down = (time.monotonic() - DEAF_GRACE_S - 2, "its listener stopped; reopening it")
    why = unhealthy_because(base)

    assert why is not None
    assert why.startswith("trigger kitchen_bff_trigger has heard no changes for 1")
    assert why.endswith(" s: its listener stopped; reopening it")
    assert unhealthy_because("http://127.0.0.1:9") == NO_ANSWER


def test_a_host_unhealthy_for_too_long_is_restarted_and_the_log_says_why(
    served: tuple[str, DeafWatch], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """As a host that answers nothing: its triggers resume from their checkpoints."""
    base, watch = served
    monkeypatch.setattr(stack_module, "PROBE_EVERY_S", 0.0)
    monkeypatch.setattr(stack_module, "HUNG_AFTER_S", 1.0)
    watch.down = (time.monotonic() - DEAF_GRACE_S - 2, "its listener stopped; reopening it")
    deaf = Child("host-order", [sys.executable, "-c", "import time; time.sleep(120)"], {})
    stack = DevStack(DevOptions(command.Ports(), tmp_path, tmp_path / "k.pem"), apps=[])
    stack.hosts["order"] = deaf
    stack.manifest = a_manifest(int(base.rsplit(":", 1)[1]))
    deaf.start()
    try:
        with caplog.at_level(logging.WARNING, logger="fooddelivery.dev"):
            stack.supervise()  # the first unhealthy answer
            assert deaf.restarts == 0
            assert "the order host is not healthy: trigger kitchen_bff_trigger" in caplog.text
            time.sleep(1.1)
            stack.supervise()
        assert deaf.restarts == 1
        assert "the order host has not answered /healthz with 200 for 1 s; restarting it" in (
            caplog.text
        )
    finally:
        deaf.stop()
