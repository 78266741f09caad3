"""``fooddelivery pos-key``: the key to give a restaurant's point of sale."""

from __future__ import annotations

import io
import json

import pytest

from shared.cli import main
from tests.order.conftest import OrderSystem, sign


def pos_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, secret: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(secret))
    code = main(["pos-key", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_printed_key_signs_callbacks_the_webhook_takes_for_that_restaurant_only(
    pos_order: OrderSystem,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = pos_order.system.ports["order"].pos_webhook_secret.reveal()
    code, out, _ = pos_key(monkeypatch, capsys, "r-1", secret=secret)
    assert code == 0
    key = out.strip()
    assert len(key) == 64 and key != secret

    def post(restaurant_id: str) -> int:
        fields = {"orderId": "o-1", "restaurantId": restaurant_id, "event": "ready"}
        body = json.dumps(fields).encode()
        headers = sign(pos_order, body, key=key)
        response = pos_order.webhook().post(
            "/pos/callbacks", data=body, headers=headers, content_type="application/json"
        )
        return response.status_code

    assert post("r-2") == 401
    assert post("r-1") == 202


def test_the_key_differs_per_restaurant_and_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = {
        pos_key(monkeypatch, capsys, restaurant, secret=secret)[1]
        for restaurant in ("r-1", "r-2")
        for secret in ("s-1", "s-2")
    }
    assert len(keys) == 4


@pytest.mark.parametrize(
    ("argv", "secret", "message"),
    [
        (("r 1",), "s", "'r 1' is not a restaurant id"),
        (("r-\udcff",), "s", "'r-\\udcff' is not a restaurant id"),  # argv not UTF-8
        (("r-1",), "", "the secret on standard input is empty"),
    ],
    ids=["bad-id", "not-utf8-id", "no-secret"],
)
def test_bad_input_is_named_with_a_non_zero_exit(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    secret: str,
    message: str,
) -> None:
    code, out, err = pos_key(monkeypatch, capsys, *argv, secret=secret)
    assert code == 2
    assert out == ""
    assert message in err


def test_a_trailing_newline_is_kept_and_pointed_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plain, _ = pos_key(monkeypatch, capsys, "r-1", secret="s")
    code, with_newline, err = pos_key(monkeypatch, capsys, "r-1", secret="s\n")
    assert code == 0
    assert with_newline != plain
    assert "ends with a newline" in err


@pytest.mark.parametrize("errors", ["strict", "surrogateescape"])
def test_a_secret_that_is_not_utf8_is_named_with_a_non_zero_exit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], errors: str
) -> None:
    """A binary file piped in: decoding fails, or (a C locale) its bytes cannot sign."""
    binary = io.TextIOWrapper(io.BytesIO(b"\xff\xfe"), encoding="utf-8", errors=errors)
    monkeypatch.setattr("sys.stdin", binary)
    assert main(["pos-key", "r-1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "the secret on standard input is not UTF-8 text" in err


def test_a_closed_standard_input_says_what_to_pipe_in(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", None)  # how Python starts with stdin closed (<&-)
    assert main(["pos-key", "r-1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("fooddelivery pos-key: pipe the platform's POS webhook secret in")
