"""Find, in a Terraform plan, the deletions and replacements that would lose messages or data.

Some attributes cannot change in place: a Pub/Sub subscription's ``filter`` or
message ordering, a bucket's location, a secret's replication. Terraform then
destroys the resource and creates it again, and whatever it held is gone: a
subscription's undelivered messages, a bucket's objects, the values an operator
added to a secret. A consumer removed or renamed deletes its subscription
outright. ``fooddelivery deploy`` reads the saved plan
(``terraform show -json``) and refuses such a plan unless told it may.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOSSES = {
    "google_pubsub_subscription": "its undelivered messages would be lost",
    "google_pubsub_topic": "messages published meanwhile would be lost",
    "google_firestore_database": "its documents would be lost",
    "google_storage_bucket": "its objects would be lost",
    # Its versions are the keys an operator added with gcloud: Terraform cannot put them back.
    "google_secret_manager_secret": "the values added to it would be lost",
    # Deleting a project deletes all it holds, though the plan lists none of it as deleted.
    "google_project": "everything in it (messages, documents, objects, secrets) would be lost",
}
"""The resource types that hold messages or data, and what replacing one loses."""


@dataclass(frozen=True, slots=True)
class Replacement:
    """One resource the plan destroys (and, if ``replaced``, creates again), and why."""

    address: str
    because_of: tuple[str, ...]
    loss: str
    replaced: bool = True

    def __str__(self) -> str:
        why = f" ({', '.join(self.because_of)} changed)" if self.because_of else ""
        what = "" if self.replaced else " (deleted)"
        return f"{self.address}{what}{why}: {self.loss}"


def lossy_replacements(plan: dict[str, Any]) -> list[Replacement]:
    """The deletions and replacements in ``plan`` (``terraform show -json``) of resources
    holding data."""
    found = []
    for change in plan.get("resource_changes", []):
        actions = change.get("change", {}).get("actions", [])
        if change.get("type") not in LOSSES or "delete" not in actions:
            continue
        paths = change["change"].get("replace_paths") or []
        because_of = tuple(".".join(str(step) for step in path) for path in paths)
        loss = LOSSES[change["type"]]
        found.append(Replacement(change["address"], because_of, loss, "create" in actions))
    return found


def refusal(replacements: list[Replacement]) -> str:
    """Why the deploy stops, and what to do."""
    listed = "".join(f"\n  - {replacement}" for replacement in replacements)
    return (
        f"the plan deletes or replaces {len(replacements)} resource(s) holding messages or "
        f"data:{listed}\n"
        "Let them drain first (README, Deploy to GCP, 'Changes that replace a subscription'), "
        "then deploy again with --allow-replace."
    )
