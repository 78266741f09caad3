"""A port is free when nothing listens on it, even while its last connections linger."""

from __future__ import annotations

import socket

from shared.emulators import HOST, port_is_free


def test_a_listening_port_is_busy() -> None:
    with socket.socket() as server:
        server.bind((HOST, 0))
        server.listen()
        assert not port_is_free(server.getsockname()[1])


def test_a_port_whose_server_just_stopped_is_free_though_its_connections_linger() -> None:
    # A stack stopped with Ctrl-C leaves its ports' closed connections in TIME_WAIT for
    # a minute; its servers may listen there again at once, so the stack may restart.
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as HTTP servers do
        server.bind((HOST, 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection((HOST, port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end waits in TIME_WAIT
        client.close()
    assert port_is_free(port)
