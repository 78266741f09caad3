"""``fooddelivery faults``: list, show and resubmit a subsystem's faults, through the CLI.

The subsystem's store and bus are the in-memory ones, handed to the command
where it would build the Google adapters from the settings.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from order.topology import APP as ORDER
from shared.cli import main
from shared.clock import ManualClock
from shared.envelope import new_event
from shared.exceptions import BusinessRuleViolation, EnvelopeError
from shared.hub.memory import InMemoryHub
from shared.hub.message import Message, dead_lettered, to_message
from shared.runtime import faults_command
from shared.runtime.faults import FAULTS_COLLECTION, FaultRecorder, fault_event
from shared.stores.memory import InMemoryDocumentStore
from shared.topology.model import Topic

PROJECT = "acme-fd-order-dev"
MINUTE = 60_000


def order_consumer(topic: Topic) -> tuple[str, str]:
    """(qualified function, subscription) of an Order consumer reading ``topic``."""
    for service, consumer in ORDER.topology.consumers():
        if consumer.channel.topic is topic:
            return f"order/{service.name}/{consumer.name}", consumer.subscription(service)
    raise AssertionError(f"the order subsystem reads no {topic}")


BUS_READER, BUS_SUBSCRIPTION = order_consumer(Topic.BUS)
INGRESS, _ = order_consumer(Topic.EXTERNAL)
GARBAGE = Message(
    data=b"{not an envelope",
    attributes={"type": "order-placed", "partitionKey": "o-1"},
    ordering_key="o-1",
    message_id="m-1",
)
PLACED = replace(
    to_message(new_event("order-placed", "order", {"id": "o-2"}, partition_key="o-2")),
    message_id="m-2",
)


class Order:
    """The order subsystem's faults collection and bus, in memory; faults a minute apart."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.store = InMemoryDocumentStore()
        self.hub = InMemoryHub(self.clock)
        for topic in Topic:
            self.hub.create_topic(PROJECT, topic)
        self.published: list[tuple[str, Message]] = []
        self.hub.observers.append(lambda project, topic, m: self.published.append((topic, m)))

    def fault(self, function: str, message: Message, error: Exception) -> str:
        """Record ``function``'s fault event on ``message``; its id."""
        self.clock.advance(MINUTE)
        event = fault_event(
            subsystem="order", function=function, message=message, error=error, clock=self.clock
        )
        FaultRecorder(self.store).handle(to_message(event))
        return event.id

    def dead_letter(self, message: Message) -> str:
        """Record ``message`` as the bus reader's subscription dead-letters it; its fault id."""
        self.clock.advance(MINUTE)
        when = datetime.fromtimestamp(self.clock.now_ms() / 1000, UTC).isoformat()
        dead = dead_lettered(replace(message, publish_time=when), PROJECT, BUS_SUBSCRIPTION, 5)
        FaultRecorder(self.store).handle(dead)
        [fault] = [
            d for d in self.store.query(FAULTS_COLLECTION) if d.data["reason"] == "dead-letter"
        ]
        return fault.key

    def status(self, fault_id: str) -> str:
        return self.store.get(FAULTS_COLLECTION, fault_id)["status"]

    def on_bus(self) -> list[Message]:
        return [m for topic, m in self.published if topic == Topic.BUS]


@pytest.fixture
def order(monkeypatch: pytest.MonkeyPatch) -> Order:
    """The order subsystem in memory, reached as on GCP (``FOODDELIVERY_MODE=gcp``)."""
    for name in [n for n in os.environ if n.startswith("FOODDELIVERY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FOODDELIVERY_MODE", "gcp")
    monkeypatch.setenv("FOODDELIVERY_PROJECT_ORDER", PROJECT)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "the-project-gcloud-points-at")
    system = Order()

    def adapters(subsystem, settings):
        assert (subsystem, settings.mode, settings.projects[subsystem]) == ("order", "gcp", PROJECT)
        return system.store, system.hub.publisher(PROJECT)

    monkeypatch.setattr(faults_command, "host_adapters", adapters)
    return system


def test_list_shows_one_line_per_open_fault_newest_first(order, capsys):
    garbage = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON " + "x" * 300))
    dead = order.dead_letter(PLACED)
    refused = order.fault(INGRESS, PLACED, BusinessRuleViolation("no such restaurant"))

    assert main(["faults", "list", "order"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == [refused, dead, garbage]
    when, _, status, reason, function, error = lines[2].split("  ", 5)
    assert when == datetime.fromtimestamp(order.clock.now_ms() / 1000 - 120, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert (status, reason, function) == ("open", "poison", BUS_READER)
    assert error.startswith("EnvelopeError: ") and error.endswith("xxx...")
    assert len(error) < 140  # trimmed
    assert lines[1].split("  ")[2:5] == ["open", "dead-letter", BUS_SUBSCRIPTION]
    assert "MaxDeliveryAttemptsExceeded: not acknowledged after 5 attempts" in lines[1]


def test_list_filters_by_status_and_limits(order, capsys):
    first = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    second = order.fault(BUS_READER, PLACED, BusinessRuleViolation("closed"))
    assert main(["faults", "resubmit", "order", first]) == 0
    capsys.readouterr()

    assert main(["faults", "list", "order", "--status", "resubmitted"]) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == [first]
    assert main(["faults", "list", "order", "--status", "all", "--limit", "1"]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[1] for line in out.splitlines()] == [second]
    assert "1 older" in err
    assert main(["faults", "list", "order", "--status", "open"]) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == [second]


def test_an_empty_list_says_so_on_stderr(order, capsys):
    assert main(["faults", "list", "order"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "no open faults in order" in err


def test_show_prints_the_record_with_the_envelope_decoded(order, capsys):
    fault_id = order.fault(BUS_READER, PLACED, BusinessRuleViolation("restaurant closed"))

    assert main(["faults", "show", "order", fault_id]) == 0

    out = capsys.readouterr().out
    record, details = out.split("\nerror details:\n")
    shown = json.loads(record)
    assert shown["id"] == fault_id
    assert shown["status"] == "open"
    assert shown["error"] == {"type": "BusinessRuleViolation", "message": "restaurant closed"}
    assert shown["message"]["dataEncoding"] == "json"
    assert shown["message"]["data"]["type"] == "order-placed"
    assert shown["message"]["data"]["order"] == {"id": "o-2"}
    assert shown["message"]["attributes"] == dict(PLACED.attributes)
    assert details.strip() == "shared.exceptions.BusinessRuleViolation: restaurant closed"


def test_show_gives_data_that_is_no_json_as_text(order, capsys):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    assert main(["faults", "show", "order", fault_id]) == 0
    shown = json.loads(capsys.readouterr().out.split("\nerror details:\n")[0])
    assert (shown["message"]["data"], shown["message"]["dataEncoding"]) == (
        "{not an envelope",
        "text",
    )


def test_resubmit_puts_the_original_message_back_on_the_bus(order, capsys):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))

    assert main(["faults", "resubmit", "order", fault_id]) == 0

    [again] = order.on_bus()
    assert (again.data, dict(again.attributes), again.ordering_key) == (
        GARBAGE.data,
        dict(GARBAGE.attributes),
        GARBAGE.ordering_key,
    )
    assert capsys.readouterr().out.strip() == (
        f"{fault_id} resubmitted to the order bus as message {again.message_id}"
    )
    record = order.store.get(FAULTS_COLLECTION, fault_id)
    assert (record["status"], record["resubmissions"]) == ("resubmitted", [again.message_id])


def test_resubmit_replays_a_dead_letter_without_its_dead_letter_attributes(order, capsys):
    fault_id = order.dead_letter(PLACED)
    assert main(["faults", "resubmit", "order", fault_id]) == 0
    [again] = order.on_bus()
    assert (again.data, dict(again.attributes)) == (PLACED.data, dict(PLACED.attributes))
    assert order.status(fault_id) == "resubmitted"


def test_resubmit_all_open_leaves_what_did_not_come_from_the_bus(order, capsys):
    garbage = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    refused = order.fault(INGRESS, PLACED, BusinessRuleViolation("unknown restaurant"))
    done = order.fault(BUS_READER, PLACED, BusinessRuleViolation("closed"))
    assert main(["faults", "resubmit", "order", done]) == 0
    order.published.clear()
    capsys.readouterr()

    assert main(["faults", "resubmit", "order", "--all-open"]) == 0

    out, err = capsys.readouterr()
    assert [m.data for m in order.on_bus()] == [GARBAGE.data]
    assert out.startswith(f"{garbage} resubmitted")
    assert f"left open: fault {refused}: {INGRESS} does not read the order bus" in err
    assert (order.status(garbage), order.status(refused)) == ("resubmitted", "open")


def test_resubmitting_a_fault_from_an_ingress_is_refused(order, capsys):
    garbage = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    refused = order.fault(INGRESS, PLACED, BusinessRuleViolation("unknown restaurant"))

    assert main(["faults", "resubmit", "order", garbage, refused]) == 2

    assert f"{INGRESS} does not read the order bus" in capsys.readouterr().err
    assert order.on_bus() == []
    assert order.status(garbage) == "open"


def test_an_unknown_fault_id_is_a_clear_error_and_nothing_is_published(order, capsys):
    known = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))

    assert main(["faults", "resubmit", "order", known, "no-such-fault"]) == 2
    assert "order has no fault 'no-such-fault'" in capsys.readouterr().err
    assert order.on_bus() == []
    assert main(["faults", "show", "order", "no-such-fault"]) == 2
    assert "order has no fault 'no-such-fault'" in capsys.readouterr().err


def test_resubmit_needs_fault_ids_or_all_open(order, capsys):
    assert main(["faults", "resubmit", "order"]) == 2
    assert "give the FAULT_IDs to resubmit, or --all-open" in capsys.readouterr().err


def test_an_unknown_subsystem_is_a_clear_error(order, capsys):
    assert main(["faults", "list", "kitchen"]) == 2
    assert "no subsystem 'kitchen': one of customer, delivery, order, restaurant" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({}, "FOODDELIVERY_MODE is not set"),
        ({"FOODDELIVERY_MODE": "memory"}, "FOODDELIVERY_MODE is memory"),
        (
            {"FOODDELIVERY_MODE": "gcp", "FOODDELIVERY_PROJECT": "acme-fd-customer-dev"},
            "FOODDELIVERY_PROJECT_ORDER is not set",
        ),
        (
            {"FOODDELIVERY_MODE": "emulator", "FOODDELIVERY_PROJECT_ORDER": "order-dev"},
            "FIRESTORE_EMULATOR_HOST is not set",
        ),
    ],
)
def test_without_the_settings_it_says_what_to_do(monkeypatch, capsys, environ, problem):
    for name in [n for n in os.environ if n.startswith("FOODDELIVERY_") or "EMULATOR" in n]:
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(faults_command, "host_adapters", lambda *_: pytest.fail("not configured"))

    assert main(["faults", "list", "order"]) == 2

    err = capsys.readouterr().err
    assert problem in err
    assert "run `source <state dir>/env.sh` first" in err
    assert "FOODDELIVERY_MODE=gcp and FOODDELIVERY_PROJECT_ORDER=<its project id>" in err


def test_emulators_that_do_not_listen_are_named_at_once():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{closed.getsockname()[1]}"  # bound, not listening: refused
    environ = {
        "FOODDELIVERY_MODE": "emulator",
        "FOODDELIVERY_PROJECT_ORDER": "order-dev",
        "FIRESTORE_EMULATOR_HOST": address,
        "PUBSUB_EMULATOR_HOST": address,
    }
    try:
        with pytest.raises(faults_command.FaultsError, match="nothing listens at FIRESTORE"):
            faults_command.connect("order", environ)
    finally:
        closed.close()


def test_emulator_settings_reach_the_subsystems_own_emulator_project(monkeypatch):
    built = []
    monkeypatch.setattr(faults_command, "host_adapters", lambda name, s: built.append((name, s)))
    monkeypatch.setattr(faults_command, "listens", lambda where: where == "127.0.0.1:1")
    environ = {
        "FOODDELIVERY_MODE": "emulator",
        "FOODDELIVERY_PROJECT_ORDER": "order-dev",
        "FOODDELIVERY_PROJECT_CUSTOMER": "customer-dev",
        "FIRESTORE_EMULATOR_HOST": "127.0.0.1:1",
        "PUBSUB_EMULATOR_HOST": "127.0.0.1:1",
    }
    faults_command.connect("order", environ)
    [(name, settings)] = built
    assert (name, settings.mode, settings.projects[name]) == ("order", "emulator", "order-dev")
