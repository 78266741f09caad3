"""Bad input to ``fooddelivery dev`` and ``devstack.route``: one line, exit code 2, nothing started.

Everything here runs in this process, without emulators: a check that came too
late would reach :class:`DevStack`, which these tests replace by one that fails.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from devstack import command, hints, route
from devstack.layout import LAKE_BUCKET, MANIFEST, Manifest
from devstack.stack import DevError, DevOptions, DevStack
from devstack.state_lock import StateDirLock
from devstack.stats import Stats
from scenario.demo import MAX_ORDERS
from shared import emulators
from shared.cli import main
from shared.contracts import SCHEMA_VERSION_TAG
from shared.envelope import new_event
from shared.hub.message import Message
from shared.paths import PROJECT_ROOT
from shared.system import load_subsystems
from shared.topology.model import Topic

HOSTS = ("customer", "delivery", "order", "restaurant")


class NothingStarts:
    """Stands for :class:`DevStack` where a test expects nothing to start."""

    def __init__(self, options: DevOptions) -> None:
        raise AssertionError("the stack was started")


@pytest.fixture(autouse=True)
def _quiet_logs(monkeypatch: pytest.MonkeyPatch):
    """``run`` configures the process's logging: keep it from outliving the test."""
    monkeypatch.setattr(command.logs, "configure", lambda *args, **kwargs: None)
    runtime = logging.getLogger("fooddelivery.runtime")
    level = runtime.level
    yield
    runtime.setLevel(level)


def dev(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["dev", "--state-dir", str(tmp_path), *args])
    return code, capsys.readouterr().err


def free_port() -> int:
    """A port nothing listens on (nothing will, for the length of a test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def a_manifest(port: int) -> Manifest:
    """A stack whose every part would listen on ``port``."""
    base = f"http://127.0.0.1:{port}"
    return Manifest(
        hosts={name: base for name in HOSTS},
        fakes={name: base for name in ("payments", "pos", "push")},
        endpoints={
            fn.target(service): f"{base}/{fn.target(service)}"
            for app in load_subsystems()
            for service, fn in app.topology.endpoints()
        },
        env={"PUBSUB_EMULATOR_HOST": f"127.0.0.1:{port}"},
        dev_key="key.pem",
    )


# -- 1. --scenario --attach without a running stack ---------------------------------------


def test_attach_without_a_stack_says_none_runs(tmp_path, capsys) -> None:
    code, err = dev(tmp_path, capsys, "--scenario", "--attach")
    assert code == 2
    assert err.strip() == (
        f"fooddelivery dev: no stack is running at {tmp_path}: start one with "
        f"`{hints.tool('fooddelivery')} dev --state-dir {tmp_path}`, "
        "or give the --state-dir of the one that runs"
    )


def test_attach_to_a_stopped_stack_s_leftover_manifest_says_none_runs(tmp_path, capsys) -> None:
    a_manifest(free_port()).write(tmp_path / MANIFEST)
    code, err = dev(tmp_path, capsys, "--scenario", "--attach")
    assert code == 2
    assert "no stack is running at" in err and "no longer answers" in err
    assert len(err.strip().splitlines()) == 1


def test_attach_to_a_stack_still_starting_says_so(tmp_path, capsys) -> None:
    """Before READY a stack holds its state dir but has no manifest yet (or a killed one's):
    "no stack is running, start one" would send the user to start a second."""
    starting = StateDirLock(tmp_path)
    starting.acquire()
    try:
        code, err = dev(tmp_path, capsys, "--scenario", "--attach")
        a_manifest(free_port()).write(tmp_path / MANIFEST)  # left by a stack killed outright
        code_left, err_left = dev(tmp_path, capsys, "--scenario", "--attach")
    finally:
        starting.release()
    expected = (
        f"fooddelivery dev: the stack at {tmp_path} (pid {os.getpid()}) is still starting: "
        "try again once it printed READY"
    )
    assert (code, err.strip()) == (code_left, err_left.strip()) == (2, expected)


def test_stopping_a_stack_removes_its_manifest_but_not_a_newer_one(tmp_path) -> None:
    options = DevOptions(command.Ports(), tmp_path, tmp_path / "key.pem")
    path = tmp_path / MANIFEST
    ours, theirs = a_manifest(1), a_manifest(2)
    ours.write(path)
    DevStack(options, apps=[], manifest=ours).stop()
    assert not path.exists()
    theirs.write(path)
    DevStack(options, apps=[], manifest=ours).stop()
    assert Manifest.read(path) == theirs


# -- 2. the READY text's commands work as printed ------------------------------------------


def test_the_banner_s_commands_name_the_venv_and_a_non_default_state_dir(tmp_path) -> None:
    text = command.banner(a_manifest(8713), 1.0, tmp_path, frozenset({"order"}))
    fooddelivery = hints.tool("fooddelivery")
    python = hints.python()
    assert str(Path(sys.executable).parent) in str(Path(fooddelivery).absolute())
    assert f"Play the story: {fooddelivery} dev --scenario --attach --state-dir {tmp_path}" in text
    # the first BFF API and listener of the first subsystem, alphabetically
    assert f"{python} -m devstack.route customer browse_bff_listener" in text
    assert f"http://127.0.0.1:8091 --state-dir {tmp_path}" in text
    serve = f"{hints.tool('functions-framework')} --source customer/main.py"
    assert f"{serve} --target browse_bff_api --port 8090\n" in text
    assert f"{serve} --target browse_bff_listener --port 8091\n" in text
    assert f"order is yours to run, after `source {tmp_path}/env.sh`:" in text
    assert (
        f"    {python} -m devstack.host order --port 8713 --state-dir {tmp_path} "
        f"--lake-bucket {LAKE_BUCKET}\n" in text
    )


def test_the_banner_s_function_source_works_pasted_from_a_subdirectory(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(PROJECT_ROOT / "order")
    text = command.banner(a_manifest(8713), 1.0, tmp_path, frozenset())
    assert f"--source {PROJECT_ROOT}/customer/main.py --target browse_bff_listener" in text


def test_the_banner_leaves_out_the_default_state_dir_and_a_lake_that_is_off(
    tmp_path, monkeypatch
) -> None:
    default = tmp_path / "dev"  # stands in for STATE_DIR, so the banner's env.sh lands here
    default.mkdir()
    monkeypatch.setattr(hints, "STATE_DIR", default)
    text = command.banner(a_manifest(8713), 1.0, default, frozenset({"order"}), lake=False)
    assert text.splitlines()[-2].endswith(" dev --scenario --attach")
    playing = command.banner(a_manifest(8713), 1.0, default, lake=False, playing=True)
    assert "--scenario" not in playing  # the story plays at once: nothing to attach
    assert playing.endswith("Ctrl-C stops everything.")
    assert "--lake-bucket" not in text
    assert f"--port 8713 --state-dir {default}\n" in text


# -- 3 to 5. options checked before anything starts ----------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-port", "99999"], "--base-port must be from 1 to 65521"),
        (["--base-port", "65522"], "--base-port must be from 1 to 65521"),
        (["--base-port", "0"], "--base-port must be from 1 to 65521"),
        (["--pubsub-port", "70000"], "--pubsub-port must be a port from 1 to 65535"),
        (["--storage-port", "-1"], "--storage-port must be a port from 1 to 65535"),
        (["--attach"], "--attach: only with --scenario"),
        (["--orders", "3", "--seed", "0"], "--orders, --seed: only with --scenario"),
        (["--timeline", "all"], "--timeline: only with --scenario"),
        (["--auto-pos", "-1"], "--auto-pos must be a number of seconds, 0 or more"),
        (["--auto-pos", "nan"], "--auto-pos must be a number of seconds, 0 or more"),
        (["--storage-port", "9999", "--no-lake"], "--storage-port goes without --no-lake"),
        (["--state-dir", __file__], f"--state-dir {__file__} is not a directory"),
        (["--state-dir", "x" * 300], f"--state-dir {'x' * 300}: File name too long"),
        (
            ["--scenario", "--attach", "--state-dir", "x" * 300],
            f"--state-dir {'x' * 300}: File name too long",
        ),
        (["--scenario", "--orders", "0"], "--orders must be at least 1"),
        (["--scenario", "--attach", "--orders", "0"], "--orders must be at least 1"),
        (
            ["--scenario", "--orders", str(MAX_ORDERS + 1)],
            f"--orders must be at most {MAX_ORDERS:,}",
        ),
        (
            ["--scenario", "--attach", "--orders", "99999999"],
            f"--orders must be at most {MAX_ORDERS:,}",
        ),
        (["--external-host", "bogus"], "no subsystem named bogus (known: customer, delivery"),
    ],
)
def test_bad_options_stop_the_command_before_anything_starts(
    tmp_path, capsys, monkeypatch, args, message
) -> None:
    monkeypatch.setattr(command, "DevStack", NothingStarts)
    code, err = dev(tmp_path, capsys, *args)
    assert code == 2
    assert err.startswith(f"fooddelivery dev: {message}")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["--auto-pos"], ["--auto-pos", "0"]])
def test_auto_pos_without_a_point_of_sale_is_refused_before_anything_starts(
    tmp_path, capsys, monkeypatch, args
) -> None:
    # It was ignored: no fake point of sale ran to answer by itself.
    without_pos = [app for app in load_subsystems() if app.name != "order"]
    monkeypatch.setattr(command, "load_subsystems", lambda: without_pos)
    monkeypatch.setattr(command, "DevStack", NothingStarts)
    code, err = dev(tmp_path, capsys, *args)
    assert code == 2
    assert err == (
        "fooddelivery dev: --auto-pos: no function declares the secret POS_WEBHOOK_SECRET, "
        "so the stack runs no fake point of sale to answer\n"
    )


def test_auto_pos_is_refused_with_attach(tmp_path, capsys, monkeypatch) -> None:
    # It was ignored: the running stack's point of sale answers as it was started to.
    monkeypatch.setattr(command, "DevStack", NothingStarts)
    code, err = dev(tmp_path, capsys, "--scenario", "--attach", "--auto-pos")
    assert code == 2
    assert err.startswith("fooddelivery dev: --auto-pos goes without --attach")


def test_a_state_dir_that_cannot_be_made_stops_the_command_before_anything_starts(
    tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(emulators, "missing_tools", lambda specs: ())  # gcloud or not
    (tmp_path / "a-file").write_text("")
    where = tmp_path / "a-file" / "state"

    code = main(["dev", "--state-dir", str(where), "--free-ports"])

    err = capsys.readouterr().err
    assert code == 2
    assert err == f"fooddelivery dev: cannot keep the stack's state in {where}: Not a directory\n"


def test_a_stack_that_cannot_start_says_why_before_that_it_stopped(
    tmp_path, capsys, monkeypatch
) -> None:
    class FailsAfterStarting:
        external: frozenset[str] = frozenset()
        started_processes = True

        def __init__(self, options: DevOptions) -> None:
            pass

        def start(self) -> Manifest:
            raise DevError("fake pos exited with code 1 at start")

        def stop(self) -> None:
            pass

    monkeypatch.setattr(command, "DevStack", FailsAfterStarting)
    code, err = dev(tmp_path, capsys)
    assert code == 2
    assert err.splitlines() == [
        "fooddelivery dev: fake pos exited with code 1 at start",
        "stopped: every process the stack started has exited",
    ]


class InterruptedWhileStarting:
    """Stands for a stack that hears Ctrl-C while it starts (a host loading, say)."""

    external: frozenset[str] = frozenset()
    started_processes = True
    stopped: ClassVar[list[bool]] = []

    def __init__(self, options: DevOptions) -> None:
        InterruptedWhileStarting.stopped = []

    def start(self) -> Manifest:
        raise KeyboardInterrupt

    def stop(self) -> None:
        self.stopped.append(True)


INTERRUPTED_WHILE_STARTING = (
    "fooddelivery dev: interrupted while starting; every process the stack started has exited"
)


def test_ctrl_c_while_the_stack_starts_stops_it_and_says_so_in_one_line(
    tmp_path, capsys, monkeypatch
) -> None:
    """It said "stopping…", then "stopped: ...", and exited 0 as after READY."""
    monkeypatch.setattr(command, "DevStack", InterruptedWhileStarting)
    code, err = dev(tmp_path, capsys)
    assert InterruptedWhileStarting.stopped == [True]
    assert code == 130
    assert err.strip().splitlines() == [INTERRUPTED_WHILE_STARTING]


def test_a_second_ctrl_c_while_the_stack_stops_does_not_cut_the_stop_short(
    tmp_path, capsys, monkeypatch
) -> None:
    """Pressed again while the emulators' JVMs take their time to exit, Ctrl-C ended the
    command halfway through the stop, leaving the rest to the tethers and saying nothing."""

    class InterruptedTwice(InterruptedWhileStarting):
        def stop(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # again while it stops
            time.sleep(0.2)  # the signal is handled meanwhile
            super().stop()

    monkeypatch.setattr(command, "DevStack", InterruptedTwice)
    code, err = dev(tmp_path, capsys)
    assert InterruptedTwice.stopped == [True], "the stop was cut short"
    assert code == 130
    assert err.strip().splitlines() == [INTERRUPTED_WHILE_STARTING]
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN  # given back after the stop


def test_a_stack_that_started_nothing_does_not_say_it_stopped(
    tmp_path, capsys, monkeypatch
) -> None:
    """A busy port (or, without gcloud, the missing tools): one line, nothing started."""
    for spec in emulators.ALL:
        monkeypatch.delenv(spec.env_var, raising=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, err = dev(tmp_path, capsys, "--pubsub-port", str(busy.getsockname()[1]))
    assert code == 2
    assert err.startswith("fooddelivery dev: ")
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "logs").exists()


# -- 6. devstack.route ---------------------------------------------------------------------


def test_route_names_the_known_subsystems(tmp_path, capsys) -> None:
    code = route.main(["bogus", "x", "--state-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err == (
        "devstack.route: no subsystem named bogus (known: customer, delivery, order, restaurant)\n"
    )


def test_route_rejects_a_target_that_has_no_subscription(tmp_path, capsys) -> None:
    assert route.main(["order", "nope", "--state-dir", str(tmp_path)]) == 2
    assert "has no function with target 'nope'" in capsys.readouterr().err


def test_route_without_a_stack_says_none_runs(tmp_path, capsys) -> None:
    code = route.main(["order", "lifecycle_control_collector", "--state-dir", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.startswith(f"devstack.route: no stack is running at {tmp_path}")


def test_route_to_a_stopped_stack_fails_at_once(tmp_path, capsys) -> None:
    a_manifest(free_port()).write(tmp_path / MANIFEST)
    started = time.monotonic()
    code = route.main(["order", "lifecycle_control_collector", "--state-dir", str(tmp_path)])
    assert code == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert err.startswith(f"devstack.route: no stack is running at {tmp_path} (the Pub/Sub")
    assert len(err.strip().splitlines()) == 1


# -- 8. the timeline shows the versioned type ----------------------------------------------


def test_published_events_carry_the_contract_version_as_the_demo_shows_it() -> None:
    stats = Stats("order")
    versioned = new_event(
        "order.order-status-changed",
        "order",
        {"id": "o-1"},
        partition_key="o-1",
        tags={"source": "status-esg", SCHEMA_VERSION_TAG: "1"},
    )
    internal = new_event("order-placed", "order", {"id": "o-1"}, partition_key="o-1")
    stats.published(Topic.EXTERNAL, [Message(versioned.to_bytes())])
    stats.published(Topic.BUS, [Message(internal.to_bytes())])
    assert [e["type"] for e in stats.events()] == ["order.order-status-changed v1", "order-placed"]


# -- a shell that sourced a stopped stack's env.sh -----------------------------------------


def test_an_emulator_address_nothing_answers_at_is_refused_before_anything_starts(
    tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")

    code, err = dev(tmp_path, capsys, "--free-ports", "--no-lake")

    assert code != 0
    assert "PUBSUB_EMULATOR_HOST=127.0.0.1:" in err
    assert "is set, but nothing listens there" in err
    assert not (tmp_path / "logs").exists(), "no fake or emulator was started"
    assert "stopped:" not in err + capsys.readouterr().out


# -- the stack is watched while it runs ----------------------------------------------------


class WatchedStack:
    """Stands for :class:`DevStack`: starts at once, counts its supervision rounds."""

    external: frozenset[str] = frozenset()
    started_processes = True
    rounds = 0
    fails_at: int | None = None

    def __init__(self, options: DevOptions) -> None:
        self.state_dir = options.state_dir

    def start(self) -> Manifest:
        return a_manifest(free_port())

    def supervise(self) -> None:
        type(self).rounds += 1
        if type(self).rounds == self.fails_at:
            raise DevError("the order host keeps exiting (code 1)")

    def stop(self) -> None:
        pass


def test_hosts_are_restarted_while_the_story_plays(tmp_path, capsys, monkeypatch) -> None:
    """``dev --scenario`` plays on a stack it started: a host that dies meanwhile is restarted."""
    import devstack.scenario

    monkeypatch.setattr(WatchedStack, "rounds", 0)
    monkeypatch.setattr(command, "DevStack", WatchedStack)
    monkeypatch.setattr(devstack.scenario, "play", lambda manifest, args: time.sleep(1.5) or 0)
    code, _ = dev(tmp_path, capsys, "--scenario")
    assert code == 0
    assert WatchedStack.rounds >= 2


def test_a_stack_that_fails_while_the_story_plays_says_why(tmp_path, capsys, monkeypatch) -> None:
    import devstack.scenario

    monkeypatch.setattr(WatchedStack, "rounds", 0)
    monkeypatch.setattr(WatchedStack, "fails_at", 2)
    monkeypatch.setattr(command, "DevStack", WatchedStack)
    monkeypatch.setattr(devstack.scenario, "play", lambda manifest, args: time.sleep(30) or 0)
    started = time.monotonic()
    code, err = dev(tmp_path, capsys, "--scenario")
    assert code == 2
    assert time.monotonic() - started < 10
    assert err.splitlines()[0] == "fooddelivery dev: the order host keeps exiting (code 1)"


def test_an_emulator_or_fake_that_exits_stops_the_stack_with_its_name(tmp_path) -> None:
    """Their state is in memory: the stack says so and stops rather than run on without them."""
    from devstack.processes import Child

    exits = Child("fake-pos", [sys.executable, "-c", "raise SystemExit(3)"], {}, tmp_path / "l")
    exits.start()
    exits.process.wait(30)  # type: ignore[union-attr]
    stack = DevStack(DevOptions(command.Ports(), tmp_path, tmp_path / "k.pem"), apps=[])
    stack.fakes["pos"] = exits
    with pytest.raises(DevError, match=r"^fake-pos exited with code 3: the stack cannot go on \("):
        stack.supervise()

    gone = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    gone.wait(30)
    stack = DevStack(DevOptions(command.Ports(), tmp_path, tmp_path / "k.pem"), apps=[])
    stack.emulators["pubsub"] = emulators.RunningEmulator(emulators.PUBSUB, "127.0.0.1:1", gone)
    with pytest.raises(DevError, match=r"^the pubsub emulator exited with code 1"):
        stack.supervise()


def test_a_host_that_hangs_is_restarted(tmp_path, monkeypatch, caplog) -> None:
    """A host alive but answering nothing (listening, never accepting) is taken for hung."""
    from devstack import stack as stack_module
    from devstack.processes import Child

    monkeypatch.setattr(stack_module, "PROBE_EVERY_S", 0.0)
    monkeypatch.setattr(stack_module, "HUNG_AFTER_S", 1.0)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        hangs = Child("host-order", [sys.executable, "-c", "import time; time.sleep(120)"], {})
        stack = DevStack(DevOptions(command.Ports(), tmp_path, tmp_path / "k.pem"), apps=[])
        stack.hosts["order"] = hangs
        stack.manifest = a_manifest(port)
        hangs.start()
        try:
            first = hangs.pid
            stack.supervise()  # the first unanswered probe
            assert hangs.restarts == 0
            time.sleep(1.1)
            with caplog.at_level(logging.WARNING, logger="fooddelivery.dev"):
                stack.supervise()
            assert hangs.restarts == 1
            assert hangs.alive and hangs.pid != first
            assert "the order host has not answered /healthz for 1 s; restarting it" in caplog.text
        finally:
            hangs.stop()


def test_a_host_restarted_after_it_died_unanswering_is_given_its_time_to_start(
    tmp_path, monkeypatch
) -> None:
    """A host that had stopped answering and then died is restarted; the silence of the old
    process must not count against the new one, still starting, as a hang."""
    from devstack import stack as stack_module
    from devstack.processes import Child

    monkeypatch.setattr(stack_module, "PROBE_EVERY_S", 0.0)
    monkeypatch.setattr(stack_module, "HUNG_AFTER_S", 1.0)
    with socket.socket() as listener:  # listening, never accepting: no /healthz answer
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        host = Child("host-order", [sys.executable, "-c", "import time; time.sleep(120)"], {})
        stack = DevStack(DevOptions(command.Ports(), tmp_path, tmp_path / "k.pem"), apps=[])
        stack.hosts["order"] = host
        stack.manifest = a_manifest(listener.getsockname()[1])
        host.start()
        try:
            stack.supervise()  # the old process answers no probe
            host.stop()  # then dies
            stack.supervise()  # restarted
            assert host.restarts == 1
            time.sleep(0.7)  # more than HUNG_AFTER_S since the old process's first silence
            stack.supervise()  # the new one, still starting, answers no probe either
            assert host.restarts == 1
        finally:
            host.stop()


def test_a_port_given_to_two_parts_of_the_stack_is_refused_naming_both(tmp_path) -> None:
    """Else the stack listens there for the host, then says the emulator's port is in use by
    another process: itself."""
    port = free_port()
    ports = command.Ports(port, 0, 0, {}, {"customer": port})
    stack = DevStack(DevOptions(ports, tmp_path, tmp_path / "k.pem"), apps=[])
    with pytest.raises(DevError) as refused:
        stack._resolve_ports([emulators.PUBSUB])
    assert str(refused.value) == (
        f"port {port} is given to both the Pub/Sub emulator and the customer host: choose "
        "other ports (--pubsub-port, --firestore-port, --storage-port, --base-port)"
    )


def test_ctrl_c_while_the_subsystems_load_stops_the_command_before_anything_starts(
    tmp_path, monkeypatch
) -> None:
    """Started in the background, the command inherits SIGINT ignored: a `kill -INT` that
    came while it loaded the subsystems (seconds) was lost, and the stack started anyway."""
    loaded, calls = command.load_subsystems, []

    def interrupted_while_loading() -> Any:
        calls.append(1)
        if len(calls) == 1:  # once, while the command first loads them
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the signal is handled meanwhile
        return loaded()

    monkeypatch.setattr(command, "load_subsystems", interrupted_while_loading)
    monkeypatch.setattr(command, "DevStack", NothingStarts)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell starts a background job
    try:
        code = main(["dev", "--state-dir", str(tmp_path)])
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # given back as it was
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 130
