"""Files and folders made unreadable for a test, whoever runs it.

``chmod 000`` does not stop root, who may run the tests, so the reads are refused
where Python makes them, with the :class:`PermissionError` a user without read
permission gets.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest


def refuse_reads(monkeypatch: pytest.MonkeyPatch, *paths: Path, listing_only: bool = False) -> None:
    """Make ``paths`` unreadable: a folder can be neither listed nor looked into (as with
    ``chmod 700`` for another user), a file not read. With ``listing_only`` the folders can
    only not be listed (``chmod 711``): what is in them is readable."""

    def refused(path: Any) -> bool:
        path = Path(path)
        return path in paths if listing_only else any(p == path or p in path.parents for p in paths)

    def below(path: Any) -> bool:
        return any(p in Path(path).parents for p in paths)

    def refusing(real: Any, check: Any = refused) -> Any:
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            if check(path):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real(path, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "listdir", refusing(os.listdir))
    monkeypatch.setattr(os, "scandir", refusing(os.scandir))
    if not listing_only:
        monkeypatch.setattr(Path, "read_bytes", refusing(Path.read_bytes))
        monkeypatch.setattr(Path, "read_text", refusing(Path.read_text))
        monkeypatch.setattr(Path, "stat", refusing(Path.stat, below))
