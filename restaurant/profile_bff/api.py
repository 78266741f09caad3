"""The profile BFF's HTTP API: staff keep their restaurant's profile and menu."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from restaurant.profile_bff.models import (
    MENUS,
    RESTAURANTS,
    Menu,
    MenuView,
    Profile,
    ProfileView,
    saved_tag,
)
from restaurant.profile_bff.rules import menu_problems, profile_problems
from shared.api import HttpApi, HttpError, IfMatch, echoed, entity_tag, if_match
from shared.stores.document_rules import same_value
from shared.stores.revisions import REVISION, content_of, counted

if TYPE_CHECKING:
    import flask
    from pydantic import BaseModel

    from restaurant.ports import RestaurantPorts
    from shared.auth import Principal
    from shared.stores import AbstractDocumentStore, Doc

CHANGED_SINCE = (
    "`If-Match` names another revision than the one stored (a colleague saved since it was "
    "read), or there is none stored yet: nothing is saved"
)


def http_app(ports: RestaurantPorts) -> flask.Flask:
    """The Flask app serving the profile and menu routes."""
    api = HttpApi("Restaurant profile", ports.verifier, store=ports.store)
    store = ports.store

    @api.route(
        "PUT",
        "/restaurants/{restaurant_id}",
        actors={"staff"},
        body=Profile,
        response=ProfileView,
        refusals={409: "saved since the revision the edit names", 412: CHANGED_SINCE},
        etag=saved_tag,
    )
    def put_profile(caller: Principal, body: Profile, restaurant_id: str) -> ProfileView:
        """Create or replace the restaurant's profile (refused if it was saved since the
        ``revision`` the edit names, or since the ``ETag`` its ``If-Match`` names)."""
        _require_staff_of(caller, restaurant_id)
        _refuse(profile_problems(body))
        fields = body.model_dump(exclude={"revision"})
        saved = ProfileView.model_validate({**fields, "id": restaurant_id})
        condition = _Condition(body.revision, if_match())
        written = _save(store, RESTAURANTS, restaurant_id, saved, condition, "profile")
        return ProfileView.model_validate(written)

    @api.route(
        "GET",
        "/restaurants/{restaurant_id}",
        actors={"staff"},
        response=ProfileView,
        refusals={404: "no profile yet"},
        etag=saved_tag,
    )
    def get_profile(caller: Principal, restaurant_id: str) -> ProfileView:
        """Read the restaurant's profile."""
        _require_staff_of(caller, restaurant_id)
        doc = store.get(RESTAURANTS, restaurant_id)
        if doc is None:
            raise HttpError(404, f"restaurant {restaurant_id} has no profile yet")
        return ProfileView.model_validate(doc)

    @api.route(
        "PUT",
        "/restaurants/{restaurant_id}/menu",
        actors={"staff"},
        body=Menu,
        response=MenuView,
        refusals={
            409: "no profile yet, or saved since the revision the edit names",
            412: CHANGED_SINCE,
        },
        etag=saved_tag,
    )
    def put_menu(caller: Principal, body: Menu, restaurant_id: str) -> MenuView:
        """Replace the restaurant's whole menu (refused if it was saved since the ``revision``
        the edit names, or since the ``ETag`` its ``If-Match`` names)."""
        _require_staff_of(caller, restaurant_id)
        _refuse(menu_problems(body))
        if store.get(RESTAURANTS, restaurant_id) is None:
            raise HttpError(
                409, f"restaurant {restaurant_id} has no profile yet: PUT it before its menu"
            )
        fields = body.model_dump(exclude={"revision"})
        saved = MenuView.model_validate({**fields, "restaurant_id": restaurant_id})
        condition = _Condition(body.revision, if_match())
        written = _save(store, MENUS, restaurant_id, saved, condition, "menu")
        return MenuView.model_validate(written)

    @api.route(
        "GET",
        "/restaurants/{restaurant_id}/menu",
        actors={"staff"},
        response=MenuView,
        refusals={404: "no menu yet"},
        etag=saved_tag,
    )
    def get_menu(caller: Principal, restaurant_id: str) -> MenuView:
        """Read the restaurant's menu."""
        _require_staff_of(caller, restaurant_id)
        doc = store.get(MENUS, restaurant_id)
        if doc is None:
            raise HttpError(404, f"restaurant {restaurant_id} has no menu yet")
        return MenuView.model_validate(doc)

    return api.flask_app()


@dataclass(frozen=True, slots=True)
class _Condition:
    """What an edit says it was made from: the body's ``revision`` and the ``If-Match``."""

    revision: int | None
    """The revision named in the body (0: nothing stored); ``None``: none named."""
    tags: IfMatch | None
    """The request's ``If-Match``; ``None``: none sent."""


def _save(
    store: AbstractDocumentStore,
    collection: str,
    key: str,
    saved: BaseModel,
    condition: _Condition,
    what: str,
) -> Doc:
    """Save ``saved`` (as its next revision if it changed anything) and return what is stored,
    unless what is stored is ``saved`` already (the same PUT again, e.g. retried after a lost
    answer): then it is returned as it is, whatever ``condition`` says. Otherwise 412 when
    the ``If-Match`` names no tag of what is stored (:func:`saved_tag`; nothing stored
    matches none), then 409 when the ``revision`` named is not the one stored (0: nothing
    stored); in the same atomic write, so nothing is saved then.
    """
    document = saved.model_dump(mode="json", by_alias=True, exclude={REVISION})
    found: list[Doc | None] = []

    def write(current: Doc | None) -> Doc | None:
        if current is not None and same_value(content_of(current), document):
            return document  # stored already: counted() writes nothing
        _require_match(current, condition.tags, what)
        found[:] = [current]
        revision = 0 if current is None else current.get(REVISION)
        expected = condition.revision
        return document if expected is None or revision == expected else None

    written = store.update(collection, key, counted(write))
    if written is None:  # refused: the body names another revision than the one stored
        _refuse_revision(found[0], condition.revision, what)
    return written


def _refuse_revision(current: Doc | None, expected: int | None, what: str) -> NoReturn:
    """409: the body names revision ``expected``, and ``current`` (what is stored, if
    anything) is at another, or at none: saved before saves were counted (said so, rather
    than "revision null")."""
    again = "read it again and make the change to it"
    if current is None:
        raise HttpError(
            409,
            f"there is no {what} yet, though the edit names revision {expected}: "
            "send revision 0, or none, to save the first one",
            {REVISION: f"is 0 (no {what} saved yet), not {expected}"},
        )
    revision = current.get(REVISION)
    if revision is None:
        raise HttpError(
            409,
            f"the {what} was saved before saves were counted, so it has no revision "
            f"{expected} (its ETag is {entity_tag(saved_tag(current))}): {again}",
            {
                REVISION: f"the stored {what} has none (saved before saves were counted), "
                f"not {expected}"
            },
        )
    raise HttpError(
        409,
        f"the {what} was saved since revision {expected} (it is at revision {revision}): {again}",
        {REVISION: f"is {revision}, not {expected}"},
    )


def _require_match(current: Doc | None, tags: IfMatch | None, what: str) -> None:
    """412 when ``tags`` (the request's ``If-Match``) names no tag of ``current``."""
    if tags is None:
        return
    if current is None:
        raise HttpError(412, f"there is no {what} yet, so If-Match names none: nothing was saved")
    tag = saved_tag(current)
    if not tags.matches(tag):
        raise HttpError(
            412,
            f"the {what} was saved since the revision If-Match names (it is at revision {tag}, "
            f"ETag {entity_tag(tag)}): nothing was saved: read it again and make the change "
            "to it",
        )


def _refuse(problems: dict[str, str]) -> None:
    """A 400 naming each field's problem, if there is any."""
    if problems:
        details = "; ".join(f"{field}: {problem}" for field, problem in problems.items())
        raise HttpError(400, f"invalid request: {details}", problems)


def _require_staff_of(caller: Principal, restaurant_id: str) -> None:
    if caller.restaurant != restaurant_id:
        raise HttpError(
            403,
            f"staff of restaurant {caller.restaurant} may not manage {echoed(restaurant_id)}",
        )
