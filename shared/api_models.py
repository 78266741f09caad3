"""The bases of a BFF's pydantic models: what every request body, query and response shares.

A BFF's models derive from these rather than from ``BaseModel``, so every API
speaks the same wire format::

    class CartRequest(RequestBody):
        restaurant_id: str = Field(min_length=1)
        \"\"\"The restaurant whose dishes the cart holds.\"\"\"

* camelCase on the wire (``restaurantId``); the Python name is accepted too;
* a field's docstring (the string literal under it) is its description in the
  OpenAPI document (:mod:`shared.openapi`), as the class docstring is the model's;
* what a client sends (:class:`RequestBody`, :class:`QueryString`) refuses
  unknown fields, so a misspelt one is a 400 rather than silently ignored, and
  has surrounding blanks trimmed from its strings;
* what a BFF answers (:class:`ResponseView`) is built from stored documents:
  fields of the document it does not name (bookkeeping) are left out.

A BFF narrows these where it must, e.g. strict types on its bodies with
``model_config = ConfigDict(strict=True)`` in a subclass.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class _WireModel(BaseModel):
    """camelCase on the wire, Python names accepted, field docstrings as descriptions."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, use_attribute_docstrings=True
    )


class RequestBody(_WireModel):
    """A request body: no unknown fields, surrounding blanks trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class QueryString(_WireModel):
    """A query string (``?name=value``): no unknown parameters, surrounding blanks trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseView(_WireModel):
    """A response body, often built from a stored document whose other fields it leaves out."""
