"""The bases of BFF models: one wire format for bodies, query strings and responses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.api_models import PageQuery, QueryString, RequestBody, ResponseView
from shared.stores.paging import Cursor


class Rename(RequestBody):
    display_name: str
    """What others see."""


class Search(QueryString):
    near_by: str | None = None


class Shown(ResponseView):
    display_name: str
    """What others see."""


def test_a_request_body_is_camel_case_trimmed_and_refuses_unknown_fields():
    assert Rename.model_validate({"displayName": "  Ada "}).display_name == "Ada"
    assert Rename(display_name="Ada").model_dump(by_alias=True) == {"displayName": "Ada"}
    with pytest.raises(ValidationError, match="extra"):
        Rename.model_validate({"displayName": "Ada", "role": "admin"})


def test_a_query_string_is_camel_case_trimmed_and_refuses_unknown_parameters():
    assert Search.model_validate({"nearBy": " 1,2 "}).near_by == "1,2"
    with pytest.raises(ValidationError, match="extra"):
        Search.model_validate({"nearby": "1,2"})


def test_a_response_view_leaves_out_what_it_does_not_name():
    shown = Shown.model_validate({"displayName": " Ada ", "bookkeeping": 7})
    assert shown.model_dump(by_alias=True) == {"displayName": " Ada "}


@pytest.mark.parametrize("model", [Rename, Shown])
def test_a_fields_docstring_is_its_description(model):
    schema = model.model_json_schema(by_alias=True)
    assert schema["properties"]["displayName"]["description"] == "What others see."


def test_a_page_query_is_a_query_string_whose_parameters_say_what_they_do():
    assert issubclass(PageQuery, QueryString)
    query = PageQuery.model_validate({"limit": " 5 ", "before": "1767225600000"})
    assert (query.limit, query.before) == (5, 1_767_225_600_000)
    assert (PageQuery().limit, PageQuery().before) == (20, None)
    with pytest.raises(ValidationError, match="extra"):
        PageQuery.model_validate({"limit": "5", "offset": "1"})
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        PageQuery.model_validate({"limit": "101"})
    properties = PageQuery.model_json_schema(by_alias=True)["properties"]
    assert sorted(properties) == ["after", "before", "limit"]
    assert all(prop["description"] for prop in properties.values())


def test_a_page_query_starts_after_a_token_or_before_a_time_never_both():
    token = Cursor(1_767_225_600_000, "o-1").token()
    assert PageQuery.model_validate({"after": token}).cursor() == Cursor(1_767_225_600_000, "o-1")
    assert PageQuery.model_validate({"before": "5"}).cursor() == Cursor.before(5)
    assert PageQuery().cursor() is None
    with pytest.raises(ValidationError, match="not a page token") as refused:
        PageQuery.model_validate({"after": "1767225600000"})
    assert [error["loc"] for error in refused.value.errors()] == [("after",)]
    with pytest.raises(ValidationError, match="not both") as refused:
        PageQuery.model_validate({"after": token, "before": "5"})
    assert [error["loc"] for error in refused.value.errors()] == [("before",)]
    with pytest.raises(ValidationError, match=r"send a page's next as \?after="):
        PageQuery.model_validate({"before": token})
