"""``fooddelivery dev``'s READY text and ``env.sh`` for a subsystem the demo does not know.

A team adds its own subsystem (``rating``) to the template: the banner lists its BFF and
its webhook from the topology, with the URLs of the stack's manifest, and ``env.sh``
carries its host's URL and the settings it reads, as the hosts get them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from devstack import command
from devstack.launch import function_env
from devstack.layout import Manifest, Ports
from shared.runtime.app import SubsystemApp
from shared.system import load_subsystems
from shared.topology import Role, Service, ServiceKind, Subsystem
from shared.topology.model import Endpoint


def _app(ports: Any) -> Any:
    return None


RATING = SubsystemApp(
    Subsystem(
        "rating",
        (
            Service(
                "score-bff",
                ServiceKind.BFF,
                (Endpoint("api", Role.API, app=_app), Endpoint("admin", Role.API, app=_app)),
            ),
            Service("partner-esg", ServiceKind.ESG, (Endpoint("webhook", Role.API, app=_app),)),
        ),
    ),
    lambda infra: None,
)
APPS = [*load_subsystems(), RATING]
HOST = "http://127.0.0.1:8715"


def a_manifest() -> Manifest:
    return Manifest(
        hosts={app.name: HOST for app in APPS},
        fakes={name: HOST for name in ("payments", "pos", "push")},
        endpoints={
            fn.target(service): f"{HOST}/{fn.target(service)}"
            for app in APPS
            for service, fn in app.topology.endpoints()
        },
        env={"FOODDELIVERY_HOST_RATING": HOST},
        dev_key="key.pem",
    )


def section(text: str, title: str) -> list[list[str]]:
    """The lines under ``title`` up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = lines.index("", start)
    return [line.split() for line in lines[start:end]]


def test_the_banner_lists_every_subsystem_s_bffs_from_the_topology(tmp_path: Path) -> None:
    text = command.banner(a_manifest(), 1.0, tmp_path, apps=APPS)
    bffs = section(text, "BFF APIs (bearer token needed):")
    assert ["rating/score-bff", "api", f"{HOST}/score_bff_api"] in bffs
    assert ["rating/score-bff", "admin", f"{HOST}/score_bff_admin"] in bffs
    assert ["customer/browse-bff", f"{HOST}/browse_bff_api"] in bffs
    expected = {
        f"{HOST}/{fn.target(service)}"
        for app in APPS
        for service, fn in app.topology.endpoints()
        if service.kind is ServiceKind.BFF
    }
    assert {line[-1] for line in bffs} == expected
    others = section(text, "Other HTTP functions (webhooks):")
    assert ["rating/partner-esg", f"{HOST}/partner_esg_webhook"] in others
    assert ["order/pos-esg", f"{HOST}/pos_esg_webhook"] in others


def test_env_sh_carries_a_new_subsystem_s_host_and_settings(tmp_path: Path) -> None:
    ports = Ports.defaults(tuple(app.name for app in APPS))
    inherited = {
        "FOODDELIVERY_PARTNER_URL": "http://partner.test",
        "FOODDELIVERY_MODE": "gcp",  # the stack's own value wins
        "HOME": "/home/someone",  # not a setting
    }
    env = function_env(APPS, ports, tmp_path / "key.pem", [], inherited)
    assert env["FOODDELIVERY_PARTNER_URL"] == "http://partner.test"
    assert env["FOODDELIVERY_MODE"] == "emulator"
    assert "HOME" not in env
    assert env["FOODDELIVERY_HOST_RATING"] == f"http://127.0.0.1:{ports.hosts['rating']}"
    assert env["FOODDELIVERY_PROJECT_RATING"] == "rating-dev"
    manifest = Manifest({}, {}, {}, env, "key.pem")
    command.banner(manifest, 1.0, tmp_path, apps=[])
    exported = (tmp_path / "env.sh").read_text().splitlines()
    assert "export FOODDELIVERY_PARTNER_URL=http://partner.test" in exported
    assert f"export FOODDELIVERY_HOST_RATING=http://127.0.0.1:{ports.hosts['rating']}" in exported


def test_the_scenario_s_heading_counts_the_registered_subsystems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # It said "1 order(s) across four subsystems" whatever was registered.
    from devstack import scenario as dev_scenario
    from tests.scenario.test_dev_scenario_verdict import EmbeddedAsLive

    monkeypatch.setattr(
        dev_scenario, "LiveStack", lambda manifest: EmbeddedAsLive(tmp_path / "dev-key.pem")
    )
    monkeypatch.setattr(dev_scenario, "load_subsystems", lambda: APPS, raising=False)
    args = argparse.Namespace(orders=1, seed=7, timeline="none")
    assert dev_scenario.play(manifest=a_manifest(), args=args) == 0
    heading = capsys.readouterr().out.strip().splitlines()[0]
    assert heading == "Food delivery on the emulators: 1 order across 5 subsystems"


def test_env_sh_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    (tmp_path / "env.sh").write_text("left by an earlier stack\n")
    (tmp_path / "env.sh").chmod(0o644)
    manifest = Manifest({}, {}, {}, {"FOODDELIVERY_PARTNER_KEY": "sk_live_x"}, "key.pem")
    command.banner(manifest, 1.0, tmp_path, apps=[])
    assert (tmp_path / "env.sh").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "env.sh").read_text() == "export FOODDELIVERY_PARTNER_KEY=sk_live_x\n"
