"""The subscription contract on the Pub/Sub emulator, through the kit's two consumers.

* push (:class:`TestPushSubscription`): what the dev stack runs, and GCP: the kit
  provisions a push subscription to an HTTP endpoint, which parses the request
  (:func:`~shared.hub.message.parse_push`) and answers 2xx or 500;
* pull (:class:`TestPullSubscription`): the kit's streaming-pull worker
  (:class:`~shared.hub.pubsub_pull.PubSubPullWorker`), for local runs and benchmarks.

Each test provisions a project of its own (``p<run>-sub<n>-contract``) and removes it
after. What the emulator (0.8.20) cannot show is each class's ``gaps``, seen on it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]

from shared.hub.message import Message, parse_push
from shared.hub.provision import deprovision, provision, subscription_path, topic_path
from shared.hub.pubsub import PubSubPublisher
from shared.hub.pubsub_pull import PubSubPullWorker
from shared.topology.model import Channel, Topic
from tests.contracts.subscription_contract import (
    DELIVERY_TIMEOUT_S,
    Gap,
    Handle,
    Subscribed,
    SubscriptionContract,
    topology,
)

RUN = uuid.uuid4().hex[:6]
_projects = itertools.count()
QUIET_S = 0.5
"""How long :meth:`quiet` waits for a delivery that should not come."""
ORDERED_DEAD_LETTERS = (
    "the emulator never dead-letters from an ordered subscription: at the last attempt its "
    "delivery thread dies (NullPointerException: this.publisherService is null) and the key "
    "stays blocked (see shared.hub.provision.provision)"
)


class PushEndpoint:
    """A push endpoint on 127.0.0.1 feeding ``handle``: 204 to acknowledge, 500 to retry."""

    def __init__(self, handle: Handle) -> None:
        class Receiver(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                _, message = parse_push(body)
                try:
                    ok = handle(message)
                except Exception:  # a function that raises answers 500: redeliver
                    ok = False
                self.send_response(204 if ok else 500)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        self.url = f"http://127.0.0.1:{self._server.server_port}/push"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class EmulatorSubscriptions(SubscriptionContract):
    """Provisions :func:`topology` with the kit's provisioning; reads ``faults`` by pull."""

    push: bool

    @pytest.fixture(autouse=True)
    def _teardown(self) -> Iterator[None]:
        self._closers = contextlib.ExitStack()
        self._faults: list[Message] = []
        self._lock = threading.Lock()
        with self._closers:
            yield

    def subscribe(self, feed: Channel, handle: Handle) -> Subscribed:
        project = f"p{RUN}-sub{next(_projects)}-contract"
        subsystem, service, consumer = topology(feed)
        endpoint = PushEndpoint(handle) if self.push else None
        if endpoint is not None:
            self._closers.callback(endpoint.close)
        provision(
            subsystem,
            lambda _: project,
            None if endpoint is None else lambda _s, _c: endpoint.url,
        )
        self._closers.callback(deprovision, subsystem, lambda _: project)
        sub_id = consumer.subscription(service)
        workers = [self._faults_reader(project)]
        if endpoint is None:
            workers.append(PubSubPullWorker(subscription_path(project, sub_id), handle))
        for worker in workers:
            worker.start()
            self._closers.callback(worker.stop)
        publisher = PubSubPublisher(project)
        self._closers.callback(publisher.close)
        return Subscribed(publisher, project, sub_id)

    def _faults_reader(self, project: str) -> PubSubPullWorker:
        path = subscription_path(project, "faults-reader")
        with pubsub_v1.SubscriberClient() as admin:
            admin.create_subscription(
                request={"name": path, "topic": topic_path(project, Topic.FAULTS)}
            )
        self._closers.callback(_delete_subscription, path)

        def keep(message: Message) -> bool:
            with self._lock:
                self._faults.append(message)
            return True

        return PubSubPullWorker(path, keep)

    def deliver_until(
        self, done: Callable[[], bool], timeout_s: float = DELIVERY_TIMEOUT_S
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                pytest.fail(f"the expected deliveries were not made within {timeout_s} s")
            time.sleep(0.05)

    def quiet(self) -> None:
        time.sleep(QUIET_S)

    def dead_letters(self) -> list[Message]:
        with self._lock:
            return list(self._faults)


def _delete_subscription(path: str) -> None:
    with pubsub_v1.SubscriberClient() as admin:
        admin.delete_subscription(request={"subscription": path})


class TestPushSubscription(EmulatorSubscriptions):
    """The dev stack's delivery. Redeliveries and dead letters are the emulator's own
    bookkeeping, the same for push and pull but slower here (seen: pushes 1 s, then 3 s
    apart, whatever the retry policy; a dead letter after 14 s), so to keep CI fast they
    run on pull only; push shows what only it does: a key held while its head is retried."""

    push = True
    gaps: ClassVar[dict[Gap, str]] = {
        Gap.DELIVERY_ATTEMPT: "the emulator's push requests carry no deliveryAttempt",
        Gap.ORDERING_KEY: "the emulator's push requests carry no orderingKey",
        Gap.ORDERED_DEAD_LETTER: ORDERED_DEAD_LETTERS,
    }
    test_a_refused_message_is_redelivered_with_a_growing_attempt_count = None  # type: ignore[assignment]
    test_after_the_last_attempt_the_message_is_dead_lettered_with_its_source = None  # type: ignore[assignment]
    test_on_an_ordered_subscription_a_dead_lettered_head_lets_its_key_move_on = None  # type: ignore[assignment]


class TestPullSubscription(EmulatorSubscriptions):
    """The kit's streaming-pull worker: attempts and ordering keys are handed over."""

    push = False
    gaps: ClassVar[dict[Gap, str]] = {
        Gap.KEY_WAITS_FOR_RETRY: (
            "the client hands on a key's next message once its head is nacked "
            "(PubSubPullWorker's docstring)"
        ),
        Gap.ORDERED_DEAD_LETTER: ORDERED_DEAD_LETTERS,
    }
    test_on_an_ordered_subscription_a_dead_lettered_head_lets_its_key_move_on = None  # type: ignore[assignment]
