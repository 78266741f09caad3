"""The actors' apps as clients of the BFFs: what they read of a paged list."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from scenario.actors import StaffApp, Urls, processor_authorizations


class PagedQueue:
    """A kitchen queue served three tickets a page, as kitchen-bff pages it."""

    def __init__(self, tickets: list[str]) -> None:
        self.tickets = tickets
        self.asked: list[dict[str, list[str]]] = []

    def call(self, method: str, path: str, body: Any = None, **_: Any) -> Any:
        query = parse_qs(urlsplit(path).query)
        self.asked.append(query)
        start = int(query.get("after", ["0"])[0])
        page = self.tickets[start : start + 3]
        more = start + 3 < len(self.tickets)
        return {"orders": [{"id": t} for t in page], "next": str(start + 3) if more else None}


def test_the_staff_app_reads_the_whole_queue_page_after_page() -> None:
    urls = Urls(*["http://127.0.0.1:9"] * 8)
    staff = StaffApp(requests.Session(), urls, "token", "r-1")
    queue = PagedQueue([f"o-{n}" for n in range(7)])
    staff.kitchen = queue  # type: ignore[assignment]

    assert [t["id"] for t in staff.queue("new")] == [f"o-{n}" for n in range(7)]
    assert [q.get("after") for q in queue.asked] == [None, ["3"], ["6"]]
    assert all(q["status"] == ["new"] for q in queue.asked)


def test_the_processors_authorizations_are_read_page_after_page() -> None:
    held = [{"id": f"auth-{n}", "status": "voided"} for n in range(5)]
    asked: list[dict[str, list[str]]] = []

    def read(path: str) -> Any:
        query = parse_qs(urlsplit(path).query)
        asked.append(query)
        after = query.get("startingAfter", [None])[0]
        start = 0 if after is None else [a["id"] for a in held].index(after) + 1
        return {"authorizations": held[start : start + 2], "hasMore": start + 2 < len(held)}

    assert processor_authorizations(read, "o-1") == held
    assert [q.get("startingAfter") for q in asked] == [None, ["auth-1"], ["auth-3"]]
    assert all(q["reference"] == ["o-1"] for q in asked)
