"""Throughput of the kit against the raw google-cloud-pubsub client, and of the embedded hub.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/kit_throughput.py``).
It starts a Pub/Sub emulator unless PUBSUB_EMULATOR_HOST names one, and prints:

* publish: raw ``PublisherClient.publish`` futures vs :class:`PubSubPublisher`,
  same messages, same batch settings;
* consume: raw streaming pull acking every message vs the kit's pull worker
  running a :class:`ConsumerRuntime` (rule check, envelope decode, no-op handler);
* embedded: events per second through the in-memory hub to a no-op handler,
  with the lake on.

Targets: kit/raw >= 0.8 for publish and consume; embedded >= 20,000 events/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]
from measure import header, stop_on_sigterm

from shared import emulators
from shared.clock import ManualClock, SystemClock
from shared.envelope import new_event
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message, to_message
from shared.hub.pubsub import PubSubPublisher, publisher_client
from shared.hub.pubsub_pull import PubSubPullWorker
from shared.hub.routing import on_types
from shared.lake.local import LocalDirectoryLake
from shared.runtime.app import SubsystemApp
from shared.runtime.consumer import ConsumerRuntime
from shared.runtime.embedded import EmbeddedSystem
from shared.runtime.outcome import Outcome
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Subsystem, Topic

PROJECT = "bench"


def noop(event: Any, ctx: Any) -> None:
    return None


TOPOLOGY = Subsystem(
    "bench",
    (
        Service(
            "sink",
            ServiceKind.CONTROL,
            (Consumer("listener", Role.LISTENER, Channel(on_types("tick")), handlers=(noop,)),),
        ),
    ),
)


def messages(n: int) -> list[Message]:
    return [
        to_message(
            new_event(
                "tick",
                "tick",
                {"n": i, "pad": "x" * 120},
                partition_key=f"k{i % 50}",
                tags={"source": "bench"},
            )
        )
        for i in range(n)
    ]


def publish_raw(client: pubsub_v1.PublisherClient, topic: str, batch: list[Message]) -> float:
    started = time.perf_counter()
    futures = [
        client.publish(topic, m.data, ordering_key=m.ordering_key, **m.attributes) for m in batch
    ]
    for future in futures:
        future.result()
    return time.perf_counter() - started


def publish_kit(publisher: PubSubPublisher, batch: list[Message], chunk: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(batch), chunk):
        publisher.publish(Topic.BUS, batch[i : i + chunk])
    return time.perf_counter() - started


def consume_raw(subscription: str, n: int) -> float:
    done, count, lock = threading.Event(), [0], threading.Lock()

    def callback(message: Any) -> None:
        message.ack()
        with lock:
            count[0] += 1
            if count[0] >= n:
                done.set()

    subscriber = pubsub_v1.SubscriberClient()
    started = time.perf_counter()
    future = subscriber.subscribe(
        subscription,
        callback,
        flow_control=pubsub_v1.types.FlowControl(max_messages=1000),
    )
    finished = done.wait(300)
    elapsed = time.perf_counter() - started
    future.cancel()
    future.result(timeout=30)  # let the stream shut down before closing its channel
    subscriber.close()
    return _all_consumed(finished, "raw", n, elapsed)


def consume_kit(subscription: str, n: int) -> float:
    runtime = ConsumerRuntime(
        TOPOLOGY, *next(iter(TOPOLOGY.consumers())), None, _NullPublisher(), SystemClock()
    )
    done, count, lock = threading.Event(), [0], threading.Lock()

    def handle(message: Message) -> bool:
        ok = runtime.handle(message) is Outcome.ACK
        with lock:
            count[0] += ok  # a message nacked comes again: counted once, when acked
            if count[0] >= n:
                done.set()
        return ok

    started = time.perf_counter()
    with PubSubPullWorker(subscription, handle, max_messages=1000):
        finished = done.wait(300)
        elapsed = time.perf_counter() - started
    return _all_consumed(finished, "kit", n, elapsed)


def _all_consumed(finished: bool, path: str, n: int, elapsed: float) -> float:
    """``elapsed``, once the ``path`` consumer acked all ``n`` messages; else an error, rather
    than a rate computed from a timeout."""
    if not finished:
        raise RuntimeError(f"the {path} consumer acked fewer than {n} messages in {elapsed:.0f} s")
    return elapsed


class _NullPublisher(AbstractPublisher):
    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        return []


def embedded(n: int) -> float:
    with tempfile.TemporaryDirectory() as lake_dir:
        system = EmbeddedSystem(
            [SubsystemApp(TOPOLOGY, lambda infra: None)],
            clock=ManualClock(),
            lake=LocalDirectoryLake(Path(lake_dir)),
        )
        batch = messages(n)
        publisher = system.hub.publisher("bench")
        started = time.perf_counter()
        for i in range(0, n, 100):
            publisher.publish(Topic.BUS, batch[i : i + 100])
        delivered = system.run_until_quiet()
        elapsed = time.perf_counter() - started
        if delivered != n:
            raise RuntimeError(f"the embedded hub made {delivered} deliveries of {n} events")
        return elapsed


def measure_round(
    admin: tuple[Any, Any], round_no: int, batch: list[Message], chunk: int
) -> dict[str, float]:
    """One round on fresh topics; the path that goes first alternates between rounds."""
    admin_pub, admin_sub = admin
    paths = {}
    for name in ("raw", "kit"):
        topic = admin_pub.topic_path(PROJECT, f"{name}-bus-{round_no}")
        sub = admin_sub.subscription_path(PROJECT, f"{name}-sub-{round_no}")
        admin_pub.create_topic(name=topic)
        admin_sub.create_subscription(name=sub, topic=topic)
        paths[name] = (topic, sub)
    raw_client = publisher_client()
    kit = PubSubPublisher(PROJECT, client=publisher_client())
    kit.topic_path = lambda topic: paths["kit"][0]  # type: ignore[method-assign]
    n = len(batch)
    runs = {
        "raw_pub": lambda: n / publish_raw(raw_client, paths["raw"][0], batch),
        "kit_pub": lambda: n / publish_kit(kit, batch, chunk),
    }
    order = ["raw", "kit"] if round_no % 2 == 0 else ["kit", "raw"]
    rates = {f"{name}_pub": runs[f"{name}_pub"]() for name in order}
    for name in order:
        consume = consume_raw if name == "raw" else consume_kit
        rates[f"{name}_con"] = n / consume(paths[name][1], n)
    kit.close()
    raw_client.stop()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--embedded-events", type=int, default=50_000)
    parser.add_argument("--chunk", type=int, default=1000, help="messages per kit publish call")
    args = parser.parse_args()
    stop_on_sigterm()  # the emulator stops as on Ctrl-C
    print(header("kit_throughput", vars(args)), flush=True)
    batch = messages(args.messages)

    results = []
    with emulators.running(emulators.PUBSUB):
        admin = (pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient())
        for round_no in range(args.rounds):
            results.append(measure_round(admin, round_no, batch, args.chunk))
        admin[1].close()

    print(
        f"{args.messages} messages of ~{len(batch[0].data)} bytes, {args.rounds} rounds "
        "(median), on the Pub/Sub emulator"
    )
    print(f"{'path':<10}{'raw msg/s':>12}{'kit msg/s':>12}{'kit/raw':>10}{'target':>9}")
    for path in ("pub", "con"):
        raw = statistics.median(r[f"raw_{path}"] for r in results)
        kit_rate = statistics.median(r[f"kit_{path}"] for r in results)
        ratio = statistics.median(r[f"kit_{path}"] / r[f"raw_{path}"] for r in results)
        verdict = "ok" if ratio >= 0.8 else "BELOW"
        name = "publish" if path == "pub" else "consume"
        print(f"{name:<10}{raw:>12,.0f}{kit_rate:>12,.0f}{ratio:>10.2f}{'>=0.8':>9} {verdict}")
    rate = args.embedded_events / embedded(args.embedded_events)
    verdict = "ok" if rate >= 20_000 else "BELOW"
    print(
        f"embedded hub: {rate:,.0f} events/s through a no-op handler, lake on "
        f"(target >= 20,000) {verdict}"
    )


if __name__ == "__main__":
    main()
