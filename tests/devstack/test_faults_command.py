"""An operator finds a poison message with ``fooddelivery faults`` and resubmits it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devstack.layout import Manifest
from shared.runtime.faults import recurrences
from tests.devstack.conftest import EMULATOR_VARS, eventually
from tests.devstack.test_faults import faults_keyed, publish_poison

pytestmark = pytest.mark.emulator


def faults(manifest: Manifest, *args: str, returncode: int = 0) -> subprocess.CompletedProcess[str]:
    """``fooddelivery faults ARGS`` in the environment of the stack's ``env.sh``; it must
    exit with ``returncode``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in EMULATOR_VARS and not k.startswith("FOODDELIVERY_")
    }
    command = [sys.executable, "-m", "shared.cli", "faults", *args]
    done = subprocess.run(
        command, env={**env, **manifest.env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == returncode, done.stderr
    return done


def test_a_poison_message_is_listed_shown_and_resubmitted(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = publish_poison(manifest, monkeypatch)

    def recorded() -> list[dict]:
        """the order subsystem's faults of the poison message"""
        return faults_keyed(manifest, key)

    [fault] = eventually(recorded)

    [line] = [x for x in faults(manifest, "list", "order").stdout.splitlines() if fault["id"] in x]
    assert f"  open  poison  {fault['function']}  EnvelopeError: " in line
    shown = json.loads(faults(manifest, "show", "order", fault["id"]).stdout.split("\n\n")[0])
    assert (shown["message"]["data"], shown["message"]["dataEncoding"]) == (
        "{not an envelope",
        "text",
    )

    out = faults(manifest, "resubmit", "order", fault["id"]).stdout
    message_id = out.split()[-1]
    assert out.startswith(f"{fault['id']} resubmitted to the order bus as message ")

    def refused_again() -> list[dict]:
        """the resubmitted message is refused again: its fault is reopened, one recurrence on"""
        return [f for f in recorded() if recurrences(f) >= 1]

    [again] = eventually(refused_again)
    assert [f["id"] for f in recorded()] == [fault["id"]]  # the same fault, no second one
    assert (again["status"], again["resubmissions"]) == ("open", [message_id])
    assert again["error"]["type"] == "EnvelopeError"
    assert again["message"]["messageId"] == fault["message"]["messageId"]
