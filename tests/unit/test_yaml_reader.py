"""``from_yaml`` reads back exactly what ``to_yaml`` writes, as a YAML reader would."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from shared.catalog.yamltext import from_yaml, to_yaml
from tests.contract_pairs.conftest import CONTRACTS

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_what_the_writer_writes_reads_back(value: Any) -> None:
    assert from_yaml(to_yaml(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        {"a": "1", "b": [1, 2.5, True, None], "c": {}, "d": []},
        {"$ref": "#/x", "key with space": "yes", "no": "no", "multi": "a\nb: c", "-": "-"},
        [{"x": [{"y": "z"}]}, "- not a list", [[1], []], {"k": [["a"]]}],
        '"quoted": not a key',
        {},
        [],
    ],
)
def test_it_reads_as_a_yaml_reader_does(value: Any) -> None:
    text = to_yaml(value)
    assert from_yaml(text) == yaml.safe_load(text) == value


def test_the_committed_asyncapi_document_reads_as_a_yaml_reader_reads_it() -> None:
    text = (CONTRACTS / "asyncapi.yaml").read_text(encoding="utf-8")
    assert from_yaml(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no YAML value: the text is empty"),
        ("a: [1, 2\n", "line 1: not a JSON scalar: '[1, 2'"),
        ("a:\n  b: 1\n c: 2\n", "line 3: unexpected indentation"),
        ("a: 1\n  b: 2\n", "line 2: unexpected indentation"),
        ("a: plain words\n", "line 1: not a JSON scalar: 'plain words'"),
        ("a:\n", "line 2: a value indented by 2 expected"),
    ],
)
def test_other_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        from_yaml(text)
