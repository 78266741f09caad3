"""Who is calling: the :class:`Principal` a token's claims name, and the auth errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from shared.exceptions import KitError

Actor = Literal["customer", "driver", "staff"]
ACTORS: tuple[Actor, ...] = ("customer", "driver", "staff")


class AuthError(KitError):
    """The request's credentials are missing or invalid (HTTP 401)."""


class VerifierUnavailable(KitError):
    """Tokens cannot be checked right now, e.g. the signing keys cannot be fetched (HTTP 503)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    actor: Actor
    subject: str
    restaurant: str | None = None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        """Read the kit's claims (``sub``, ``actor``, optional ``restaurant``).

        The subject and the restaurant become document ids, so each must be one
        :func:`is_name`; only a staff token names a restaurant, and it must.
        """
        actor, subject = claims.get("actor"), claims.get("sub")
        if actor not in ACTORS:
            raise AuthError(f"token has no valid 'actor' claim (one of {', '.join(ACTORS)})")
        if not isinstance(subject, str) or not subject:
            raise AuthError("token has no subject")
        if not is_name(subject):
            raise AuthError("the token's subject cannot name a caller")
        restaurant = claims.get("restaurant")
        if actor != "staff":
            if restaurant is not None:
                raise AuthError(f"only staff tokens name a 'restaurant', not a {actor}'s")
            return cls(actor, subject)
        if not isinstance(restaurant, str) or not is_name(restaurant):
            raise AuthError("a staff token must name its 'restaurant'")
        return cls(actor, subject, restaurant)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header, or :class:`AuthError`."""
    if not authorization:
        raise AuthError("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    return token.strip()


_NAME = re.compile(r"[^\s:@/]{1,128}")
"""A subject or restaurant id: no whitespace, no ``/`` (it would be a path in the document
store), neither separator (``:`` or ``@``), at most 128 characters (Identity Platform's limit)."""
_RESERVED = re.compile(r"\.{1,2}|__.*__")
"""Ids the document store keeps for itself."""


def is_name(value: str) -> bool:
    """Whether ``value`` may be a caller's subject or a restaurant id (see :data:`_NAME`)."""
    return bool(_NAME.fullmatch(value)) and not _RESERVED.fullmatch(value)


def parse_identity(spec: str) -> Principal:
    """Parse ``ACTOR:NAME``, or ``staff:NAME@RESTAURANT`` for a restaurant's staff.

    For example ``customer:alice``, ``driver:dan`` or ``staff:sam@r-1`` (staff
    of restaurant r-1). Only staff belong to a restaurant, and neither the name
    nor the restaurant may contain ``:``, ``@``, ``/`` or whitespace.
    """
    actor, _, rest = spec.partition(":")
    subject, at, restaurant = rest.partition("@")
    if actor not in ACTORS or not is_name(subject):
        raise AuthError(f"identity {spec!r} must look like customer:alice or staff:sam@r-1")
    if actor != "staff" and at:
        raise AuthError(f"only staff have a restaurant: {actor}:{subject}, not {spec!r}")
    if actor == "staff" and not restaurant:
        raise AuthError("a staff identity needs its restaurant: staff:sam@r-1")
    if actor == "staff" and not is_name(restaurant):
        raise AuthError(f"identity {spec!r}: the restaurant must be one id, like staff:sam@r-1")
    return Principal(actor, subject, restaurant or None)
