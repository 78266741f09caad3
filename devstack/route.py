"""``python -m devstack.route SUBSYSTEM TARGET [URL]``: send a consumer's pushes elsewhere.

Run one function alone (``functions-framework --source order/main.py --target
lifecycle_control_collector --port 8091``), then point its push subscription at
it: ``python -m devstack.route order lifecycle_control_collector http://127.0.0.1:8091``.
Without URL the subscription goes back to the stack's host; so does every
subscription when the stack is started again (it provisions them afresh). Reads the running
stack's manifest (``--state-dir``, default ``.fooddelivery/dev``). Anything that
makes this impossible (no stack, an unknown subsystem or target) is one line and
exit code 2.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from devstack import hints
from devstack.layout import STATE_DIR, project_of
from devstack.live import read_manifest
from devstack.stack import unknown_subsystems
from shared.exceptions import KitError
from shared.prose import help_text
from shared.system import load_subsystems
from shared.topology.model import Consumer

CONNECT_TIMEOUT_S = 2.0


def main(argv: Sequence[str] | None = None) -> int:
    """Repoint the push subscription; 2 with a message when that is not possible."""
    parser = argparse.ArgumentParser(
        prog="python -m devstack.route",
        description=help_text(__doc__ or ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("subsystem")
    parser.add_argument("target", help="a consumer's target, e.g. lifecycle_control_collector")
    parser.add_argument("url", nargs="?", default=None, help="default: back to the stack's host")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help=f"default {STATE_DIR}")
    args = parser.parse_args(argv)
    try:
        subscription, endpoint = route(args.subsystem, args.target, args.url, args.state_dir)
    except (KitError, OSError) as error:
        print(f"devstack.route: {error}", file=sys.stderr)
        return 2
    print(f"{args.subsystem}/{subscription} now pushes to {endpoint}")
    return 0


def route(subsystem: str, target: str, url: str | None, state_dir: Path) -> tuple[str, str]:
    """Point ``target``'s push subscription at ``url``; its name and the endpoint."""
    from google.api_core.exceptions import GoogleAPIError

    apps = {a.name: a for a in load_subsystems()}
    unknown = unknown_subsystems([subsystem], apps)
    if unknown:
        raise KitError(unknown)
    service, fn = apps[subsystem].topology.find(target)
    if not isinstance(fn, Consumer):
        raise KitError(f"{target} is not fed by a subscription")
    manifest = read_manifest(state_dir)
    emulator = manifest.env["PUBSUB_EMULATOR_HOST"]
    if not _answers(emulator):
        raise KitError(hints.no_stack(state_dir, f"the Pub/Sub emulator at {emulator} is gone"))
    endpoint = url or f"{manifest.hosts[subsystem]}/{target}"
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator
    from shared.hub.provision import set_push_endpoint

    try:
        set_push_endpoint(project_of(subsystem), fn.subscription(service), endpoint)
    except GoogleAPIError as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise KitError(f"the Pub/Sub emulator at {emulator} refused: {message}") from error
    return fn.subscription(service), endpoint


def _answers(host_port: str) -> bool:
    """True when something accepts a TCP connection at ``host:port`` within a moment."""
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            return True
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
