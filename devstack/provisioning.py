"""Provision the emulators for a dev stack from the topologies, pushing to the hosts.

Pub/Sub gets each subsystem's topics and subscriptions (the cross-subsystem
ingress ones included) from the topologies, plus per subsystem a
``fault-recorder`` push subscription on ``faults`` and, with the lake, a pull
subscription on ``bus`` for the lake writer. The Storage emulator gets the
lake bucket. On emulators that already hold them (``*_EMULATOR_HOST``), the
subscriptions are updated to push to this stack's hosts. All of it within
:data:`PROVISION_TIMEOUT_S`: an emulator that stops answering meanwhile fails the
start with a :class:`~shared.hub.provision.ProvisionTimeout` naming it, instead of
holding it for the minutes the admin calls would retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from devstack.layout import LAKE_BUCKET, project_of
from shared.runtime.faults import RECORDER_BACKOFF_S
from shared.topology.model import Topic

if TYPE_CHECKING:
    from shared.runtime.app import SubsystemApp

_log = logging.getLogger("fooddelivery.dev")
PROVISION_TIMEOUT_S = 60.0
"""How long provisioning may take in all; it takes seconds on a working emulator."""


def provision(
    apps: Sequence[SubsystemApp[Any]],
    hosts: Mapping[str, str],
    *,
    lake: bool,
    timeout_s: float = PROVISION_TIMEOUT_S,
) -> None:
    """Create every topic and subscription; ``hosts`` maps each subsystem to its host's URL.

    Raises :class:`~shared.hub.provision.ProvisionTimeout` when Pub/Sub has not answered
    it all within ``timeout_s``.
    """
    from devstack.lake import SUBSCRIPTION as LAKE_SUBSCRIPTION
    from shared.hub.provision import Deadline, provision_subscription, provision_system

    started = time.perf_counter()
    deadline = Deadline.after(timeout_s)
    owner = {id(service): app.name for app in apps for service in app.topology.services}

    def endpoint(service: Any, consumer: Any) -> str:
        return f"{hosts[owner[id(service)]]}/{consumer.target(service)}"

    # The emulator (0.8.20) breaks an ordered subscription with a dead-letter policy
    # at its last attempt, so every subscription is unordered here.
    report = provision_system(
        [app.topology for app in apps],
        project_of,
        endpoint,
        ordering=False,
        envelope_schema=True,
        deadline=deadline,
    )
    kit_subscriptions = 0
    for app in apps:
        kit_subscriptions += 2 if lake else 1
        provision_subscription(
            project_of(app.name),
            "fault-recorder",
            Topic.FAULTS,
            push_endpoint=f"{hosts[app.name]}/_faults",
            min_backoff_s=RECORDER_BACKOFF_S[0],
            max_backoff_s=RECORDER_BACKOFF_S[1],
            deadline=deadline,
        )
        if lake:
            provision_subscription(
                project_of(app.name), LAKE_SUBSCRIPTION, Topic.BUS, deadline=deadline
            )
    updated = len(report.updated_subscriptions)
    _log.info(
        "provisioned %d topics and %d subscriptions (%d the kit's own: fault recorders, "
        "lake writers)%s in %.1f s",
        len(report.created_topics) + len(report.existing_topics),
        len(report.created_subscriptions) + len(report.existing_subscriptions) + kit_subscriptions,
        kit_subscriptions,
        f", {updated} found with other settings and updated" if updated else "",
        time.perf_counter() - started,
    )


def create_lake_bucket() -> None:
    """The lake's bucket on the Storage emulator."""
    from shared.lake.gcs import GcsLake

    GcsLake(LAKE_BUCKET).ensure_bucket()
