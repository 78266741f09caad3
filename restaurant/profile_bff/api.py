"""The profile BFF's HTTP API: staff keep their restaurant's profile and menu."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.profile_bff.models import (
    MENUS,
    RESTAURANTS,
    Menu,
    MenuView,
    Profile,
    ProfileView,
)
from restaurant.profile_bff.rules import menu_problems, profile_problems
from shared.api import HttpApi, HttpError
from shared.stores.document_rules import same_value
from shared.stores.revisions import REVISION, content_of, counted

if TYPE_CHECKING:
    import flask
    from pydantic import BaseModel

    from restaurant.ports import RestaurantPorts
    from shared.auth import Principal
    from shared.stores import AbstractDocumentStore, Doc


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
        refusals={409: "saved since the revision the edit names"},
    )
    def put_profile(caller: Principal, body: Profile, restaurant_id: str) -> ProfileView:
        """Create or replace the restaurant's profile (refused if it was saved since the
        ``revision`` the edit names)."""
        _require_staff_of(caller, restaurant_id)
        _refuse(profile_problems(body))
        fields = body.model_dump(exclude={"revision"})
        saved = ProfileView.model_validate({**fields, "id": restaurant_id})
        written = _save(store, RESTAURANTS, restaurant_id, saved, body.revision, "profile")
        return ProfileView.model_validate(written)

    @api.route(
        "GET",
        "/restaurants/{restaurant_id}",
        actors={"staff"},
        response=ProfileView,
        refusals={404: "no profile yet"},
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
        refusals={409: "no profile yet, or saved since the revision the edit names"},
    )
    def put_menu(caller: Principal, body: Menu, restaurant_id: str) -> MenuView:
        """Replace the restaurant's whole menu (refused if it was saved since the ``revision``
        the edit names)."""
        _require_staff_of(caller, restaurant_id)
        _refuse(menu_problems(body))
        if store.get(RESTAURANTS, restaurant_id) is None:
            raise HttpError(
                409, f"restaurant {restaurant_id} has no profile yet: PUT it before its menu"
            )
        fields = body.model_dump(exclude={"revision"})
        saved = MenuView.model_validate({**fields, "restaurant_id": restaurant_id})
        written = _save(store, MENUS, restaurant_id, saved, body.revision, "menu")
        return MenuView.model_validate(written)

    @api.route(
        "GET",
        "/restaurants/{restaurant_id}/menu",
        actors={"staff"},
        response=MenuView,
        refusals={404: "no menu yet"},
    )
    def get_menu(caller: Principal, restaurant_id: str) -> MenuView:
        """Read the restaurant's menu."""
        _require_staff_of(caller, restaurant_id)
        doc = store.get(MENUS, restaurant_id)
        if doc is None:
            raise HttpError(404, f"restaurant {restaurant_id} has no menu yet")
        return MenuView.model_validate(doc)

    return api.flask_app()


def _save(
    store: AbstractDocumentStore,
    collection: str,
    key: str,
    saved: BaseModel,
    expected: int | None,
    what: str,
) -> Doc:
    """Save ``saved`` (as its next revision if it changed anything) and return what is stored;
    409 when ``expected`` is given and is not the revision stored (0: nothing stored), unless
    what is stored is ``saved`` already (the same PUT again, e.g. retried after a lost answer).
    """
    document = saved.model_dump(mode="json", by_alias=True, exclude={REVISION})
    stored: list[int | None] = []

    def write(current: Doc | None) -> Doc | None:
        revision = 0 if current is None else current.get(REVISION)
        stored[:] = [revision]
        if expected is None or revision == expected:
            return document
        already = current is not None and same_value(content_of(current), document)
        return document if already else None

    written = store.update(collection, key, counted(write))
    if written is None:
        now = "null" if stored[0] is None else stored[0]  # saved before saves were counted
        raise HttpError(
            409,
            f"the {what} was saved since revision {expected} (it is at revision {now}): "
            "read it again and make the change to it",
            {REVISION: f"is {now}, not {expected}"},
        )
    return written


def _refuse(problems: dict[str, str]) -> None:
    """A 400 naming each field's problem, if there is any."""
    if problems:
        details = "; ".join(f"{field}: {problem}" for field, problem in problems.items())
        raise HttpError(400, f"invalid request: {details}", problems)


def _require_staff_of(caller: Principal, restaurant_id: str) -> None:
    if caller.restaurant != restaurant_id:
        raise HttpError(
            403, f"staff of restaurant {caller.restaurant} may not manage {restaurant_id}"
        )
