"""What a deployment changing the code and its Firestore indexes together must do in order.

Firestore refuses a query whose composite index does not exist yet (``FAILED_PRECONDITION``)
and ``google_firestore_index`` waits for the index build before it reports it created. So
the functions must be deployed after their subsystem's indexes: the new code then goes live
once the indexes it queries are built, and an index only the old code needed is deleted
after the new code replaced it (Terraform destroys a dependency after updating what
depends on it). Without the dependency the two run side by side: when the browse list
began ordering by ``sortName``, the new ``(cuisine, sortName)`` index was still building
while the new code queried it, and the old ``(cuisine, name)`` one was gone while the old
code still queried it.
"""

from __future__ import annotations

from .test_first_apply import dependencies, waits_for

INDEXES = "google_firestore_index.this"


def test_functions_go_live_after_the_indexes_they_query(modules):
    graph = dependencies(modules["modules/subsystem"])
    assert INDEXES in graph, "the subsystem no longer makes the indexes: update this test"
    assert INDEXES in waits_for("module.function", graph)
