"""The event lake: the port, its object layout and the local-directory backend.

The Cloud Storage backend lives in :mod:`shared.lake.gcs` and is imported only
by code that runs against Cloud Storage or its emulator, so importing this
package never imports ``google.cloud``.
"""

from shared.lake.base import (
    AbstractLake,
    ForeignObject,
    NamesTaken,
    ObjectGone,
    SkipNotes,
    hour_prefix,
)
from shared.lake.local import LocalDirectoryLake

__all__ = [
    "AbstractLake",
    "ForeignObject",
    "LocalDirectoryLake",
    "NamesTaken",
    "ObjectGone",
    "SkipNotes",
    "hour_prefix",
]
