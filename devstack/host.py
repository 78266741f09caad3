"""``python -m devstack.host <subsystem> --port P``: one subsystem's functions in one process.

Reads its settings from the environment the ``fooddelivery dev`` command gives
it (``FOODDELIVERY_MODE=emulator``, ``FOODDELIVERY_PROJECT_<NAME>``, the
``*_EMULATOR_HOST`` variables and the third parties' URLs), serves every
function over HTTP on 127.0.0.1 (see :mod:`devstack.host_app`) and runs until
SIGTERM or Ctrl-C, when it stops serving, lets running work finish and exits 0.
A host started again with the same ``--state-dir`` resumes its triggers.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from werkzeug.serving import make_server

from devstack.host_app import build_app
from devstack.host_runtime import HostRuntime
from devstack.layout import HOST
from shared import logs
from shared.settings import Settings
from shared.system import load_subsystems


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The host's command line."""
    parser = argparse.ArgumentParser(prog="python -m devstack.host", description=__doc__)
    parser.add_argument("subsystem", help="the subsystem to host")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument(
        "--state-dir", type=Path, default=Path(".fooddelivery/dev"), help="trigger checkpoints"
    )
    parser.add_argument("--lake-bucket", default=None, help="write the bus to this bucket")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the host until SIGTERM or Ctrl-C."""
    args = parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings.log_format, project=settings.project_of(args.subsystem))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    apps = {app.name: app for app in load_subsystems()}
    if args.subsystem not in apps:
        print(f"no subsystem {args.subsystem!r}; known: {', '.join(apps)}", file=sys.stderr)
        return 2
    host = HostRuntime(apps[args.subsystem], settings, args.state_dir, args.lake_bucket)
    server = make_server(HOST, args.port, build_app(host), threaded=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        host.start()
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        host.stop()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
