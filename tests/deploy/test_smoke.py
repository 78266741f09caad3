"""The smoke test's story, played against the embedded stack, and its URL lookup."""

from __future__ import annotations

import pytest

from scenario import smoke
from scenario.stack import EmbeddedStack
from shared.deploy.tfvars import DeployError


@pytest.fixture
def stack(tmp_path):
    return EmbeddedStack(tmp_path / "dev-key.pem")


def test_one_order_is_delivered_through_the_bffs(stack, capsys):
    def settle():
        stack.advance(30_000)
        stack.settle()

    order_id = smoke.deliver_one_order(
        stack.urls, stack.issuer, timeout_s=5, poll_s=0, session=stack.session, settle=settle
    )
    out = capsys.readouterr().out
    assert "ok  customer sees it delivered" in out
    [authorization] = stack.authorizations(order_id)
    assert authorization["status"] == "captured"


def test_a_refusal_stops_the_smoke_test_with_the_step(stack):
    with pytest.raises(DeployError, match=r"smoke step 'checkout' failed: POST u -> 401"):
        smoke.eventually(
            "checkout",
            lambda: (_ for _ in ()).throw(smoke.ApiError("POST", "u", 401, {"error": "no token"})),
            1,
            0,
        )


def test_a_step_that_never_happens_times_out():
    with pytest.raises(DeployError, match="'kitchen sees the order' did not happen"):
        smoke.eventually("kitchen sees the order", lambda: None, timeout_s=0, poll_s=0)


def test_urls_come_from_the_terraform_outputs():
    endpoints = {
        "customer": {
            f"{n}-bff-api": f"https://c/{n}" for n in ("browse", "account", "checkout", "tracking")
        },
        "restaurant": {"profile-bff-api": "https://r/p", "kitchen-bff-api": "https://r/k"},
        "delivery": {"driver-bff-api": "https://d/d"},
    }
    urls = smoke.urls_from(
        {"endpoints": endpoints, "settings": {"order": {"POS_URL": "https://pos"}}}
    )
    assert (urls.checkout, urls.kitchen, urls.driver, urls.pos) == (
        "https://c/checkout",
        "https://r/k",
        "https://d/d",
        "https://pos",
    )
    del endpoints["delivery"]
    with pytest.raises(DeployError, match="no endpoint 'delivery'"):
        smoke.urls_from({"endpoints": endpoints})
