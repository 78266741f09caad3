"""One spelling of a cuisine: the tag customers filter restaurants by."""

from __future__ import annotations


def cuisine_tag(cuisine: str) -> str:
    """``cuisine`` without surrounding blanks, in lower case: ``" Italian "`` is ``italian``.

    Restaurant publishes cuisines so since it normalised them, but a profile saved
    before may still be published as it was; the ingress, the browse view and the
    ``?cuisine=`` filter all spell a cuisine with this, so they always meet.
    """
    return cuisine.strip().lower()
