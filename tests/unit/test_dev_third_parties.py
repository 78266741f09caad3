"""``fooddelivery dev`` derives the third-party fakes from the topologies.

A copy of the template without the demo's ``order`` subsystem (the kit's sample alpha and
beta, which use no third party) starts no fake and gives its functions no fake's settings:
it crashed building the point of sale's callback URL from ``order``'s host. The point of
sale calls back the HTTP function that declares ``POS_WEBHOOK_SECRET``, whichever
subsystem it is in, and a topology that leaves it unclear stops the stack before it starts
anything, with a message.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import command
from devstack.launch import fake_argv, function_env
from devstack.layout import FAKE_KEYS, FAKES, Manifest, Ports
from devstack.stack import DevOptions, DevStack
from devstack.third_parties import ThirdPartyError, pos_webhook, used_fakes
from shared.hub.routing import on_types
from shared.runtime.app import SubsystemApp
from shared.sample import alpha, beta
from shared.system import load_subsystems
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Subsystem
from shared.topology.model import Endpoint, Function

SAMPLE = [alpha.APP, beta.APP]
THIRD_PARTY_SETTINGS = ("PAYMENT_PROCESSOR", "PUSH_PROVIDER", "POS_")


def _app(ports: Any) -> Any:
    return None


def kitchen(*functions: Function) -> SubsystemApp[Any]:
    """A subsystem of the template's copy whose ESG takes the point of sale's callbacks."""
    esg = Service("pos-gateway", ServiceKind.ESG, functions)
    return SubsystemApp(Subsystem("kitchen", (esg,)), lambda infra: None)


CALLBACKS = Endpoint("callbacks", Role.API, app=_app, secrets=("POS_WEBHOOK_SECRET",))


def env_of(apps: list[SubsystemApp[Any]], tmp_path: Path) -> dict[str, str]:
    ports = Ports.defaults(tuple(app.name for app in apps))
    return function_env(apps, ports, tmp_path / "key.pem", [], inherited={})


def test_a_system_without_order_gets_no_fake_s_settings(tmp_path: Path) -> None:
    env = env_of(SAMPLE, tmp_path)  # was KeyError: 'order'
    assert used_fakes(SAMPLE) == ()
    assert not [k for k in env if k.removeprefix("FOODDELIVERY_").startswith(THIRD_PARTY_SETTINGS)]
    assert env["FOODDELIVERY_HOST_ALPHA"] == "http://127.0.0.1:8711"


def test_the_point_of_sale_calls_back_the_function_declaring_its_secret(tmp_path: Path) -> None:
    apps = [*SAMPLE, kitchen(CALLBACKS)]
    env = env_of(apps, tmp_path)
    assert used_fakes(apps) == ("pos",)
    kitchen_host = Ports.defaults(("alpha", "beta", "kitchen")).hosts["kitchen"]
    assert env["FOODDELIVERY_POS_CALLBACK_URL"] == (
        f"http://127.0.0.1:{kitchen_host}/pos_gateway_callbacks"
    )
    assert env["FOODDELIVERY_POS_URL"] == "http://127.0.0.1:8702"
    assert "FOODDELIVERY_PAYMENT_PROCESSOR_URL" not in env
    assert "FOODDELIVERY_PUSH_PROVIDER_URL" not in env


def test_the_demo_s_system_uses_every_fake_and_order_s_webhook(tmp_path: Path) -> None:
    apps = load_subsystems()
    env = env_of(apps, tmp_path)
    order = Ports.defaults(tuple(app.name for app in apps)).hosts["order"]
    assert used_fakes(apps) == FAKES
    assert env["FOODDELIVERY_POS_CALLBACK_URL"] == f"http://127.0.0.1:{order}/pos_esg_webhook"
    assert env["FOODDELIVERY_PAYMENT_PROCESSOR_URL"] == "http://127.0.0.1:8701"
    assert env["FOODDELIVERY_PUSH_PROVIDER_URL"] == "http://127.0.0.1:8703"


AGAIN = Endpoint("again", Role.API, app=_app, secrets=("POS_WEBHOOK_SECRET",))
SENDER = Consumer(
    "to-pos",
    Role.EGRESS,
    Channel(on_types("order-placed")),
    handlers=(lambda event, ctx: None,),
    secrets=("POS_WEBHOOK_SECRET",),
)


@pytest.mark.parametrize(
    ("functions", "message"),
    [
        (
            (CALLBACKS, AGAIN),
            "kitchen/pos_gateway_callbacks, kitchen/pos_gateway_again all declare the secret "
            "POS_WEBHOOK_SECRET: the point of sale calls back one webhook",
        ),
        (
            (SENDER,),
            "kitchen/pos-gateway to-pos declares the secret POS_WEBHOOK_SECRET, but no HTTP "
            r"function \(Endpoint\) does",
        ),
    ],
)
def test_a_webhook_the_topologies_leave_unclear_is_refused(
    functions: tuple[Function, ...], message: str
) -> None:
    with pytest.raises(ThirdPartyError, match=message):
        pos_webhook([kitchen(*functions)])


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    options = DevOptions(Ports(0, 0, 0, {}, {}), tmp_path / "state", tmp_path / "key.pem")
    found = DevStack(options, apps=list(SAMPLE))
    yield found
    for sock in found.sockets.values():
        sock.close()


def test_a_stack_without_third_parties_listens_for_no_fake(stack: DevStack) -> None:
    ports = stack._resolve_ports([])
    assert ports.fakes == {}
    assert sorted(stack.sockets) == ["host-alpha", "host-beta"]


def test_a_webhook_left_unclear_stops_the_stack_before_it_starts_anything(
    stack: DevStack,
) -> None:
    stack.apps = [*SAMPLE, kitchen(CALLBACKS, AGAIN)]
    with pytest.raises(ThirdPartyError, match="all declare the secret POS_WEBHOOK_SECRET"):
        stack.start()
    assert not stack.started_processes
    assert stack.sockets == {}


def test_ready_lists_no_fakes_when_none_runs(tmp_path: Path) -> None:
    text = command.banner(Manifest({}, {}, {}, {}, "key.pem"), 1.0, tmp_path, apps=[])
    assert "Third-party fakes:" not in text
    fakes = {"pos": "http://127.0.0.1:8702"}
    text = command.banner(Manifest({}, fakes, {}, {}, "key.pem"), 1.0, tmp_path, apps=[])
    assert "Third-party fakes:\n  pos       http://127.0.0.1:8702\n" in text


def dev_args(*argv: str) -> argparse.Namespace:
    commands = argparse.ArgumentParser().add_subparsers()
    command.register(commands)
    return commands.choices["dev"].parse_args(list(argv))


def test_the_story_on_a_system_without_the_demo_s_subsystems_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # It started the stack, then the story died on a KeyError.
    monkeypatch.setattr(command, "load_subsystems", lambda: list(SAMPLE))
    started: list[DevOptions] = []
    monkeypatch.setattr(command, "DevStack", started.append)
    args = dev_args("--scenario", "--state-dir", str(tmp_path / "state"))
    assert command.run(args) == 2
    assert started == []
    err = capsys.readouterr().err
    assert err.startswith("fooddelivery dev: --scenario plays the demo's story, which needs ")
    assert "no browse_bff_api, " in err
    assert "the fake pos" in err
    args = dev_args("--scenario", "--attach", "--state-dir", str(tmp_path / "state"))
    assert command.run(args) == 2  # not "no stack runs": it would not play on one either
    assert "--scenario plays the demo's story" in capsys.readouterr().err


def test_ready_offers_the_story_only_to_a_system_that_can_play_it(tmp_path: Path) -> None:
    for apps, offered in ((SAMPLE, False), (load_subsystems(), True)):
        endpoints = {fn.target(s): "http://x" for a in apps for s, fn in a.topology.endpoints()}
        manifest = Manifest({}, {}, endpoints, {}, "key.pem")
        text = command.banner(manifest, 1.0, tmp_path, apps=apps)
        assert ("Play the story: " in text) is offered


def test_every_declared_secret_has_a_value_and_each_fake_takes_the_key_its_callers_send(
    tmp_path: Path,
) -> None:
    """The stack starts each fake with the keys it gives the functions: a gateway whose key
    the fake does not take would be refused (401) on every call."""
    apps = load_subsystems()
    env = env_of(apps, tmp_path)
    declared = {s for app in apps for _, fn in app.topology.functions() for s in fn.secrets}
    assert {s for s in declared if f"FOODDELIVERY_{s}" not in env} == set()
    for name in used_fakes(apps):
        argv = fake_argv(name, 3, None)
        for option, (secret, _) in FAKE_KEYS[name].items():
            assert argv[argv.index(option) + 1] == env[f"FOODDELIVERY_{secret}"]
    pos = fake_argv("pos", 3, None)
    assert pos[pos.index("--api-key") + 1] == env["FOODDELIVERY_POS_API_KEY"]
