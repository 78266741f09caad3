"""Which folders of a topic hold the objects stored in a time window, found by folder name.

A topic folder holds ``YYYY/MM/DD/hh/`` folders (:mod:`shared.lake.base`); each
year, month, day and hour folder spans a stretch of time known from its name
alone. :func:`folders_in_window` walks down from the topic folder, listing only
the folders that straddle an edge of the window: a folder wholly inside it is
returned whole (to be listed with everything under it), one wholly outside is
never opened. A short window costs a handful of folder listings, however big
the lake is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

LEVELS = 4
"""The folder levels below a topic folder: year, month, day, hour."""
_WIDTHS = (4, 2, 2, 2)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def folder_span(parts: Sequence[str]) -> tuple[int, int] | None:
    """``[start, end)`` in epoch ms of the folder named by ``parts`` below a topic folder.

    ``parts`` are its 1 to 4 names (``["2026"]``, ``["2026", "01", "31", "14"]``);
    None when they name no time (``"tmp"``, ``"13"`` as a month).
    """
    if not 1 <= len(parts) <= LEVELS:
        return None
    if not all(len(p) == w and p.isdigit() for p, w in zip(parts, _WIDTHS, strict=False)):
        return None
    numbers = [int(p) for p in parts]
    year, month, day, hour = numbers + [1, 1, 0][len(numbers) - 1 :]
    try:
        start = datetime(year, month, day, hour, tzinfo=UTC)
        if len(parts) == 1:
            end = start.replace(year=year + 1)
        elif len(parts) == 2:
            end = start.replace(year=year + month // 12, month=month % 12 + 1)
        else:
            end = start + (timedelta(days=1) if len(parts) == 3 else timedelta(hours=1))
    except (ValueError, OverflowError):
        return None
    return (start - _EPOCH) // _MS, (end - _EPOCH) // _MS


def folders_in_window(
    list_folders: Callable[[str], Iterable[str]],
    prefix: str,
    since_ms: int | None,
    until_ms: int | None,
    *,
    hours: bool = False,
) -> Iterator[str]:
    """The folders under the topic folder ``prefix`` whose objects may fall in the window.

    The window is ``[since_ms, until_ms)`` (an open end when None). Yields, in
    time order, whole year, month or day folders inside the window and the hour
    folders that overlap its edges; every object stored in a yielded folder is
    in an hour folder that overlaps the window, and every such object is under
    one. With ``hours`` only hour folders are yielded, the walk descending into
    the folders inside the window too, lazily: a reader that stops early lists
    no later folder. ``list_folders(folder)`` names the child folders of
    ``folder``, each ending in ``/``. Folders whose names are not the layout's
    are left out.
    """
    low, high = since_ms, until_ms

    def walk(folder: str, depth: int) -> Iterator[str]:
        for child in sorted(list_folders(folder)):
            span = folder_span(child[len(prefix) :].rstrip("/").split("/"))
            if span is None:
                continue
            start, end = span
            if (high is not None and start >= high) or (low is not None and end <= low):
                continue
            inside = (low is None or start >= low) and (high is None or end <= high)
            if depth == LEVELS or (inside and not hours):
                yield child
            else:
                yield from walk(child, depth + 1)

    yield from walk(prefix, 1)
