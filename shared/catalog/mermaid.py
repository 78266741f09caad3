"""The system's topology as a Mermaid flowchart.

Each subsystem is a box with its hubs (``bus`` and ``external`` topics) and
its services; gateways (ESGs) are hexagons. Arrows show the external events:
an egress publishes onto its subsystem's ``external`` topic, and each ingress
reads the versions it selects from a sister subsystem's ``external`` topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.catalog.inventory import Published
from shared.runtime.app import SubsystemApp
from shared.topology.model import ServiceKind

_SHAPES = {
    ServiceKind.ESG: ('{{"', '"}}'),
    ServiceKind.BFF: ('("', '")'),
    ServiceKind.CONTROL: ('[["', '"]]'),
}


def render(apps: Sequence[SubsystemApp[Any]], events: Sequence[Published]) -> str:
    """The Mermaid source (``flowchart LR``), deterministic, ending in a newline."""
    lines = ["flowchart LR"]
    for app in sorted(apps, key=lambda a: a.name):
        name = app.name
        lines.append(f'  subgraph {name}["{name}"]')
        lines.append(f'    {_node(name, "bus")}[("{name} bus")]')
        lines.append(f'    {_node(name, "external")}[("{name} external")]')
        for service in app.topology.services:
            opening, closing = _SHAPES[service.kind]
            lines.append(f"    {_node(name, service.name)}{opening}{service.name}{closing}")
        lines.append("  end")
    for app in sorted(apps, key=lambda a: a.name):
        for service in app.topology.services:
            lines.append(f"  {_node(app.name, service.name)} --- {_node(app.name, 'bus')}")
    edges: dict[tuple[str, str], list[str]] = {}
    for e in events:
        label = f"{e.type} v{e.version}"
        publisher = (_node(e.producer, e.service), _node(e.producer, "external"))
        edges.setdefault(publisher, []).append(label)
        for reading in e.consumers:
            reader = (_node(e.producer, "external"), _node(reading.subsystem, reading.service))
            edges.setdefault(reader, []).append(label)
    for (source, target), labels in sorted(edges.items()):
        lines.append(f'  {source} -->|"{"<br/>".join(labels)}"| {target}')
    return "\n".join(lines) + "\n"


def _node(subsystem: str, name: str) -> str:
    return f"{subsystem}_{name}".replace("-", "_")
