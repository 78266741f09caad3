"""Every answer a BFF gives, checked against the OpenAPI document it serves.

:class:`Conformance` watches the Flask apps of the BFFs (an ``after_request`` hook, so
test clients and the servers on loopback alike are seen): each answer of a documented
operation must have a status the operation documents, and a body of the media type and
schema documented (``application/problem+json`` and the ``Problem`` schema for a refusal;
no body where none is documented), with the headers it documents for that status
(``WWW-Authenticate``, ``Retry-After``). A closed schema (``additionalProperties: false``)
admits no field it does not list, and every required field must be there. What breaks the
document is kept as a problem, one line each, for the test that caused it to fail with.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import flask
from jsonschema import Draft202012Validator

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

MAX_ERRORS = 3
"""How many schema errors one problem names (the rest are counted)."""
MAX_SHOWN = 200
"""How many characters of an offending body a problem quotes."""
JSON = "application/json"


class DocumentChecker:
    """Checks answers against one OpenAPI document (one validator per documented body)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.title: str = document["info"]["title"]
        self._document = document
        self._validators: dict[tuple[str, str, str], Draft202012Validator | None] = {}

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        """The document's operation ``method path`` (``path`` as documented, ``{name}``
        parameters in it), or ``None`` when it documents none."""
        operation: dict[str, Any] | None = self._document["paths"].get(path, {}).get(method.lower())
        return operation

    def problem(
        self,
        method: str,
        path: str,
        status: int,
        body: bytes,
        mimetype: str,
        headers: Iterable[str] = (),
    ) -> str | None:
        """What is wrong with answering ``status``, ``body`` and ``headers`` (names, in any case) to
        ``method path`` (``None``: nothing). An operation the document does not have is not
        checked."""
        operation = self.operation(method, path)
        if operation is None:
            return None
        where = f"{self.title} {method} {path} -> {status}"
        responses = operation["responses"]
        key = next(
            (k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None
        )
        if key is None:
            return f"{where}: status not documented (documented: {', '.join(sorted(responses))})"
        given = {name.lower() for name in headers}
        documented = responses[key].get("headers", {})
        missing = [name for name in documented if name.lower() not in given]
        if missing:
            return f"{where}: without the documented header(s) {', '.join(missing)}"
        content = responses[key].get("content")
        if not content:
            return f"{where}: a body where none is documented: {_shown(body)}" if body else None
        types = [name for name in content if name == JSON or name.endswith("+json")]
        if not types:
            return None
        if mimetype not in types:
            named = "JSON" if types == [JSON] else " or ".join(types)
            return f"{where}: {mimetype or 'no content type'} where {named} is documented"
        try:
            payload = json.loads(body)
        except ValueError:
            return f"{where}: a body that is not JSON: {_shown(body)}"
        validator = self._validator(method, path, key, content[mimetype])
        if validator is None:
            return None
        errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
        if not errors:
            return None
        named = "; ".join(f"{e.json_path}: {e.message[:MAX_SHOWN]}" for e in errors[:MAX_ERRORS])
        more = f" (and {len(errors) - MAX_ERRORS} more)" if len(errors) > MAX_ERRORS else ""
        return f"{where}: the body breaks its schema: {named}{more}"

    def _validator(
        self, method: str, path: str, key: str, media: dict[str, Any]
    ) -> Draft202012Validator | None:
        cached = (method, path, key)
        if cached not in self._validators:
            schema = media.get("schema")
            self._validators[cached] = (
                None
                if schema is None
                else Draft202012Validator(
                    {**schema, "components": self._document.get("components", {})}
                )
            )
        return self._validators[cached]


class Conformance:
    """Watches BFF apps and keeps what their answers break of their documents."""

    def __init__(self) -> None:
        self._problems: list[str] = []
        self._lock = threading.Lock()
        self.answers = 0
        """How many answers of documented operations were checked."""

    def watch(self, app: flask.Flask) -> flask.Flask:
        """Check every answer ``app`` gives from now on, if it serves an OpenAPI document
        (an app without one is returned as it is)."""
        document_of = app.view_functions.get("openapi")
        if document_of is None:
            return app
        document = document_of()
        assert isinstance(document, dict), f"{app.name}: /openapi.json is not a JSON object"
        checker = DocumentChecker(document)

        @app.after_request
        def check(response: Response) -> Response:
            endpoint = flask.request.endpoint or ""
            method, _, path = endpoint.partition(" ")
            if method != flask.request.method or checker.operation(method, path) is None:
                return response
            problem = checker.problem(
                method,
                path,
                response.status_code,
                response.get_data(),
                response.mimetype or "",
                response.headers.keys(),
            )
            with self._lock:
                self.answers += 1
                if problem is not None:
                    self._problems.append(problem)
            return response

        return app

    def take_problems(self) -> list[str]:
        """The problems found since the last call, each once, in the order first found."""
        with self._lock:
            taken, self._problems = self._problems, []
        return list(dict.fromkeys(taken))


def report(problems: list[str]) -> str:
    """A failure message listing ``problems``."""
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"{len(problems)} answer(s) the BFFs' OpenAPI documents do not allow:\n{lines}"


def _shown(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}…"
