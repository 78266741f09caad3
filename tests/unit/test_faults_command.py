"""``fooddelivery faults``: list, show and resubmit a subsystem's faults, through the CLI.

The subsystem's store and bus are the in-memory ones, handed to the command
where it would build the Google adapters from the settings. A fault that goes
back to its function (an ingress's, a trigger's, a schedule's) reaches the
Order subsystem's real functions, loaded by functions-framework as Cloud
Functions loads them and served in process at their cloudfunctions.net URLs (or
a dev host's URL) on the same in-memory store and bus.
"""

from __future__ import annotations

import io
import json
import os
import socket
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from functions_framework import create_app

from devstack.lake import LakeWriter
from order.topology import APP as ORDER
from shared import id_tokens
from shared.cli import main
from shared.clock import ManualClock
from shared.envelope import new_event
from shared.exceptions import BusinessRuleViolation, EnvelopeError, InvalidDocument, LakeError
from shared.http import WsgiTransport
from shared.hub.memory import InMemoryHub
from shared.hub.message import Message, dead_lettered, from_message, parse_push, to_message
from shared.lake.base import NamesTaken
from shared.runtime import faults_command, operator
from shared.runtime import functions as function_hosts
from shared.runtime.consumer import change_message
from shared.runtime.faults import (
    CLAIM,
    CLAIM_TOKEN_CHARS,
    FAULTS_COLLECTION,
    MAX_MARKS,
    NOT_KEPT,
    FaultRecorder,
    fault_event,
    fault_record,
    mark_replayed,
)
from shared.stores.base import DocumentChange
from shared.stores.document_rules import check_size
from shared.stores.memory import InMemoryDocumentStore
from shared.topology.model import Topic, Trigger

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

    def dead_letter(self, message: Message, subscription: str = BUS_SUBSCRIPTION) -> str:
        """Record ``message`` as ``subscription`` dead-letters it; its fault id."""
        self.clock.advance(MINUTE)
        when = datetime.fromtimestamp(self.clock.now_ms() / 1000, UTC).isoformat()
        dead = dead_lettered(replace(message, publish_time=when), PROJECT, subscription, 5)
        FaultRecorder(self.store).handle(dead)
        return fault_record(dead)[0]

    def record_faults_at_once(self) -> None:
        """Record every fault a function publishes as it publishes it (a recorder that
        is quicker than the command)."""
        recorder = FaultRecorder(self.store)
        self.hub.observers.append(
            lambda project, topic, m: topic == Topic.FAULTS and recorder.handle(m)
        )

    def record(self, fault_id: str) -> dict[str, Any]:
        return self.store.get(FAULTS_COLLECTION, fault_id)

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

    monkeypatch.setattr(operator, "host_adapters", adapters)
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


def test_show_prints_an_envelope_holding_a_lone_surrogate_escaped(order, capsys):
    # GIVEN the fault of an envelope refused for the lone surrogate escaped in its JSON
    odd = replace(GARBAGE, data=b'{"id": "\\ud800", "order": {"note": "ok \\udc00"}}')
    fault_id = order.fault(BUS_READER, odd, EnvelopeError("id", "not valid UTF-8"))
    # WHEN it is shown THEN its data is JSON, the surrogates escaped as the JSON had them
    assert main(["faults", "show", "order", fault_id]) == 0
    shown = json.loads(capsys.readouterr().out.split("\nerror details:\n")[0])
    assert shown["message"]["dataEncoding"] == "json"
    assert shown["message"]["data"] == {"id": "\ud800", "order": {"note": "ok \udc00"}}


def test_show_says_why_a_message_too_large_to_keep_has_no_data(order, capsys):
    huge = Message(data=b"x" * 900_000, attributes={"type": "order-placed"}, message_id="m-9")
    fault_id = order.fault(BUS_READER, huge, EnvelopeError("$", "not JSON"))
    assert main(["faults", "show", "order", fault_id]) == 0
    shown = json.loads(capsys.readouterr().out.split("\nerror details:\n")[0])["message"]
    assert "data" not in shown and "dataEncoding" not in shown
    assert (shown[NOT_KEPT], shown["bytes"]) == ("too large to keep", 900_000)


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


def test_a_fault_resubmitted_already_is_left_alone_unless_forced(order, capsys):
    # GIVEN a fault put back on the bus, and another still open
    done = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    fresh = order.fault(BUS_READER, PLACED, BusinessRuleViolation("closed"))
    assert main(["faults", "resubmit", "order", done]) == 0
    [first] = order.on_bus()
    capsys.readouterr()
    # WHEN both are named THEN only the open one goes back, and the other is said to be done
    assert main(["faults", "resubmit", "order", done, fresh]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()] == [fresh]
    assert err.strip() == (
        f"{done} was resubmitted already (published on the bus as message "
        f"{first.message_id}) and not refused since: left alone (--force hands it back again)"
    )
    assert [m.data for m in order.on_bus()] == [GARBAGE.data, PLACED.data]
    assert order.record(done)["resubmissions"] == [first.message_id]
    # WHEN it is forced THEN it goes back once more
    assert main(["faults", "resubmit", "order", done, "--force"]) == 0
    assert [m.data for m in order.on_bus()] == [GARBAGE.data, PLACED.data, GARBAGE.data]
    assert len(order.record(done)["resubmissions"]) == 2


def test_a_fault_refused_again_after_its_resubmission_goes_back_without_force(order, capsys):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    assert main(["faults", "resubmit", "order", fault_id]) == 0
    order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))  # refused once more
    assert (order.status(fault_id), len(order.record(fault_id)["resubmissions"])) == ("open", 1)

    assert main(["faults", "resubmit", "order", fault_id]) == 0

    assert len(order.on_bus()) == 2
    assert order.status(fault_id) == "resubmitted"


def test_resubmit_replays_a_dead_letter_without_its_dead_letter_attributes(order, capsys):
    fault_id = order.dead_letter(PLACED)
    assert main(["faults", "resubmit", "order", fault_id]) == 0
    [again] = order.on_bus()
    assert (again.data, dict(again.attributes)) == (PLACED.data, dict(PLACED.attributes))
    assert order.status(fault_id) == "resubmitted"


@pytest.mark.parametrize("named", [True, False], ids=["named", "all-open"])
def test_a_message_the_bus_refuses_stays_open_and_the_next_fault_still_goes_back(
    order, capsys, named
):
    # GIVEN an older fault whose message the Pub/Sub client cannot publish (an attribute
    # named like one of its arguments, which another client put on the bus), and a newer one
    odd = replace(GARBAGE, attributes={**GARBAGE.attributes, "timeout": "30"}, message_id="m-9")
    stuck = order.fault(BUS_READER, odd, EnvelopeError("$", "not JSON"))
    fine = order.fault(BUS_READER, PLACED, BusinessRuleViolation("closed"))
    # WHEN both are resubmitted
    given = [stuck, fine] if named else ["--all-open"]
    assert main(["faults", "resubmit", "order", *given]) == 1
    # THEN the refused one is named and left open, and the other went back all the same
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()] == [fine]
    assert f"left open: fault {stuck}: the order bus refused it: cannot publish" in err
    assert [m.data for m in order.on_bus()] == [PLACED.data]
    assert (order.status(stuck), order.status(fine)) == ("open", "resubmitted")


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
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))
    assert main(["faults", "resubmit", "order", fault_id, "--all-open"]) == 2
    assert "or --all-open, not both" in capsys.readouterr().err
    assert order.record(fault_id)["status"] == "open"


def test_resubmitting_all_open_faults_when_there_are_none_says_so(order, capsys):
    assert main(["faults", "resubmit", "order", "--all-open"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == "no open faults in order: nothing to resubmit"


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
            {"FOODDELIVERY_MODE": "gcp", "FOODDELIVERY_PROJECT_ORDER": ""},
            "FOODDELIVERY_PROJECT_ORDER is empty",
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
    monkeypatch.setattr(operator, "host_adapters", lambda *_: pytest.fail("not configured"))

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
        with pytest.raises(operator.UnreachableError, match="nothing listens at FIRESTORE"):
            operator.connect("order", environ)
    finally:
        closed.close()


def test_emulator_settings_reach_the_subsystems_own_emulator_project(monkeypatch):
    built = []
    monkeypatch.setattr(operator, "host_adapters", lambda name, s: built.append((name, s)))
    monkeypatch.setattr(operator, "listens", lambda where: where == "127.0.0.1:1")
    environ = {
        "FOODDELIVERY_MODE": "emulator",
        "FOODDELIVERY_PROJECT_ORDER": "order-dev",
        "FOODDELIVERY_PROJECT_CUSTOMER": "customer-dev",
        "FIRESTORE_EMULATOR_HOST": "127.0.0.1:1",
        "PUBSUB_EMULATOR_HOST": "127.0.0.1:1",
    }
    operator.connect("order", environ)
    [(name, settings)] = built
    assert (name, settings.mode, settings.projects[name]) == ("order", "emulator", "order-dev")


# -- faults that go back to their function ---------------------------------------------

BASE = f"https://europe-west1-{PROJECT}.cloudfunctions.net"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.sig"
"""An ID token (a JWT expiring in 2100) as the metadata server would mint it."""
MAIN = str(Path(__file__).parents[2] / "order" / "main.py")
SETTINGS = {
    "FOODDELIVERY_POS_URL": "http://pos.test",
    "FOODDELIVERY_POS_CALLBACK_URL": "http://order.test",
    "FOODDELIVERY_POS_WEBHOOK_SECRET": "secret",
}
FROM_RESTAURANT = "order/intake-esg/from-restaurant"
FROM_RESTAURANT_URL = f"{BASE}/intake-esg-from-restaurant"
RELAY = "order/pos-esg/relay"
TIMEOUTS = "order/lifecycle-control/timeouts"
ACCEPTED = replace(
    to_message(
        new_event(
            "restaurant.order-accepted",
            "order",
            {"id": "o-7", "restaurantId": "r-1", "prepMinutes": 10},
            partition_key="o-7",
            tags={"schemaVersion": "1", "source": "kitchen-bff"},
        )
    ),
    message_id="m-7",
    publish_time="2026-01-01T12:00:00.000Z",
)
CALLBACK = DocumentChange(
    collection="pos-inbox",
    key="o-9:accepted",
    before=None,
    after={
        "orderId": "o-9",
        "restaurantId": "r-1",
        "event": "accepted",
        "prepMinutes": 12,
        "receivedAt": 1_767_225_600_000,
    },
    version="2026-01-01T00:00:00.250000Z",
)
"""A point of sale's callback about order o-9, as the relay trigger saw it written."""


@dataclass
class Received:
    """One request a function was sent."""

    url: str
    headers: dict[str, str]
    body: bytes


class Functions:
    """Order's functions as Cloud Functions serves them, answering the command's session.

    Each is loaded by functions-framework from ``order/main.py`` (the trigger as a
    CloudEvent function, the others as HTTP functions) on first use, at
    ``<any base>/<name>`` (``intake-esg-from-restaurant`` or ``intake_esg_from_restaurant``);
    ``refuse`` makes one answer with a given status instead.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.audiences: list[str] = []
        self.refuse: dict[str, tuple[int, str]] = {}
        self._apps: dict[str, Any] = {}

    def session(self) -> requests.Session:
        session = requests.Session()
        for scheme in ("http://", "https://"):
            session.mount(scheme, WsgiTransport(self))
        return session

    def mint(self, audience: str) -> str:
        self.audiences.append(audience)
        return TOKEN

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        host = environ["SERVER_NAME"] + (
            f":{environ['SERVER_PORT']}" if environ["wsgi.url_scheme"] == "http" else ""
        )
        url = f"{environ['wsgi.url_scheme']}://{host}{environ['PATH_INFO']}"
        body = environ["wsgi.input"].read()
        headers = {
            k.removeprefix("HTTP_").replace("_", "-").lower(): v
            for k, v in environ.items()
            if k.startswith("HTTP_") or k == "CONTENT_TYPE"
        }
        self.received.append(Received(url, headers, body))
        target = environ["PATH_INFO"].strip("/").replace("-", "_")
        if target in self.refuse:
            status, text = self.refuse[target]
            start_response(f"{status} Refused", [("Content-Type", "text/plain")])
            return [text.encode()]
        environ = {**environ, "PATH_INFO": "/", "wsgi.input": io.BytesIO(body)}
        return self._app(target)(environ, start_response)

    def _app(self, target: str) -> Any:
        if target not in self._apps:
            _, fn = ORDER.topology.find(target)
            kind = "cloudevent" if isinstance(fn, Trigger) else "http"
            self._apps[target] = create_app(target=target, source=MAIN, signature_type=kind)
        return self._apps[target]


@pytest.fixture
def functions(order: Order, monkeypatch: pytest.MonkeyPatch) -> Functions:
    """Order's functions on ``order``'s store and bus, reached with ID tokens."""
    cloud = Functions()
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        function_hosts, "adapters", lambda *_: (order.store, order.hub.publisher(PROJECT))
    )
    monkeypatch.setattr(faults_command, "replay_session", cloud.session, raising=False)
    monkeypatch.setattr(id_tokens, "fetch_google_id_token", cloud.mint)
    return cloud


@pytest.fixture
def dev_stack(order: Order, monkeypatch: pytest.MonkeyPatch) -> str:
    """``order`` reached as on a dev stack, after ``source env.sh``; the order host's URL."""
    host = "http://127.0.0.1:8713"
    environ = {
        "FOODDELIVERY_MODE": "emulator",
        "FOODDELIVERY_PROJECT_ORDER": "order-dev",
        "FOODDELIVERY_HOST_ORDER": host,
        "FIRESTORE_EMULATOR_HOST": "127.0.0.1:1",
        "PUBSUB_EMULATOR_HOST": "127.0.0.1:1",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(operator, "listens", lambda where: True)
    monkeypatch.setattr(
        operator, "host_adapters", lambda *_: (order.store, order.hub.publisher(PROJECT))
    )
    return host


def pushed(request: Received) -> Message:
    """The message of a Pub/Sub push request."""
    return parse_push(json.loads(request.body))[1]


def test_an_ingress_fault_is_replayed_to_the_ingress_itself(order, functions, capsys):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug, fixed since"))

    assert main(["faults", "resubmit", "order", fault_id]) == 0

    [request] = functions.received
    assert request.url == FROM_RESTAURANT_URL
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert functions.audiences == [FROM_RESTAURANT_URL]
    message = pushed(request)
    assert (message.data, dict(message.attributes)) == (ACCEPTED.data, dict(ACCEPTED.attributes))
    assert (message.message_id, message.ordering_key) == ("m-7", "o-7")
    [taken] = [from_message(m) for m in order.on_bus()]
    assert (taken.type, taken.partition_key, taken.body["prepMinutes"]) == (
        "restaurant-accepted",
        "o-7",
        10,
    )
    assert capsys.readouterr().out.strip() == (
        f"{fault_id} replayed to {FROM_RESTAURANT} at {FROM_RESTAURANT_URL}: took it (HTTP 204)"
    )
    record = order.record(fault_id)
    assert record["status"] == "resubmitted"
    [replay] = record["replays"]
    assert (replay["function"], replay["url"]) == (FROM_RESTAURANT, FROM_RESTAURANT_URL)


def test_a_replay_of_a_handled_message_emits_the_same_event_which_consumers_skip(order, functions):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug, fixed since"))

    assert main(["faults", "resubmit", "order", fault_id]) == 0
    assert main(["faults", "resubmit", "order", fault_id, "--force"]) == 0

    first, second = [from_message(m) for m in order.on_bus()]
    assert first.id == second.id  # derived from the message: the same event, skipped
    assert len(order.record(fault_id)["replays"]) == 2


def test_an_ingress_fault_replayed_already_is_not_replayed_again_unless_forced(
    order, functions, capsys
):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug, fixed since"))
    assert main(["faults", "resubmit", "order", fault_id]) == 0
    [replay] = order.record(fault_id)["replays"]
    capsys.readouterr()

    assert main(["faults", "resubmit", "order", fault_id]) == 0

    out, err = capsys.readouterr()
    assert out == ""
    when = datetime.fromtimestamp(replay["at"] // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"{fault_id} was resubmitted already (replayed to {FROM_RESTAURANT} at {when})" in err
    assert len(functions.received) == 1
    assert main(["faults", "resubmit", "order", fault_id, "--force"]) == 0
    assert len(functions.received) == 2


def test_an_ingress_dead_letter_is_replayed_without_its_dead_letter_attributes(order, functions):
    fault_id = order.dead_letter(ACCEPTED, "intake-esg-from-restaurant")

    assert main(["faults", "resubmit", "order", fault_id]) == 0

    [request] = functions.received
    assert request.url == FROM_RESTAURANT_URL
    assert dict(pushed(request).attributes) == dict(ACCEPTED.attributes)
    assert [from_message(m).type for m in order.on_bus()] == ["restaurant-accepted"]
    assert order.status(fault_id) == "resubmitted"


def test_a_trigger_fault_goes_back_as_the_eventarc_event_of_its_change_once_fixed(
    order, functions, capsys
):
    order.record_faults_at_once()
    refused = BusinessRuleViolation("a callback about order o-9, which was not sent there")
    fault_id = order.fault(RELAY, change_message(CALLBACK), refused)

    # not fixed yet: the relay refuses the change again, and says so
    assert main(["faults", "resubmit", "order", fault_id]) == 1

    [request] = functions.received
    assert request.url == f"{BASE}/pos-esg-relay"
    assert request.headers["ce-type"] == "google.cloud.firestore.document.v1.written"
    assert request.headers["content-type"] == "application/protobuf"
    assert request.headers["ce-id"] == change_message(CALLBACK).message_id
    assert "ce-time" not in request.headers  # a failure is retried, never dropped as too old
    err = capsys.readouterr().err
    assert f"left open: fault {fault_id}: {RELAY} refused it again (HTTP 200): " in err
    assert "BusinessRuleViolation: a point-of-sale callback about order o-9" in err
    record = order.record(fault_id)
    assert (record["status"], record["recurrences"], record.get("replays")) == ("open", 1, None)
    assert order.on_bus() == []

    # fixed: the order was handed to that restaurant's point of sale after all
    order.store.create("pos-orders", "o-9", {"restaurantId": "r-1"})
    assert main(["faults", "resubmit", "order", fault_id]) == 0

    [relayed] = [from_message(m) for m in order.on_bus()]
    assert (relayed.type, relayed.body) == (
        "restaurant-accepted",
        {"id": "o-9", "restaurantId": "r-1", "prepMinutes": 12},
    )
    assert relayed.timestamp == 1_767_225_600_250  # the write's time: the very same change
    assert order.status(fault_id) == "resubmitted"
    assert capsys.readouterr().out.strip().endswith(f"{BASE}/pos-esg-relay: took it (HTTP 200)")


def test_a_schedule_fault_runs_the_schedule_once_more(order, functions, capsys):
    tick = Message(data=b'{"tick": 1767225600000}', message_id="tick-1")
    fault_id = order.fault(TIMEOUTS, tick, BusinessRuleViolation("a deadline it could not keep"))

    assert main(["faults", "resubmit", "order", fault_id]) == 0

    [request] = functions.received
    assert (request.url, request.body) == (f"{BASE}/lifecycle-control-timeouts", b"")
    assert capsys.readouterr().out.strip().endswith("ran once more (HTTP 204)")
    assert order.status(fault_id) == "resubmitted"


def test_a_function_that_refuses_the_replay_leaves_the_fault_open(order, functions, capsys):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))
    functions.refuse["intake_esg_from_restaurant"] = (503, "redeliver")

    assert main(["faults", "resubmit", "order", fault_id]) == 1

    assert capsys.readouterr().err.strip() == (
        f"left open: fault {fault_id}: {FROM_RESTAURANT} at {FROM_RESTAURANT_URL} "
        "refused it (HTTP 503: redeliver)"
    )
    assert order.status(fault_id) == "open"
    assert "replays" not in order.record(fault_id)


def test_a_function_refusing_the_caller_on_gcp_says_what_it_takes(order, functions, capsys):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))
    functions.refuse["intake_esg_from_restaurant"] = (403, "Forbidden")

    assert main(["faults", "resubmit", "order", fault_id]) == 1

    err = capsys.readouterr().err
    assert "refused it (HTTP 403: Forbidden). Is the function deployed in that region" in err
    assert "roles/run.invoker" in err
    assert "ALLOW_INTERNAL_ONLY" in err
    assert order.status(fault_id) == "open"


def test_without_an_id_token_nothing_is_sent_and_the_fault_stays_open(
    order, functions, monkeypatch, capsys
):
    def no_token(audience: str) -> str:
        raise id_tokens.IdTokenError(f"cannot mint an ID token for {audience}: no credentials")

    monkeypatch.setattr(id_tokens, "fetch_google_id_token", no_token)
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))

    assert main(["faults", "resubmit", "order", fault_id]) == 1

    err = capsys.readouterr().err
    assert f"cannot mint an ID token for {FROM_RESTAURANT_URL}: no credentials. " in err
    assert "GOOGLE_APPLICATION_CREDENTIALS" in err
    assert functions.received == []
    assert order.status(fault_id) == "open"


def test_the_region_of_the_functions_is_an_option_or_a_setting(
    order, functions, monkeypatch, capsys
):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))
    monkeypatch.setenv("FOODDELIVERY_REGION", "us-central1")

    assert main(["faults", "resubmit", "order", fault_id]) == 0
    assert main(["faults", "resubmit", "order", fault_id, "--region", "asia-east1", "--force"]) == 0

    assert [r.url for r in functions.received] == [
        f"https://us-central1-{PROJECT}.cloudfunctions.net/intake-esg-from-restaurant",
        f"https://asia-east1-{PROJECT}.cloudfunctions.net/intake-esg-from-restaurant",
    ]


def test_a_fault_of_a_function_that_is_gone_is_refused_before_anything_is_sent(order, capsys):
    garbage = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    gone = order.fault("order/intake-esg/from-kitchen", ACCEPTED, BusinessRuleViolation("x"))

    assert main(["faults", "resubmit", "order", garbage, gone]) == 2

    assert (
        f"fault {gone}: order/intake-esg/from-kitchen is no function of order any more"
        in capsys.readouterr().err
    )
    assert order.on_bus() == []
    assert (order.status(garbage), order.status(gone)) == ("open", "open")


def test_a_fault_of_the_dev_lake_writer_goes_back_on_the_bus(order, capsys):
    # It was refused as no function of order: the lake writer is the dev stack's, not the
    # topology's, and its subscription takes the message again from the bus.
    writer = LakeWriter("order", None, None)  # type: ignore[arg-type]
    taken = NamesTaken(["order/bus/x.jsonl"], [(0, PLACED.data)], "every name is taken")
    fault_id = order.fault(writer.function, PLACED, taken)

    assert main(["faults", "resubmit", "order", fault_id]) == 0

    [again] = order.on_bus()
    assert (again.data, dict(again.attributes)) == (PLACED.data, dict(PLACED.attributes))
    assert capsys.readouterr().out.strip() == (
        f"{fault_id} resubmitted to the order bus as message {again.message_id}"
    )
    assert order.status(fault_id) == "resubmitted"


def test_a_dev_lake_writer_fault_too_large_to_keep_is_not_sent_to_the_lake(order, capsys):
    # The lake never stored its message: `lake replay` cannot find it.
    writer = LakeWriter("order", None, None)  # type: ignore[arg-type]
    huge = replace(PLACED, data=b"x" * 900_000)
    fault_id = order.fault(writer.function, huge, LakeError("every name is taken"))

    assert main(["faults", "resubmit", "order", fault_id]) == 2

    err = capsys.readouterr().err
    assert err.rstrip().endswith("was too large to keep, so it cannot be handed back")
    assert "lake replay" not in err
    assert order.on_bus() == [] and order.status(fault_id) == "open"


def test_resubmit_all_open_hands_each_fault_back_its_way_and_names_what_it_left(
    order, functions, capsys
):
    garbage = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    refused = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))
    gone = order.fault("order/intake-esg/from-kitchen", ACCEPTED, BusinessRuleViolation("x"))
    FaultRecorder(order.store).handle(Message(data=b"hello", message_id="stray"))
    [stray] = [d.key for d in order.store.query(FAULTS_COLLECTION) if d.data["function"] == ""]
    done = order.fault(BUS_READER, PLACED, BusinessRuleViolation("closed"))
    assert main(["faults", "resubmit", "order", done]) == 0
    order.published.clear()
    capsys.readouterr()

    assert main(["faults", "resubmit", "order", "--all-open"]) == 1

    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()] == [garbage, refused]
    assert [from_message(m).type for m in order.on_bus()[1:]] == ["restaurant-accepted"]
    assert order.on_bus()[0].data == GARBAGE.data
    assert f"left open: fault {gone}: order/intake-esg/from-kitchen is no function" in err
    assert f"left open: fault {stray}: its message was published straight onto" in err
    assert [order.status(f) for f in (garbage, refused, gone, stray)] == [
        "resubmitted",
        "resubmitted",
        "open",
        "open",
    ]


def test_on_a_dev_stack_the_fault_goes_to_the_subsystems_host(order, dev_stack, functions, capsys):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug, fixed since"))

    assert main(["faults", "resubmit", "order", fault_id]) == 0

    [request] = functions.received
    assert request.url == f"{dev_stack}/intake_esg_from_restaurant"
    assert "authorization" not in request.headers
    assert functions.audiences == []
    assert [from_message(m).type for m in order.on_bus()] == ["restaurant-accepted"]
    assert order.status(fault_id) == "resubmitted"


def test_a_dev_host_that_does_not_answer_leaves_the_fault_open(
    order, dev_stack, monkeypatch, capsys
):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: refused
    host = f"http://127.0.0.1:{closed.getsockname()[1]}"
    monkeypatch.setenv("FOODDELIVERY_HOST_ORDER", host)
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))
    try:
        assert main(["faults", "resubmit", "order", fault_id]) == 1
    finally:
        closed.close()

    assert capsys.readouterr().err.strip() == (
        f"left open: fault {fault_id}: {FROM_RESTAURANT}: nothing answers at "
        f"{host}/intake_esg_from_restaurant (the order host): is the stack running, "
        "and its host with it?"
    )
    assert order.status(fault_id) == "open"


class DiesMidAnswer(requests.adapters.BaseAdapter):
    """A host whose connection drops while it answers."""

    def send(self, request: Any, **kwargs: Any) -> Any:
        raise requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")

    def close(self) -> None:
        pass


def dies_mid_answer() -> requests.Session:
    session = requests.Session()
    session.mount("http://", DiesMidAnswer())
    return session


def test_a_host_whose_answer_breaks_off_leaves_the_fault_open_and_says_so(
    order, dev_stack, monkeypatch, capsys
):
    monkeypatch.setattr(faults_command, "replay_session", dies_mid_answer)
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))

    assert main(["faults", "resubmit", "order", fault_id]) == 1

    assert capsys.readouterr().err.strip() == (
        f"left open: fault {fault_id}: {FROM_RESTAURANT}: no whole answer from "
        f"{dev_stack}/intake_esg_from_restaurant: Connection broken: IncompleteRead"
    )
    assert order.status(fault_id) == "open"


def test_a_host_url_without_its_scheme_is_refused_before_anything_is_sent(
    order, dev_stack, functions, monkeypatch, capsys
):
    monkeypatch.setenv("FOODDELIVERY_HOST_ORDER", "127.0.0.1:8713")
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))

    assert main(["faults", "resubmit", "order", fault_id]) == 2

    assert "FOODDELIVERY_HOST_ORDER is '127.0.0.1:8713', not a URL" in capsys.readouterr().err
    assert functions.received == []
    assert order.status(fault_id) == "open"


def test_a_dev_stack_that_does_not_tell_its_hosts_says_to_source_a_newer_env_sh(
    order, dev_stack, monkeypatch, capsys
):
    monkeypatch.delenv("FOODDELIVERY_HOST_ORDER")
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))

    assert main(["faults", "resubmit", "order", fault_id]) == 2

    assert "FOODDELIVERY_HOST_ORDER is not set: `source` the env.sh" in capsys.readouterr().err
    assert order.status(fault_id) == "open"


def test_a_cloudevent_a_trigger_could_not_parse_goes_back_as_it_came(order, functions, capsys):
    order.record_faults_at_once()
    garbled = Message(data=b"\x00not protobuf", message_id="evt-1")
    fault_id = order.fault(RELAY, garbled, EnvelopeError("$", "not a DocumentEventData message"))

    assert main(["faults", "resubmit", "order", fault_id]) == 1

    [request] = functions.received
    assert (request.body, request.headers["ce-id"]) == (garbled.data, "evt-1")
    assert f"{RELAY} refused it again (HTTP 200): EnvelopeError" in capsys.readouterr().err
    assert (order.status(fault_id), order.record(fault_id)["recurrences"]) == ("open", 1)


def test_a_json_cloudevent_a_trigger_could_not_parse_goes_back_as_json(order, functions):
    garbled = Message(
        data=b'{"value": "not a document"}',
        attributes={"datacontenttype": "application/json"},
        message_id="evt-2",
    )
    fault_id = order.fault(RELAY, garbled, EnvelopeError("$", "not a DocumentEventData message"))

    main(["faults", "resubmit", "order", fault_id])

    [request] = functions.received
    assert request.body == garbled.data
    assert request.headers["content-type"] == "application/json"


def test_a_dev_host_without_the_function_leaves_the_fault_open(order, dev_stack, functions, capsys):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))
    functions.refuse["intake_esg_from_restaurant"] = (404, "no such target")

    assert main(["faults", "resubmit", "order", fault_id]) == 1

    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "refused it (HTTP 404: no such target). No such function there: "
            "is the host running older code?"
        )
    )
    assert order.status(fault_id) == "open"


UNREADABLE = replace(
    to_message(
        new_event(
            "restaurant.order-accepted",
            "order",
            {"id": "o-8", "restaurantId": "r-1", "prepMinutes": -5},
            partition_key="o-8",
            tags={"schemaVersion": "1", "source": "kitchen-bff"},
        )
    ),
    message_id="m-8",
)
"""An acceptance the ingress refuses (a negative preparation time), as often as it gets it."""


def test_a_replay_refused_again_stays_open_before_the_recorder_stores_the_refusal(
    order, functions, capsys
):
    # The recorder stores what the ingress publishes on `faults` later (here: never, until
    # told): the ingress's answer alone says it refused the message again.
    fault_id = order.fault(FROM_RESTAURANT, UNREADABLE, BusinessRuleViolation("unreadable"))

    assert main(["faults", "resubmit", "order", fault_id]) == 1

    assert capsys.readouterr().err.strip() == (
        f"left open: fault {fault_id}: {FROM_RESTAURANT} refused it again (HTTP 204): "
        "InvalidEventError: restaurant.order-accepted does not fit Accepted: "
        "prepMinutes: Input should be greater than or equal to 0"
    )
    assert (order.status(fault_id), order.record(fault_id).get("replays")) == ("open", None)
    assert order.on_bus() == []

    [refused] = [m for topic, m in order.published if topic == Topic.FAULTS]
    FaultRecorder(order.store).handle(refused)

    [record] = [d.data for d in order.store.query(FAULTS_COLLECTION)]
    assert (record["id"], record["status"], record["recurrences"]) == (fault_id, "open", 1)
    assert record["error"]["type"] == "InvalidEventError"


def test_a_schedule_that_refuses_its_tick_again_counts_it_on_the_same_fault(
    order, functions, monkeypatch, capsys
):
    order.record_faults_at_once()
    query = order.store.query

    def refusing(collection: str, *args: Any, **kwargs: Any) -> Any:
        if collection == "orders":
            raise BusinessRuleViolation("an order without a deadline")
        return query(collection, *args, **kwargs)

    monkeypatch.setattr(order.store, "query", refusing)
    scheduler = functions.session().post(f"{BASE}/lifecycle-control-timeouts", data=b"")
    assert scheduler.status_code == 204  # acknowledged: the tick is a fault
    [fault] = [d.data for d in order.store.query(FAULTS_COLLECTION)]
    assert fault["function"] == TIMEOUTS

    assert main(["faults", "resubmit", "order", fault["id"]]) == 1

    assert capsys.readouterr().err.strip() == (
        f"left open: fault {fault['id']}: {TIMEOUTS} refused it again (HTTP 204): "
        "BusinessRuleViolation: an order without a deadline"
    )
    [record] = [d.data for d in order.store.query(FAULTS_COLLECTION)]
    assert (record["id"], record["status"], record["recurrences"]) == (fault["id"], "open", 1)

    monkeypatch.setattr(order.store, "query", query)  # fixed
    assert main(["faults", "resubmit", "order", fault["id"]]) == 0

    assert capsys.readouterr().out.strip().endswith("ran once more (HTTP 204)")
    [record] = [d.data for d in order.store.query(FAULTS_COLLECTION)]
    assert (record["status"], record["recurrences"], len(record["replays"])) == (
        "resubmitted",
        1,
        1,
    )


def test_a_replay_taken_while_a_redelivery_of_the_original_is_recorded_is_done(
    order, functions, monkeypatch, capsys
):
    # Pub/Sub delivered the original message once more, and the ingress refused it (the
    # cause was not fixed then); that fault event is recorded while the replay runs.
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))
    deliver = faults_command.deliver

    def with_a_redelivery_recorded(*args: Any) -> requests.Response:
        order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("a bug"))
        return deliver(*args)

    monkeypatch.setattr(faults_command, "deliver", with_a_redelivery_recorded)

    assert main(["faults", "resubmit", "order", fault_id]) == 0

    assert capsys.readouterr().out.strip().endswith("took it (HTTP 204)")
    record = order.record(fault_id)
    assert (record["status"], record["recurrences"], len(record["replays"])) == (
        "resubmitted",
        1,
        1,
    )


# -- marks on a record near Firestore's limit --------------------------------------------


def near_the_limit(order: Order, function: str, message: Message) -> str:
    """Record ``function``'s fault on ``message`` with its data padded until its record is
    as large as the recorder keeps it with its data, room left for a claim; the fault's id."""
    largest_claim = {"token": "t" * CLAIM_TOKEN_CHARS, "until": 0}
    low, high = 0, 1_000_000
    while high - low > 1:  # the most padding whose record Firestore takes with a claim
        middle = (low + high) // 2
        padded = replace(message, data=message.data + b" " * middle)
        event = fault_event(
            subsystem="order",
            function=function,
            message=padded,
            error=BusinessRuleViolation("a bug"),
            clock=order.clock,
        )
        key, doc = fault_record(to_message(event))
        try:
            check_size(FAULTS_COLLECTION, key, {**doc, CLAIM: largest_claim})
            low = middle
        except InvalidDocument:
            high = middle
    fault_id = order.fault(
        function, replace(message, data=message.data + b" " * low), BusinessRuleViolation("a bug")
    )
    assert NOT_KEPT not in order.record(fault_id)["message"]
    return fault_id


def test_a_resubmission_of_a_fault_near_the_size_limit_is_marked_and_reported(order, capsys):
    fault_id = near_the_limit(order, BUS_READER, PLACED)

    assert main(["faults", "resubmit", "order", fault_id]) == 0

    [again] = order.on_bus()
    assert again.data.startswith(PLACED.data)
    assert capsys.readouterr().out.strip() == (
        f"{fault_id} resubmitted to the order bus as message {again.message_id}"
    )
    record = order.record(fault_id)
    assert (record["status"], record["resubmissions"]) == ("resubmitted", [again.message_id])
    # the mark fits because the record no longer keeps the message's data, as the recorder
    # keeps a record too large with it; what it was is noted
    assert record["message"][NOT_KEPT] and record["message"]["bytes"] == len(again.data)


def test_a_replay_marked_on_a_fault_near_the_size_limit_is_recorded(order):
    fault_id = near_the_limit(order, FROM_RESTAURANT, ACCEPTED)
    replay = {"function": FROM_RESTAURANT, "url": FROM_RESTAURANT_URL, "at": 1}

    assert mark_replayed(order.store, fault_id, replay)

    record = order.record(fault_id)
    assert (record["status"], record["replays"]) == ("resubmitted", [replay])
    assert record["message"][NOT_KEPT]


def test_a_fault_handed_back_again_and_again_keeps_its_latest_marks_only(order):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))

    for _ in range(MAX_MARKS + 5):
        assert main(["faults", "resubmit", "order", fault_id, "--force"]) == 0
        mark_replayed(order.store, fault_id, {"function": BUS_READER, "url": "-", "at": 1})

    record = order.record(fault_id)
    published = [m.message_id for m in order.on_bus()]
    assert record["resubmissions"] == published[-MAX_MARKS:]
    assert len(record["replays"]) == MAX_MARKS
    assert NOT_KEPT not in record["message"]  # a small message is kept, to go back again
