"""The event lake on Google Cloud Storage (or its emulator).

Objects are written with the layout of :mod:`shared.lake.base`, content type
``application/x-ndjson``. Nothing is buffered: :meth:`GcsLake.append` returns
once every hour object of the call is stored, and :meth:`~GcsLake.flush` has
nothing to do. Uploads use ``if_generation_match=0`` so lake data is never
overwritten; when an upload finds its own object already there (an earlier
try landed but its answer was lost, or the same records were appended again:
object names hold a digest of their content) the content is compared, by the object's
size and MD5 from its metadata (downloaded only for a composite object, which has no MD5,
whose CRC32C matches), and the write counts as done, so two writers of one object at
once (a redelivery racing its first delivery) both succeed; different content under the
name (an object copied there) is left as it is, and the records take the next name of
:func:`~shared.lake.base.object_names` (a warning says so). The Storage emulator ignores
the precondition and overwrites, so a writer looks at the name before it uploads: there,
only an object copied in between the look and the upload is overwritten (the race is
proved on a fake, ``tests/unit/test_lake_gcs_upload.py``).

The storage client is built on first use when none is given. With
``STORAGE_EMULATOR_HOST`` set the SDK talks to the emulator with anonymous
credentials; the SDK needs that variable to carry a scheme, so a bare
``host:port`` (as the Pub/Sub and Firestore emulators use) is given ``http://``.

This is the only module that imports ``google.cloud.storage``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from typing import TYPE_CHECKING

import google_crc32c
from google.api_core.exceptions import Conflict, GoogleAPIError, NotFound, PreconditionFailed
from google.auth.exceptions import GoogleAuthError
from requests.exceptions import ContentDecodingError

from shared.exceptions import LakeError
from shared.lake.base import (
    OBJECT_SUFFIX,
    AbstractLake,
    ForeignObject,
    HeadChecked,
    ObjectGone,
    decode_object,
    store_records,
)
from shared.lake.window import LEVELS

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from google.cloud.storage import (  # type: ignore[import-untyped, unused-ignore]
        Blob,
        Bucket,
        Client,
    )

CONTENT_TYPE = "application/x-ndjson"
_SDK_ERRORS = (GoogleAPIError, GoogleAuthError, OSError)
"""What the SDK raises: API errors, credential errors and transport (requests) errors."""


class GcsLake(AbstractLake):
    """An :class:`AbstractLake` whose objects live in the Cloud Storage ``bucket``."""

    def __init__(self, bucket: str, client: Client | None = None) -> None:
        self._bucket_name = bucket
        self._client = client
        self._bucket: Bucket | None = None
        self._lock = threading.Lock()

    @property
    def bucket_name(self) -> str:
        """The name of the bucket that holds the lake."""
        return self._bucket_name

    @property
    def client(self) -> Client:
        """The storage client, built from the environment on first use if none was given."""
        with self._lock:
            if self._client is None:
                try:
                    self._client = _default_client()
                except _SDK_ERRORS as e:
                    raise LakeError(f"cannot create a Cloud Storage client: {e}") from e
            return self._client

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (for local and dev provisioning)."""
        client = self.client
        try:
            if client.lookup_bucket(self._bucket_name) is None:
                client.create_bucket(self._bucket_name)
        except Conflict:
            pass  # created meanwhile by someone else
        except _SDK_ERRORS as e:
            raise LakeError(f"cannot provision bucket {self._bucket_name}: {e}") from e

    def append(self, subsystem: str, topic: str, records: Sequence[tuple[int, bytes]]) -> None:
        """Upload one object per hour folder that ``records`` fall into, each under the first
        of :func:`~shared.lake.base.object_names` that is free or holds it
        (:class:`~shared.lake.base.NamesTaken` if none is)."""
        store_records(f"gs://{self._bucket_name}/", subsystem, topic, records, self._upload_as)

    def _list_objects(self, prefix: str) -> list[str]:
        """The objects at the layout's depth under ``prefix`` (a topic or time folder), as
        :class:`~shared.lake.local.LocalDirectoryLake` finds them: others are no lake's."""
        try:
            names = [
                name
                for blob in self.client.list_blobs(self._bucket_name, prefix=prefix)
                if _is_object_name(name := str(blob.name))
            ]
        except NotFound as e:
            raise LakeError(f"there is no bucket gs://{self._bucket_name}") from e
        except _SDK_ERRORS as e:
            raise LakeError(f"cannot list gs://{self._bucket_name}/{prefix}: {e}") from e
        return sorted(names)

    def _list_folders(self, prefix: str) -> list[str]:
        """The "folders" one level below ``prefix``: the common prefixes up to the next ``/``."""
        try:
            listing = self.client.list_blobs(self._bucket_name, prefix=prefix, delimiter="/")
            for _ in listing.pages:  # the prefixes are collected page by page
                pass
            return sorted(str(p) for p in listing.prefixes)
        except NotFound as e:
            raise LakeError(f"there is no bucket gs://{self._bucket_name}") from e
        except _SDK_ERRORS as e:
            raise LakeError(f"cannot list gs://{self._bucket_name}/{prefix}: {e}") from e

    def read_object(self, name: str) -> Iterator[bytes]:
        """The records of object ``name`` (downloaded eagerly, so errors surface here:
        :class:`ObjectGone` for a 404, as for an object a lifecycle rule deleted;
        :class:`ForeignObject` for content its Content-Encoding does not decode, or that
        starts as another file format does: its download stops there)."""
        where = f"gs://{self._bucket_name}/"
        downloaded = HeadChecked(name, where)  # a foreign object's download stops early
        try:
            self._get_bucket().blob(name).download_to_file(downloaded)
            content = downloaded.content()
        except NotFound as e:
            raise ObjectGone(name, f"gs://{self._bucket_name}/{name} is gone: {e}") from e
        except ContentDecodingError as e:  # Content-Encoding: gzip on what is no gzip
            raise ForeignObject(name, f"gs://{self._bucket_name}/{name}: {e}") from e
        except _SDK_ERRORS as e:
            raise LakeError(f"cannot read gs://{self._bucket_name}/{name}: {e}") from e
        return decode_object(content)

    def _upload_as(self, name: str, content: bytes) -> bool:
        """Store ``content`` as object ``name`` unless it exists; whether ``name`` holds
        ``content`` now (False: other content, left as it is). An object found there is
        compared by its metadata first (:func:`_holds`). The name is looked at before the
        create-only upload, which the Storage emulator does not refuse; one created meanwhile
        (a 412) is looked at again, and one deleted meanwhile frees the name again."""
        bucket = self._get_bucket()
        try:
            for _ in range(_UPLOAD_TRIES):
                found = bucket.get_blob(name)
                if found is not None:
                    return _holds(found, content)
                try:
                    bucket.blob(name).upload_from_string(
                        content, content_type=CONTENT_TYPE, if_generation_match=0
                    )
                    return True
                except PreconditionFailed:
                    continue
        except _SDK_ERRORS as e:
            raise LakeError(f"cannot write gs://{self._bucket_name}/{name}: {e}") from e
        raise LakeError(
            f"cannot write gs://{self._bucket_name}/{name}: it was there on each of "
            f"{_UPLOAD_TRIES} tries, and gone each time it was looked at"
        )

    def _get_bucket(self) -> Bucket:
        if self._bucket is None:
            self._bucket = self.client.bucket(self._bucket_name)
        return self._bucket


_UPLOAD_TRIES = 3
"""Uploads of one name at most, while the object found there is deleted each time."""


def _holds(blob: Blob, content: bytes) -> bool:
    """Whether the object ``blob`` (its metadata, as listed or fetched) holds ``content``,
    told without downloading it where its metadata can tell: a size other than
    ``content``'s says no; then its MD5 decides either way (a different object of the same
    MD5 would take a second preimage of MD5, which nobody can make, least of all for records
    stored after the object was copied there); a composite object has none, and its CRC32C,
    32 bits that anyone can match, decides only a mismatch: its bytes decide the rest."""
    if blob.size != len(content):
        return False
    if blob.md5_hash:
        return bool(blob.md5_hash == _b64(hashlib.md5(content, usedforsecurity=False).digest()))
    if blob.crc32c and blob.crc32c != _b64(google_crc32c.value(content).to_bytes(4, "big")):
        return False
    return bytes(blob.download_as_bytes()) == content


def _b64(digest: bytes) -> str:
    """A digest as Cloud Storage's metadata gives it: standard base64."""
    return base64.b64encode(digest).decode()


def _is_object_name(name: str) -> bool:
    """Whether ``name`` is ``{subsystem}/{topic}/YYYY/MM/DD/hh/{batch}.jsonl``, not hidden."""
    parts = name.split("/")
    return (
        len(parts) == LEVELS + 3 and name.endswith(OBJECT_SUFFIX) and not parts[-1].startswith(".")
    )


def _default_client() -> Client:
    from google.cloud import storage  # type: ignore[import-untyped, unused-ignore]

    host = os.environ.get("STORAGE_EMULATOR_HOST", "")
    if host and "://" not in host:
        return storage.Client(client_options={"api_endpoint": f"http://{host}"})
    return storage.Client()
