"""Build the OpenAPI 3.1 document of an :class:`~shared.api.HttpApi` from its routes.

Its readers never see the Python code, so every summary and description in it,
those pydantic takes from model and field docstrings included, is the
docstring as prose (:func:`~shared.prose.prose`): CommonMark, with no
reStructuredText roles or ``double backquotes`` and no hard line wraps.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from shared.api import (
    ANSWER_HEADERS,
    CHARSET,
    JSON,
    MAX_BODY_BYTES,
    MAX_LISTED_FIELDS,
    PROBLEM_JSON,
    PROBLEM_TYPE,
    unsupported_body_headers,
)
from shared.exceptions import KitError
from shared.idempotency_keys import KEY_PATTERN, MAX_KEY_CHARS
from shared.prose import described, prose

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic.json_schema import JsonSchemaMode

    from shared.api import HttpApi, Route

_PARAM = re.compile(r"{(\w+)}")
_REF = "#/components/schemas/{model}"
_PROBLEM = {
    "type": "object",
    "description": "Why the request was refused: a problem details object (RFC 9457), sent as "
    f"`{PROBLEM_JSON}`. Besides its standard members it has `error` and `fields`, which every "
    "refusal had before it was a problem details object: a client reading those still may. "
    "Like every answer it is open: a client ignores a member it does not know.",
    "required": ["type", "title", "status", "detail", "error"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "description": f"What kind of problem it is, a URI: `{PROBLEM_TYPE}` (the status "
            "says it all) unless a later version defines one of its own for the problem.",
        },
        "title": {
            "type": "string",
            "description": "The status's phrase (e.g. `Conflict`), the same for every "
            "problem of its type.",
        },
        "status": {
            "type": "integer",
            "minimum": 400,
            "maximum": 599,
            "description": "The answer's HTTP status code.",
        },
        "detail": {
            "type": "string",
            "description": "What went wrong this time, in English (e.g. `the cart is empty`).",
        },
        "error": {
            "type": "string",
            "description": "The same as `detail`, kept for the clients that read it.",
        },
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "What is wrong with each field the refusal is about, keyed by the "
            "field's name or dotted path (e.g. `items.0.menuItemId`); left out when it is about "
            f"no particular field. At most {MAX_LISTED_FIELDS} fields are listed: `detail` says "
            "how many more there were.",
        },
    },
}
"""The schema of every refusal (:meth:`~shared.api.HttpError.problem`)."""

_CHALLENGE = {
    "description": 'The bearer challenge (RFC 6750): `Bearer realm="<API title>"` when no '
    'token was given; with `error="invalid_token"` and an `error_description` when the token '
    "was refused.",
    "schema": {"type": "string"},
}
_SCOPE_CHALLENGE = {
    "description": 'The bearer challenge (RFC 6750): `Bearer realm="<API title>", '
    'error="insufficient_scope"` and an `error_description` saying why the valid token does '
    "not allow the request.",
    "schema": {"type": "string"},
}
_KEY_DESCRIPTION = (
    "A key of the caller's choosing (a new UUID, say) that makes a retry safe: a request "
    "with a key the caller used for the same request before gets the first answer again "
    "and changes nothing; with another request, 422; while the first still runs, 409."
)
_ANSWER_HEADERS = {
    "Cache-Control": {
        "description": "`no-store`: the answer is the caller's, for no cache to keep (RFC 9111).",
        "schema": {"type": "string", "const": ANSWER_HEADERS["Cache-Control"]},
    },
    "X-Content-Type-Options": {
        "description": "`nosniff`: the body is what its `Content-Type` says, never sniffed.",
        "schema": {"type": "string", "const": ANSWER_HEADERS["X-Content-Type-Options"]},
    },
}
"""The headers every answer carries (:data:`~shared.api.ANSWER_HEADERS`)."""
_UNSUPPORTED_BODY_HEADERS = {
    "Accept-Encoding": {
        "description": "`identity`: a request body is read as it is sent, never compressed.",
        "schema": {"type": "string", "const": "identity"},
    },
    **{
        name: {
            "description": f"`{JSON}`: the one media type a request body is read in.",
            "schema": {"type": "string", "const": JSON},
        }
        for name in ("Accept-Post", "Accept-Patch")
    },
}
"""The headers of a 415 (:func:`~shared.api.unsupported_body_headers`)."""
_OPEN_RESPONSES = (
    "Request bodies and query strings are closed: a field or parameter an operation does not "
    "list is refused (400), as is a request body or an `Idempotency-Key` sent to an operation "
    "that takes none. Responses are open: a later version may add fields to them, so a client "
    "ignores any field it does not know (RFC 7493, section 4.2), while every field listed is "
    "in every answer."
)
"""The document's ``info.description``: what a client may rely on, and must tolerate."""
_ETAG = {
    "description": "The strong entity tag of the resource as answered (RFC 9110, section "
    "8.8.3): send it back as `If-Match` to act on it only as it is now.",
    "schema": {"type": "string"},
}
_IF_MATCH = (
    "The `ETag` of the resource as the caller last read it (or `*`): if it changed since, "
    "nothing is done and the answer is 412 (RFC 9110, section 13.1.1). Left out: the request "
    "is unconditional."
)
_RETRY_AFTER = {
    "description": "How many seconds to wait before retrying (RFC 9110).",
    "schema": {"type": "integer", "minimum": 1},
}


def _schema(
    model: type[BaseModel], components: dict[str, Any], mode: JsonSchemaMode = "validation"
) -> dict[str, Any]:
    """``model``'s schema as a reference to its component: as requests are validated, or
    (``mode="serialization"``) as answers are written."""
    schema = described(model.model_json_schema(ref_template=_REF, by_alias=True, mode=mode))
    for name, nested in schema.pop("$defs", {}).items():
        _add_component(components, name, nested)
    _add_component(components, model.__name__, schema)
    return {"$ref": _REF.format(model=model.__name__)}


def _add_component(components: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """Name ``schema`` in the document's components; two different schemas of one name (two
    models of one class name, in different modules) are refused, as one would silently
    replace the other."""
    if components.setdefault(name, schema) != schema:
        raise KitError(
            f"two different models are named {name} in one API's OpenAPI document: "
            "rename one of them"
        )


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One parameter per field; a field's description is the parameter's."""
    schema = described(model.model_json_schema(by_alias=True))
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        parameters.append(parameter | {"schema": _not_null(prop)})
    return parameters


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without its ``null`` branch: a query string cannot carry
    null (``?before=null`` is a 400); leaving the parameter out is what null means."""
    branches = schema.get("anyOf")
    if branches is None or {"type": "null"} not in branches:
        return schema
    kept = [branch for branch in branches if branch != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return rest | (kept[0] if len(kept) == 1 else {"anyOf": kept})


def _operation_description(route: Route) -> str:
    """The handler's docstring after its summary, then who may call the operation."""
    callers = f"Callers: {', '.join(sorted(route.actors))}."
    return f"{prose(route.description)}\n\n{callers}" if route.description else callers


def build_openapi(api: HttpApi) -> dict[str, Any]:
    """Paths, request/response schemas, bearer security and the error responses."""
    components: dict[str, Any] = {"Problem": _PROBLEM}
    paths: dict[str, Any] = {}
    error = {"content": {PROBLEM_JSON: {"schema": {"$ref": _REF.format(model="Problem")}}}}
    for route in api.routes:
        operation: dict[str, Any] = {
            "operationId": route.handler.__name__,
            "summary": prose(route.summary),
            "description": _operation_description(route),
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(route.path)
            ],
            "responses": {
                str(route.status): {"description": "success"}
                | (
                    {
                        "content": {
                            "application/json": {
                                "schema": _schema(route.response, components, "serialization")
                            }
                        }
                    }
                    if route.response is not None
                    else {}
                ),
                "400": {"description": "invalid request", **error},
                "401": {
                    "description": "missing or invalid bearer token",
                    "headers": {"WWW-Authenticate": _CHALLENGE},
                    **error,
                },
                "403": {
                    "description": "the caller may not do this, or its account has no role yet",
                    "headers": {"WWW-Authenticate": _SCOPE_CHALLENGE},
                    **error,
                },
                "409": {"description": "a concurrent change collided with it; retry", **error},
                "500": {"description": "the service failed to answer; retry later", **error},
                "503": {
                    "description": "the data store or the token verifier is unavailable; "
                    "retry after Retry-After",
                    "headers": {"Retry-After": _RETRY_AFTER},
                    **error,
                },
            },
        }
        names = _PARAM.findall(route.path)
        if names and 404 not in route.refusals:
            operation["responses"]["404"] = {
                "description": f"no such {' or '.join(names)} (an id that cannot exist included)",
                **error,
            }
        if route.query is not None:
            operation["parameters"] += _query_parameters(route.query)
        if route.idempotent:
            operation["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": _KEY_DESCRIPTION,
                    "schema": {
                        "type": "string",
                        "maxLength": MAX_KEY_CHARS,
                        "pattern": KEY_PATTERN,
                    },
                }
            )
            operation["responses"]["422"] = {
                "description": "key reused for another request",
                **error,
            }
            operation["responses"]["409"]["description"] += (
                ", or a request with this Idempotency-Key is still running; retry it later"
            )
        if route.etag is not None:
            operation["responses"][str(route.status)]["headers"] = {"ETag": _ETAG}
        if 412 in route.refusals:
            operation["parameters"].append(
                {
                    "name": "If-Match",
                    "in": "header",
                    "required": False,
                    "description": _IF_MATCH,
                    "schema": {"type": "string"},
                }
            )
        responses = operation["responses"]
        for status, when in sorted(route.refusals.items()):
            kit = responses.get(str(status), {})
            also = kit.get("description")
            responses[str(status)] = kit | {
                "description": f"{prose(when)}; or {also}" if also else prose(when),
                **error,
            }
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {JSON: {"schema": _schema(route.body, components)}},
            }
            responses["415"] = {
                "description": f"the request body is not sent as `{JSON}`, or in another "
                f"encoding than UTF-8 (a `charset` other than `{CHARSET}`), or is compressed "
                "(`Content-Encoding`)",
                "headers": {
                    name: _UNSUPPORTED_BODY_HEADERS[name]
                    for name in unsupported_body_headers(route.method)
                },
                **error,
            }
        # a route that takes no body reads one sent anyway, to refuse it: it can be too large
        responses.setdefault(
            "413", {"description": f"the request body is over {MAX_BODY_BYTES} bytes", **error}
        )
        for response in responses.values():
            response["headers"] = {**_ANSWER_HEADERS, **response.get("headers", {})}
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": api.title, "version": api.version, "description": _OPEN_RESPONSES},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "security": [{"bearer": []}],
    }
