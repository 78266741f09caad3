"""``python -m devstack.host <subsystem> --port P``: one subsystem's functions in one process.

The stack starts its hosts with ``--listen-fd N`` instead: a socket it already
listens on, so the port it provisioned for the host cannot be taken meanwhile.

Reads its settings from the environment the ``fooddelivery dev`` command gives
it (``FOODDELIVERY_MODE=emulator``, ``FOODDELIVERY_PROJECT_<NAME>``, the
``*_EMULATOR_HOST`` variables and the third parties' URLs), serves every
function over HTTP on 127.0.0.1 (see :mod:`devstack.host_app`) and runs until
SIGTERM or SIGINT (Ctrl-C, or ``kill -INT`` of a host started in the background),
when it stops serving, lets running work finish and exits 0. A host started
again with the same ``--state-dir`` resumes its triggers.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from werkzeug.serving import make_server

from devstack.host_app import build_app
from devstack.host_runtime import HostRuntime
from devstack.layout import HOST, STATE_DIR
from devstack.stack import unknown_subsystems
from shared import logs
from shared.exceptions import KitError
from shared.prose import help_text
from shared.settings import Settings
from shared.system import load_subsystems

SOURCE_ENV = "source <state dir>/env.sh"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The host's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m devstack.host",
        description=help_text(__doc__ or ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("subsystem", help="the subsystem to host")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=port, help="port on 127.0.0.1")
    where.add_argument(
        "--listen-fd",
        type=int,
        metavar="FD",
        help="serve on this inherited listening socket (how the stack starts its hosts)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=STATE_DIR,
        help=f"trigger checkpoints (default {STATE_DIR})",
    )
    parser.add_argument("--lake-bucket", default=None, help="write the bus to this bucket")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the host until SIGTERM or Ctrl-C."""
    args = parse_args(argv)
    apps = {app.name: app for app in load_subsystems()}
    unknown = unknown_subsystems([args.subsystem], apps)
    if unknown:
        return _fail(unknown)
    try:
        settings = Settings.from_env()
    except ValueError as error:
        return _fail(str(error))
    needed = ["PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST"]
    needed += ["STORAGE_EMULATOR_HOST"] if args.lake_bucket else []  # its lake writer's
    unset = [v for v in needed if not os.getenv(v)]
    if settings.mode != "emulator" or unset:
        why = f"{' and '.join(unset)} not set" if unset else f"FOODDELIVERY_MODE is {settings.mode}"
        return _fail(f"run it in a running stack's environment: `{SOURCE_ENV}` first ({why})")
    logs.configure(settings.log_format, project=settings.project_of(args.subsystem))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    host = HostRuntime(apps[args.subsystem], settings, args.state_dir, args.lake_bucket)
    try:
        app = build_app(host)
        server = make_server(HOST, args.port or 0, app, threaded=True, fd=args.listen_fd)
    except KeyError as error:  # a setting env.sh gives is missing
        if "needs the setting" not in str(error):
            raise
        return _fail(f"{error.args[0]}: `{SOURCE_ENV}` first")
    except KitError as error:
        return _fail(str(error))
    except OSError as error:
        where = f"{HOST}:{args.port}" if args.port else f"inherited socket {args.listen_fd}"
        return _fail(f"cannot listen on {where}: {error.strerror or error}")
    signal.signal(signal.SIGTERM, _interrupt)
    # A shell starts background jobs with SIGINT ignored; `kill -INT` must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        host.start()
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    except KitError as error:  # a function of the host cannot be set up: say which, and why
        return _fail(str(error))
    finally:
        server.server_close()
        # A change feed whose emulator is gone already is reconnecting: its daemon thread
        # ends with this process, so google's "Background thread did not exit." is noise.
        logging.getLogger("google.api_core.bidi").setLevel(logging.ERROR)
        host.stop()
    return 0


def _fail(message: str) -> int:
    print(f"devstack.host: {message}", file=sys.stderr)
    return 2


def port(text: str) -> int:
    """A TCP port number (argparse type)."""
    number = int(text)
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{number} is not a port (1-65535)")
    return number


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
