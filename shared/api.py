"""A small kit for BFF HTTP APIs: typed routes, validation, auth, idempotency, OpenAPI.

Every route declares who may call it and the pydantic models of its body and
response; the kit turns that into a Flask app and an OpenAPI 3.1 document::

    api = HttpApi("Checkout", verifier)

    @api.route("POST", "/carts/{cart_id}/checkout", actors={"customer"},
               body=CheckoutRequest, response=OrderView, status=201, idempotent=True)
    def checkout(caller: Principal, body: CheckoutRequest, cart_id: str) -> OrderView: ...

The handler's docstring documents the operation: its first paragraph is the
summary, the rest the description. Bodies, query strings and responses derive
from the bases in :mod:`shared.api_models`, whose docstrings, and their
fields', become the schemas' descriptions.

Bad input never reaches a handler: a body that is not JSON (RFC 8259: ``NaN`` and
``Infinity`` are not, nor is a number beyond a double's range, nor a body in another
encoding than UTF-8), names one member of an object twice or holds an escaped lone
surrogate (RFC 7493, I-JSON: readers differ on which member counts, and a lone surrogate is
no character) or breaks the model is answered with 400 (a message per field for the model,
listing at most :data:`MAX_LISTED_FIELDS` fields); a body sent as another type than
``application/json``, with a ``charset`` other than ``utf-8``, or compressed
(``Content-Encoding``), with 415 (RFC 9110, section 15.5.16), ``Accept-Encoding: identity``
and, for POST and PATCH, ``Accept-Post`` or ``Accept-Patch: application/json``; a body or an
``Idempotency-Key`` sent to a route that takes none with 400 (for a key, naming the routes
that take one: ignored, it would pass a retry off as safe); a missing or invalid token with
401 and a ``WWW-Authenticate: Bearer`` challenge (RFC 6750: ``error="invalid_token"``
and why, when a token was given); a valid token whose account has no role yet
(:class:`~shared.auth.NoRole`), or a caller of the wrong kind, with 403 and an
``error="insufficient_scope"`` challenge, as every 403 (a handler's too, e.g. for a
caller who does not own the resource).
Handlers raise :class:`HttpError`
for refusals of their own (404, 409, ...). ``idempotent`` routes honour an
``Idempotency-Key`` header: a retry with the same key gets the first response, byte for byte
(its JSON text is kept as it was sent).

Every refusal, the kit's own (404 and 405 for a route or method the app does not serve,
413, 500, any werkzeug raises) included, is a problem details object (RFC 9457) sent as
:data:`PROBLEM_JSON`: ``type`` (``about:blank``: the status says what went wrong),
``title`` (the status's phrase), ``status``, ``detail`` (the message) and, as extension
members, ``error`` (the message again) and, for an invalid request, ``fields`` (a message
per field), the members every refusal had before problem details (:meth:`HttpError.problem`).
A 500 says that the service failed, never why: that is logged.

What the document store raises out of a handler is answered in JSON too:

* :class:`~shared.exceptions.InvalidKey` (an id Firestore refuses, such as
  ``__x__``, ``..`` or one holding ``/``): no such document can exist. When a
  path parameter is the id, 404 naming it; when a body or query field is, 400
  with a message for that field, like any invalid field; otherwise 400.
* :class:`~shared.exceptions.InvalidDocument` (a value Firestore cannot store,
  such as an integer beyond 64 bits): 400 naming the stored field.
* :class:`~shared.exceptions.InvalidQuery` (a value Firestore cannot search for,
  such as text over 1500 bytes, taken from the request): 400.
* :class:`~shared.exceptions.ConflictError` (a write kept losing races): 409,
  retry the request.
* any other :class:`~shared.exceptions.StoreError` (the store is unavailable):
  503 with ``Retry-After``.

Every refusal, these included, frees the request's ``Idempotency-Key``, so a
retry with the same key runs again.

A route that declares ``etag`` answers a success with an ``ETag`` (RFC 9110, section 8.8.3):
the strong entity tag of the resource as answered, replays of an ``Idempotency-Key``
included. Its handler reads the request's ``If-Match`` with :func:`if_match` and refuses a
command on a resource that changed since with 412 (RFC 9110, section 13.1.1), in the same
atomic write that would have changed it; a route that declares a 412 refusal documents the
``If-Match`` header. Without ``If-Match`` a request is unconditional, as it always was.

Every answer, a refusal's and ``OPTIONS``'s too, carries :data:`ANSWER_HEADERS`
(``Cache-Control: no-store``, ``X-Content-Type-Options: nosniff``): answers hold the
caller's own data, which no proxy or browser may keep, and a JSON error echoing the
request is never read as HTML. An answer without content (a 204, ``OPTIONS``'s, which
names the methods in ``Allow``) carries no ``Content-Type``. A refusal repeats at most
:data:`MAX_ECHO_CHARS` characters of anything the request sent (:func:`echoed`). The app
serves its routes, ``/healthz`` and ``/openapi.json``, and nothing else (no static files).
A handler's answer that JSON cannot hold (``NaN``, an infinite number) is a failure, answered
500 and logged, never sent as invalid JSON.
"""

from __future__ import annotations

import inspect
import itertools
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

import flask
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.sansio.response import Response as SansioResponse

from shared.auth import (
    Actor,
    AuthError,
    MissingToken,
    NoRole,
    Principal,
    TokenVerifier,
    VerifierUnavailable,
    bearer_token,
)
from shared.exceptions import (
    ConflictError,
    InvalidDocument,
    InvalidKey,
    InvalidQuery,
    StoreError,
)
from shared.idempotency_keys import IdempotencyKeys, KeyRefused, fingerprint, key_problem

if TYPE_CHECKING:
    from shared.stores.base import AbstractDocumentStore

_log = logging.getLogger("fooddelivery.api")
MAX_BODY_BYTES = 64 * 1024
"""The largest request body a BFF reads; a larger one is refused with 413."""
STORE_RETRY_AFTER_S = 5
"""The ``Retry-After`` of a 503 answered because the document store failed."""
VERIFIER_RETRY_AFTER_S = 5
"""The ``Retry-After`` of a 503 answered because tokens cannot be checked right now, unless
the verifier knows when they can (:attr:`~shared.auth.VerifierUnavailable.retry_after_s`)."""
KEY_IN_USE_RETRY_AFTER_S = 1
"""The ``Retry-After`` of a 409 to a request whose ``Idempotency-Key`` an earlier one still
holds: most end within a second (one whose process died is taken over after
:data:`~shared.idempotency_keys.RESERVATION_TIMEOUT_S`)."""
ANSWER_HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
"""Headers every answer of a kit app carries unless its route sets them itself: answers
hold the caller's own data (an address, a card's last digits, an order), so no shared
cache or browser may keep them (RFC 9111, ``no-store``), and a browser must not guess
HTML in a JSON body that echoes the request (``nosniff``)."""
JSON = "application/json"
"""The one media type a request body is read in (``application/*+json`` types too)."""
PROBLEM_JSON = "application/problem+json"
"""The media type of every refusal: a problem details object (RFC 9457, section 3)."""
PROBLEM_TYPE = "about:blank"
"""The ``type`` of every refusal: no URI of its own, the status says what the problem is
(RFC 9457, section 4.2.1); ``title`` is then the status's phrase."""
CHARSET = "utf-8"
"""The one character encoding a request body is read in (RFC 8259, section 8.1); a
``charset`` parameter naming another is refused with 415."""
MAX_ECHO_CHARS = 200
"""The most characters of something the request sent (a path, a parameter's or a member's
name, a header) that a refusal repeats; the rest is left out, saying how much."""
MAX_LISTED_FIELDS = 20
"""The most fields a refusal of an invalid request lists (:func:`invalid`), in its message and
its ``fields``; the message says how many more there were."""
_BODY_HEADERS = {"POST": "Accept-Post", "PATCH": "Accept-Patch"}
"""The header that names the media types a method's body may have (W3C LDP, RFC 5789)."""
_PARAM = re.compile(r"{(\w+)}")
_OBJECT_WANTED = "Input should be a JSON object"
_FINITE_WANTED = "Input should be a finite number"
"""What a field whose value is ``NaN`` or infinite is told, as pydantic tells a float field."""
_TEXT_WANTED = "Input should be text: a lone surrogate is no character (RFC 7493)"
"""What a field whose string holds, or a member whose name is, a lone surrogate is told."""
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
"""What a JSON text holding a lone surrogate holds: an escaped one (or one of a pair), or one
as it is (a ``str`` handed over, not UTF-8 bytes, which cannot hold one)."""
Handler = Callable[..., Any]


class HttpError(Exception):
    """A refusal with an HTTP status and a message for the caller (and any ``headers``)."""

    def __init__(
        self,
        status: int,
        message: str,
        fields: dict[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The members a refusal had before problem details: ``error`` (the message) and, for
        validation errors, ``fields``; :meth:`problem` keeps them as extension members."""
        return {"error": self.message, **({"fields": self.fields} if self.fields else {})}

    def problem(self) -> dict[str, Any]:
        """The refusal as a problem details object (RFC 9457): ``type`` (:data:`PROBLEM_TYPE`),
        ``title`` (:func:`status_title`), ``status``, ``detail`` (the message), then
        :meth:`body`'s members, so that a client reading ``error`` and ``fields`` still
        finds them."""
        return {
            "type": PROBLEM_TYPE,
            "title": status_title(self.status),
            "status": self.status,
            "detail": self.message,
            **self.body(),
        }


_RFC_9110_PHRASES: Mapping[int, str] = {
    413: "Content Too Large",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}
"""The phrases RFC 9110 renamed, which older Pythons' :class:`~http.HTTPStatus` still names
as RFC 7231 did: a title does not change with the Python a BFF runs on."""


def status_title(status: int) -> str:
    """The phrase of ``status`` (RFC 9110, section 15), a refusal's ``title``; a status with
    none, its class's (``Client Error``, ``Server Error``)."""
    renamed = _RFC_9110_PHRASES.get(status)
    if renamed is not None:
        return renamed
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error" if status >= 500 else "Client Error"


def problem_answer(refusal: HttpError, headers: Mapping[str, str] | None = None) -> flask.Response:
    """``refusal`` answered as :data:`PROBLEM_JSON` (:meth:`HttpError.problem`), with its
    headers, or ``headers`` instead.

    Outside a kit app (:func:`json_api_flask`), in any Flask app or none (the functions
    framework's own app, answering for a BFF that could not be set up), it is written as a
    kit app writes it, compact, and carries :data:`ANSWER_HEADERS` as every kit answer does.
    """
    kit = flask.current_app.json if flask.has_app_context() else None
    if isinstance(kit, _StrictJson):
        text, answer_class = kit.answer_text(refusal.problem()), flask.current_app.response_class
    else:
        text, answer_class = _compact_text(refusal.problem()), _PrivateAnswer
    return answer_class(
        text,
        status=refusal.status,
        headers=dict(refusal.headers if headers is None else headers),
        mimetype=PROBLEM_JSON,
    )


def _compact_text(obj: Any) -> str:
    """``obj`` as a kit app writes an answer out of debug mode (:meth:`_StrictJson.answer_text`)."""
    return f"{json.dumps(obj, separators=(',', ':'), allow_nan=False)}\n"


@dataclass(frozen=True, slots=True)
class Route:
    """One declared operation."""

    method: str
    path: str
    handler: Handler
    actors: frozenset[Actor]
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    idempotent: bool
    summary: str
    """The first paragraph of the handler's docstring, on one line."""
    query: type[BaseModel] | None = None
    refusals: Mapping[int, str] = field(default_factory=dict)
    """The statuses the handler refuses with besides 400/401/403, and when (for OpenAPI)."""
    description: str = ""
    """The rest of the handler's docstring (``""``: none)."""
    etag: Callable[[Any], str] | None = None
    """The opaque tag (unquoted) of a success's JSON body, answered as its ``ETag``."""


class HttpApi:
    """Collects routes and builds the Flask app and the OpenAPI document."""

    def __init__(
        self,
        title: str,
        verifier: TokenVerifier,
        *,
        store: AbstractDocumentStore | None = None,
        version: str = "1.0.0",
    ) -> None:
        self.title, self.version = title, version
        self._verifier, self._store = verifier, store
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        actors: set[Actor],
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        idempotent: bool = False,
        query: type[BaseModel] | None = None,
        refusals: Mapping[int, str] | None = None,
        etag: Callable[[Any], str] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Declare an operation; path parameters are written ``{name}``.

        ``query`` is a model of the query string: it is validated like a body
        (400 naming the parameter) and passed to the handler as ``query``.
        ``refusals`` documents the other 4xx statuses the handler answers with,
        e.g. ``{404: "no such order"}``; the OpenAPI document lists them. The
        handler's docstring is the operation's summary (its first paragraph) and
        description (the rest). ``etag`` gives the opaque tag of a success's JSON body,
        answered quoted as its ``ETag``; a route that refuses with 412 takes ``If-Match``
        (:func:`if_match`), and its OpenAPI operation says so.
        """
        if idempotent and self._store is None:
            raise ValueError(f"{method} {path}: idempotent routes need a store")

        def register(handler: Handler) -> Handler:
            summary, description = _summary_and_description(handler.__doc__ or handler.__name__)
            self.routes.append(
                Route(
                    method.upper(),
                    path,
                    handler,
                    frozenset(actors),
                    body,
                    response,
                    status,
                    idempotent,
                    summary,
                    query,
                    dict(refusals or {}),
                    description,
                    etag,
                )
            )
            return handler

        return register

    # -- the Flask app -----------------------------------------------------------------

    def flask_app(self) -> flask.Flask:
        """A Flask app serving every route plus ``/healthz`` and ``/openapi.json``."""
        app = json_api_flask(self.title)
        limit_bodies(app)
        for route in self.routes:
            app.add_url_rule(
                _PARAM.sub(r"<\1>", route.path),
                endpoint=f"{route.method} {route.path}",
                view_func=self._view(route),
                methods=[route.method],
            )
        app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
        app.add_url_rule("/openapi.json", "openapi", self._document_once())

        answer_errors_in_json(app, problem_details=True)
        return app

    def _document_once(self) -> Callable[[], dict[str, Any]]:
        """The ``/openapi.json`` view: the document of the routes served, built on its first
        request only (anyone may ask for it, without a token, and building it costs tens of
        milliseconds: asked for again and again, it must not cost as much each time)."""
        built: list[dict[str, Any]] = []

        def document() -> dict[str, Any]:
            if not built:
                built.append(self.openapi())
            return built[0]

        return document

    def _view(self, route: Route) -> Callable[..., Any]:
        def view(**params: str) -> Any:
            try:
                caller = self._authenticate(route)
                self._refuse_an_unused_key(route)
                body = _parse_body(route)
                query = _parse_query(route)
                if route.idempotent:
                    return self._idempotent(route, caller, body, query, params)
                return _sent(route, *self._call(route, caller, body, query, params))
            except HttpError as e:
                return problem_answer(e, self._challenged(e))
            except StoreError as e:
                return problem_answer(_store_refusal(e, params))

        return view

    def _refuse_an_unused_key(self, route: Route) -> None:
        """A 400 for an ``Idempotency-Key`` sent to a route that takes none, naming those that
        do: ignored, it would let the caller believe a retry safe, and a key reused for another
        request caught (422), where neither is."""
        if route.idempotent or not flask.request.headers.get("Idempotency-Key"):
            return
        keyed = [f"{r.method} {r.path}" for r in self.routes if r.idempotent]
        takers = f"only {', '.join(keyed)} of this API" if keyed else "no endpoint of this API"
        raise HttpError(
            400,
            f"{route.method} {route.path} takes no Idempotency-Key, so a retry with one would "
            f"run again: {takers} takes one",
        )

    def _challenged(self, refusal: HttpError) -> dict[str, str]:
        """The headers of ``refusal``; a 403 also carries an ``insufficient_scope`` challenge
        (RFC 6750, section 3.1): the token is valid, but the caller may not do this."""
        if refusal.status != 403 or "WWW-Authenticate" in refusal.headers:
            return refusal.headers
        return refusal.headers | bearer_challenge(
            self.title, refusal.message, error="insufficient_scope"
        )

    def _authenticate(self, route: Route) -> Principal:
        try:
            caller = self._verifier.verify(bearer_token(flask.request.headers.get("Authorization")))
        except MissingToken as e:
            raise HttpError(401, str(e), headers=bearer_challenge(self.title)) from e
        except AuthError as e:
            raise HttpError(401, str(e), headers=bearer_challenge(self.title, str(e))) from e
        except NoRole as e:
            raise HttpError(403, str(e)) from e
        except VerifierUnavailable as e:
            _log.warning("cannot verify a token: %s", e.__cause__ or e)
            wait_s = VERIFIER_RETRY_AFTER_S if e.retry_after_s is None else e.retry_after_s
            raise HttpError(
                503, str(e), headers={"Retry-After": str(max(1, math.ceil(wait_s)))}
            ) from e
        if caller.actor not in route.actors:
            raise HttpError(403, f"a {caller.actor} may not call {route.method} {route.path}")
        return caller

    def _call(
        self,
        route: Route,
        caller: Principal,
        body: BaseModel | None,
        query: BaseModel | None,
        params: dict[str, str],
    ) -> tuple[str, int, Any]:
        """``route``'s answer to the request: its JSON text (``""``: no content, e.g. a 204),
        written once, its status, and the payload the text is of."""
        args: dict[str, Any] = dict(params)
        if route.body is not None:
            args["body"] = body
        if route.query is not None:
            args["query"] = query
        result = route.handler(caller, **args)
        if result is None:  # e.g. 204 No Content
            return "", route.status, None
        payload = (
            result.model_dump(mode="json", by_alias=True)
            if isinstance(result, BaseModel)
            else result
        )
        return _json_text(route, payload), route.status, payload

    def _idempotent(
        self,
        route: Route,
        caller: Principal,
        body: BaseModel | None,
        query: BaseModel | None,
        params: dict[str, str],
    ) -> flask.Response | tuple[str, int]:
        """``route``'s answer as :meth:`_call` gives it, or, for a request with an
        ``Idempotency-Key`` used before, the text that answered it first."""
        assert self._store is not None
        key = flask.request.headers.get("Idempotency-Key")
        if not key:
            return _sent(route, *self._call(route, caller, body, query, params))
        problem = key_problem(key)
        if problem is not None:
            raise HttpError(400, problem)
        # a route that takes no query string has none (it is refused): leave it out
        query_string = (_query_string(),) if route.query is not None else ()
        request = fingerprint(route.method, route.path, params, request_json(), *query_string)
        payloads: list[Any] = []

        def call() -> tuple[str, int]:
            text, status, payload = self._call(route, caller, body, query, params)
            payloads.append(payload)
            return text, status  # kept as it is sent

        try:
            kept, status = IdempotencyKeys(self._store).run(_key_owner(caller), key, request, call)
        except KeyRefused as refused:
            running = (
                {"Retry-After": str(KEY_IN_USE_RETRY_AFTER_S)} if refused.status == 409 else {}
            )
            raise HttpError(refused.status, str(refused), headers=running) from refused
        if payloads:
            return _sent(route, kept, status, payloads[0])
        return _replayed(route, kept, status)

    # -- OpenAPI -----------------------------------------------------------------------

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of every route."""
        from shared.openapi import build_openapi

        return build_openapi(self)


@dataclass(frozen=True, slots=True)
class IfMatch:
    """A request's ``If-Match`` (RFC 9110, section 13.1.1): ``*``, or the entity tags it lists."""

    tags: frozenset[str]
    """The opaque tags (unquoted) of the strong entity tags listed: a weak one (``W/"3"``)
    never matches, as the comparison is strong (RFC 9110, section 8.8.3.2)."""
    any: bool = False
    """``*``: whatever the resource's current tag is."""

    def matches(self, current: str) -> bool:
        """Whether a resource whose current opaque tag is ``current`` meets the condition."""
        return self.any or current in self.tags


_ETAGC = r"[\x21\x23-\x7e\x80-\xff]*"
"""What an opaque tag holds between its quotes (RFC 9110, section 8.8.3: ``etagc``)."""
_LISTED_TAG = re.compile(rf'[ \t]*(?:(W/)?"({_ETAGC})")?[ \t]*(?:,|\Z)')
"""One element of an ``If-Match`` list, with the comma after it: empty elements are allowed."""


def if_match() -> IfMatch | None:
    """The current request's ``If-Match`` (its lines taken together), ``None`` without one;
    400 for one that is neither ``*`` nor a list of quoted entity tags."""
    lines = flask.request.headers.getlist("If-Match")
    if not lines:
        return None
    value = ", ".join(lines)
    if value.strip() == "*":
        return IfMatch(frozenset(), any=True)
    strong: set[str] = set()
    at = 0
    while at < len(value):
        element = _LISTED_TAG.match(value, at)
        if element is None:
            raise HttpError(
                400,
                f"If-Match: {echoed(repr(value))} is neither * nor a list of entity tags: "
                'send the ETag of an answer as it came, quotes included (e.g. If-Match: "3")',
            )
        if element.group(2) is not None and element.group(1) is None:
            strong.add(element.group(2))
        at = element.end()
    return IfMatch(frozenset(strong))


def entity_tag(opaque: str) -> str:
    """``opaque`` as a strong entity tag, quoted (``3`` -> ``"3"``); ``ValueError`` for a tag
    that cannot be one (a ``"``, a space or a control character)."""
    if not re.fullmatch(_ETAGC, opaque):
        raise ValueError(f"{opaque!r} cannot be an entity tag")
    return f'"{opaque}"'


def _json_text(route: Route, payload: Any) -> str:
    """``payload``, ``route``'s answer, as the JSON text sent (and kept for an
    ``Idempotency-Key`` to replay); :class:`ValueError` (the handler's bug: a 500) when it is
    no JSON, e.g. holds ``NaN``, so that nothing is sent or kept."""
    try:
        return _writer().answer_text(payload)
    except ValueError as error:
        raise ValueError(
            f"{route.method} {route.path} answered what JSON cannot hold: {error}"
        ) from error


def _sent(route: Route, text: str, status: int, payload: Any) -> flask.Response | tuple[str, int]:
    """The answer whose JSON ``text`` (of ``payload``) :func:`_json_text` wrote, with its
    ``ETag`` when ``route`` declares one and it is a success; ``""``: no content."""
    if text == "":
        return text, status
    headers: dict[str, str] = {}
    if route.etag is not None and 200 <= status < 300:
        headers["ETag"] = entity_tag(route.etag(payload))
    return flask.current_app.response_class(
        text, status=status, headers=headers, mimetype=_writer().mimetype
    )


def _writer() -> _StrictJson:
    """The current app's JSON: a kit app's (:func:`json_api_flask`)."""
    return cast("_StrictJson", flask.current_app.json)


def _replayed(route: Route, kept: Any, status: int) -> flask.Response | tuple[str, int]:
    """The answer an ``Idempotency-Key`` kept, sent again: its text as first sent, or, kept
    before answers were kept as text, its payload (written now)."""
    if not isinstance(kept, str):
        return _sent(route, _json_text(route, kept), status, kept)
    needs_payload = route.etag is not None and kept != "" and 200 <= status < 300
    return _sent(route, kept, status, json.loads(kept) if needs_payload else None)


def _key_owner(caller: Principal) -> tuple[str, str]:
    """Whose an ``Idempotency-Key`` is: the caller, and for staff the restaurant they act for.

    A replayed answer skips the handler and its ownership checks, so a key used as staff of
    one restaurant must not replay for the same account acting for another. Neither an
    actor nor a restaurant id holds ``@``, so ``staff@r-1`` names one pair.
    """
    if caller.restaurant is None:
        return caller.actor, caller.subject
    return f"{caller.actor}@{caller.restaurant}", caller.subject


def bearer_challenge(
    realm: str, refusal: str | None = None, *, error: str = "invalid_token"
) -> dict[str, str]:
    """The ``WWW-Authenticate`` header of a 401 or 403 (RFC 6750, section 3).

    Without ``refusal`` (no token was given) the challenge names no error; with it
    it is ``error`` (``invalid_token``: the token was refused, 401;
    ``insufficient_scope``: it is valid but does not allow the request, 403) and the
    refusal as its ``error_description``.
    """
    challenge = f'Bearer realm="{_quotable(realm)}"'
    if refusal is not None:
        challenge += f', error="{error}", error_description="{_quotable(refusal)}"'
    return {"WWW-Authenticate": challenge}


def _quotable(text: str) -> str:
    """``text`` with what a quoted challenge parameter may not hold replaced: RFC 6750
    allows printable ASCII but ``"`` and ``\\`` (``"`` becomes ``'``, the rest ``?``)."""
    return "".join("'" if c == '"' else c if " " <= c <= "~" and c != "\\" else "?" for c in text)


def _summary_and_description(docstring: str) -> tuple[str, str]:
    """A docstring's first paragraph on one line, and the paragraphs after it (or ``""``)."""
    first, *rest = re.split(r"\n\s*\n", inspect.cleandoc(docstring), maxsplit=1)
    return " ".join(first.split()), "".join(rest).strip()


def _parse_body(route: Route) -> BaseModel | None:
    if route.body is None:
        _refuse_a_body()
        return None
    _refuse_an_unreadable_body(route)
    data = request_json()
    if data is None:
        raise _not_a_json_object(data)
    return _validated(route.body, data, "request")


def _refuse_an_unreadable_body(route: Route) -> None:
    """A 415 for a body ``route`` cannot read (RFC 9110, section 15.5.16): compressed, or sent
    as another type than JSON (what ``curl -d`` sends, a form, say); a 400 when none was sent."""
    coding = flask.request.headers.get("Content-Encoding", "").strip()
    if coding.lower() not in ("", "identity"):
        raise HttpError(
            415,
            "the request body must be sent as it is, not encoded "
            f"(Content-Encoding: {echoed(coding)})",
            headers=unsupported_body_headers(route.method),
        )
    if flask.request.is_json:
        _refuse_another_charset(route)
        return
    if not flask.request.get_data(cache=True):
        raise HttpError(
            400, f"the request body must be a JSON object, sent as Content-Type: {JSON}"
        )
    mimetype = flask.request.mimetype
    sent = f"not {echoed(mimetype)}" if mimetype else "it came without one"
    raise HttpError(
        415,
        f"the request body must be a JSON object, sent as Content-Type: {JSON} ({sent})",
        headers=unsupported_body_headers(route.method),
    )


def _refuse_another_charset(route: Route) -> None:
    """A 415 for a JSON body said to be in another character encoding than UTF-8, the one
    JSON is exchanged in (RFC 8259, section 8.1): read as UTF-8 anyway, it would be misread
    or refused as broken JSON, depending on the characters sent."""
    charset = flask.request.mimetype_params.get("charset")
    if charset is None or charset.strip().lower() in (CHARSET, "utf8"):
        return
    raise HttpError(
        415,
        f"the request body must be JSON in UTF-8 (RFC 8259), sent as Content-Type: {JSON} or "
        f"{JSON}; charset={CHARSET} (not charset={echoed(charset)})",
        headers=unsupported_body_headers(route.method),
    )


def unsupported_body_headers(method: str) -> dict[str, str]:
    """The headers of a 415 to ``method``: the content coding a body is read in (RFC 9110,
    section 12.5.3: none) and, for POST and PATCH, the media type (:data:`JSON`)."""
    named = _BODY_HEADERS.get(method)
    return {"Accept-Encoding": "identity", **({named: JSON} if named else {})}


def _refuse_a_body() -> None:
    """A 400 for a body sent to a route that takes none (``{}`` aside, which some clients
    send with every POST): its fields would be ignored without a word, as a query's are not."""
    if not flask.request.get_data(cache=True).strip():
        return
    data = request_json()
    if data == {}:
        return
    if isinstance(data, dict):
        raise invalid("request", dict.fromkeys(data, "this endpoint takes no request body"))
    raise HttpError(400, "this endpoint takes no request body")


def _parse_query(route: Route) -> BaseModel | None:
    """The route's validated query string (``None`` when it takes none), or a 400: a
    parameter the route does not take is refused, as a body's unknown field is."""
    if route.query is None:
        if flask.request.args:
            raise invalid("query", dict.fromkeys(flask.request.args, "this endpoint takes none"))
        return None
    return _validated(route.query, _query_string(), "query")


def request_json() -> Any:
    """The current request's JSON body, or ``None`` when it is not JSON (or nested deeper
    than the decoder goes)."""
    try:
        return flask.request.get_json(silent=True)
    except RecursionError:
        return None


def not_a_json_object(data: Any) -> str:
    """Why the current request's body, which :func:`request_json` read as ``data``, is no
    JSON object: not JSON at all (where the decoder stopped), nested too deeply, or JSON
    of another kind."""
    return _not_a_json_object(data).message


def _not_a_json_object(data: Any) -> HttpError:
    """The 400 refusal of a body :func:`request_json` read as ``data``, no JSON object (see
    :func:`not_a_json_object`); a ``NaN`` or an infinite number is named as a field too."""
    if data is None:
        try:
            flask.current_app.json.loads(flask.request.get_data(cache=True))
        except RecursionError:
            return HttpError(400, "the request body's JSON is nested too deeply to read")
        except _NoIJson as error:
            why = f"the request body is not valid JSON: {error}"
            return HttpError(400, why, {echoed(error.path): error.wanted})
        except ValueError as error:  # UnicodeDecodeError too
            return HttpError(400, f"the request body is not valid JSON: {error}")
    return HttpError(400, "the request body must be a JSON object")


class _StrictJson(DefaultJSONProvider):
    """Flask's JSON, but reading JSON only (RFC 8259), and of that, none a reader could
    take otherwise than meant:

    * an object naming one member twice (RFC 7493, I-JSON): readers disagree on which one
      counts (Python's the last), so a check in front of the API could pass the first and
      the handler act on the second;
    * ``NaN``, ``Infinity`` and ``-Infinity``, which Python reads but are no JSON (RFC 8259,
      section 6), and a number too large to be a finite double (``1e400``), which Python
      reads as infinity: no JSON could answer either;
    * a string, or a member's name, holding an escaped lone surrogate (``"\\ud800"``), which
      is no Unicode character (RFC 7493, section 2.1): Python reads it into a ``str`` that
      no UTF-8 encoder, the document store's included, takes;
    * a body in another encoding than UTF-8 (RFC 8259, section 8.1), which Python would
      guess at (UTF-16, UTF-32); a UTF-8 byte order mark is ignored, as section 8.1 allows.

    And writing JSON only: ``NaN`` or an infinite number to be sent is a :class:`ValueError`
    (a handler's bug, answered 500), not Python's ``NaN`` that no JSON reader takes.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """``s`` decoded as :func:`json.loads` does, refusing (:class:`ValueError`) what is
        no JSON, or no JSON every reader takes alike (see the class)."""
        text = s.decode("utf-8-sig") if isinstance(s, bytes | bytearray) else s
        unread: list[_NotANumber] = []

        def not_a_number(literal: str, *, constant: bool = True) -> _NotANumber:
            unread.append(_NotANumber(literal, constant))
            return unread[-1]

        def finite(literal: str) -> float | _NotANumber:
            number = float(literal)
            return number if math.isfinite(number) else not_a_number(literal, constant=False)

        data = json.loads(
            text,
            object_pairs_hook=_unique_members,
            parse_constant=not_a_number,
            parse_float=finite,
            **kwargs,
        )
        if unread:
            raise _NoJsonNumber(unread[0], _path_of(unread[0], data))
        if _MAYBE_SURROGATE.search(text):
            lone = _lone_surrogate_at(data)
            if lone is not None:
                raise _NoText(lone)
        return data

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """``obj`` as JSON text; :class:`ValueError` for ``NaN`` or an infinite number, which
        no JSON holds (RFC 8259, section 6): never sent as if it were JSON."""
        kwargs.setdefault("allow_nan", False)
        text: str = super().dumps(obj, **kwargs)
        return text

    def answer_text(self, obj: Any) -> str:
        """``obj`` as the text of an answer (:meth:`response`'s): compact, or indented in
        debug mode unless :attr:`compact` says otherwise, and ending in a newline."""
        pretty = (self.compact is None and self._app.debug) or self.compact is False
        spacing: dict[str, Any] = {"indent": 2} if pretty else {"separators": (",", ":")}
        return f"{self.dumps(obj, **spacing)}\n"

    def response(self, *args: Any, **kwargs: Any) -> SansioResponse:
        """A JSON answer of ``args`` or ``kwargs``, as Flask's, its text :meth:`answer_text`."""
        text = self.answer_text(self._prepare_response_obj(args, kwargs))
        return self._app.response_class(text, mimetype=self.mimetype)


class _NoIJson(ValueError):
    """A JSON text that no reader could take as meant, because of the value at ``path``; a
    field of that name is told ``wanted``."""

    wanted: str

    def __init__(self, why: str, path: str) -> None:
        super().__init__(why)
        self.path = path


class _NoJsonNumber(_NoIJson):
    """A JSON text holds ``NaN``, ``Infinity`` or a number no double holds, at ``path``."""

    wanted = _FINITE_WANTED

    def __init__(self, number: _NotANumber, path: str) -> None:
        where = f"at {echoed(path)}"
        super().__init__(
            f"{number.literal} ({where}) is no JSON value (RFC 8259)"
            if number.constant
            else f"{echoed(number.literal)} ({where}) is beyond the numbers a double holds",
            path,
        )


class _NoText(_NoIJson):
    """A JSON text holds a string, or names a member, with a lone surrogate, at ``path``."""

    wanted = _TEXT_WANTED

    def __init__(self, path: str) -> None:
        super().__init__(
            f"the string at {echoed(path)} holds a lone surrogate (an escaped \\ud800 to "
            "\\udfff not in a pair), which is no character (RFC 7493, section 2.1)",
            path,
        )


@dataclass(frozen=True, slots=True, eq=False)
class _NotANumber:
    """Where ``NaN``, ``Infinity`` or a number beyond a double's range stood in a JSON text,
    until the text is refused (:class:`_StrictJson`)."""

    literal: str
    constant: bool
    """``NaN``, ``Infinity`` or ``-Infinity``, not a number out of range."""


def _path_of(marker: _NotANumber, data: Any) -> str:
    """The dotted path (``items.0.price``, ``$`` for the whole) of ``marker`` in ``data``."""
    todo: list[tuple[str, Any]] = [("", data)]
    while todo:
        path, item = todo.pop()
        if item is marker:
            return path or "$"
        if isinstance(item, dict | list):
            children = item.items() if isinstance(item, dict) else enumerate(item)
            todo.extend((_member(path, k), child) for k, child in children)
    return "$"  # pragma: no cover - the marker is in the data it was read into


def _lone_surrogate_at(data: Any) -> str | None:
    """The dotted path of a string in ``data``, or of a member whose name, holds a lone
    surrogate (the first of an object's members, then of its values, in order); ``None``."""
    todo: list[tuple[str, Any]] = [("", data)]
    while todo:
        path, item = todo.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return path or "$"
        elif isinstance(item, dict):
            named = next((name for name in item if _SURROGATE.search(name)), None)
            if named is not None:
                return _member(path, named)
            todo.extend((_member(path, k), child) for k, child in reversed(item.items()))
        elif isinstance(item, list):
            todo.extend((_member(path, i), item[i]) for i in reversed(range(len(item))))
    return None


def _member(path: str, name: object) -> str:
    """The dotted path of the member or item ``name`` of the value at ``path``; a surrogate
    in the name, no character, is written as its escape (``\\ud800``)."""
    shown = str(name).encode("utf-8", "backslashreplace").decode("utf-8")
    return f"{path}.{shown}" if path else shown


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) < len(pairs):
        names = [name for name, _ in pairs]
        twice = next(name for i, name in enumerate(names) if name in names[:i])
        raise ValueError(f"the member {twice!r} is given more than once in one object")
    return members


class _PrivateAnswer(flask.Response):
    """A response that carries :data:`ANSWER_HEADERS` from the start, whatever makes it (a
    view, an error handler, Flask's automatic ``OPTIONS`` answer), so that every
    ``after_request`` hook sees them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, value in ANSWER_HEADERS.items():
            self.headers.setdefault(name, value)


def json_api_flask(name: str) -> flask.Flask:
    """A Flask app for a JSON API, named ``name``: every answer carries
    :data:`ANSWER_HEADERS`, one without content no ``Content-Type``
    (:func:`untyped_when_empty`), it serves no static files, and it reads JSON only, and no
    JSON readers differ on (:class:`_StrictJson`).

    Flask would serve, without a token, any file under ``static/`` of the current directory
    (the deployed source, for an app whose name is no module's) at ``/static/<path>``.
    """
    app = flask.Flask(name, static_folder=None)
    app.response_class = _PrivateAnswer
    app.json = _StrictJson(app)
    app.json.sort_keys = False
    app.after_request(untyped_when_empty)
    return app


def untyped_when_empty(answer: flask.Response) -> flask.Response:
    """``answer`` without a ``Content-Type`` when it has no content (a 204, ``OPTIONS``'s
    answer): there is nothing for a type to describe (RFC 9110, section 8.3), and Flask's
    default, ``text/html``, would say there is a page. A ``HEAD`` answer keeps its ``GET``'s."""
    if answer.status_code == 204 or (not answer.is_streamed and not answer.get_data()):
        del answer.headers["Content-Type"]
    return answer


def limit_bodies(app: flask.Flask) -> None:
    """Refuse a request body over :data:`MAX_BODY_BYTES` with 413, however it is sent.

    Werkzeug refuses a ``Content-Length`` over its limit, but reads a chunked body only up
    to the limit and hands it over cut short, as if it were all: the caller would be told
    its JSON is broken (400), not too large. So werkzeug reads to one byte more, and a body
    that reaches it is refused here, before anything reads it.
    """
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1

    @app.before_request
    def refuse_a_body_too_large() -> None:
        if len(flask.request.get_data(cache=True)) > MAX_BODY_BYTES:
            raise RequestEntityTooLarge()


def answer_errors_in_json(app: flask.Flask, *, problem_details: bool = False) -> None:
    """Make ``app`` answer unknown routes, wrong methods, oversized bodies and its own
    failures in the API's error shape, ``{"error": ...}``, instead of Flask's HTML pages;
    with ``problem_details`` (every :class:`HttpApi` app), as problem details
    (:func:`problem_answer`), ``error`` among them, and so any other refusal werkzeug
    raises (a ``400 Bad Request`` of its own, say) too.

    A failure is answered by the app itself, however it is dispatched: on Google Cloud the
    function target calls the app's ``full_dispatch_request`` (:mod:`shared.runtime.functions`),
    past the ``wsgi_app`` that would turn an exception into Flask's 500, so an exception left
    to escape it would be answered by the functions framework: an HTML page, as a crash.
    """

    def refused(status: int, message: str, headers: Mapping[str, str] | None = None) -> Any:
        if problem_details:
            return problem_answer(HttpError(status, message, headers=headers))
        return {"error": message}, status, dict(headers or {})

    @app.errorhandler(404)
    def not_found(_: Exception) -> Any:
        sent = f"{echoed(flask.request.method)} {echoed(flask.request.path)}"
        return refused(404, f"no route for {sent}")

    @app.errorhandler(405)
    def not_allowed(error: MethodNotAllowed) -> Any:
        # RFC 9110, section 15.5.6: a 405 names the methods the resource allows
        allowed = ", ".join(error.valid_methods or ())
        method = echoed(flask.request.method)
        return refused(405, f"{method} is not allowed here", {"Allow": allowed})

    @app.errorhandler(413)
    def too_large(_: Exception) -> Any:
        return refused(413, f"the request body is over {MAX_BODY_BYTES} bytes")

    @app.errorhandler(500)
    def failed(_: Exception) -> Any:
        # Flask has logged the exception; the client gets the error shape, not HTML, and
        # nothing of why (a message, a path, a trace): that is for the log only.
        return refused(500, "the service failed to answer; try again later")

    @app.errorhandler(Exception)
    def crashed(error: Exception) -> Any:
        if isinstance(error, HTTPException):  # one of werkzeug's with no handler of its own
            return _werkzeug_refusal(error, refused) if problem_details else error
        # The kit's logger, not Flask's: on GCP its one JSON entry keeps the traceback
        # together; Flask's own handler writes plain lines to stderr, an entry each.
        _log.exception("%s %s failed; answered 500", flask.request.method, flask.request.path)
        return failed(error)


def _werkzeug_refusal(
    error: HTTPException, refused: Callable[[int, str, Mapping[str, str]], Any]
) -> Any:
    """A refusal werkzeug raised (no handler of the app's answers it) as ``refused`` answers
    one, with its headers; what is no refusal (a redirect) or has its answer made already
    (``abort(response)``) is answered as werkzeug would."""
    if error.response is not None or error.code is None or error.code < 400:
        return error
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return refused(error.code, error.description or status_title(error.code), headers)


def _query_string() -> dict[str, str]:
    """The request's query parameters; one given more than once is a 400, not a guess."""
    repeated = {
        name: "given more than once"
        for name, values in flask.request.args.lists()
        if len(values) > 1
    }
    if repeated:
        raise invalid("query", repeated)
    return flask.request.args.to_dict()


def _validated(model: type[BaseModel], data: Any, what: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise invalid(what, field_errors(e)) from e


def field_errors(error: ValidationError) -> dict[str, str]:
    """One message per offending field, keyed by its dotted path (``items.0.quantity``).

    Where pydantic's message names a model (``... or instance of CartLine``), the Python
    class the client never sees, the message says what JSON is wanted instead.
    """
    return {
        ".".join(str(p) for p in err["loc"]) or "$": _OBJECT_WANTED
        if err["type"] == "model_type"
        else err["msg"]
        for err in error.errors()
    }


def invalid(what: str, fields: dict[str, str]) -> HttpError:
    """The 400 refusal of an invalid ``what`` (request, query, callback), naming each field
    (a name the client made up, such as an unknown parameter's, cut to :func:`echoed`), the
    first :data:`MAX_LISTED_FIELDS` of them only: the message says how many more there were."""
    listed = list(itertools.islice(fields.items(), MAX_LISTED_FIELDS))
    named = {echoed(name): why for name, why in listed}
    message = f"invalid {what}: " + "; ".join(f"{k}: {v}" for k, v in named.items())
    more = len(fields) - len(listed)
    if more:
        message += f"; and {more} more {'field' if more == 1 else 'fields'}"
    return HttpError(400, message, named)


def echoed(sent: str) -> str:
    """``sent`` (something the request holds: a path, a name, a header) as a refusal repeats
    it: whole up to :data:`MAX_ECHO_CHARS` characters, else cut there, saying how many more
    there were, so that a 10 KB parameter name is not sent back, twice. It is cut between
    characters, never inside one's UTF-8 or JSON encoding."""
    if len(sent) <= MAX_ECHO_CHARS:
        return sent
    return f"{sent[:MAX_ECHO_CHARS]}... ({len(sent) - MAX_ECHO_CHARS} more characters)"


def _store_refusal(error: StoreError, params: Mapping[str, str]) -> HttpError:
    """The answer to a request whose handler the document store failed (see the module)."""
    if isinstance(error, InvalidKey):
        return _invalid_id(error, params)
    if isinstance(error, InvalidDocument):
        return HttpError(400, f"invalid request: the data store cannot keep {error}")
    if isinstance(error, InvalidQuery):
        return HttpError(400, f"invalid request: the data store cannot search for {error}")
    _log.warning("%s %s: %s", flask.request.method, flask.request.path, error)
    if isinstance(error, ConflictError):
        return HttpError(409, "the request collided with a concurrent change; retry it")
    return HttpError(
        503,
        f"the data store is unavailable; retry in {STORE_RETRY_AFTER_S} s",
        headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
    )


def _invalid_id(error: InvalidKey, params: Mapping[str, str]) -> HttpError:
    """404 when a path parameter is the refused id, else 400 naming the fields holding it."""
    why = f"{echoed(repr(error.key))} cannot be an id: {error.problem}"
    for name, value in params.items():
        if value == error.key:
            return HttpError(404, f"no such {name}: {why}")
    fields = dict.fromkeys(_paths_to(error.key, request_json()), why)
    if fields:
        return invalid("request", fields)
    query = {
        name: why for name, value in flask.request.args.items(multi=True) if value == error.key
    }
    if query:
        return invalid("query", query)
    _log.warning("%s %s: %s", flask.request.method, flask.request.path, error)
    return HttpError(400, f"invalid request: {why}")


def _paths_to(value: object, data: Any) -> list[str]:
    """The dotted paths (``items.0.menuItemId``) at which the JSON ``data`` holds ``value``."""
    found, todo = [], [("", data)]
    while todo:
        path, item = todo.pop()
        if type(item) is type(value) and item == value:
            found.append(path or "$")
        elif isinstance(item, dict | list):
            children = item.items() if isinstance(item, dict) else enumerate(item)
            todo.extend((f"{path}.{k}" if path else str(k), child) for k, child in children)
    return sorted(found)
