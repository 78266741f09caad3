"""docs/domain.md: reachable from the README, its links resolve, its numbers are the code's."""

from __future__ import annotations

import fnmatch
import itertools
import re
from pathlib import Path

import pytest

from customer.checkout_bff.deadline import PAYMENT_DEADLINE_MS
from customer.payment_esg import SERVICE as PAYMENT_ESG
from delivery.dispatch_control.collector import DISPATCH_LEAD_MS
from delivery.dispatch_control.records import OFFER_TIMEOUT_MS
from delivery.notification_esg import SERVICE as NOTIFICATION_ESG
from order.lifecycle_control.deadlines import (
    DELIVERY_DEADLINE_MS,
    DRIVER_DEADLINE_MS,
    PICKUP_DEADLINE_MS,
    RESTAURANT_DEADLINE_MS,
)
from order.lifecycle_control.timeouts import ANSWER_GRACE_MS
from order.pos_esg import SERVICE as POS_ESG
from order.retention import KEEP_FOR
from shared.catalog.inventory import Published, inventory
from shared.system import load_subsystems
from shared.topology import Channel, Consumer, Service

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "domain.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")
MINUTE = 60_000


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {_slug(line.lstrip("#")) for line in lines if re.match(r"#{1,6} ", line)}


def _text() -> str:
    """The doc with its lines joined, so a phrase may wrap."""
    return " ".join(DOC.read_text(encoding="utf-8").split())


def _channel(service: Service) -> Channel:
    [consumer] = [f for f in service.functions if isinstance(f, Consumer)]
    return consumer.channel


def test_the_readme_links_to_the_domain_doc() -> None:
    assert "](docs/domain.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("target", LINK.findall(DOC.read_text(encoding="utf-8")))
def test_every_link_of_the_domain_doc_resolves(target: str) -> None:
    path, _, anchor = target.partition("#")
    file = (DOC.parent / path).resolve() if path else DOC
    assert file.exists(), f"{target}: no such file"
    if anchor:
        assert anchor in _anchors(file), f"{target}: no such heading"


@pytest.mark.parametrize(
    ("phrase", "value"),
    [
        ("no answer within {} min of Order receiving", RESTAURANT_DEADLINE_MS // MINUTE),
        ("no driver within {} min of the latest", DRIVER_DEADLINE_MS // MINUTE),
        ("not picked up within {} min of their assignment", PICKUP_DEADLINE_MS // MINUTE),
        ("not delivered within {} h of pickup", DELIVERY_DEADLINE_MS // (60 * MINUTE)),
        ("no decision within {} min of checkout", PAYMENT_DEADLINE_MS // MINUTE),
        ("Starts looking for a driver {} min before", DISPATCH_LEAD_MS // MINUTE),
        ("An offer expires after {} min", OFFER_TIMEOUT_MS // MINUTE),
        ("expire {} days after they were written", KEEP_FOR.days),
    ],
)
def test_the_domain_docs_durations_are_the_codes(phrase: str, value: int) -> None:
    assert phrase.format(value) in _text()


def test_the_domain_docs_grace_before_a_timeout_is_the_codes() -> None:
    assert ANSWER_GRACE_MS == 2 * MINUTE
    assert "recorded two minutes after its deadline" in _text()


def test_the_domain_docs_retry_counts_are_the_topologys() -> None:
    text = _text()
    assert f"payment-esg {_channel(PAYMENT_ESG).max_delivery_attempts} " in text
    assert f"pos-esg's hand-over {_channel(POS_ESG).max_delivery_attempts} " in text
    assert f"notification-esg {_channel(NOTIFICATION_ESG).max_delivery_attempts} " in text
    default = Channel.__dataclass_fields__["max_delivery_attempts"].default
    assert f"A channel gives a message {default} attempts" in text


def _rows(heading: str) -> list[list[str]]:
    """The cells of the first table under ``heading``, header row left out."""
    lines = DOC.read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = list(itertools.takewhile(lambda line: line.startswith("|"), lines[start:]))
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in table[2:]]


def _types(cell: str, known: set[str]) -> set[str]:
    """The event types a cell names: `a.b-c`, then `-d` for `a.b-d`, or `a.b-*`."""
    found: set[str] = set()
    base = ""
    for name in re.findall(r"`([a-z*.-]+)`", cell):
        if name.startswith("-"):
            name = base + name
        base = name.rsplit("-", 1)[0]
        found |= {t for t in known if fnmatch.fnmatchcase(t, name)}
    return found


def _published() -> list[Published]:
    return inventory(load_subsystems())


def test_the_overview_says_who_publishes_and_reads_each_event() -> None:
    events = _published()
    known = {e.type for e in events}
    rows = _rows("## The four subsystems and their events")
    assert sorted(row[0] for row in rows) == sorted({e.producer for e in events})
    for subsystem, _, publishes, reads in rows:
        assert _types(publishes, known) == {e.type for e in events if e.producer == subsystem}
        read = {e for e in events if subsystem in {r.subsystem for r in e.consumers}}
        assert _types(reads, known) == {e.type for e in read}, subsystem
        for e in read:
            if any(o.type == e.type and o is not e for o in events):
                assert f"`{e.type}` v{e.version}" in reads, (subsystem, e.type)


def test_the_contracts_table_says_who_publishes_and_reads_each_version() -> None:
    events = {(e.type, e.version): e for e in _published()}
    known = {t for t, _ in events}
    listed: set[tuple[str, int]] = set()
    for cells in _rows("## External contracts"):
        major = re.match(r"v(\d+)", cells[1])
        assert major is not None, cells
        version = int(major.group(1))
        for type in _types(cells[0], known):
            event = events[(type, version)]
            listed.add((type, version))
            assert cells[2] == event.producer, type
            readers = {r.subsystem for r in event.consumers}
            assert set(cells[3].split(", ")) == readers, (type, version)
            assert ("deprecated" in cells[1]) == (event.superseded_by is not None)
    assert listed == set(events)
    assert ("order.order-status-changed", 2) in listed
