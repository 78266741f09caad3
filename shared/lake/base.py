"""The event lake port: every bus message kept for good, replayable.

Objects share one layout across backends, the same one the GCP Cloud Storage
subscription writes (``filename_prefix`` = ``{subsystem}/{topic}/``)::

    {subsystem}/{topic}/{YYYY}/{MM}/{DD}/{hh}/{batch}.jsonl

Each line of an object is one message's data (the envelope JSON) as published,
followed by ``\n``. Batch names sort in time order: ``{first_ms:013d}-{digest}.jsonl``
where ``first_ms`` is the earliest publish time in the object, so listing an
hour folder by name lists its objects oldest first, and ``digest`` is taken from
the object's content: appending the same records again (a retry after a crash or
a lost answer) names the same objects, which the backends then leave as they are,
so a retried write stores nothing twice (an object of other content found under a name,
copied there by hand, is left as it is: the records take the next name of
:func:`object_names`). Records delivered again in a different
batch (Pub/Sub's at-least-once redelivery) are stored twice; readers keep each
event id once (:meth:`AbstractLake.replay`).

Folders go by when a record was *stored*, not by its envelope's timestamp: a
record is stored at most :data:`STORED_EARLY_MS` before its event happened, and
usually moments after it, but possibly much later (a backlog, an outage of the
writer). A reader choosing events by timestamp widens its window by that much
(:func:`stored_window`).

The newline rule: a line must never hold more than one message. Envelope JSON
(:meth:`Envelope.to_bytes`) never contains a raw ``\n`` or ``\r``, so it is
stored verbatim. Any other data that contains ``\n`` or ``\r``, or that starts
with the escape prefix ``{"base64":"``, is stored as the JSON line
``{"base64":"<standard base64 of the data>"}``; :meth:`AbstractLake.read_object`
turns such a line back into the original bytes, so every record round-trips
exactly. (Objects written by the Cloud Storage subscription itself are not
escaped; their lines are returned as they are.)

What a reader skips: objects may be deleted at any time (a lifecycle rule, with
``lake_retention_days``), also between listing them and reading them. Reading an
object that is not there raises :class:`ObjectGone`; the readers here
(:meth:`AbstractLake.replay`, :meth:`AbstractLake.read_envelopes`) skip such an
object, an object whose content cannot be read as lines at all (:class:`ForeignObject`:
a file copied into the bucket with an encoding its content does not have, or one whose
first bytes are those of another file format, :data:`FILE_SIGNATURES`: it is not read
further), and the
lines of an object that are no envelope (a corrupt or truncated object, or a foreign
file), and note each skipped object once, by name, in :class:`SkipNotes`: the
caller reports them (``fooddelivery lake events`` on stderr), or, without notes,
:meth:`AbstractLake.replay` logs one warning per skipped object.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.exceptions import LakeError, PoisonError
from shared.lake.window import folders_in_window

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from shared.envelope import Envelope


_log = logging.getLogger("fooddelivery.lake")

_HOUR_MS = 3_600_000
STORED_EARLY_MS = _HOUR_MS
"""How much earlier than an event its hour folder may be: the Cloud Storage subscription
names a file by when it opened it, up to its max_duration (5 minutes) before a message
arrives; the rest is room for clock skew."""
STORED_LATE_MS = _HOUR_MS
"""How much later than an event a reader that bounds its lag by default expects it stored."""


def hour_prefix(subsystem: str, topic: str, timestamp_ms: int) -> str:
    """The folder of the hour that holds a message published at ``timestamp_ms``."""
    return _hour_folder(subsystem, topic, timestamp_ms // _HOUR_MS)


@functools.lru_cache(maxsize=256)
def _hour_folder(subsystem: str, topic: str, hour: int) -> str:
    """The folder of the ``hour``-th hour since the epoch: formatted once per topic and hour
    while they are recent, as a burst of records shares a few."""
    t = datetime.fromtimestamp(hour * 3600, tz=UTC)
    return f"{subsystem}/{topic}/{t:%Y/%m/%d/%H}/"


_ESCAPE_PREFIX = b'{"base64":"'
_ESCAPE_SUFFIX = b'"}'
_DIGEST_CHARS = 20
OBJECT_SUFFIX = ".jsonl"
"""How every object's name ends (a file of another name under a folder is no lake object)."""


def topic_prefix(subsystem: str, topic: str) -> str:
    """The folder ``{subsystem}/{topic}/``; raise ``ValueError`` for an unusable name."""
    for value in (subsystem, topic):
        if not value or "/" in value or value in {".", ".."}:
            raise ValueError(f"{value!r} is not a valid lake folder name")
    return f"{subsystem}/{topic}/"


def stored_window(
    since_ms: int | None, until_ms: int | None, max_lag_ms: int | None
) -> tuple[int | None, int | None]:
    """The storage-time window whose hour folders hold the events timestamped in
    ``[since_ms, until_ms)``: from :data:`STORED_EARLY_MS` before ``since_ms`` to
    ``max_lag_ms`` after ``until_ms``, open-ended when either is None."""
    low = None if since_ms is None else since_ms - STORED_EARLY_MS
    high = None if until_ms is None or max_lag_ms is None else until_ms + max_lag_ms
    return low, high


def encode_line(data: bytes) -> bytes:
    """One record as one line (without its ``\\n``), escaped by the newline rule."""
    if b"\n" in data or b"\r" in data or data.startswith(_ESCAPE_PREFIX):
        return _ESCAPE_PREFIX + base64.b64encode(data) + _ESCAPE_SUFFIX
    return data


def decode_line(line: bytes) -> bytes:
    """The record a line holds: the inverse of :func:`encode_line`."""
    if line.startswith(_ESCAPE_PREFIX) and line.endswith(_ESCAPE_SUFFIX):
        try:
            return base64.b64decode(line[len(_ESCAPE_PREFIX) : -len(_ESCAPE_SUFFIX)], validate=True)
        except binascii.Error:
            return line
    return line


def decode_object(content: bytes) -> Iterator[bytes]:
    """The records of an object's content, one per line (a last line may lack ``\\n``)."""
    if not content:
        return
    lines = content.split(b"\n")
    if content.endswith(b"\n"):
        lines.pop()
    for line in lines:
        yield decode_line(line)


def encode_batches(
    subsystem: str, topic: str, records: Sequence[tuple[int, bytes]]
) -> list[tuple[str, bytes]]:
    """Group ``records`` into one object per hour: ``(object name, content)`` pairs.

    Within an object records are sorted by publish time; ties keep their given order.
    An object's name ends in a digest of its content, so the same records name the
    same objects on every call.
    """
    topic_prefix(subsystem, topic)
    hours: dict[str, list[tuple[int, bytes]]] = {}
    for publish_ms, data in records:
        if publish_ms < 0:
            raise ValueError(f"publish time {publish_ms} is before the epoch")
        hours.setdefault(hour_prefix(subsystem, topic, publish_ms), []).append((publish_ms, data))
    batches = []
    for folder, items in sorted(hours.items()):
        items.sort(key=lambda item: item[0])
        content = b"".join(encode_line(data) + b"\n" for _, data in items)
        digest = hashlib.sha256(content).hexdigest()[:_DIGEST_CHARS]
        batches.append((f"{folder}{items[0][0]:013d}-{digest}{OBJECT_SUFFIX}", content))
    return batches


NAME_TRIES = 5
"""The names an object may take (:func:`object_names`) before a write gives up."""


def object_names(name: str) -> Iterator[str]:
    """Where the object :func:`encode_batches` names ``name`` is stored: under ``name``,
    unless something else holds that name (an object with other content, copied there
    by hand: the lake's own objects under one name hold the same records), then under
    ``name`` with ``-2``, ``-3``... before its ``.jsonl`` (``{first_ms}-{digest}-2.jsonl``),
    up to :data:`NAME_TRIES` names in all, the first free or
    holding the same content. A writer and its retries walk the same names, so the same
    records are still stored once; the object holding the name is left as it is (its lines
    are skipped by readers unless they are envelopes)."""
    yield name
    stem = name.removesuffix(OBJECT_SUFFIX)
    for n in range(2, NAME_TRIES + 1):
        yield f"{stem}-{n}{OBJECT_SUFFIX}"


def store_records(
    where: str,
    subsystem: str,
    topic: str,
    records: Sequence[tuple[int, bytes]],
    store_as: Callable[[str, bytes], bool],
) -> None:
    """Store ``records`` as the objects :func:`encode_batches` makes of them, each by
    :func:`store_object`. An object whose every name is taken does not stop the others:
    they are stored, then :class:`NamesTaken` is raised for all that were not, with their
    records."""
    taken: list[NamesTaken] = []
    for name, content in encode_batches(subsystem, topic, records):
        try:
            store_object(where, name, content, store_as)
        except NamesTaken as error:
            taken.append(error)
    if taken:
        folders = {name.rsplit("/", 1)[0] + "/" for error in taken for name in error.names}
        unstored = [r for r in records if hour_prefix(subsystem, topic, r[0]) in folders]
        names = [name for error in taken for name in error.names]
        raise NamesTaken(names, unstored, "; ".join(str(error) for error in taken))


def store_object(
    where: str, name: str, content: bytes, store_as: Callable[[str, bytes], bool]
) -> str:
    """Store ``content``, the object :func:`encode_batches` names ``name``, under the first
    of :func:`object_names` where ``store_as(candidate, content)`` stores it: a free name,
    written now, or one holding it already; it answers ``False`` for a name holding anything
    else, left as it is. Returns the name taken, with a warning if not ``name``; raises
    :class:`NamesTaken` when every name is taken (``where``: the lake's location, prefixed to
    the names in both)."""
    for candidate in object_names(name):
        if store_as(candidate, content):
            if candidate != name:
                _note_moved(where, name, candidate)
            return candidate
    raise _names_taken(where, name)


def _note_moved(where: str, name: str, moved_to: str) -> None:
    """Log that the object ``name`` was stored as ``moved_to`` (:func:`object_names`)."""
    _log.warning(
        "event lake: %s%s holds different content (not written by this lake from these "
        "records), left as it is: stored them as %s instead",
        where,
        name,
        moved_to,
    )


def _names_taken(where: str, name: str) -> NamesTaken:
    """The error of a write that found every name of :func:`object_names` holding other
    content."""
    names = list(object_names(name))
    return NamesTaken(
        names,
        [],
        f"{where}{name} and its {NAME_TRIES - 1} other names (-2 to -{NAME_TRIES}) already "
        "hold different content (not written by this lake from these records); they are "
        "left as they are: move them away for these records to be stored: "
        + ", ".join(f"{where}{taken}" for taken in names),
    )


FILE_SIGNATURES = {
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"(\xb5/\xfd": "zstd",
    b"\xfd7zXZ\x00": "xz",
    b"Obj\x01": "Avro",
    b"PAR1": "Parquet",
    b"%PDF-": "PDF",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
}
"""The first bytes of files of other formats than the lake's lines (an object of the
lake starts with its first record, an envelope's JSON): by these a reader tells a foreign
object before it reads the rest (:func:`check_head`)."""
HEAD_BYTES = max(len(signature) for signature in FILE_SIGNATURES)
"""How many first bytes of an object :func:`check_head` needs."""


def check_head(name: str, head: bytes, where: str = "") -> None:
    """Raise :class:`ForeignObject` if ``head``, the first bytes of object ``name`` (its
    first :data:`HEAD_BYTES`, or all of a shorter one), show another file format
    (:data:`FILE_SIGNATURES`): its content is then not read at all (``where``: the lake's
    location, prefixed to the name in the message)."""
    for signature, format_name in FILE_SIGNATURES.items():
        if head.startswith(signature):
            raise ForeignObject(
                name, f"{where}{name} starts as a {format_name} file does, not read further"
            )


class HeadChecked:
    """A binary stream an object is downloaded into: what it is written is kept, and its
    first bytes are checked (:func:`check_head`) as soon as they arrive, so that the
    download of a foreign object stops there (:class:`ForeignObject`)."""

    def __init__(self, name: str, where: str = "") -> None:
        self._name, self._where = name, where
        self._content = bytearray()
        self._checked = False

    def write(self, data: bytes) -> int:
        """Keep ``data``; raise :class:`ForeignObject` once the first bytes show another
        file format."""
        self._content += data
        if not self._checked and len(self._content) >= HEAD_BYTES:
            self._check()
        return len(data)

    def content(self) -> bytes:
        """Everything written: the whole object once its download ended (checked too if it
        is shorter than :data:`HEAD_BYTES`)."""
        if not self._checked:
            self._check()
        return bytes(self._content)

    def _check(self) -> None:
        self._checked = True
        check_head(self._name, bytes(self._content[:HEAD_BYTES]), self._where)


class ObjectGone(LakeError):
    """The object ``name`` is not (or no longer) in the lake: deleted after it was listed
    (a lifecycle rule), or never there."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class NamesTaken(LakeError, PoisonError):
    """Every name an object may take (:func:`object_names`) holds other content, left as it
    is: a retry of the same records fails alike until someone moves those objects away, so a
    writer makes its ``records`` a fault rather than retrying. ``names`` are the names
    tried, ``records`` those not stored (``(publish ms, data)`` as given to
    :meth:`AbstractLake.append`)."""

    def __init__(
        self, names: Sequence[str], records: Sequence[tuple[int, bytes]], message: str
    ) -> None:
        super().__init__(message)
        self.names = tuple(names)
        self.records = tuple(records)


class ForeignObject(LakeError):
    """The object ``name`` holds what the lake cannot read as lines at all (a file copied into
    the bucket under a lake name, with an encoding its content does not have): reading it
    again fails again, so readers skip it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass
class SkipNotes:
    """What a read of the lake skipped rather than failed on, each object once, in the
    order read: for its reader to report once, when it is done."""

    gone: list[str] = field(default_factory=list)
    """Objects listed but gone when read (:class:`ObjectGone`)."""
    bad_lines: dict[str, int] = field(default_factory=dict)
    """Objects with lines that are no envelope (corrupt, truncated): how many each."""
    foreign: dict[str, str] = field(default_factory=dict)
    """Objects that cannot be read as lines at all (:class:`ForeignObject`): why each."""

    def __bool__(self) -> bool:
        return bool(self.gone or self.bad_lines or self.foreign)

    @property
    def objects(self) -> int:
        """How many objects were skipped, wholly or in part."""
        return len({*self.gone, *self.bad_lines, *self.foreign})

    def describe(self) -> list[str]:
        """One line per skipped object, naming it."""
        return [
            *(
                f"skipped {name}: gone before it was read (deleted since listed)"
                for name in self.gone
            ),
            *(
                f"skipped {count} line(s) of {name} that are no envelope"
                for name, count in self.bad_lines.items()
            ),
            *(
                f"skipped {name}: not in the lake's line format, left as it is ({why})"
                for name, why in self.foreign.items()
            ),
        ]


class AbstractLake(ABC):
    """Append-only storage of raw message data, read back in time order."""

    @abstractmethod
    def append(self, subsystem: str, topic: str, records: Sequence[tuple[int, bytes]]) -> None:
        """Keep ``records`` (publish time in epoch ms, message data) in the lake."""

    def objects(
        self,
        subsystem: str,
        topic: str = "bus",
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> list[str]:
        """Object names under ``{subsystem}/{topic}/``, in layout (time) order.

        With ``since_ms`` and/or ``until_ms``, only the objects of the hour folders
        that overlap ``[since_ms, until_ms)``, found without listing the other
        folders (:func:`shared.lake.window.folders_in_window`). A folder is the hour
        a record was *stored* in, which may differ from its envelope's timestamp:
        a reader filtering on event time widens the window by the lag it allows.
        """
        prefix = topic_prefix(subsystem, topic)
        if since_ms is None and until_ms is None:
            return self._list_objects(prefix)
        folders = folders_in_window(self._list_folders, prefix, since_ms, until_ms)
        return sorted(name for folder in folders for name in self._list_objects(folder))

    def objects_oldest_first(
        self,
        subsystem: str,
        topic: str = "bus",
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> Iterator[str]:
        """The names :meth:`objects` returns, in the same order, listed one hour folder at a
        time as they are consumed: a reader that stops early never lists the later hours
        (:meth:`objects` lists every object of the window first, in as few calls as it can)."""
        prefix = topic_prefix(subsystem, topic)
        for folder in folders_in_window(self._list_folders, prefix, since_ms, until_ms, hours=True):
            yield from self._list_objects(folder)

    @abstractmethod
    def _list_folders(self, folder: str) -> list[str]:
        """The folders one level below ``folder``, each ending in ``/`` (any order)."""

    @abstractmethod
    def _list_objects(self, folder: str) -> list[str]:
        """The objects at the layout's depth under ``folder`` (a topic or time folder),
        sorted by name; names that are no lake object's are left out."""

    @abstractmethod
    def read_object(self, name: str) -> Iterator[bytes]:
        """The records of one object, one per line, unescaped by the newline rule.

        The object is read before this returns, so its errors are raised here: :class:`ObjectGone`
        if there is no object ``name`` (deleted since it was listed), :class:`ForeignObject` if
        its content cannot be read as lines, else :class:`LakeError`.
        """

    def read_envelopes(self, name: str, notes: SkipNotes) -> Iterator[Envelope]:
        """The envelopes in object ``name``, in its order. An object gone meanwhile yields
        nothing and is noted in ``notes.gone``, one that cannot be read as lines
        (:class:`ForeignObject`) in ``notes.foreign``; lines that are no envelope are skipped
        and counted in ``notes.bad_lines``. Other read errors raise :class:`LakeError`."""
        from shared.envelope import Envelope
        from shared.exceptions import EnvelopeError

        try:
            lines = self.read_object(name)
        except ObjectGone:
            if name not in notes.gone:
                notes.gone.append(name)
            return
        except ForeignObject as error:
            notes.foreign[name] = " ".join(str(error).split())
            return
        for line in lines:
            try:
                yield Envelope.from_bytes(line)
            except EnvelopeError:
                notes.bad_lines[name] = notes.bad_lines.get(name, 0) + 1

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Write out anything buffered."""

    def replay(
        self,
        subsystem: str,
        topic: str = "bus",
        *,
        since_ms: int = 0,
        until_ms: int | None = None,
        max_lag_ms: int | None = None,
        notes: SkipNotes | None = None,
    ) -> Iterator[Envelope]:
        """Stream the events kept for ``subsystem`` timestamped in ``[since_ms, until_ms)``,
        oldest object first, each event id once.

        Only the hour folders of :func:`stored_window` are read: from
        :data:`STORED_EARLY_MS` before ``since_ms`` on. With ``max_lag_ms`` they end
        that long after ``until_ms``, so an event stored later than that is missed;
        without it (the default) every later folder is read too, so an event is
        found however late it was stored. An event id seen before in this replay
        (the same event stored twice by at-least-once delivery) is not yielded again:
        the ids yielded so far are kept in memory.

        The objects are listed once, when the first event is asked for: objects stored
        while the replay runs (its own events published again, and stored again by the
        lake writer) are not read, so a replay ends, and replaying again yields the same
        envelopes, ids unchanged, for consumers to recognise as seen.

        An object gone before it is read (a lifecycle rule deleted it) and lines that
        are no envelope (they remain in the lake for inspection) are skipped and noted
        in ``notes`` (:class:`SkipNotes`), or, without ``notes``, each such object is
        logged once as a warning.
        """
        own = SkipNotes() if notes is None else notes
        low, high = stored_window(since_ms, until_ms, max_lag_ms)
        seen: set[str] = set()
        for name in self.objects(subsystem, topic, since_ms=low, until_ms=high):
            for event in self.read_envelopes(name, own):
                after_window = until_ms is not None and event.timestamp >= until_ms
                if event.timestamp >= since_ms and not after_window and event.id not in seen:
                    seen.add(event.id)
                    yield event
            if notes is None and own:
                for note in own.describe():
                    _log.warning("event lake: %s", note)
                own = SkipNotes()
