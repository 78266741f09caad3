"""``python -m devstack.route SUBSYSTEM TARGET [URL]``: send a consumer's pushes elsewhere.

Run one function alone (``functions-framework --source order/main.py --target
lifecycle_control_collector --port 8091``), then point its push subscription at
it: ``python -m devstack.route order lifecycle_control_collector http://127.0.0.1:8091``.
Without URL the subscription goes back to the stack's host. Reads the running
stack's manifest (``--state-dir``, default ``.fooddelivery/dev``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from devstack.layout import MANIFEST, Manifest, project_of
from shared.exceptions import KitError
from shared.system import load_subsystems
from shared.topology.model import Consumer


def main(argv: Sequence[str] | None = None) -> int:
    """Repoint the push subscription; 2 with a message when that is not possible."""
    parser = argparse.ArgumentParser(prog="python -m devstack.route", description=__doc__)
    parser.add_argument("subsystem")
    parser.add_argument("target", help="a consumer's target, e.g. lifecycle_control_collector")
    parser.add_argument("url", nargs="?", default=None, help="default: back to the stack's host")
    parser.add_argument("--state-dir", type=Path, default=Path(".fooddelivery/dev"))
    args = parser.parse_args(argv)
    try:
        manifest = Manifest.read(args.state_dir / MANIFEST)
        app = {a.name: a for a in load_subsystems()}[args.subsystem]
        service, fn = app.topology.find(args.target)
        if not isinstance(fn, Consumer):
            raise KitError(f"{args.target} is not fed by a subscription")
        endpoint = args.url or f"{manifest.hosts[args.subsystem]}/{args.target}"
        os.environ["PUBSUB_EMULATOR_HOST"] = manifest.env["PUBSUB_EMULATOR_HOST"]
        from shared.hub.provision import set_push_endpoint

        set_push_endpoint(project_of(args.subsystem), fn.subscription(service), endpoint)
    except (KitError, KeyError, OSError) as error:
        print(f"devstack.route: {error}", file=sys.stderr)
        return 2
    print(f"{args.subsystem}/{fn.subscription(service)} now pushes to {endpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
