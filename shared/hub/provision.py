"""Create a subsystem's topics and subscriptions on a Pub/Sub endpoint, from its topology.

Used on the emulator by ``fooddelivery dev`` and the integration tests; the
same calls work on GCP, where Terraform owns the resources instead. Creation
is idempotent: a topic that exists is left as it is; a subscription that exists
is compared with the one asked for, and what differs is updated in place (push
endpoint, ack deadline, retry and dead-letter policies: e.g. a stack started
again on other ports against the same emulator). What Pub/Sub cannot change on
a subscription (its topic, filter or ordering) is a :class:`ProvisionError`
naming it, rather than a subscription left delivering by the old settings.

Given a :class:`Deadline`, every admin call of one provisioning shares it: a Pub/Sub
that stops answering is a :class:`ProvisionTimeout` once it has passed, instead of
each call retrying for its own minutes (``create_topic`` for 600 s).

Each subsystem owns the topics ``bus``, ``faults`` and ``external`` in its own
project. Each consumer gets one subscription, in its subsystem's project, on
its channel's topic: the own ``bus``, or another subsystem's ``external``
topic for an ingress (cross-project), dead-lettering to the own ``faults``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]
from google.pubsub_v1 import SchemaServiceClient

from shared.exceptions import KitError
from shared.hub.limits import delivery_problems
from shared.hub.topic_schemas import attach_envelope_schema
from shared.topology.model import Consumer, Service, Subsystem, Topic

ProjectOf = Callable[[str], str]
"""Maps a subsystem's name to its project id."""
PushEndpointOf = Callable[[Service, Consumer], str]
"""Maps a consumer to the URL its push subscription delivers to."""
MUTABLE_FIELDS = ("push_config", "ack_deadline_seconds", "retry_policy", "dead_letter_policy")
"""What provisioning updates on a subscription that exists with other settings."""
FIXED_FIELDS = ("topic", "filter", "enable_message_ordering")
"""What Pub/Sub cannot change on a subscription once created."""


_RETRYABLE = api_retry.if_exception_type(
    api_exceptions.ServiceUnavailable, api_exceptions.Aborted, api_exceptions.Unknown
)
"""What the admin calls retry by default (``create_topic`` only the first)."""


class ProvisionError(KitError):
    """A resource could not be created, e.g. another subsystem's topic is missing."""


class ProvisionTimeout(ProvisionError):
    """Pub/Sub did not answer before the provisioning's :class:`Deadline`."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """One time limit shared by every admin call of a provisioning (and their retries)."""

    seconds: float
    at: float
    """When it passes, on :func:`time.monotonic`'s clock."""

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """The deadline ``seconds`` from now."""
        return cls(seconds, time.monotonic() + seconds)

    def call_options(self) -> dict[str, Any]:
        """``timeout`` and ``retry`` for one admin call, bounded by what is left.

        Raises :class:`ProvisionTimeout` when nothing is.
        """
        left = self.at - time.monotonic()
        if left <= 0:
            raise self._timeout("no time left for the next call")
        retry = api_retry.Retry(
            initial=0.1, maximum=5.0, multiplier=1.3, predicate=_RETRYABLE, timeout=left
        )
        return {"timeout": left, "retry": retry}

    @contextlib.contextmanager
    def kept(self) -> Iterator[None]:
        """Turn the admin calls' timeouts within into :class:`ProvisionTimeout`."""
        try:
            yield
        except (api_exceptions.DeadlineExceeded, api_exceptions.RetryError) as e:
            raise self._timeout(e) from e

    def _timeout(self, cause: object) -> ProvisionTimeout:
        where = os.environ.get("PUBSUB_EMULATOR_HOST") or "pubsub.googleapis.com"
        return ProvisionTimeout(
            f"Pub/Sub at {where} did not answer within {self.seconds:g} s of provisioning "
            f"({cause}); is it running and answering?"
        )


class _Bounded:
    """A Pub/Sub client whose every method call is bounded by ``deadline``."""

    def __init__(self, client: Any, deadline: Deadline) -> None:
        self._client, self._deadline = client, deadline

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            return attribute(*args, **kwargs, **self._deadline.call_options())

        return call


@dataclass(frozen=True, slots=True)
class ProvisionReport:
    """Full resource names: what provisioning created and what already existed."""

    created_topics: tuple[str, ...] = ()
    existing_topics: tuple[str, ...] = ()
    created_subscriptions: tuple[str, ...] = ()
    existing_subscriptions: tuple[str, ...] = ()
    updated_subscriptions: tuple[str, ...] = ()
    """Existing subscriptions (also in ``existing_subscriptions``) whose settings were updated."""

    def __add__(self, other: ProvisionReport) -> ProvisionReport:
        return ProvisionReport(
            self.created_topics + other.created_topics,
            self.existing_topics + other.existing_topics,
            self.created_subscriptions + other.created_subscriptions,
            self.existing_subscriptions + other.existing_subscriptions,
            self.updated_subscriptions + other.updated_subscriptions,
        )


def topic_path(project: str, topic: Topic) -> str:
    """``projects/{project}/topics/{topic}``."""
    return f"projects/{project}/topics/{topic.value}"


def subscription_path(project: str, subscription: str) -> str:
    """``projects/{project}/subscriptions/{subscription}``."""
    return f"projects/{project}/subscriptions/{subscription}"


def subscription_request(
    subsystem: Subsystem,
    service: Service,
    consumer: Consumer,
    project_of: ProjectOf,
    push_endpoint_of: PushEndpointOf | None = None,
    *,
    ordering: bool = True,
) -> dict[str, Any]:
    """The ``Subscription`` (as a request dict) that feeds ``consumer``.

    ``ordering=False`` creates it unordered whatever the channel says (see :func:`provision`).
    """
    channel = consumer.channel
    project = project_of(subsystem.name)
    source = project_of(channel.subsystem) if channel.subsystem is not None else project
    request: dict[str, Any] = {
        "name": subscription_path(project, consumer.subscription(service)),
        "topic": topic_path(source, channel.topic),
        "filter": channel.rule.to_filter(),
        "enable_message_ordering": channel.ordered and ordering,
        "ack_deadline_seconds": channel.ack_deadline_s,
        "retry_policy": {
            "minimum_backoff": timedelta(seconds=channel.min_backoff_s),
            "maximum_backoff": timedelta(seconds=channel.max_backoff_s),
        },
        "dead_letter_policy": {
            "dead_letter_topic": topic_path(project, Topic.FAULTS),
            "max_delivery_attempts": channel.max_delivery_attempts,
        },
    }
    if push_endpoint_of is not None:
        request["push_config"] = {"push_endpoint": push_endpoint_of(service, consumer)}
    return request


def provision(
    subsystem: Subsystem,
    project_of: ProjectOf,
    push_endpoint_of: PushEndpointOf | None = None,
    *,
    ordering: bool = True,
    publisher: pubsub_v1.PublisherClient | None = None,
    subscriber: pubsub_v1.SubscriberClient | None = None,
    deadline: Deadline | None = None,
) -> ProvisionReport:
    """Create the subsystem's topics, then one subscription per consumer.

    ``push_endpoint_of`` ``None`` makes pull subscriptions. An ingress needs the
    producing subsystem's ``external`` topic to exist already (else
    :class:`ProvisionError`); :func:`provision_system` orders this for you.
    ``ordering=False`` makes every subscription unordered: the emulator (0.8.20)
    never dead-letters from an ordered subscription, its delivery loop crashes.
    """
    return provision_system(
        (subsystem,),
        project_of,
        push_endpoint_of,
        ordering=ordering,
        publisher=publisher,
        subscriber=subscriber,
        deadline=deadline,
    )


def provision_system(
    subsystems: Iterable[Subsystem],
    project_of: ProjectOf,
    push_endpoint_of: PushEndpointOf | None = None,
    *,
    ordering: bool = True,
    envelope_schema: bool = False,
    publisher: pubsub_v1.PublisherClient | None = None,
    subscriber: pubsub_v1.SubscriberClient | None = None,
    deadline: Deadline | None = None,
) -> ProvisionReport:
    """Provision several subsystems: every topic first, then every subscription.

    ``envelope_schema`` attaches the envelope's Avro schema to each ``external``
    topic (:mod:`shared.hub.topic_schemas`), so the broker refuses anything that
    is not an event envelope. Verified on the emulator only. ``deadline`` bounds every
    call (else :class:`ProvisionTimeout`).
    """
    subsystems = tuple(subsystems)
    report = ProvisionReport()
    with _clients(publisher, subscriber, deadline) as (pub, sub, schemas):
        for subsystem in subsystems:
            project = project_of(subsystem.name)
            for topic in Topic:
                path = topic_path(project, topic)
                created = _create(pub.create_topic, {"name": path})
                if envelope_schema and topic is Topic.EXTERNAL:
                    attach_envelope_schema(
                        project, topic.value, schema_client=schemas, publisher_client=pub
                    )
                if created:
                    report += ProvisionReport(created_topics=(path,))
                else:
                    report += ProvisionReport(existing_topics=(path,))
        for subsystem in subsystems:
            for service, consumer in subsystem.consumers():
                request = subscription_request(
                    subsystem, service, consumer, project_of, push_endpoint_of, ordering=ordering
                )
                try:
                    created = _create(sub.create_subscription, request)
                    updated = not created and _update_subscription(sub, request)
                except api_exceptions.NotFound as e:
                    raise ProvisionError(
                        f"cannot create {request['name']}: topic {request['topic']} or "
                        f"{request['dead_letter_policy']['dead_letter_topic']} does not exist; "
                        "provision its subsystem first"
                    ) from e
                name = str(request["name"])
                if created:
                    report += ProvisionReport(created_subscriptions=(name,))
                else:
                    report += ProvisionReport(
                        existing_subscriptions=(name,),
                        updated_subscriptions=(name,) if updated else (),
                    )
    return report


def provision_subscription(
    project: str,
    subscription: str,
    topic: Topic,
    *,
    push_endpoint: str | None = None,
    ack_deadline_s: int = 60,
    min_backoff_s: float = 1.0,
    max_backoff_s: float = 10.0,
    subscriber: pubsub_v1.SubscriberClient | None = None,
    deadline: Deadline | None = None,
) -> bool:
    """Create one kit-owned subscription on ``project``'s own ``topic``; False if it exists
    (then updated to these settings, as :func:`provision_system` does).

    For what the kit runs beside the declared functions, e.g. the fault recorder
    on ``faults`` (push) or a lake writer on ``bus`` (pull, ``push_endpoint``
    ``None``). It has no dead-letter policy: there is nowhere further to send it.
    ``deadline`` bounds every call (else :class:`ProvisionTimeout`). Settings Pub/Sub
    would refuse are a :class:`ProvisionError` before any call, on the emulator too
    (:mod:`shared.hub.limits`).
    """
    problems = delivery_problems(
        max_attempts=None,
        min_backoff_s=min_backoff_s,
        max_backoff_s=max_backoff_s,
        ack_deadline_s=ack_deadline_s,
    )
    if problems:
        raise ProvisionError(
            f"cannot create {subscription_path(project, subscription)}: {'; '.join(problems)}"
        )
    request: dict[str, Any] = {
        "name": subscription_path(project, subscription),
        "topic": topic_path(project, topic),
        "ack_deadline_seconds": ack_deadline_s,
        "retry_policy": {
            "minimum_backoff": timedelta(seconds=min_backoff_s),
            "maximum_backoff": timedelta(seconds=max_backoff_s),
        },
    }
    if push_endpoint is not None:
        request["push_config"] = {"push_endpoint": push_endpoint}
    sub = subscriber if subscriber is not None else pubsub_v1.SubscriberClient()
    bounded = sub if deadline is None else _Bounded(sub, deadline)
    try:
        with deadline.kept() if deadline is not None else contextlib.nullcontext():
            created = _create(bounded.create_subscription, request)
            if not created:
                _update_subscription(bounded, request)
        return created
    except api_exceptions.NotFound as e:
        raise ProvisionError(
            f"cannot create {request['name']}: topic {request['topic']} does not exist"
        ) from e
    finally:
        if subscriber is None:
            sub.close()


def set_push_endpoint(
    project: str,
    subscription: str,
    endpoint: str,
    *,
    subscriber: pubsub_v1.SubscriberClient | None = None,
) -> None:
    """Point an existing push subscription at ``endpoint`` (e.g. a function run on its own)."""
    sub = subscriber if subscriber is not None else pubsub_v1.SubscriberClient()
    try:
        sub.modify_push_config(
            request={
                "subscription": subscription_path(project, subscription),
                "push_config": {"push_endpoint": endpoint},
            }
        )
    except api_exceptions.NotFound as e:
        raise ProvisionError(f"no subscription {subscription} in {project}") from e
    finally:
        if subscriber is None:
            sub.close()


def deprovision(
    subsystem: Subsystem,
    project_of: ProjectOf,
    *,
    publisher: pubsub_v1.PublisherClient | None = None,
    subscriber: pubsub_v1.SubscriberClient | None = None,
) -> None:
    """Delete the subsystem's declared subscriptions and its topics (what is missing is skipped)."""
    project = project_of(subsystem.name)
    with _clients(publisher, subscriber) as (pub, sub, _):
        for service, consumer in subsystem.consumers():
            path = subscription_path(project, consumer.subscription(service))
            with contextlib.suppress(api_exceptions.NotFound):
                sub.delete_subscription(request={"subscription": path})
        for topic in Topic:
            with contextlib.suppress(api_exceptions.NotFound):
                pub.delete_topic(request={"topic": topic_path(project, topic)})


def _create(method: Callable[..., Any], request: dict[str, Any]) -> bool:
    """Call a create method; ``False`` when the resource already exists."""
    try:
        method(request=request)
    except api_exceptions.AlreadyExists:
        return False
    return True


def _update_subscription(sub: Any, request: dict[str, Any]) -> bool:
    """Bring the existing subscription ``request`` names to its settings; True if any changed.

    Raises :class:`ProvisionError` when it differs in what Pub/Sub cannot update.
    """
    wanted = pubsub_v1.types.Subscription(request)
    existing = sub.get_subscription(request={"subscription": wanted.name})
    fixed = [f for f in FIXED_FIELDS if getattr(existing, f) != getattr(wanted, f)]
    if fixed:
        differences = "; ".join(
            f"{f} {getattr(existing, f)!r}, declared {getattr(wanted, f)!r}" for f in fixed
        )
        raise ProvisionError(
            f"{wanted.name} exists with another {', '.join(fixed)} ({differences}), which "
            "Pub/Sub cannot change: delete the subscription (or start the emulator afresh) "
            "and provision again"
        )
    changed = [f for f in MUTABLE_FIELDS if getattr(existing, f) != getattr(wanted, f)]
    if changed:
        sub.update_subscription(
            request={
                "subscription": wanted,
                "update_mask": {"paths": changed},
            }
        )
    return bool(changed)


@contextlib.contextmanager
def _clients(
    publisher: Any, subscriber: Any, deadline: Deadline | None = None
) -> Iterator[tuple[Any, Any, Any]]:
    """The given admin clients, or new ones closed on exit, and a schema client (``None``
    without ``deadline``: :func:`attach_envelope_schema` makes its own); each bounded by
    ``deadline``, whose passing within is a :class:`ProvisionTimeout`."""
    pub = publisher if publisher is not None else pubsub_v1.PublisherClient()
    sub = subscriber if subscriber is not None else pubsub_v1.SubscriberClient()
    try:
        if deadline is None:
            yield pub, sub, None
        else:
            with SchemaServiceClient() as schemas, deadline.kept():
                yield _Bounded(pub, deadline), _Bounded(sub, deadline), _Bounded(schemas, deadline)
    finally:
        if publisher is None:
            pub.transport.close()
        if subscriber is None:
            sub.close()
