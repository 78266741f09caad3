"""The publisher contract on the embedded hub."""

from __future__ import annotations

from shared.clock import ManualClock
from shared.hub.base import AbstractPublisher
from shared.hub.memory import InMemoryHub, Subscription
from shared.hub.message import Message
from shared.runtime.outcome import Outcome
from shared.topology import Topic
from tests.contracts.publisher_contract import PublisherContract


class TestInMemoryPublisher(PublisherContract):
    def make_publisher(self) -> AbstractPublisher:
        self.hub = InMemoryHub(ManualClock())
        self.seen: dict[str, list[Message]] = {t: [] for t in Topic}
        for topic in Topic:
            self.hub.create_topic("p", topic)
            self.hub.subscribe(
                "p",
                topic,
                Subscription(
                    f"read-back-{topic}",
                    lambda m, a, t=topic: self.seen[t].append(m) or Outcome.ACK,
                ),
            )
        return self.hub.publisher("p")

    def make_publisher_without_topics(self) -> AbstractPublisher:
        return InMemoryHub(ManualClock()).publisher("nowhere")

    def received(self, topic: Topic) -> list[Message]:
        self.hub.run_until_quiet()
        return list(self.seen[topic])
