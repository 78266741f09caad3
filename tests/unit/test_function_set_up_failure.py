"""A function whose set-up fails (a setting missing or wrong, an adapter or the service's app
that cannot be built) answers in its own shape, logs why once through the kit's logs (even when
it is the settings that cannot be read), naming itself, and tries again on the next call.

A BFF answers a problem details 503 with the kit's answer headers and nothing of why, not the
functions framework's HTML crash page; a consumer, trigger or schedule a plain 503, which
Pub/Sub, Eventarc and Cloud Scheduler deliver again. Concurrent first calls build once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from typing import Any

import flask
import pytest
from functions_framework import create_app

from shared.api import ANSWER_HEADERS, PROBLEM_JSON, HttpError, json_api_flask, problem_answer
from shared.hub.message import Message
from shared.runtime import functions as function_hosts
from shared.runtime.app import SubsystemApp
from shared.runtime.functions import SET_UP_RETRY_AFTER_S, FunctionHost
from shared.settings import Settings
from shared.topology import Role, Service, ServiceKind, Subsystem
from shared.topology.model import Endpoint
from tests.problems import refusal
from tests.unit.test_function_target_edges import GAMMA, answer
from tests.unit.test_function_targets import SOURCE, push
from tests.unit.test_runtime_cloudevents import binary

BAD_MODE = "bogus-mode"
"""A ``FOODDELIVERY_MODE`` no function can be set up with; no answer may repeat it."""
TEXT = "text/plain; charset=utf-8"


@pytest.fixture(autouse=True)
def logs_as_on_gcp(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kit's logs in JSON, as Cloud Logging reads them, whatever the shell exports."""
    monkeypatch.setenv("FOODDELIVERY_LOG_FORMAT", "json")


def loaded(target: str, signature_type: str = "http") -> Any:
    """A client of the sample's ``target``, loaded as Cloud Functions loads it."""
    return create_app(target=target, source=SOURCE, signature_type=signature_type).test_client()


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The error records logged so far (any logger: Flask's own too)."""
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def logged_errors(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The error entries the kit's logs wrote (JSON, as on GCP) so far."""
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [entry for entry in entries if entry.get("severity") == "ERROR"]


def assert_logged_once(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, target: str, cause: str
) -> None:
    """One error logged, the kit's, as Cloud Logging reads it (a JSON line on stdout): naming
    ``target`` and ``cause``, with the traceback of ``cause``; none by any other logger."""
    [entry] = logged_errors(capsys)
    assert entry["logger"] == "fooddelivery.functions"
    assert target in entry["message"] and cause in entry["message"]
    assert cause in entry["stack_trace"]
    assert errors_logged(caplog) == []  # Flask's or the framework's own


def test_a_bff_that_cannot_be_set_up_answers_a_problem_details_503(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FOODDELIVERY_MODE", BAD_MODE)
    client = loaded("cart_bff_api")

    with caplog.at_level(logging.ERROR):
        got = client.post("/carts/c1/checkout", json={"items": ["x"]})

    assert got.status_code == 503
    assert refusal(got) == {
        "error": f"the service is unavailable; retry in {SET_UP_RETRY_AFTER_S} s"
    }
    assert got.headers["Retry-After"] == str(SET_UP_RETRY_AFTER_S)
    assert all(got.headers[name] == value for name, value in ANSWER_HEADERS.items())
    said = got.get_data(as_text=True)
    assert BAD_MODE not in said and "FOODDELIVERY_MODE" not in said and "Traceback" not in said
    assert_logged_once(capsys, caplog, "cart_bff_api", BAD_MODE)


def test_a_bff_sets_up_again_on_the_next_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOODDELIVERY_MODE", BAD_MODE)
    client = loaded("cart_bff_api")
    assert client.post("/carts/c1/checkout", json={"items": ["x"]}).status_code == 503

    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")  # the setting fixed: no failure kept

    assert client.post("/carts/c1/checkout", json={"items": ["x"]}).status_code == 202
    assert client.get("/carts/c1").get_json()["status"] == "checked-out"


def test_an_adapter_failing_once_is_built_on_the_next_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")
    monkeypatch.setenv("FOODDELIVERY_LOG_FORMAT", "json")
    build = function_hosts.adapters
    calls: list[str] = []

    def credentials_once(subsystem: str, settings: Settings, *given: Any) -> Any:
        calls.append(subsystem)
        if len(calls) == 1:
            raise TimeoutError("the metadata server did not answer for credentials")
        return build(subsystem, settings, *given)

    monkeypatch.setattr(function_hosts, "adapters", credentials_once)
    client = loaded("cart_bff_api")

    first = client.get("/carts/c1")
    [entry] = logged_errors(capsys)  # as Cloud Logging reads it
    second = client.post("/carts/c1/checkout", json={"items": ["x"]})

    assert (first.status_code, first.headers["Content-Type"]) == (503, PROBLEM_JSON)
    assert "metadata" not in first.get_data(as_text=True)
    assert "cart_bff_api" in entry["message"]
    assert "the metadata server did not answer" in entry["stack_trace"]
    assert second.status_code == 202
    assert calls == ["alpha", "alpha"]


def test_a_consumer_that_cannot_be_set_up_asks_pub_sub_to_redeliver(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FOODDELIVERY_MODE", BAD_MODE)
    client = loaded("orders_esg_egress")

    with caplog.at_level(logging.ERROR):
        got = push(client, Message(data=b"{}"))

    assert (got.status_code, got.headers["Content-Type"]) == (503, TEXT)
    assert got.get_data(as_text=True) == "redeliver: the function could not be set up"
    assert_logged_once(capsys, caplog, "orders_esg_egress", BAD_MODE)
    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")
    assert push(client, Message(data=b"{}")).status_code == 204  # set up on redelivery


def test_a_trigger_that_cannot_be_set_up_asks_eventarc_to_retry(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FOODDELIVERY_MODE", BAD_MODE)
    client = loaded("cart_bff_trigger", "cloudevent")

    with caplog.at_level(logging.ERROR):
        got = client.post("/", data=b"\x00not protobuf", headers=binary("application/protobuf"))

    assert (got.status_code, got.headers["Content-Type"]) == (503, TEXT)
    assert got.get_data(as_text=True) == "retry: the function could not be set up"
    assert "X-Google-Status" not in got.headers  # no crash of the framework's
    assert_logged_once(capsys, caplog, "cart_bff_trigger", BAD_MODE)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"FOODDELIVERY_MODE": BAD_MODE}, "FOODDELIVERY_MODE must be memory, emulator or gcp"),
        ({"FOODDELIVERY_LOG_FORMAT": "yaml"}, "FOODDELIVERY_LOG_FORMAT must be json or text"),
    ],
    ids=["mode", "log format"],
)
def test_settings_that_cannot_be_read_are_logged_as_cloud_logging_reads_a_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    environ: dict[str, str],
    named: str,
) -> None:
    monkeypatch.delenv("FOODDELIVERY_LOG_FORMAT", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    client = loaded("orders_esg_egress")

    assert push(client, Message(data=b"{}")).status_code == 503

    [entry] = logged_errors(capsys)  # the kit's logs set up, in their default format
    assert entry["message"] == (
        f"orders_esg_egress could not be set up: SettingError: {named}, not "
        f"'{next(iter(environ.values()))}'; answered 503, the next call tries again"
    )


def test_settings_that_cannot_be_read_are_logged_in_the_log_format_asked_for(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FOODDELIVERY_MODE", BAD_MODE)
    monkeypatch.setenv("FOODDELIVERY_LOG_FORMAT", "text")
    client = loaded("orders_esg_egress")

    assert push(client, Message(data=b"{}")).status_code == 503

    first, *traceback = capsys.readouterr().out.splitlines()
    assert first.split(maxsplit=1)[1] == (
        "ERROR   functions  orders_esg_egress could not be set up: SettingError: "
        f"FOODDELIVERY_MODE must be memory, emulator or gcp, not '{BAD_MODE}'; answered 503, the "
        "next call tries again"
    )
    assert traceback[0] == "Traceback (most recent call last):"


def test_a_schedule_that_cannot_be_set_up_asks_cloud_scheduler_to_retry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ticks: list[str] = []

    def bootstrap(_: Any) -> None:
        ticks.append("bootstrap")
        if len(ticks) == 1:
            raise ConnectionError("the partner's API is down")

    target = FunctionHost(SubsystemApp(GAMMA, bootstrap), Settings()).target(
        "clock_control_timeouts"
    )

    said, status, _ = answer(target, "POST")

    assert (said, status) == ("retry: the function could not be set up", 503)
    [entry] = logged_errors(capsys)  # the kit's logs are set up before the bootstrap runs
    assert "clock_control_timeouts" in entry["message"]
    assert "ConnectionError: the partner's API is down" in entry["stack_trace"]
    assert answer(target, "POST")[1] == 204  # bootstrapped again, and ticked


def test_concurrent_first_requests_build_the_app_once() -> None:
    built: list[flask.Flask] = []
    both_in = threading.Barrier(2, timeout=0.5)

    def notes_app(_: Any) -> flask.Flask:
        built.append(json_api_flask("notes"))
        with contextlib.suppress(threading.BrokenBarrierError):
            both_in.wait()  # a second build would come in while this one runs
        return built[-1]

    notes = Subsystem(
        name="delta",
        services=(
            Service("notes-bff", ServiceKind.BFF, (Endpoint("api", Role.API, app=notes_app),)),
        ),
    )
    host = FunctionHost(SubsystemApp(notes, lambda _: None), Settings())
    served: list[Any] = []
    calls = [
        threading.Thread(target=lambda: served.append(host.runtime("notes_bff_api"))) for _ in "ab"
    ]

    for call in calls:
        call.start()
    for call in calls:
        call.join()

    assert len(built) == 1
    assert served == [built[0], built[0]]


def test_a_problem_is_answered_alike_outside_a_kit_app() -> None:
    refused = HttpError(503, "the service is unavailable", headers={"Retry-After": "5"})
    with json_api_flask("kit").test_request_context("/"):
        kits = problem_answer(refused)

    with flask.Flask("functions-framework").test_request_context("/"):
        plain = problem_answer(refused)

    assert plain.get_data() == kits.get_data()
    assert plain.headers == kits.headers
    assert plain.headers["Content-Type"] == PROBLEM_JSON
    assert all(plain.headers[name] == value for name, value in ANSWER_HEADERS.items())


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "FIRESTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST are not set"),
        ({"FIRESTORE_EMULATOR_HOST": "127.0.0.1:8086"}, "PUBSUB_EMULATOR_HOST is not set"),
        (
            {"FIRESTORE_EMULATOR_HOST": "", "PUBSUB_EMULATOR_HOST": "127.0.0.1:8085"},
            "FIRESTORE_EMULATOR_HOST is empty",
        ),
        (
            {"FIRESTORE_EMULATOR_HOST": "127.0.0.1:8086", "PUBSUB_EMULATOR_HOST": " "},
            "PUBSUB_EMULATOR_HOST is empty",
        ),
    ],
    ids=["neither", "no pubsub", "empty firestore", "blank pubsub"],
)
def test_emulator_mode_without_its_emulators_is_not_set_up_on_googles_services(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    given: dict[str, str],
    missing: str,
) -> None:
    """Google's clients without ``*_EMULATOR_HOST`` would reach the real services with the
    machine's ambient credentials: the function is not set up, and no client is built."""
    built: list[str] = []
    monkeypatch.setattr("shared.stores.firestore.FirestoreDocumentStore", built.append)
    monkeypatch.setattr("shared.hub.pubsub.PubSubPublisher", built.append)
    for name in ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    host = FunctionHost(SubsystemApp(GAMMA, lambda _: None), Settings(mode="emulator"))

    said, status, _ = answer(host.target("clock_control_timeouts"), "POST")

    assert (said, status) == ("retry: the function could not be set up", 503)
    [entry] = logged_errors(capsys)
    assert entry["message"].startswith(
        f"clock_control_timeouts could not be set up: SettingError: FOODDELIVERY_MODE is "
        f"emulator, but {missing}"
    )
    assert built == []

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8086")
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")
    assert answer(host.target("clock_control_timeouts"), "POST")[1] == 204
    assert built == ["gamma-local", "gamma-local"]
