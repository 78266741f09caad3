"""A store that reads and never writes: what a migration would change, counted, not made."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.stores.delegating import DelegatingStore

if TYPE_CHECKING:
    from shared.stores.base import Doc, Updater


class ReadOnlyStore(DelegatingStore):
    """``inner`` read as it is, each write answered as if made and then forgotten.

    A migration run on it returns how many documents it would change, from the documents as
    stored: a migration after it sees none of the changes an earlier one would make.
    """

    def create(self, collection: str, key: str, data: Doc) -> bool:
        return self.get(collection, key) is None

    def put(self, collection: str, key: str, data: Doc) -> None:
        return None

    def update(self, collection: str, key: str, updater: Updater) -> Doc | None:
        return updater(self.get(collection, key))

    def delete(self, collection: str, key: str) -> None:
        return None

    def delete_if(self, collection: str, key: str, condition: Callable[[Doc], bool]) -> bool:
        current = self.get(collection, key)
        return current is not None and condition(current)
