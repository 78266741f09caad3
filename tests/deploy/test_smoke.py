"""The smoke test's story, played against the embedded stack, and its URL lookup."""

from __future__ import annotations

import pytest
import requests

from scenario import smoke
from scenario.stack import EmbeddedStack
from shared.auth import LocalIssuer
from shared.cli import main
from shared.deploy.tfvars import DeployError

ENDPOINTS = {
    "customer": {
        f"{n}-bff-api": f"https://c/{n}" for n in ("browse", "account", "checkout", "tracking")
    },
    "restaurant": {"profile-bff-api": "https://r/p", "kitchen-bff-api": "https://r/k"},
    "delivery": {"driver-bff-api": "https://d/d"},
}


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


def test_a_checkout_whose_answer_was_lost_is_retried_with_its_key_and_places_one_order(stack):
    checkouts: list[dict] = []
    request = stack.session.request

    def answer_lost_once(method, url, **kwargs):
        response = request(method, url, **kwargs)
        if method == "POST" and url.endswith("/checkout"):
            checkouts.append(response.json())
            if len(checkouts) == 1:  # the order was placed; its answer never arrives
                raise requests.ReadTimeout("read timed out")
        return response

    stack.session.request = answer_lost_once

    def settle():
        stack.advance(30_000)
        stack.settle()

    order_id = smoke.deliver_one_order(
        stack.urls, stack.issuer, timeout_s=5, poll_s=0, session=stack.session, settle=settle
    )
    assert len(checkouts) == 2
    assert [c["orderId"] for c in checkouts] == [order_id, order_id]


def test_a_session_the_smoke_test_opens_is_closed_even_when_a_step_fails(stack, monkeypatch):
    closed: list[bool] = []
    monkeypatch.setattr(stack.session, "close", lambda: closed.append(True))
    monkeypatch.setattr(smoke.requests, "Session", lambda: stack.session)
    with pytest.raises(smoke.SmokeFailure, match="'menu reaches the customer' did not happen"):
        smoke.deliver_one_order(stack.urls, stack.issuer, timeout_s=0, poll_s=0)
    assert closed == [True]


def test_a_refused_action_names_its_step(stack, monkeypatch):
    monkeypatch.setattr(stack, "issuer", LocalIssuer())  # a key the BFFs do not know
    with pytest.raises(smoke.SmokeFailure, match=r"'restaurant publishes its menu' failed: .*401"):
        smoke.deliver_one_order(
            stack.urls, stack.issuer, timeout_s=0, poll_s=0, session=stack.session
        )


def test_a_step_that_times_out_says_what_it_was_last_told():
    def refused():
        raise smoke.ApiError("PUT", "https://c/cart", 422, {"error": "unknown restaurant"})

    with pytest.raises(smoke.SmokeFailure, match=r"within 0 s \(last answer: PUT .*unknown rest"):
        smoke.eventually("cart filled", refused, timeout_s=0, poll_s=0)


def test_busy_services_and_lost_answers_are_polled_again():
    answers = iter(
        [
            smoke.ApiError("POST", "u", 503, {"error": "starting"}),
            requests.ConnectionError("refused"),
            smoke.ApiError("POST", "u", 429, {"error": "slow down"}),
        ]
    )

    def attempt():
        error = next(answers, None)
        if error is not None:
            raise error
        return "order-1"

    assert smoke.eventually("checkout", attempt, timeout_s=5, poll_s=0) == "order-1"


def test_a_failed_smoke_test_exits_1_with_the_step(tmp_path, monkeypatch, capsys):
    key = tmp_path / "key.pem"
    key.write_text("not used")
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(key))
    monkeypatch.setattr(smoke.tools, "preflight", lambda shell: None)
    monkeypatch.setattr(smoke.tools, "check", lambda *args: None)
    monkeypatch.setattr(smoke.tools, "outputs", lambda shell, root: {"endpoints": ENDPOINTS})
    monkeypatch.setattr(smoke.LocalIssuer, "from_file", lambda path: None)

    def fails(*args, **kwargs):
        raise smoke.SmokeFailure("smoke step 'checkout' failed: POST u -> 500: {}")

    monkeypatch.setattr(smoke, "deliver_one_order", fails)
    assert main(["smoke", "--env", "dev", "--state-bucket", "b"]) == 1
    err = capsys.readouterr().err
    assert err == "fooddelivery smoke: dev: smoke step 'checkout' failed: POST u -> 500: {}\n"


@pytest.mark.parametrize("timeout", ["nan", "inf", "0", "-5"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(timeout, capsys):
    code = main(["smoke", "--env", "dev", "--state-bucket", "b", "--timeout", timeout])
    assert code == 2
    assert "--timeout must be a number of seconds above 0" in capsys.readouterr().err


class Pages(requests.adapters.HTTPAdapter):
    """Answers each request with the next of ``pages``: (status, content type, body)."""

    def __init__(self, *pages: tuple[int, str, str]) -> None:
        super().__init__()
        self.pages = list(pages)

    def send(self, request, **kwargs):
        status, content_type, body = self.pages.pop(0)
        response = requests.Response()
        response.status_code, response.url, response.request = status, request.url, request
        response.headers["Content-Type"] = content_type
        response._content = body.encode()
        return response


def test_a_busy_page_that_is_not_json_is_polled_again():
    # Cloud Run's front end answers 429 and 503 with an HTML page, not the BFF's JSON:
    # reading it as JSON raised a decoding error, which stopped the smoke test with a
    # traceback instead of polling again.
    session = requests.Session()
    session.mount(
        "https://c/",
        Pages(
            (503, "text/html", "<html><body>Service Unavailable</body></html>"),
            (429, "text/html", "<html><body>Rate exceeded.</body></html>"),
            (200, "application/json", '{"items": [{"id": "margherita"}]}'),
        ),
    )
    browse = smoke.CustomerApp(session, smoke.urls_from({"endpoints": ENDPOINTS}), "t")

    menu = smoke.eventually("menu reaches the customer", lambda: browse.menu("r-1"), 5, 0)

    assert menu == [{"id": "margherita"}]


def test_an_answer_that_is_not_json_is_a_refusal_naming_what_came_back():
    session = requests.Session()
    session.mount("https://c/", Pages((200, "text/html", "<html>Sign in</html>")))
    browse = smoke.CustomerApp(session, smoke.urls_from({"endpoints": ENDPOINTS}), "t")

    with pytest.raises(smoke.SmokeFailure, match=r"'menu' failed: GET .* -> 200: <html>Sign in"):
        smoke.eventually("menu", lambda: browse.menu("r-1"), 5, 0)
