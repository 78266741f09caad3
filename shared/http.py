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

import io
import json as jsonlib
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes, urlencode, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri

DEFAULT_TIMEOUT_S = 10.0


class WsgiTransport(BaseAdapter):
    """A ``requests`` transport that hands each request to a WSGI app in process.

    It builds the WSGI environ itself (PEP 3333) rather than going through a
    test client, because the embedded runtime makes tens of these calls per order.
    """

    def __init__(self, app: Any) -> None:
        super().__init__()
        self._app = app

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **_: Any
    ) -> requests.Response:
        """Run ``request`` through the app and wrap its answer as a ``requests`` response."""
        assert request.url is not None and request.method is not None
        body = request.body.encode() if isinstance(request.body, str) else request.body or b""
        # as a client sends it: ASCII, anything else percent-encoded as UTF-8
        url = urlsplit(requote_uri(request.url))
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            # the path's bytes, one character each (PEP 3333), as a server hands them over
            "PATH_INFO": unquote_to_bytes(url.path).decode("latin-1") or "/",
            "QUERY_STRING": url.query,
            "SERVER_NAME": url.hostname or "localhost",
            "SERVER_PORT": str(url.port or 80),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in request.headers.lower_items():  # no lookup per name, as items() has
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                environ[f"HTTP_{key}"] = value
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
            answer["status"], answer["headers"] = status, headers
            return lambda _data: None

        chunks = self._app(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        code, _, reason = answer["status"].partition(" ")
        response = requests.Response()
        response.status_code = int(code)
        response.reason = reason
        response.headers = CaseInsensitiveDict(answer["headers"])
        response._content = content
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        """Nothing to release."""


class Session(requests.Session):
    """A ``requests`` session that sends straight to an in-process transport.

    For a URL served by a :class:`WsgiTransport` it prepares the request
    itself (method, URL with ``params``, merged headers, a JSON or raw body)
    and skips what only matters on a network: cookies, proxies, redirects and
    hooks. Any other URL goes through ``requests`` as usual.
    """

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request; see :meth:`requests.Session.request`."""
        transport = self.get_adapter(url)
        if not isinstance(transport, WsgiTransport) or kwargs.get("files"):
            return super().request(
                method, url, params=params, data=data, headers=headers, json=json, **kwargs
            )
        prepared = requests.PreparedRequest()
        prepared.method = method.upper()
        prepared.url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}" if params else url
        merged: CaseInsensitiveDict[str] = CaseInsensitiveDict(
            {k: v if isinstance(v, str) else v.decode() for k, v in self.headers.items()}
        )
        merged.update(headers or {})
        if json is not None:
            data = jsonlib.dumps(json, allow_nan=False).encode()
            merged.setdefault("Content-Type", "application/json")
        prepared.headers = merged
        prepared.body = data
        return transport.send(prepared)


def http_session(transports: Mapping[str, BaseAdapter] | None = None) -> requests.Session:
    """A session with pooled connections and the given in-process transports mounted.

    ``requests`` retries nothing here: a gateway that fails raises, and the
    message is redelivered with backoff by the hub (at-least-once), which is
    why every call a gateway makes carries an idempotency key.
    """
    session = Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=32, max_retries=0))
    for prefix, transport in (transports or {}).items():
        session.mount(prefix, transport)
    if transports:
        session.trust_env = False  # in process: no proxy or .netrc lookups on every request
    return session
