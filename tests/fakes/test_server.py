"""Serving fakes over real HTTP: serve() in process, and ``python -m fakes.<name>``."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from fakes.push_provider import DEFAULT_API_KEY, create_app
from fakes.server import serve

ROOT = Path(__file__).resolve().parents[2]


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
