"""HTTP sessions for gateways, and an in-process transport for the embedded runtime.

Gateways talk to third parties (payment processor, point of sale, push
provider) with ``requests``. In development and tests those parties are real
HTTP servers on loopback; in the embedded runtime the same requests can be
served in process by mounting a :class:`WsgiTransport` for the party's base
URL. Either way the gateway's own HTTP code (URLs, headers, idempotency keys,
status handling) is what runs::

    session = http_session({"http://payments.embedded": WsgiTransport(processor_app)})
    session.post("http://payments.embedded/v1/authorizations", json=...)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import Client

DEFAULT_TIMEOUT_S = 10.0


class WsgiTransport(BaseAdapter):
    """A ``requests`` transport that hands each request to a WSGI app in process."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self._client = Client(app)

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **_: Any
    ) -> requests.Response:
        """Run ``request`` through the app and wrap its answer as a ``requests`` response."""
        assert request.url is not None and request.method is not None
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = self._client.open(
            request.url,
            method=request.method,
            headers=list(request.headers.items()),
            data=body or b"",
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = answer.get_data()
        response.url = request.url
        response.request = request
        response.reason = answer.status.partition(" ")[2]
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        """Nothing to release."""


def http_session(transports: Mapping[str, BaseAdapter] | None = None) -> requests.Session:
    """A session with pooled connections and the given in-process transports mounted.

    ``requests`` retries nothing here: a gateway that fails raises, and the
    message is redelivered with backoff by the hub (at-least-once), which is
    why every call a gateway makes carries an idempotency key.
    """
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=32, max_retries=0))
    for prefix, transport in (transports or {}).items():
        session.mount(prefix, transport)
    if transports:
        session.trust_env = False  # in process: no proxy or .netrc lookups on every request
    return session
