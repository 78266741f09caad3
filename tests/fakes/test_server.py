"""Serving fakes over real HTTP: serve() in process, and ``python -m fakes.<name>``."""

from __future__ import annotations

import logging
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import fakes.server
from fakes.point_of_sale import DEFAULT_API_KEY as POS_KEY
from fakes.push_provider import DEFAULT_API_KEY, create_app
from fakes.server import serve

ROOT = Path(__file__).resolve().parents[2]
POS_AUTH = {"Authorization": f"Bearer {POS_KEY}"}


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_serve_runs_a_real_server_and_stop_frees_the_port() -> None:
    server = serve(create_app())
    try:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert not port_is_free(server.port)
        response = requests.post(
            f"{server.url}/v1/messages",
            json={"to": {"kind": "driver", "id": "d-1"}, "title": "Offer", "body": "New offer"},
            headers={"Authorization": f"Bearer {DEFAULT_API_KEY}", "Idempotency-Key": "k"},
            timeout=5,
        )
        assert response.status_code == 202
        assert requests.get(f"{server.url}/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        server.stop()

    assert port_is_free(server.port)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/healthz", timeout=5)
    server.stop()  # stopping twice is harmless


def test_serve_is_a_context_manager() -> None:
    with serve(create_app()) as server:
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200

    assert port_is_free(server.port)


def test_two_servers_get_different_ports() -> None:
    with serve(create_app()) as one, serve(create_app()) as two:
        assert one.port != two.port


@pytest.fixture
def process() -> Iterator[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "fakes.push_provider", "--port", "0", "--api-key", "k-1"]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_command_line_prints_the_url_and_stops_on_ctrl_c(
    process: subprocess.Popen[str],
) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    assert match, line
    url = match.group(0)

    read = requests.get(f"{url}/v1/messages", headers={"Authorization": "Bearer k-1"}, timeout=5)
    assert read.json() == {"messages": []}

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
    assert port_is_free(int(match.group(1)))


def test_serve_on_a_busy_port_raises_os_error_and_does_not_exit() -> None:
    with serve(create_app()) as taken:
        with pytest.raises(OSError):  # werkzeug alone would print and exit the process
            serve(create_app(), port=taken.port)
        assert requests.get(f"{taken.url}/healthz", timeout=5).status_code == 200


def run_fake(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "fakes.push_provider", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)


def test_the_command_line_on_a_busy_port_says_so_and_exits_2() -> None:
    with serve(create_app()) as taken:
        finished = run_fake("--port", str(taken.port))

    assert finished.returncode == 2
    assert finished.stderr == (
        f"fake push provider: cannot listen on 127.0.0.1:{taken.port}: Address already in use"
        " (another --port, or --port 0 for any free one)\n"
    )
    assert finished.stdout == ""


@pytest.mark.parametrize(
    ("port", "why"),
    [
        ("99999", "99999 is not a port (0-65535)"),  # werkzeug took it as 99999 % 65536
        ("-1", "-1 is not a port (0-65535)"),
    ],
)
def test_the_command_line_refuses_a_port_out_of_range(port: str, why: str) -> None:
    finished = run_fake(f"--port={port}")

    assert finished.returncode == 2
    assert f"argument --port: {why}" in finished.stderr
    assert "listening" not in finished.stdout


def test_the_log_written_to_a_file_is_plain_text(tmp_path: Path) -> None:
    log = tmp_path / "fake-pos.log"
    command = [sys.executable, "-m", "fakes.point_of_sale", "--port", "0"]
    with (
        log.open("wb") as out,
        subprocess.Popen(  # as fooddelivery dev runs it
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        ) as process,
    ):
        try:
            deadline = time.monotonic() + 20
            while not (match := re.search(r"http://127\.0\.0\.1:\d+", log.read_text())):
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()
                time.sleep(0.05)
            requests.post(f"{match.group(0)}/orders", json={}, headers=POS_AUTH, timeout=5)
            requests.get(f"{match.group(0)}/orders/o-9", timeout=5)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)

    text = log.read_text()
    assert "\x1b" not in text
    assert '"POST /orders HTTP/1.1" 400 -' in text
    assert '"GET /orders/o-9 HTTP/1.1" 404 -' in text


def test_an_interrupt_as_it_says_it_listens_still_stops_it_cleanly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A parent that stops the fake as soon as it reads the URL must not get a traceback."""
    urls: list[str] = []

    def interrupted(text: str, **_: object) -> None:
        urls.append(text.split()[-3])
        raise KeyboardInterrupt  # SIGTERM or Ctrl-C while the line is being written

    monkeypatch.setattr(fakes.server, "print", interrupted, raising=False)
    monkeypatch.setattr(signal, "signal", lambda *_: None)
    monkeypatch.setattr(logging, "basicConfig", lambda **_: None)  # the session's logging stays
    try:
        code = fakes.server.main(create_app, ["--port", "0"], name="push provider", default_port=0)
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped main()")

    assert code == 0
    [url] = urls
    assert port_is_free(int(url.rsplit(":", 1)[1]))


@pytest.mark.parametrize(
    ("fake", "option", "message"),
    [
        ("point_of_sale", "--auto-answer-s=-1", "the auto-answer delay must be seconds, 0 or more"),
        (
            "point_of_sale",
            "--auto-answer-s=nan",
            "the auto-answer delay must be seconds, 0 or more",
        ),
        ("payment_processor", "--key-retention-s=0", "key retention must be positive, not 0.0"),
        ("payment_processor", "--key-retention-s=nan", "key retention must be positive, not nan"),
        ("payment_processor", "--api-key=", "the API key must not be empty"),
        ("push_provider", "--api-key= ", "the API key must not be empty"),
        ("point_of_sale", "--api-key=", "the API key must not be empty"),
    ],
)
def test_an_option_out_of_range_is_a_usage_error_not_a_traceback(
    fake: str, option: str, message: str
) -> None:
    command = [sys.executable, "-m", f"fakes.{fake}", "--port", "0", option]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)

    assert finished.returncode == 2
    assert f"error: {message}" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert "listening" not in finished.stdout
