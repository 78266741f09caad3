"""Gateways' HTTP sessions: in-process transports answer exactly as a server would."""

from __future__ import annotations

from typing import Any

import flask
import pytest
import requests

from shared.http import WsgiTransport, http_session


def echo_app() -> flask.Flask:
    app = flask.Flask("echo")

    @app.route("/echo/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
    def echo(rest: str) -> Any:
        request = flask.request
        status = int(request.args.get("status", "200"))
        body = {
            "method": request.method,
            "path": rest,
            "args": request.args.to_dict(),
            "json": request.get_json(silent=True),
            "contentType": request.content_type,
            "key": request.headers.get("Idempotency-Key"),
            "agent": request.headers.get("User-Agent"),
        }
        return body, status, {"X-Echo": "yes"}

    @app.delete("/empty")
    def empty() -> Any:
        return "", 204

    return app


@pytest.fixture
def session() -> requests.Session:
    return http_session({"http://echo.test": WsgiTransport(echo_app())})


def test_a_json_request_arrives_as_sent(session: requests.Session) -> None:
    answer = session.post(
        "http://echo.test/echo/a%20b",
        json={"amount": 5, "note": "ü"},
        params={"x": "1 2"},
        headers={"Idempotency-Key": "k-1"},
        timeout=5,
    )
    assert answer.status_code == 200
    assert answer.headers["x-echo"] == "yes"
    assert answer.json() == {
        "method": "POST",
        "path": "a b",
        "args": {"x": "1 2"},
        "json": {"amount": 5, "note": "ü"},
        "contentType": "application/json",
        "key": "k-1",
        "agent": requests.utils.default_user_agent(),
    }


def test_statuses_and_empty_bodies_come_back_unchanged(session: requests.Session) -> None:
    refused = session.get("http://echo.test/echo/x?status=409", timeout=5)
    assert refused.status_code == 409
    assert refused.reason == "CONFLICT"
    with pytest.raises(requests.HTTPError):
        refused.raise_for_status()
    emptied = session.delete("http://echo.test/empty", timeout=5)
    assert (emptied.status_code, emptied.content) == (204, b"")


def test_other_urls_still_go_over_the_network(session: requests.Session) -> None:
    with pytest.raises(requests.ConnectionError):
        session.get("http://127.0.0.1:9/nothing-listens-here", timeout=2)


@pytest.mark.parametrize("path", ["caf%C3%A9/%E2%82%AC", "café/€"])
def test_a_path_beyond_ascii_arrives_as_a_server_would_hand_it_over(
    session: requests.Session, path: str
) -> None:
    served = echo_app().test_client().get("/echo/caf%C3%A9/%E2%82%AC?q=%E2%82%AC")

    answer = session.get(f"http://echo.test/echo/{path}?q=€", timeout=5)

    assert answer.status_code == served.status_code == 200
    assert answer.json()["path"] == served.get_json()["path"] == "café/€"
    assert answer.json()["args"] == served.get_json()["args"] == {"q": "€"}
