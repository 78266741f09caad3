"""Another process that takes an emulator's port in the moment before the emulator starts.

It makes the race between picking a port and an emulator binding it happen
every time: installed as ``shared.tether.popen`` (which starts every emulator),
it takes the port on the command line of each emulator's first start, then lets
the emulator start.
"""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from shared import emulators

How = Literal["listens", "answers", "binds"]
"""What the thief does with the port: listen, answer HTTP (200 to anything), or only bind."""
Popen = Callable[..., subprocess.Popen[bytes]]


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class PortThief:
    """Takes the port of each emulator's first start; records every start."""

    def __init__(self, how: How = "listens") -> None:
        self.how = how
        self.every_start = False
        """Take the port of every start, not only of each emulator's first."""
        self.stolen: dict[str, int] = {}
        """emulator name -> the (last) port taken from it."""
        self.starts: list[tuple[str, int, subprocess.Popen[bytes]]] = []
        """(emulator name, port, process) of every emulator start, in order."""
        self._sockets: list[socket.socket] = []
        self._servers: list[http.server.HTTPServer] = []

    def wrap(self, popen: Popen) -> Popen:
        """``popen`` with the theft before each emulator's first start."""

        def stealing_popen(argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
            name, port = emulator_of(argv)
            if name and (self.every_start or name not in self.stolen):
                self.stolen[name] = port
                self.take(port)
            process = popen(argv, **kwargs)
            if name:
                self.starts.append((name, port, process))
            return process

        return stealing_popen

    def ports_started(self, name: str) -> list[int]:
        """The ports emulator ``name`` was started on, in order."""
        return [port for started, port, _ in self.starts if started == name]

    def take(self, port: int) -> None:
        """Take ``port`` on the loopback interface, as :attr:`how` says."""
        if self.how == "answers":
            server = http.server.HTTPServer((emulators.HOST, port), _Ok)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)
            return
        sock = socket.socket()
        if self.how == "listens":
            # As servers do: a connection to the port still in TIME_WAIT (an earlier test's)
            # must not stop the theft; a listener keeps the emulator off the port all the same.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((emulators.HOST, port))
        if self.how == "listens":
            sock.listen()
        self._sockets.append(sock)

    def holds(self, port: int) -> bool:
        """Whether the thief still has ``port``."""
        held = [s.getsockname()[1] for s in self._sockets if s.fileno() != -1]
        held += [s.server_address[1] for s in self._servers]
        return port in held and not emulators.port_is_free(port)

    def release(self) -> None:
        """Give every port back."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for sock in self._sockets:
            sock.close()


def emulator_of(argv: Sequence[str]) -> tuple[str, int]:
    """(emulator name, port) of an emulator's command line; ("", 0) for any other command."""
    for spec in emulators.ALL:
        if list(argv[:4]) == spec.command(0, Path("."))[:4]:
            for n, arg in enumerate(argv):
                if arg == "--port":
                    return spec.name, int(argv[n + 1])
                if arg.startswith("--host-port="):
                    return spec.name, int(arg.rsplit(":", 1)[1])
    return "", 0
