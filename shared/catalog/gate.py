"""The compatibility gate: compare what the code publishes with what is committed.

* a committed schema whose major version is still published must not be
  broken by the current contract (:func:`shared.compat.breaking_changes`);
* a committed major version that nobody publishes any more is an error until
  its schema file is deleted, on purpose;
* every generated file must equal the committed one (stale otherwise);
* a committed schema that is not readable JSON is reported, never compared.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.catalog import asyncapi, markdown, mermaid
from shared.catalog.inventory import Published, inventory
from shared.catalog.schemas import SCHEMAS_DIR, parse_schema_file, render_json, schema_of
from shared.compat import breaking_changes
from shared.runtime.app import SubsystemApp

EXPORT_COMMAND = "fooddelivery contracts export"


def generate(apps: Sequence[SubsystemApp[Any]]) -> dict[str, str]:
    """Every generated file, by its path inside the contracts directory."""
    events = inventory(apps)
    diagram = mermaid.render(apps, events)
    files = {f"{SCHEMAS_DIR}/{e.key}.json": render_json(schema_of(e)) for e in events}
    files["asyncapi.yaml"] = asyncapi.render(events)
    files["topology.mmd"] = diagram
    files["README.md"] = markdown.render(events, diagram)
    return files


@dataclass
class Report:
    """What ``contracts check`` found.

    Breaking changes, retired versions, unreadable committed schemas and stale
    files.
    """

    breaking: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not (self.breaking or self.retired or self.stale or self.unreadable)

    def lines(self) -> list[str]:
        """The findings as messages a developer can act on.

        After a breaking change the stale files are left out: exporting is not
        the way out, bumping the major version is (and the export after it
        rewrites them).
        """
        out = [*self.unreadable, *self.breaking, *self.retired]
        if not self.breaking:
            out += [f"{path} is stale: run `{EXPORT_COMMAND}`" for path in self.stale]
        return out


def check(apps: Sequence[SubsystemApp[Any]], root: Path) -> Report:
    """Compare the generated files with those committed under ``root``."""
    events = {(e.type, e.version): e for e in inventory(apps)}
    report = Report()
    unreadable: set[str] = set()
    for path in sorted((root / SCHEMAS_DIR).glob("*.json")):
        identity = parse_schema_file(path.name)
        if identity is None:
            continue
        event = events.get(identity)
        if event is None:
            report.retired.append(_retired(identity, path))
            continue
        shown = f"{root.name}/{SCHEMAS_DIR}/{path.name}"
        try:
            committed = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(committed, dict):
                raise TypeError("not a JSON object")
            generated = schema_of(event)
            changes = [str(c) for c in breaking_changes(committed, generated)]
            changes += _renamed_payload(committed, generated)
        except (OSError, ValueError, LookupError, TypeError, AttributeError) as e:
            report.unreadable.append(_unreadable(shown, e))
            unreadable.add(shown)
            continue
        for change in changes:
            report.breaking.append(_breaking(event, change))
    for name, text in generate(apps).items():
        target, shown = root / name, f"{root.name}/{name}"
        if shown not in unreadable and _committed_text(target) != text:
            report.stale.append(shown)
    return report


def export(apps: Sequence[SubsystemApp[Any]], root: Path) -> list[str]:
    """Write every generated file under ``root``; returns the paths that changed."""
    changed: list[str] = []
    for name, text in generate(apps).items():
        target = root / name
        if _committed_text(target) == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(f"{root.name}/{name}")
    return changed


def _renamed_payload(committed: dict[str, Any], generated: dict[str, Any]) -> list[str]:
    """The payload's envelope field (``x-entity``) is part of the contract on the wire."""
    was, now = committed.get("x-entity"), generated.get("x-entity")
    if was is not None and now is not None and was != now:
        return [f"$: entity-renamed: the payload travels under {now!r}, not {was!r}"]
    return []


def _breaking(event: Published, change: str) -> str:
    v = event.version
    return f"{event.type} v{v}: {change} (bump the major version: publish v{v + 1} beside v{v})"


def _committed_text(path: Path) -> str | None:
    """The committed file's text, or ``None`` when there is no readable text file."""
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


def _unreadable(shown: str, error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        problem = f"is not valid JSON ({error.msg}, line {error.lineno} column {error.colno})"
    elif isinstance(error, OSError):
        problem = f"cannot be read ({error.strerror or error})"
    elif isinstance(error, UnicodeDecodeError):
        problem = "is not UTF-8 text"
    else:
        problem = "is not a JSON Schema the gate can compare"
    return (
        f"{shown} {problem}: restore it from version control "
        "(the gate cannot compare it with the contract)"
    )


def _retired(identity: tuple[str, int], path: Path) -> str:
    event_type, version = identity
    return (
        f"{event_type} v{version}: committed but no longer published; consumers may still "
        f"read it: publish it again, or delete {path.parent.name}/{path.name} once no "
        "consumer reads it"
    )
