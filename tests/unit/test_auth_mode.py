"""Which verifier a function gets when ``FOODDELIVERY_AUTH`` is unset depends on where it runs:
locally the development issuer, on Google Cloud none, refused when the subsystem starts (a
development issuer there would make a key of its own and refuse every token)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import flask
import pytest

from restaurant.topology import APP as RESTAURANT
from shared.auth import AuthError, DeferredVerifier, verifier_from
from shared.exceptions import KitError, SettingError
from shared.runtime import functions
from shared.runtime.functions import FunctionHost
from shared.settings import Settings

UNSET = "FOODDELIVERY_AUTH is not set: on Google Cloud (FOODDELIVERY_MODE=gcp) it must be "
ACCEPTED = "local or identity-platform"


@pytest.mark.parametrize(
    "environ",
    [{"FOODDELIVERY_MODE": "gcp"}, {"K_SERVICE": "restaurant-kitchen-api"}],
    ids=["FOODDELIVERY_MODE=gcp", "on Cloud Run, the mode unset"],
)
def test_on_gcp_an_unset_auth_is_refused_naming_the_setting_and_its_values(
    environ: dict[str, str],
) -> None:
    settings = Settings.from_env(environ)
    with pytest.raises(KitError) as refused:
        verifier_from(settings.extra)
    assert str(refused.value) == UNSET + ACCEPTED


@pytest.mark.parametrize("mode", ["memory", "emulator"])
def test_off_gcp_an_unset_auth_is_the_development_issuer(mode: str) -> None:
    settings = Settings.from_env({"FOODDELIVERY_MODE": mode})
    assert isinstance(verifier_from(settings.extra), DeferredVerifier)
    assert isinstance(verifier_from({}), DeferredVerifier)  # the embedded runtime's settings


def test_on_gcp_the_development_issuer_is_still_there_when_asked_for() -> None:
    settings = Settings.from_env({"FOODDELIVERY_MODE": "gcp", "FOODDELIVERY_AUTH": "local"})
    assert isinstance(verifier_from(settings.extra), DeferredVerifier)


def test_a_function_on_gcp_without_auth_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bootstrap sees only the settings' extra: the mode must reach it there.
    in_memory = functions.adapters

    def adapters(subsystem: str, settings: Settings, *given: Any) -> Any:
        return in_memory(subsystem, replace(settings, mode="memory"), *given)

    monkeypatch.setattr(functions, "adapters", adapters)
    host = FunctionHost(RESTAURANT, Settings(mode="gcp", project="fd-restaurant-prod"))
    with pytest.raises(KitError, match=re.escape(UNSET + ACCEPTED)):
        host.infrastructure()
    configured = Settings(mode="gcp", project="fd-restaurant-prod", extra={"AUTH": "local"})
    assert FunctionHost(RESTAURANT, configured).infrastructure()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (
            {"AUTH": "firebase"},
            "FOODDELIVERY_AUTH must be local or identity-platform, not 'firebase'",
        ),
        ({"AUTH": "identity-platform"}, "FOODDELIVERY_AUTH=identity-platform needs "),
        ({"AUTH": "identity-platform", "IDENTITY_PROJECT": ""}, "FOODDELIVERY_IDENTITY_PROJECT"),
    ],
    ids=["unknown", "identity-platform without its project", "with an empty project"],
)
def test_an_auth_setting_that_cannot_be_used_is_a_setting_error_not_a_refused_token(
    settings: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingError, match=re.escape(named)) as refused:
        verifier_from(settings)
    assert not isinstance(refused.value, AuthError)  # which a BFF answers 401, the caller's fault


def test_a_bff_with_an_auth_setting_it_cannot_use_answers_503_and_logs_the_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    host = FunctionHost(RESTAURANT, Settings(mode="memory", extra={"AUTH": "firebase"}))
    target = host.target("kitchen_bff_api")

    with flask.Flask(__name__).test_request_context("/", headers={"Authorization": "Bearer x"}):
        answer = target(flask.request)

    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "5")
    [logged] = capsys.readouterr().out.splitlines()
    assert json.loads(logged)["message"] == (
        "kitchen_bff_api could not be set up: SettingError: FOODDELIVERY_AUTH must be local or "
        "identity-platform, not 'firebase'; answered 503, the next call tries again"
    )
