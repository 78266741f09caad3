"""The event lake on a local directory, for development and tests.

Objects are files under ``root`` with the layout of :mod:`shared.lake.base`.

Durability: nothing is buffered. :meth:`LocalDirectoryLake.append` writes each
hour's object to a hidden temporary file, ``fsync``\\ s it, links it into place
(a create-only link: a file copied under the name meanwhile is never overwritten) and
``fsync``\\ s the directory before it returns, so a crash loses nothing that
``append`` returned for, and readers never see a partial object. A crash *during*
``append`` may have stored some of the call's hour objects but not others, and
may leave a ``.tmp`` file behind, which :meth:`~LocalDirectoryLake.objects`
ignores. A retry of the same records names the same objects (their names hold a
digest of their content) and leaves those already stored as they are, so nothing
is stored twice; a file of other content (copied there) or a directory under an object's
name is left as it is, and the records take the next name of
:func:`~shared.lake.base.object_names`. :meth:`~LocalDirectoryLake.flush` has nothing to do.

Thread safety: every object is written to a temporary file of its own and
published by an atomic link, so any number of threads (or processes) may
append at once.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from shared.exceptions import LakeError
from shared.lake.base import (
    HEAD_BYTES,
    OBJECT_SUFFIX,
    AbstractLake,
    ObjectGone,
    check_head,
    decode_object,
    store_records,
)
from shared.lake.window import LEVELS

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


class LocalDirectoryLake(AbstractLake):
    """An :class:`AbstractLake` whose objects are files under ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        """The directory that holds the lake."""
        return self._root

    def append(self, subsystem: str, topic: str, records: Sequence[tuple[int, bytes]]) -> None:
        """Write one object per hour folder that ``records`` fall into, durably, each under
        the first of :func:`~shared.lake.base.object_names` that is free or holds it
        (:class:`~shared.lake.base.NamesTaken` if none is)."""
        store_records(f"{self._root}/", subsystem, topic, records, self._write_object)

    def _list_folders(self, folder: str) -> list[str]:
        """The directories one level below ``folder``."""
        try:
            entries = list((self._root / folder).iterdir())
            return [f"{folder}{p.name}/" for p in entries if p.is_dir()]
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as e:
            raise LakeError(f"cannot list lake folder {folder}: {e}") from e

    def _list_objects(self, folder: str) -> list[str]:
        """The files at the layout's depth under ``folder`` (a topic or time folder).

        A folder that cannot be listed (no permission) is a :class:`LakeError` naming it,
        never skipped as if empty (as :meth:`Path.glob` skips it)."""
        depth = LEVELS + 2 - folder.rstrip("/").count("/")  # {subsystem}/{topic} is depth 0
        return sorted(self._files_below(folder.rstrip("/") + "/", depth))

    def _files_below(self, folder: str, depth: int) -> Iterator[str]:
        """The names of the object files ``depth`` folder levels below ``folder``."""
        try:
            with os.scandir(self._root / folder) as scan:
                entries = list(scan)
            for entry in entries:
                if depth > 1 and entry.is_dir():
                    yield from self._files_below(f"{folder}{entry.name}/", depth - 1)
                elif depth == 1 and _is_object_file(entry):
                    yield f"{folder}{entry.name}"
        except (FileNotFoundError, NotADirectoryError):
            return  # not made yet, or gone since its parent was listed
        except OSError as e:
            raise LakeError(f"cannot list lake folder {folder}: {e}") from e

    def read_object(self, name: str) -> Iterator[bytes]:
        """The records of object ``name`` (read eagerly, so a missing object fails here:
        :class:`ObjectGone`; one starting as another file format does, after its first bytes:
        :class:`~shared.lake.base.ForeignObject`)."""
        parts = name.split("/")
        if name.startswith("/") or any(part in {"", ".", ".."} for part in parts):
            raise LakeError(f"{name!r} is not a lake object name")
        try:
            with self._root.joinpath(*parts).open("rb") as file:
                head = file.read(HEAD_BYTES)
                check_head(name, head)  # a foreign file is not read whole
                content = head + file.read()
        except FileNotFoundError as e:
            raise ObjectGone(name, f"lake object {name} is gone: {e.strerror}") from e
        except OSError as e:
            raise LakeError(f"cannot read lake object {name}: {e}") from e
        return decode_object(content)

    def _write_object(self, name: str, content: bytes) -> bool:
        """:meth:`_write` object ``name``, its errors a :class:`LakeError` naming it."""
        try:
            return self._write(self._root / name, content)
        except OSError as e:
            raise LakeError(f"cannot write lake object {name}: {e}") from e

    def _write(self, path: Path, content: bytes) -> bool:
        """Write ``content`` at ``path`` unless something is there; whether ``path`` holds
        ``content`` now (False: a file of other content, or a directory, left as it is).

        The content is published by a create-only link of a synced temporary file, so
        whatever appears under ``path`` meanwhile (a file copied there) is never overwritten.
        """
        if path.exists():  # stored by an earlier try (objects appear whole, by link)?
            return _holds(path, content)
        _make_dirs(path.parent)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with tmp.open("xb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:  # appeared since it was looked for
                return _holds(path, content)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(path.parent)
        return True


def _holds(path: Path, content: bytes) -> bool:
    """Whether ``path`` is a file holding ``content`` (not a directory, nor other content)."""
    return path.is_file() and path.stat().st_size == len(content) and path.read_bytes() == content


def _is_object_file(entry: os.DirEntry[str]) -> bool:
    """Whether ``entry`` is an object: a ``.jsonl`` file, not a hidden temporary one."""
    return entry.name.endswith(OBJECT_SUFFIX) and not entry.name.startswith(".") and entry.is_file()


def _make_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents, syncing each new entry's parent."""
    if folder.is_dir():
        return
    _make_dirs(folder.parent)
    try:
        folder.mkdir()
    except FileExistsError:
        return  # another thread made it
    _fsync_dir(folder.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync elsewhere
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
