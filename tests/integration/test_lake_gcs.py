"""The lake contract on :class:`GcsLake` against the Cloud Storage emulator."""

from __future__ import annotations

import uuid

import pytest

from shared.lake.gcs import CONTENT_TYPE, GcsLake
from tests.contracts.lake_contract import T0, LakeContract, event, records


class TestGcsLake(LakeContract):
    @pytest.fixture(autouse=True)
    def _bucket(self, emulator_hosts: dict[str, str]) -> None:
        self.bucket = f"lake-{uuid.uuid4().hex[:12]}"
        GcsLake(self.bucket).ensure_bucket()

    def make_lake(self) -> GcsLake:
        return GcsLake(self.bucket)

    def store_raw(self, name: str, content: bytes) -> None:
        self.make_lake().client.bucket(self.bucket).blob(name).upload_from_string(content)

    def delete_raw(self, name: str) -> None:
        self.make_lake().client.bucket(self.bucket).blob(name).delete()

    def test_objects_are_ndjson(self, lake: GcsLake) -> None:
        lake.append("order", "bus", records(event(T0)))
        [name] = lake.objects("order")
        blob = lake.client.bucket(self.bucket).get_blob(name)
        assert blob is not None
        assert blob.content_type == CONTENT_TYPE

    def test_ensure_bucket_is_idempotent(self, lake: GcsLake) -> None:
        lake.ensure_bucket()
        lake.ensure_bucket()
        assert lake.client.lookup_bucket(self.bucket) is not None

    def test_an_explicit_client_is_used(self, lake: GcsLake) -> None:
        other = GcsLake(self.bucket, client=lake.client)
        assert other.client is lake.client
        other.append("order", "bus", records(event(T0)))
        assert len(lake.objects("order")) == 1
