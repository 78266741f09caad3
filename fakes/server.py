"""Serving a fake over real HTTP on loopback, in tests and from the command line.

``serve(app)`` runs a threaded werkzeug server on ``127.0.0.1`` in a daemon
thread (port 0 picks a free port) and returns a handle to stop it::

    server = serve(create_app())
    requests.get(f"{server.url}/healthz")
    server.stop()

:func:`main` is what ``python -m fakes.<name>`` runs.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from werkzeug.serving import LISTEN_QUEUE, BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from types import FrameType

    import flask
    from _typeshed.wsgi import WSGIApplication

HOST = "127.0.0.1"
BACKGROUND = "fakes.background"
"""The ``app.extensions`` key of a fake's background workers (a list of :class:`Stoppable`)."""


class Stoppable(Protocol):
    """Something running in the background that can be told to stop."""

    def stop(self) -> None:
        """Stop, waiting a bounded time for work in progress."""


class RunningServer:
    """A server running in a daemon thread; :meth:`stop` shuts it down and frees the port."""

    def __init__(self, server: BaseWSGIServer) -> None:
        self._server = server
        # werkzeug sets no ``server_port`` on an inherited socket
        self.port: int = server.socket.getsockname()[1]
        """The port it listens on."""
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"fake-server-{self.port}",
            daemon=True,
        )
        self._stopped = False
        self._thread.start()

    @property
    def url(self) -> str:
        """Its base URL, e.g. ``http://127.0.0.1:8701``."""
        return f"http://{HOST}:{self.port}"

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C interrupts)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop serving, close the listening socket and join the thread; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class RequestLog(WSGIRequestHandler):
    """werkzeug's request handler, which logs each request in colour only to a terminal."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log the request line, status and size; plain text unless stderr is a terminal."""
        if sys.stderr.isatty():
            super().log_request(code, size)
        else:
            line = self.requestline.translate(self._control_char_table)
            self.log("info", '"%s" %s %s', line, code, size)


def serve(app: WSGIApplication, port: int = 0, fd: int | None = None) -> RunningServer:
    """Serve ``app`` on ``127.0.0.1:port`` (0: a free port), or on the inherited listening
    socket ``fd``; one thread per request. :class:`OSError` when the port is taken."""
    if fd is not None:
        return RunningServer(_make_server(app, fd))
    # werkzeug would bind it itself, and on a busy port print its own message and exit
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, port))
        listener.listen(LISTEN_QUEUE)
        return RunningServer(_make_server(app, listener.fileno()))  # it serves a duplicate


def _make_server(app: WSGIApplication, fd: int) -> BaseWSGIServer:
    return make_server(HOST, 0, app, threaded=True, request_handler=RequestLog, fd=fd)


def stop_background(app: flask.Flask) -> None:
    """Stop the background workers ``app`` registered under :data:`BACKGROUND`."""
    workers: list[Stoppable] = app.extensions.get(BACKGROUND, [])
    for worker in workers:
        worker.stop()


def main(
    create_app: Callable[..., flask.Flask],
    argv: Sequence[str] | None = None,
    *,
    name: str,
    default_port: int,
    parser: argparse.ArgumentParser | None = None,
) -> int:
    """Run a fake until Ctrl-C or SIGTERM: ``--port`` (default ``default_port``), on 127.0.0.1,
    or ``--listen-fd``, a listening socket it inherits (how ``fooddelivery dev`` starts it).

    Options of ``parser`` other than these are passed to ``create_app`` as
    keyword arguments, by their ``dest``. Prints the URL once listening.
    """
    parser = parser or argparse.ArgumentParser(description=f"The fake {name}.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--port",
        type=port_number,
        default=default_port,
        help=f"port (default {default_port}; 0: any)",
    )
    where.add_argument(
        "--listen-fd", type=int, metavar="FD", help="serve on this inherited listening socket"
    )
    options = vars(parser.parse_args(argv))
    port, fd = options.pop("port"), options.pop("listen_fd")
    try:
        app = create_app(**options)
    except ValueError as error:  # an option out of its range
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    server: RunningServer | None = None
    try:
        try:
            server = serve(app, port, fd)
        except OSError as error:
            print(f"fake {name}: {_cannot_listen(port, fd, error)}", file=sys.stderr)
            return 2
        print(f"fake {name} listening on {server.url} (Ctrl-C stops)", flush=True)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()
        stop_background(app)
    return 0


def port_number(text: str) -> int:
    """A TCP port number, 0 for any free one (argparse type)."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{number} is not a port (0-65535)")
    return number


def _cannot_listen(port: int, fd: int | None, error: OSError) -> str:
    why = error.strerror or str(error)
    if fd is not None:
        return f"cannot serve on the inherited socket {fd}: {why}"
    return f"cannot listen on {HOST}:{port}: {why} (another --port, or --port 0 for any free one)"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
