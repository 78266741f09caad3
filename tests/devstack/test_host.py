"""``python -m devstack.host``, as a user runs it beside a stack (``--external-host``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from devstack import host
from shared import emulators
from tests.devstack.conftest import EMULATOR_VARS, require_emulators

SETTINGS = {
    "FOODDELIVERY_PAYMENT_PROCESSOR_URL": "http://127.0.0.1:9",
    "FOODDELIVERY_PAYMENT_PROCESSOR_KEY": "key",
    "FOODDELIVERY_PUSH_PROVIDER_URL": "http://127.0.0.1:9",
    "FOODDELIVERY_PUSH_PROVIDER_KEY": "key",
    "FOODDELIVERY_POS_URL": "http://127.0.0.1:9",
    "FOODDELIVERY_POS_API_KEY": "key",
    "FOODDELIVERY_POS_CALLBACK_URL": "http://127.0.0.1:9/pos_esg_webhook",
    "FOODDELIVERY_POS_WEBHOOK_SECRET": "secret",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_host_outside_a_stack_s_environment_says_to_source_env_sh(monkeypatch, capsys) -> None:
    for var in [*EMULATOR_VARS, "FOODDELIVERY_MODE"]:
        monkeypatch.delenv(var, raising=False)
    assert host.main(["order", "--port", "8713"]) == 2
    assert capsys.readouterr().err == (
        "devstack.host: run it in a running stack's environment: `source <state dir>/env.sh` "
        "first (PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST not set)\n"
    )


def test_a_host_writing_the_lake_without_a_storage_emulator_says_to_source_env_sh(
    monkeypatch, capsys
) -> None:
    # Its lake writer built a Storage client for the real service.
    monkeypatch.setenv("FOODDELIVERY_MODE", "emulator")
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    assert host.main(["order", "--port", "8713", "--lake-bucket", "lake"]) == 2
    assert capsys.readouterr().err == (
        "devstack.host: run it in a running stack's environment: `source <state dir>/env.sh` "
        "first (STORAGE_EMULATOR_HOST not set)\n"
    )


def test_a_host_names_the_known_subsystems(capsys) -> None:
    assert host.main(["bogus", "--port", "8713"]) == 2
    assert "no subsystem named bogus (known: customer," in capsys.readouterr().err


@pytest.mark.emulator
def test_a_background_host_stops_on_sigint_quietly_even_after_its_emulator(
    tmp_path: Path,
) -> None:
    """A shell starts a background job with SIGINT ignored; ``kill -INT`` must stop it all
    the same, and without google's "Background thread did not exit." once Firestore is gone."""
    require_emulators()
    firestore = emulators.start(emulators.FIRESTORE, log_dir=tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in EMULATOR_VARS}
    env |= SETTINGS | {
        "FOODDELIVERY_MODE": "emulator",
        "FOODDELIVERY_ENV": "dev",
        "FOODDELIVERY_LOG_FORMAT": "text",
        "FOODDELIVERY_PROJECT_ORDER": "order-dev",
        "FOODDELIVERY_DEV_KEY": str(tmp_path / "key.pem"),
        "FIRESTORE_EMULATOR_HOST": firestore.env_value,
        "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{free_port()}",  # nothing is published here
        "PYTHONUNBUFFERED": "1",
    }
    argv = [sys.executable, "-m", "devstack.host", "order", "--port", str(free_port())]
    process = subprocess.Popen(
        ["sh", "-c", "trap '' INT; exec \"$@\"", "sh", *argv, "--state-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "order host ready" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), "".join(output)
        firestore.stop()
        process.send_signal(signal.SIGINT)
        process.wait(30)
        reader.join(5)
    finally:
        firestore.stop()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    text = "".join(output)
    assert process.returncode == 0, text
    assert "Background thread did not exit" not in text
    assert "Traceback" not in text


def test_a_host_whose_function_cannot_be_set_up_says_which_and_why(tmp_path: Path) -> None:
    """A secret a user declared but did not export stops the host at start, in one line
    naming the function and the setting, not with a traceback."""
    env = {k: v for k, v in os.environ.items() if k not in EMULATOR_VARS}
    env |= {k: v for k, v in SETTINGS.items() if k != "FOODDELIVERY_POS_API_KEY"}
    env |= {
        "FOODDELIVERY_MODE": "emulator",
        "FOODDELIVERY_ENV": "dev",
        "FOODDELIVERY_LOG_FORMAT": "text",
        "FOODDELIVERY_PROJECT_ORDER": "order-dev",
        "FOODDELIVERY_DEV_KEY": str(tmp_path / "key.pem"),
        # nothing listens at either: the host fails before it connects
        "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{free_port()}",
        "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{free_port()}",
    }
    argv = [sys.executable, "-m", "devstack.host", "order", "--port", str(free_port())]
    done = subprocess.run(
        [*argv, "--state-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        start_new_session=True,
    )
    assert done.returncode == 2, done.stderr
    assert (
        "devstack.host: order/pos-esg/to-pos declares the secret POS_API_KEY, but "
        "FOODDELIVERY_POS_API_KEY is not set" in done.stderr
    )
    assert "Traceback" not in done.stderr
