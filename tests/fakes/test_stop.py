"""A fake stops promptly on SIGTERM, as ``fooddelivery dev`` stops it, even while its point of
sale's autopilot waits on a webhook that hangs: it does not sit out the callback's timeout
(which ``dev`` would cut short with SIGKILL)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from fakes.point_of_sale import DEFAULT_API_KEY
from fakes.point_of_sale.callbacks import TIMEOUT_S

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_stops_the_point_of_sale_while_a_callback_hangs() -> None:
    with socket.socket() as hanging:  # accepts connections, never answers
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(8)
        webhook = f"http://127.0.0.1:{hanging.getsockname()[1]}/pos/callbacks"
        command = [sys.executable, "-m", "fakes.point_of_sale", "--port", "0"]
        with subprocess.Popen(
            [*command, "--auto-answer-s", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as process:
            try:
                assert process.stdout is not None
                match = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
                assert match
                order = {
                    "orderId": "o-1",
                    "restaurantId": "r-1",
                    "items": [{"name": "Pizza", "quantity": 1}],
                    "callbackUrl": webhook,
                }
                headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}", "Idempotency-Key": "o-1"}
                posted = requests.post(f"{match[0]}/orders", json=order, headers=headers, timeout=5)
                assert posted.status_code == 201
                time.sleep(0.5)  # the acceptance's callback is on its way, and hangs

                started = time.monotonic()
                process.send_signal(signal.SIGTERM)
                code = process.wait(timeout=TIMEOUT_S + 10)
                took = time.monotonic() - started
            finally:
                if process.poll() is None:
                    process.kill()

    assert code == 0
    assert took < TIMEOUT_S / 2
