"""The BFFs' token settings are refused at plan time when the functions could not use them.

``identity-platform`` without ``identity_project`` would deploy BFFs whose verifier has no
project to check tokens against (:func:`shared.auth.verifier_from` raises on every call);
dev lets an operator switch ``auth_mode`` and leave ``identity_project`` at its null default.
Checked without the provider: the ``auth`` variable's validations evaluated by
``terraform console``.
"""

from __future__ import annotations

from typing import Any

import pytest

from .test_first_apply import console


def accepted(modules: dict[str, Any], auth: dict[str, Any], scratch: Any) -> bool:
    """Whether every validation of modules/subsystem's ``auth`` holds for ``auth``."""
    validations = modules["modules/subsystem"]["variable"]["auth"]["validation"]
    conditions = [validation["condition"][2:-1] for validation in validations]
    every = " && ".join(f"({condition})" for condition in conditions)
    return bool(console(every, {"auth": auth}, scratch))


@pytest.mark.parametrize(
    ("mode", "identity_project", "valid"),
    [
        ("local-test", None, True),
        ("identity-platform", "acme-fd-identity", True),
        ("identity-platform", None, False),
        ("identity-platform", "", False),
        ("firebase", "acme-fd-identity", False),
    ],
)
def test_identity_platform_needs_the_project_that_signs_users_in(
    modules, tmp_path, mode, identity_project, valid
):
    auth = {"mode": mode, "identity_project": identity_project}
    assert accepted(modules, auth, tmp_path) is valid


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (
            {"mode": "identity-platform", "identity_project": "idp", "identity_tenant": None},
            {"FOODDELIVERY_AUTH": "identity-platform", "FOODDELIVERY_IDENTITY_PROJECT": "idp"},
        ),
        (
            {"mode": "identity-platform", "identity_project": "idp", "identity_tenant": "t-1"},
            {
                "FOODDELIVERY_AUTH": "identity-platform",
                "FOODDELIVERY_IDENTITY_PROJECT": "idp",
                "FOODDELIVERY_IDENTITY_TENANT": "t-1",
            },
        ),
        (
            {"mode": "local-test", "identity_project": None, "identity_tenant": None},
            {"FOODDELIVERY_AUTH": "local", "FOODDELIVERY_DEV_KEY": "/keys/key.pem"},
        ),
    ],
)
def test_the_functions_are_told_the_tenant_whose_users_sign_in_only_when_there_is_one(
    modules, tmp_path, auth, expected
):
    expression = modules["modules/subsystem"]["locals"]["settings_env"][2:-1]
    for name in ("project_id", "dev_key_dir"):
        expression = expression.replace(f"local.{name}", f"var.local_{name}")
    variables = {
        "env": "dev",
        "region": "europe-west1",
        "projects": {},
        "settings": {},
        "url_settings": {},
        "auth": auth,
        "local_project_id": "p-1",
        "local_dev_key_dir": "/keys",
    }
    settings = console(expression, variables, tmp_path)
    auth_settings = {
        k: v for k, v in settings.items() if "AUTH" in k or "IDENTITY" in k or "KEY" in k
    }
    assert auth_settings == expected
