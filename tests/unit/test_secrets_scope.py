"""A secrets scope ends with its block however the block ends, and gives back the scope
it began in."""

from __future__ import annotations

import pytest

from shared.runtime.secrets import Secret, secrets_scope

KEY = Secret("API_KEY", "customer", {"API_KEY": "k-1", "OTHER_KEY": "k-2"})


def test_a_nested_scope_gives_back_the_outer_one_even_when_its_block_fails() -> None:
    with secrets_scope("outer", ("API_KEY",)):
        with pytest.raises(ZeroDivisionError), secrets_scope("inner", ("OTHER_KEY",)):
            with pytest.raises(KeyError, match="inner reads the secret API_KEY"):
                KEY.reveal()
            _ = 1 / 0
        assert KEY.reveal() == "k-1"
    assert KEY.reveal() == "k-1"


def test_a_scope_in_use_cannot_be_entered_again_but_can_once_left() -> None:
    scope = secrets_scope("f", ())
    with scope:
        with pytest.raises(RuntimeError, match="already in use"), scope:
            pass
        with pytest.raises(KeyError, match="f reads the secret API_KEY"):
            KEY.reveal()
    with scope, pytest.raises(KeyError, match="f reads the secret API_KEY"):
        KEY.reveal()
    assert KEY.reveal() == "k-1"


def test_the_declared_secrets_are_read_when_the_scope_begins() -> None:
    declared = ["OTHER_KEY"]
    scope = secrets_scope("f", declared)
    declared.append("API_KEY")  # as a generator-based scope, which ran on entering
    with scope:
        assert KEY.reveal() == "k-1"
