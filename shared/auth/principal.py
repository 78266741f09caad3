"""Who is calling: the :class:`Principal` a token's claims name, and the auth errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from shared.exceptions import KitError
from shared.stores.document_rules import id_problem

Actor = Literal["customer", "driver", "staff"]
"""Who may call the BFFs: the one list of actors (tokens' ``actor`` claim, routes' callers)."""
ACTORS: tuple[Actor, ...] = get_args(Actor)
MAX_ID_CHARS = 128
"""The longest subject or restaurant id: Identity Platform's limit for a user id (uid)."""


class AuthError(KitError):
    """The request's credentials are missing or invalid (HTTP 401)."""


class MissingToken(AuthError):
    """The request carries no bearer token (HTTP 401 whose challenge names no error)."""


class NoRole(KitError):
    """The token is valid, but its account has no role the system serves (HTTP 403).

    Its ``actor`` claim is missing (a user who signed up before the claims were set)
    or is not one of :data:`ACTORS`, or its role is set up wrong: a staff account
    names no restaurant (or one that cannot be an id), a customer or driver account
    names one. Not an :class:`AuthError`: a new token of the same account would
    carry the same claims, so a 401, which makes clients sign in again, would only
    make them loop.
    """


class VerifierUnavailable(KitError):
    """Tokens cannot be checked right now, e.g. the signing keys cannot be fetched (HTTP 503).

    ``retry_after_s``: when checking may work again, if the verifier knows (``None``: it
    does not, the API's default applies).
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    actor: Actor
    subject: str
    restaurant: str | None = None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        """Read the kit's claims (``sub``, ``actor``, optional ``restaurant``).

        The subject and the restaurant become document ids: the subject must pass
        :func:`subject_problem`, the restaurant :func:`is_name`; only a staff token
        names a restaurant, and it must. A subject that cannot name a caller is an
        :class:`AuthError`; a token naming a valid subject but no actor, another
        one, or a restaurant that does not fit its actor is :class:`NoRole`.
        """
        actor, subject = claims.get("actor"), claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthError("token has no subject")
        problem = subject_problem(subject)
        if problem is not None:
            raise AuthError(f"the token's subject cannot name a caller: {problem}")
        if actor is None:
            raise NoRole(
                "the account has no role yet (its token has no 'actor' claim); "
                "once it is given one, get a new ID token"
            )
        if actor not in ACTORS:
            raise NoRole(
                f"the account's role (its token's 'actor' claim) is not one of {', '.join(ACTORS)}"
            )
        restaurant = claims.get("restaurant")
        if actor != "staff":
            if restaurant is not None:
                raise NoRole(
                    f"the account's role is set up wrong: only staff tokens name a "
                    f"'restaurant', not a {actor}'s"
                )
            return cls(actor, subject)
        if not isinstance(restaurant, str) or not is_name(restaurant):
            raise NoRole(
                "the account's role is set up wrong: a staff token must name its 'restaurant' "
                "(one id); once it does, get a new ID token"
            )
        return cls(actor, subject, restaurant)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header (the scheme in any case, spaces
    before the token), or :class:`MissingToken`.

    A header whose credentials are not one token (RFC 6750's ``b64token``) is an
    :class:`AuthError` saying so: several tokens, or several ``Authorization`` headers,
    which the server joins with commas.
    """
    if not authorization:
        raise MissingToken("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise MissingToken("the Authorization header must be 'Bearer <token>'")
    if "," in token:
        raise AuthError("send one Authorization header, with one bearer token")
    if not _B64TOKEN.fullmatch(token):
        raise AuthError(
            "the Authorization header must be 'Bearer <token>': one token, "
            "of letters, digits and -._~+/ (then any '=')"
        )
    return token


_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
"""A bearer token (RFC 6750, section 2.1: ``b64token``); a JWT is one."""


def subject_problem(subject: str) -> str | None:
    """Why ``subject`` cannot name a caller, or ``None`` when it can.

    A subject is the identity provider's user id, taken as it is: Identity Platform
    uids are any 1 to :data:`MAX_ID_CHARS` characters, and custom ones often hold
    ``@``, ``:``, ``|``, ``.`` or spaces (``alice@example.com``, ``github:583231``).
    The BFFs key the caller's documents by it (``accounts/{subject}``), so it must be
    a Firestore document id (:func:`~shared.stores.document_rules.id_problem`: no
    ``/``, not ``.``, ``..`` or ``__x__``); and since it reaches logs and error
    messages, it must be printable (no control, format or line-separator characters)
    with no blank at either end.
    """
    problem = id_problem(subject)
    if problem is not None:
        return problem
    if len(subject) > MAX_ID_CHARS:
        return f"it is longer than {MAX_ID_CHARS} characters"
    if not subject.isprintable():
        return "it holds a control, format or separator character"
    if subject.strip() != subject:
        return "it starts or ends with a blank"
    return None


_NAME = re.compile(r"[^\s:@/]{1,128}")
"""A restaurant id: no whitespace, no ``/`` (it would be a path in the document store), no
``:`` or ``@`` (they separate the parts of the ``token`` command's identities), at most
:data:`MAX_ID_CHARS` characters."""
_RESERVED = re.compile(r"\.{1,2}|__.*__")
"""Ids the document store keeps for itself."""


def is_name(value: str) -> bool:
    """Whether ``value`` may be a restaurant id.

    Stricter than a token's subject (:func:`subject_problem`): these are the system's own
    ids, and ``:`` and ``@`` separate the parts of a :func:`parse_identity` identity.
    """
    return bool(_NAME.fullmatch(value)) and not _RESERVED.fullmatch(value)


def parse_identity(spec: str) -> Principal:
    """Parse ``ACTOR:SUBJECT``, or ``staff:SUBJECT@RESTAURANT`` for a restaurant's staff.

    For example ``customer:alice``, ``customer:alice@example.com``, ``driver:dan``,
    ``staff:sam@r-1`` (staff of restaurant r-1) or ``staff:sam@example.com@r-1``. The
    actor ends at the first ``:``; a staff identity's restaurant follows its last ``@``.
    The subject is any a token may carry (:func:`subject_problem`), ``:`` and ``@``
    included; the restaurant must be one id (:func:`is_name`). Anything else is an
    :class:`AuthError` saying what is wrong.
    """
    actor, colon, rest = spec.partition(":")
    if not colon or actor not in ACTORS:
        raise AuthError(
            f"identity {spec!r} must look like customer:alice or staff:sam@r-1: "
            f"an actor ({', '.join(ACTORS)}), a ':' and a name"
        )
    subject: str = rest
    restaurant: str | None = None
    if actor == "staff":
        subject, at, place = rest.rpartition("@")
        if not at:
            raise AuthError(f"identity {spec!r}: staff need their restaurant, like staff:sam@r-1")
        if not is_name(place):
            raise AuthError(
                f"identity {spec!r}: the restaurant after the last '@' must be one id, "
                "like staff:sam@r-1"
            )
        restaurant = place
    if not subject:
        raise AuthError(f"identity {spec!r} names no one: give a name, like {actor}:alice")
    problem = subject_problem(subject)
    if problem is not None:
        raise AuthError(f"identity {spec!r}: {subject!r} cannot be a token's subject: {problem}")
    return Principal(actor, subject, restaurant)
