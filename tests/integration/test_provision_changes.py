"""Provisioning again where the subscriptions exist with other settings (Pub/Sub emulator).

A dev stack started again against the same emulators (``PUBSUB_EMULATOR_HOST``) on
other ports must have its pushes delivered to its new hosts, not to the old ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from google.cloud import pubsub_v1

from shared.hub.provision import (
    ProvisionError,
    provision_subscription,
    provision_system,
    subscription_path,
)
from shared.hub.routing import on_types
from shared.topology.model import Channel, Consumer, Role, Service, ServiceKind, Subsystem, Topic

RUN = uuid.uuid4().hex[:6]


def noop(event: Any, context: Any) -> None:
    """A handler that does nothing: these topologies are never run."""


def shop(channel: Channel) -> Subsystem:
    listener = Consumer("listener", Role.LISTENER, channel, handlers=(noop,))
    return Subsystem("shop", (Service("cart", ServiceKind.BFF, (listener,)),))


def project_of(label: str) -> Callable[[str], str]:
    return lambda subsystem: f"p{RUN}-{label}-{subsystem}"


def push_to(port: int) -> Callable[[Service, Consumer], str]:
    return lambda service, consumer: f"http://127.0.0.1:{port}/{consumer.target(service)}"


@pytest.fixture(scope="module")
def subscriber() -> Iterator[Any]:
    client = pubsub_v1.SubscriberClient()
    yield client
    client.close()


def test_an_existing_subscription_gets_the_new_push_endpoint_and_policies(
    subscriber: Any,
) -> None:
    projects = project_of("moved")
    path = subscription_path(projects("shop"), "cart-listener")
    # GIVEN a subscription provisioned for a host on port 9001
    provision_system((shop(Channel(on_types("order-placed"))),), projects, push_to(9001))

    # WHEN it is provisioned again for a host on port 9002, with other delivery settings
    channel = Channel(
        on_types("order-placed"),
        max_delivery_attempts=9,
        min_backoff_s=3,
        max_backoff_s=30,
        ack_deadline_s=40,
    )
    report = provision_system((shop(channel),), projects, push_to(9002))

    # THEN it pushes to the new host, with the new settings, and the report says so
    got = subscriber.get_subscription(request={"subscription": path})
    assert got.push_config.push_endpoint == "http://127.0.0.1:9002/cart_listener"
    assert got.ack_deadline_seconds == 40
    assert got.retry_policy.minimum_backoff == timedelta(seconds=3)
    assert got.retry_policy.maximum_backoff == timedelta(seconds=30)
    assert got.dead_letter_policy.max_delivery_attempts == 9
    assert report.existing_subscriptions == report.updated_subscriptions == (path,)
    # AND provisioning it once more changes nothing
    again = provision_system((shop(channel),), projects, push_to(9002))
    assert again.updated_subscriptions == ()
    assert subscriber.get_subscription(request={"subscription": path}) == got


def test_a_kit_subscription_gets_the_new_push_endpoint(subscriber: Any) -> None:
    projects = project_of("kit")
    provision_system((shop(Channel(on_types("order-placed"))),), projects)
    project = projects("shop")
    provision_subscription(
        project, "recorder", Topic.FAULTS, push_endpoint="http://127.0.0.1:9001/_f"
    )

    created = provision_subscription(
        project, "recorder", Topic.FAULTS, push_endpoint="http://127.0.0.1:9002/_f"
    )

    got = subscriber.get_subscription(
        request={"subscription": subscription_path(project, "recorder")}
    )
    assert created is False
    assert got.push_config.push_endpoint == "http://127.0.0.1:9002/_f"


def test_a_subscription_with_another_filter_is_named_not_kept(subscriber: Any) -> None:
    projects = project_of("refiltered")
    provision_system((shop(Channel(on_types("order-placed"))),), projects, push_to(9001))

    with pytest.raises(ProvisionError, match=r"cart-listener exists with another filter"):
        provision_system((shop(Channel(on_types("order-paid"))),), projects, push_to(9001))
