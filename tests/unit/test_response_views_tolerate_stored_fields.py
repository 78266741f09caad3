"""Response views are read back from stored documents, which a later version of a BFF may
have written with a field this one does not know (it was rolled back): every model a view
nests leaves such a field out of the answer rather than refusing it with a 500."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Iterator

from pydantic import BaseModel

from shared.api_models import ResponseView
from shared.system import load_subsystems


def response_views() -> Iterator[type[ResponseView]]:
    for app in load_subsystems():
        package = importlib.import_module(app.name)
        for module in pkgutil.walk_packages(package.__path__, f"{app.name}."):
            for value in vars(importlib.import_module(module.name)).values():
                if inspect.isclass(value) and issubclass(value, ResponseView):
                    yield value


def nested_models(annotation: object, seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    for argument in typing.get_args(annotation):
        yield from nested_models(argument, seen)
    model = annotation if inspect.isclass(annotation) else None
    if model is not None and issubclass(model, BaseModel) and model not in seen:
        seen.add(model)
        yield model
        for field in model.model_fields.values():
            yield from nested_models(field.annotation, seen)


def test_there_are_views_to_check() -> None:
    assert len({view for view in response_views() if view is not ResponseView}) > 20


def test_no_view_nests_a_model_that_refuses_unknown_fields() -> None:
    refusing = {
        f"{view.__module__}.{view.__name__} -> {model.__name__}"
        for view in response_views()
        for model in nested_models(view, set())
        if model.model_config.get("extra") == "forbid"
    }
    assert refusing == set()
