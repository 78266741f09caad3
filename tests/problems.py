"""What tests of the BFFs read a refusal by: its members as they were before refusals were
problem details (RFC 9457), once the problem details themselves are checked."""

from __future__ import annotations

from typing import Any

from werkzeug.test import TestResponse

from shared.api import PROBLEM_JSON, PROBLEM_TYPE, status_title

STANDARD = ("type", "title", "status", "detail")
"""The members RFC 9457 defines that every refusal of the kit has."""


def refusal(answer: TestResponse) -> dict[str, Any]:
    """``answer``'s body without its standard problem details members (``error``, ``fields``
    and any other extension member), after asserting that it is a refusal in problem details:
    sent as ``application/problem+json``, of ``type`` ``about:blank``, titled with its status's
    phrase, its ``status`` the answer's and its ``detail`` its ``error``."""
    assert answer.headers.get("Content-Type") == PROBLEM_JSON, answer.headers
    body = answer.get_json()
    assert isinstance(body, dict), body
    assert {name: body.get(name) for name in STANDARD} == {
        "type": PROBLEM_TYPE,
        "title": status_title(answer.status_code),
        "status": answer.status_code,
        "detail": body.get("error"),
    }, body
    return {name: value for name, value in body.items() if name not in STANDARD}
