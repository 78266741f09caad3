"""Readers are tolerant: a producer's compatible change cannot make them refuse events."""

from __future__ import annotations

import enum
import typing
from typing import Any, Literal

from shared.contracts import Reader
from shared.system import load_subsystems


def _readers() -> list[type[Reader]]:
    load_subsystems()  # imports every ingress and its readers
    found, pending = [], list(Reader.__subclasses__())
    while pending:
        reader = pending.pop()
        found.append(reader)
        pending += reader.__subclasses__()
    return found


def _closed(annotation: Any) -> bool:
    """Whether the annotation admits only a fixed set of values (a Literal or an Enum)."""
    if typing.get_origin(annotation) is Literal:
        return True
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return True
    return any(_closed(arg) for arg in typing.get_args(annotation))


def test_no_reader_closes_a_field_the_producer_may_add_values_to() -> None:
    readers = _readers()
    assert len(readers) > 10  # every subsystem's readers were found
    closed = [
        f"{reader.__module__}.{reader.__name__}.{name}"
        for reader in readers
        for name, field in reader.model_fields.items()
        if _closed(field.annotation)
    ]
    assert closed == [], "read these as str and skip unknown values with shared.contracts.knows"
