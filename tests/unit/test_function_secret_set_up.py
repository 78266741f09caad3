"""A function whose declared secret its deployment does not give fails its set-up, not each call.

It cannot work without the secret (the point of sale's webhook cannot check a signature, a
payment cannot be charged), so its target answers as any function that cannot be set up: a
503 (problem details for an endpoint; plain text, delivered again, for a push, trigger or
schedule), the secret named once in the kit's log, and the next call tries again. Before,
the set-up passed and each call failed on its own: the webhook with a 500, a schedule with
a warning per tick that read as a passing failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import flask
import pytest

from devstack.launch import function_env
from devstack.layout import Ports
from order.topology import APP as ORDER
from shared.clock import ManualClock
from shared.exceptions import SettingError
from shared.runtime.app import SubsystemApp
from shared.runtime.embedded import EmbeddedSystem
from shared.runtime.functions import SET_UP_RETRY_AFTER_S, FunctionHost
from shared.runtime.secrets import require_declared
from shared.settings import Settings
from shared.system import load_subsystems
from shared.topology import Role, Service, ServiceKind, Subsystem
from shared.topology.model import Schedule
from tests.problems import refusal
from tests.unit.test_function_target_edges import answer

ORDER_SETTINGS = {"POS_URL": "http://pos.test", "POS_CALLBACK_URL": "http://order.test"}
UNSET = "{function} declares the secret {name}, but FOODDELIVERY_{name} is {state}: give it a value"


@pytest.fixture(autouse=True)
def logs_as_on_gcp(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kit's logs in JSON, as Cloud Logging reads them, whatever the shell exports."""
    monkeypatch.setenv("FOODDELIVERY_LOG_FORMAT", "json")


def logged_errors(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The error entries the kit's logs wrote (JSON, as on GCP) so far."""
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [entry for entry in entries if entry.get("severity") == "ERROR"]


def callback(target: Any) -> flask.Response:
    """What the webhook's ``target`` answers a callback with a signature of no one's."""
    with flask.Flask(__name__).test_request_context(
        "/pos/callbacks",
        method="POST",
        json={"orderId": "o-1", "restaurantId": "r-1", "event": "ready"},
        headers={"X-Pos-Signature": "t=1,v1=00"},
    ):
        said: flask.Response = target(flask.request)
        return said


@pytest.mark.parametrize(
    ("given", "state"),
    [({}, "not set"), ({"POS_WEBHOOK_SECRET": ""}, "empty")],
    ids=["unset", "empty"],
)
def test_a_webhook_without_its_secret_is_not_set_up(
    given: dict[str, str], state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    host = FunctionHost(ORDER, Settings(mode="memory", extra={**ORDER_SETTINGS, **given}))
    target = host.target("pos_esg_webhook")

    got = callback(target)

    assert got.status_code == 503  # was a 500 per callback: the secret read as it came
    assert refusal(got) == {
        "error": f"the service is unavailable; retry in {SET_UP_RETRY_AFTER_S} s"
    }
    assert "POS_WEBHOOK_SECRET" not in got.get_data(as_text=True)
    [entry] = logged_errors(capsys)
    assert entry["logger"] == "fooddelivery.functions"
    assert entry["message"].startswith("pos_esg_webhook could not be set up: SettingError: ")
    named = UNSET.format(function="order/pos-esg/webhook", name="POS_WEBHOOK_SECRET", state=state)
    assert named in entry["message"]

    host.settings.extra["POS_WEBHOOK_SECRET"] = "s3cret"  # type: ignore[index]
    assert callback(target).status_code == 401  # set up on the next call: the webhook answers
    assert logged_errors(capsys) == []


TICKED: list[str] = []
DELTA = Subsystem(
    name="delta",
    services=(
        Service(
            "partner-control",
            ServiceKind.CONTROL,
            (
                Schedule(
                    "sync",
                    Role.TRIGGER,
                    every_s=60,
                    handlers=(lambda _now, ctx: TICKED.append(ctx.ports.reveal()),),
                    secrets=("PARTNER_KEY",),
                ),
            ),
        ),
    ),
)
"""A subsystem whose schedule calls a partner with the key it declares."""


def test_a_schedule_without_its_secret_asks_cloud_scheduler_to_retry_its_set_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    TICKED.clear()
    app = SubsystemApp(DELTA, lambda infra: infra.secret("PARTNER_KEY"))
    host = FunctionHost(app, Settings(mode="memory"))
    target = host.target("partner_control_sync")

    said, status, _ = answer(target, "POST")

    assert (said, status) == ("retry: the function could not be set up", 503)
    [entry] = logged_errors(capsys)
    named = UNSET.format(function="delta/partner-control/sync", name="PARTNER_KEY", state="not set")
    assert named in entry["message"]
    assert TICKED == []  # no tick ran to fail on it

    host.settings.extra["PARTNER_KEY"] = "k-1"  # type: ignore[index]
    assert answer(target, "POST")[1] == 204
    assert TICKED == ["k-1"]  # its value still read when used


def test_the_dev_stack_gives_every_function_of_the_demo_the_secrets_it_declares(
    tmp_path: Path,
) -> None:
    """So the check above stops no host of ``fooddelivery dev``: its fakes' keys are given."""
    apps = load_subsystems()
    ports = Ports.defaults(tuple(app.name for app in apps))
    env = function_env(apps, ports, tmp_path / "key.pem", [], inherited={})
    given = Settings.from_env(env).extra
    checked = 0
    for app in apps:
        for service, fn in app.topology.functions():
            require_declared(f"{app.name}/{service.name}/{fn.name}", fn.secrets, given)
            checked += len(fn.secrets)
    assert checked >= 3  # the payment processor's, the push provider's, the point of sale's


@pytest.mark.parametrize(
    ("given", "state"),
    [({}, "not set"), ({"PARTNER_KEY": ""}, "empty")],
    ids=["unset", "empty"],
)
def test_an_embedded_system_without_a_declared_secret_is_not_built(
    given: dict[str, str], state: str
) -> None:
    """The embedded runtime runs a function host's check for every function it wires, and
    says how to give the secret in process, not first on a function host."""
    TICKED.clear()
    app = SubsystemApp(DELTA, lambda infra: infra.secret("PARTNER_KEY"))
    with pytest.raises(SettingError) as raised:
        EmbeddedSystem([app], clock=ManualClock(), settings=given)
    said = str(raised.value)
    assert (
        UNSET.format(function="delta/partner-control/sync", name="PARTNER_KEY", state=state) in said
    )
    assert "EmbeddedSystem(settings={'PARTNER_KEY': ...})" in said

    system = EmbeddedSystem([app], clock=ManualClock(), settings={"PARTNER_KEY": "k-1"})
    system.tick()
    assert TICKED == ["k-1"]


def test_an_embedded_order_subsystem_names_the_point_of_sale_key_it_lacks() -> None:
    settings = {**ORDER_SETTINGS, "POS_WEBHOOK_SECRET": "s3cret"}
    with pytest.raises(SettingError, match=r"declares the secret POS_API_KEY, but FOODDELIVERY_"):
        EmbeddedSystem([ORDER], standalone=True, clock=ManualClock(), settings=settings)
