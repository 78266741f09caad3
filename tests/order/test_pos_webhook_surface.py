"""The point-of-sale webhook serves its two routes and nothing else: no static file of the
directory it runs in; and, like every kit app's, its answers are marked private."""

from __future__ import annotations

from pathlib import Path

import flask
import pytest

from shared.api import ANSWER_HEADERS
from tests.order.conftest import OrderSystem


def test_the_webhook_serves_its_routes_and_no_static_file(
    order_system: OrderSystem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "pos.env").write_text("POS_WEBHOOK_SECRET=s3cret")
    monkeypatch.chdir(tmp_path)
    app: flask.Flask = order_system.system.serve("order", "pos_esg_webhook")
    client = app.test_client()

    answer = client.get("/static/pos.env")

    assert answer.status_code == 404
    assert b"s3cret" not in answer.data
    assert {rule.rule for rule in app.url_map.iter_rules()} == {"/pos/callbacks", "/healthz"}
    for answered in (answer, client.get("/healthz"), client.post("/pos/callbacks", json={})):
        assert all(answered.headers[name] == value for name, value in ANSWER_HEADERS.items())
