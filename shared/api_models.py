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
``model_config = ConfigDict(strict=True)`` in a subclass. A query string's numbers and
yes-or-no values are :data:`QueryInt` and :data:`QueryBool`: written one way only.
:class:`CursorQuery` is the query string of every paged list (:mod:`shared.stores.paging`),
:class:`PageQuery` that of one newest first.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from shared.stores.paging import LATEST_STAMP_MS, MAX_TOKEN_LENGTH, Cursor, PageToken

PAGE_LIMIT = 20
"""How many documents a paged list holds when ``?limit=`` is left out."""
MAX_PAGE_LIMIT = 100
"""The largest ``?limit=`` a paged list accepts."""


def _digits(value: object) -> object:
    """A query value as a whole number is written: decimal digits (surrounding blanks
    trimmed); ``1.0``, ``1_0``, ``+1`` or ``1e2`` are refused rather than read as one."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not (text.isascii() and text.isdecimal()):
        raise PydanticCustomError("int_parsing", "Input should be a whole number in digits")
    return text


def _true_or_false(value: object) -> object:
    """A query value as yes or no is written: ``true`` or ``false`` (surrounding blanks
    trimmed); ``yes``, ``1`` or ``on`` are refused rather than guessed at."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text not in ("true", "false"):
        raise PydanticCustomError("bool_parsing", "Input should be true or false")
    return text == "true"


QueryInt = Annotated[int, BeforeValidator(_digits)]
"""A whole number in a query string: decimal digits only."""
QueryBool = Annotated[bool, BeforeValidator(_true_or_false)]
"""Yes or no in a query string: ``true`` or ``false`` only."""


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
    """A response body, often built from a stored document whose other fields it leaves out.

    Every field is in every answer (``null`` when it has no value), so the OpenAPI document
    lists them all as required, defaults included.
    """

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


STORED = ConfigDict(extra="ignore")
"""The config of a request model nested in a :class:`ResponseView` (an address, a location):
the view is read from a stored document, which may hold a field another version of the API
saved and this one does not know (after a rollback): left out of the answer, not a 500."""


class CursorQuery(QueryString):
    """A paged list's ``?limit=`` (documents per page, at most) and ``?after=`` (the ``next``
    of the page before, an opaque token: :class:`shared.stores.paging.Cursor`); any other
    query parameter is refused."""

    limit: QueryInt = Field(default=PAGE_LIMIT, ge=1, le=MAX_PAGE_LIMIT)
    """How many to list per page at most, 20 unless given (up to 100)."""
    after: str | None = Field(default=None, max_length=MAX_TOKEN_LENGTH)
    """The ``next`` of the page before (an opaque token): lists only those after where that
    page stopped. Left out: the first page."""

    @field_validator("after")
    @classmethod
    def _a_token_this_list_gave(cls, after: str | None) -> str | None:
        """Refuse (400) a token that is no ``next`` of a list; keep the place it stands for."""
        return None if after is None else PageToken.read(after)

    def cursor(self) -> Cursor | None:
        """Where the page starts: after the place ``after`` stands for; the first page
        without it."""
        if self.after is None:
            return None
        if isinstance(self.after, PageToken):  # as validated: read once
            return self.after.cursor
        return Cursor.from_token(self.after)  # set without validation


class PageQuery(CursorQuery):
    """A list's query string, newest first: ``?limit=``, ``?after=`` (the ``next`` of the page
    before) and, instead of ``after``, ``?before=`` (a time: the page starts with those
    stamped strictly earlier); any other query parameter is refused."""

    # the bounds before the digits' check, so that the schema states them as minimum and
    # maximum (after it, pydantic writes them as "ge" and "le", which JSON Schema ignores)
    before: Annotated[int, Field(ge=0, le=LATEST_STAMP_MS), BeforeValidator(_digits)] | None = None
    """Instead of ``after``: a time in epoch milliseconds (UTC); the page starts with those
    whose time, the one the list is sorted by, is strictly earlier. (Before ``next`` became
    a token, it was such a time, sent back as ``before``; a client holding one may still
    send it.) Left out, with ``after``: the first page, the newest."""

    @field_validator("before", mode="before")
    @classmethod
    def _a_time(cls, before: object) -> object:
        """A page's ``next`` sent as ``before`` is refused, pointing to ``after``."""
        if not isinstance(before, str):
            return before
        try:
            Cursor.from_token(before.strip())
        except ValueError:
            return before  # refused, if it is no time, as any other number in a query
        raise PydanticCustomError(
            "token_as_before",
            "before takes a time in epoch milliseconds; send a page's next as ?after=",
        )

    @field_validator("before")
    @classmethod
    def _not_with_after(cls, before: int | None, info: ValidationInfo) -> int | None:
        """Refuse (400) ``before`` beside ``after``: both say where the page starts."""
        if before is not None and info.data.get("after") is not None:
            raise ValueError("give after (the next of the page before) or before, not both")
        return before

    def cursor(self) -> Cursor | None:
        """Where the page starts: after the place ``after`` stands for, or before every
        document stamped ``before``; the first page without either."""
        if self.before is not None:
            return Cursor.before(self.before)
        return super().cursor()
