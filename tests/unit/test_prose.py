"""Docstrings as published prose: roles and literals as CommonMark code, sentences whole."""

from __future__ import annotations

from shared.prose import first_sentence, prose


def test_a_role_with_an_explicit_title_shows_the_title() -> None:
    text = prose("Set by :attr:`Contract.ATTRIBUTES <shared.contracts.Contract.ATTRIBUTES>`.")
    assert text == "Set by `Contract.ATTRIBUTES`."


def test_a_role_without_a_title_shows_the_last_part_of_the_name() -> None:
    assert prose("A :class:`~shared.money.Money` and ``cents``.") == "A `Money` and `cents`."


def test_an_abbreviation_does_not_end_the_first_sentence() -> None:
    summary = first_sentence("The order's dishes, e.g. Pizza or Pasta. Each with a price.")
    assert summary == "The order's dishes, e.g. Pizza or Pasta."
    assert first_sentence("Placed, i.e. Paid for. Then cooked.") == "Placed, i.e. Paid for."


def test_the_first_sentence_ends_at_the_first_full_stop() -> None:
    assert first_sentence("An order was placed. Customer sends it.") == "An order was placed."
