"""Start, watch and stop a whole dev stack: emulators, fakes, one host per subsystem.

Order of start: the emulators (Pub/Sub and Firestore side by side, then
Storage) and the fakes of the third parties the subsystems use
(:mod:`devstack.third_parties`); then Pub/Sub is provisioned from the topologies (push
endpoints are the hosts' URLs), the lake bucket is created and the hosts are
started; the stack is ready when every host and fake answers ``/healthz``.
Before anything starts, the stack locks its state dir (:mod:`devstack.state_lock`):
one stack per state dir; and before it uses an emulator, it records itself there
(:mod:`devstack.emulator_owner`): one running stack per emulator. While
it runs, :meth:`DevStack.supervise` restarts a host that died and stops the stack
when an emulator or a fake died.
:meth:`DevStack.stop` stops everything it started by process group, the hosts
and fakes side by side first, then the emulators, and removes the stack's
``stack.json`` so that no command finds a stack that is gone. How each child is
started is :mod:`devstack.launch`. An emulator named by its ``*_EMULATOR_HOST``
variable is used as it is, and left running.

No port is left free between its choice and its use, where another process
could take it: the stack listens on the port of each host and fake before
anything starts and hands the socket down (to restarts too). Only the
emulators take no socket and do not tell their port: one whose port the user
did not give is left to :func:`shared.emulators.start`, which picks a port as it
starts it and starts it again on another one when another process takes it
first. Everything after reads an emulator's address from its
:class:`~shared.emulators.RunningEmulator`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib.util
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack import hints
from devstack.emulator_owner import EmulatorTaken, Owner, claim, release
from devstack.health import NO_ANSWER, healthy, unhealthy_because
from devstack.launch import child_env, fake_argv, function_env, host_args
from devstack.layout import EMULATORS, HOST, MANIFEST, Manifest, Ports, project_of, url
from devstack.owner_records import records_of
from devstack.processes import Child, listening_socket, stop_groups
from devstack.provisioning import create_lake_bucket, provision
from devstack.state_lock import StateDirBusy, StateDirLock
from devstack.store_marks import reconcile
from devstack.third_parties import pos_webhook, used_fakes
from shared import emulators as emu
from shared.auth import LocalIssuer
from shared.exceptions import KitError, StoreError
from shared.system import load_subsystems

if TYPE_CHECKING:
    from shared.runtime.app import SubsystemApp

_log = logging.getLogger("fooddelivery.dev")
READY_TIMEOUT_S = 90.0
RESTART_DELAY_S = 0.5
MAX_QUICK_DEATHS = 3
"""A host that dies this many times in a row within 10 s of its start is not restarted again."""
PROBE_EVERY_S = 10.0
"""How often :meth:`DevStack.supervise` asks each running host for ``/healthz``."""
EMULATOR_STOP_TIMEOUT_S = 15.0
"""How long the emulators have to exit after SIGTERM (their JVMs) before they get SIGKILL."""
SIGNAL_CHECK_S = 0.2
"""How long the command waits on its threads at most before it runs the signal handlers due."""
HUNG_AFTER_S = 60.0
"""A host that has answered no probe for this long is taken for hung and restarted, as Cloud
Run restarts an instance that fails its liveness probe."""


class DevError(KitError):
    """The stack cannot start: a busy port, a missing tool, a process that would not come up."""


@dataclass
class DevOptions:
    """How to run the stack."""

    ports: Ports
    state_dir: Path
    dev_key: Path
    auto_pos: float | None = None
    """Let the fake POS answer by itself after this many seconds (``None``: the terminal does)."""
    lake: bool = True
    external_hosts: frozenset[str] = frozenset()
    """Subsystems whose host the user runs (e.g. under a debugger) on its port: not started,
    not waited for, not restarted."""
    given_ports: frozenset[str] = frozenset()
    """The emulators (``pubsub``, ``firestore``, ``storage``) whose port the user gave
    (``--pubsub-port``...): ``--free-ports`` moves every port but theirs."""
    host_logs_to_files: bool = False
    """Hosts write to ``<state dir>/logs/host-<name>.log`` instead of this process's stdout."""


@dataclass
class DevStack:
    """A running (or starting) stack; use :meth:`start`, :meth:`supervise`, :meth:`stop`."""

    options: DevOptions
    apps: list[SubsystemApp[Any]] = field(default_factory=load_subsystems)
    emulators: dict[str, emu.RunningEmulator] = field(default_factory=dict)
    fakes: dict[str, Child] = field(default_factory=dict)
    hosts: dict[str, Child] = field(default_factory=dict)
    sockets: dict[str, socket.socket] = field(default_factory=dict)
    """Child name -> the listening socket it inherits, held for its restarts."""
    manifest: Manifest | None = None
    started_processes: bool = False
    """True once the stack has started a process (until then :meth:`stop` has nothing to do)."""
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _quick_deaths: dict[str, int] = field(default_factory=dict)
    _probed_at: dict[str, float] = field(default_factory=dict)
    _unanswered_since: dict[str, float] = field(default_factory=dict)
    _unhealthy_because: dict[str, str] = field(default_factory=dict)
    _lock: StateDirLock | None = None
    _owned: dict[str, Owner] = field(default_factory=dict)
    """Emulator name -> this stack's record on it (:mod:`devstack.emulator_owner`)."""

    @property
    def external(self) -> frozenset[str]:
        """Subsystems whose host the user runs."""
        return self.options.external_hosts

    @property
    def log_dir(self) -> Path:
        """Where the emulators' and fakes' logs go."""
        return self.options.state_dir / "logs"

    # -- start ---------------------------------------------------------------------------

    def start(self) -> Manifest:
        """Bring everything up; raise :class:`DevError` (after cleaning up) on failure."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Manifest:
        unknown = unknown_subsystems(self.options.external_hosts, [a.name for a in self.apps])
        if unknown:
            raise DevError(unknown)
        # Once, before four hosts race to create it; an unusable key fails before anything starts.
        LocalIssuer.from_file(self.options.dev_key)
        pos_webhook(self.apps)  # a webhook the topologies leave unclear: before anything starts
        specs = [s for s in self._needed() if not os.environ.get(s.env_var)]
        self._use_given_emulators(specs)
        missing = emu.missing_tools(tuple(specs))
        if missing:
            raise DevError(
                f"the emulators need {' and '.join(missing)} on PATH: install the Google Cloud "
                "SDK with its emulator components and a Java runtime (see README, Run locally), "
                "or point PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST at running emulators"
            )
        if any(s.name == "storage" for s in specs):
            self._check_storage_emulator()
        self._claim_state_dir()
        self._claim_emulators()  # those of *_EMULATOR_HOST: before anything starts
        ports = self._resolve_ports(specs)
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            where = self.options.state_dir
            raise DevError(f"cannot keep the stack's state in {where}: {error.strerror}") from None
        self.started_processes = True
        self._start_fakes(ports)
        self._start_emulators(ports, specs)
        self._claim_emulators()
        env = function_env(self.apps, ports, self.options.dev_key, self.emulators.values())
        from shared.hub.provision import ProvisionTimeout  # google.cloud: only when starting

        try:
            provision(self.apps, self._host_urls(ports), lake=self.options.lake)
        except ProvisionTimeout as error:
            pubsub = self.emulators.get("pubsub")
            log = f" (its log: {pubsub.log_path})" if pubsub and pubsub.log_path else ""
            raise DevError(f"{error}{log}") from error
        if self.options.lake:
            create_lake_bucket()
        if any(s.name == "firestore" for s in specs):
            for old in self.options.state_dir.glob("*-triggers.jsonl"):
                old.unlink()  # a fresh Firestore: earlier checkpoints describe nothing
        self._mark_firestore()
        ours = [a.name for a in self.apps if a.name not in self.options.external_hosts]
        for name in ours:
            self._start_host(name, env)
        hosts = {n: u for n, u in self._host_urls(ports).items() if n in ours}
        self._wait_healthy({**{f"fake {n}": url(p) for n, p in ports.fakes.items()}, **hosts})
        self.manifest = Manifest(
            hosts=self._host_urls(ports),
            fakes={name: url(port) for name, port in ports.fakes.items()},
            endpoints={
                fn.target(service): f"{url(ports.hosts[app.name])}/{fn.target(service)}"
                for app in self.apps
                for service, fn in app.topology.endpoints()
            },
            env=env,
            dev_key=str(self.options.dev_key),
            groups=self.groups(),
        )
        self.manifest.write(self.options.state_dir / MANIFEST)
        return self.manifest

    def _mark_firestore(self) -> None:
        """Empty the trigger checkpoints that describe another Firestore than this one (an
        emulator of ``FIRESTORE_EMULATOR_HOST`` restarted since), and mark it as this state
        dir's (:mod:`devstack.store_marks`)."""
        from shared.stores.firestore import FirestoreDocumentStore  # google.cloud: only here

        stores: list[FirestoreDocumentStore] = []

        def store_of(subsystem: str) -> FirestoreDocumentStore:
            stores.append(FirestoreDocumentStore(project_of(subsystem)))
            return stores[-1]

        where = os.environ.get(emu.FIRESTORE.env_var, "")
        try:
            reconcile(self.options.state_dir, [a.name for a in self.apps], store_of, where=where)
        except StoreError as error:
            raise DevError(f"the Firestore emulator at {where} refused: {error}") from error
        finally:
            for store in stores:
                store.close()

    def _claim_state_dir(self) -> None:
        """Make the state dir and lock it, so that no second stack shares it."""
        where = self.options.state_dir
        lock = StateDirLock(where)
        try:
            where.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except StateDirBusy as busy:
            raise DevError(hints.already_running(where, busy.pid)) from None
        except OSError as error:
            raise DevError(f"cannot keep the stack's state in {where}: {error.strerror}") from None
        self._lock = lock

    def _claim_emulators(self) -> None:
        """Record this stack as the user of each of its emulators not recorded yet, so that
        no second stack takes its pushes or mixes its data with this one's
        (:mod:`devstack.emulator_owner`)."""
        from google.api_core.exceptions import GoogleAPIError  # only when starting

        for name, running in self.emulators.items():
            if name in self._owned:
                continue
            records = records_of(running)
            try:
                self._owned[name] = claim(self.options.state_dir, records)
            except (GoogleAPIError, OSError) as error:
                what = f"the {records.emulator} emulator at {running.host_port}"
                raise DevError(f"{what} refused: {error}") from error
            except EmulatorTaken as taken:
                raise DevError(_taken(running.host_port, taken)) from None
            finally:
                records.close()

    def _release(self, running: emu.RunningEmulator, owner: Owner) -> None:
        """Leave ``running``'s records naming no one after ``owner``; an emulator that does
        not answer (stopped meanwhile) has nothing to release."""
        from google.api_core.exceptions import GoogleAPIError

        with contextlib.suppress(GoogleAPIError, OSError):
            records = records_of(running)
            try:
                release(owner, records)
            finally:
                records.close()

    def _needed(self) -> list[emu.EmulatorSpec]:
        """The emulators this stack uses: Storage only for the event lake."""
        return [s for s in emu.ALL if self.options.lake or s is not emu.STORAGE]

    def _resolve_ports(self, specs: list[emu.EmulatorSpec]) -> Ports:
        """Every port of the stack, listening on those of its hosts and fakes: only the
        fakes some subsystem uses, whose ports alone must be free."""
        used = used_fakes(self.apps)
        ports = self.options.ports
        ports = replace(ports, fakes={n: p for n, p in ports.fakes.items() if n in used})
        started = {s.name for s in specs}
        if "pubsub" not in started:
            ports = replace(ports, pubsub=0)
        if "firestore" not in started:
            ports = replace(ports, firestore=0)
        if "storage" not in started:
            ports = replace(ports, storage=0)
        given: dict[int, str] = {}
        for what, port in ports.requested().items():
            if port in given:
                raise DevError(
                    f"port {port} is given to both {given[port]} and {what}: choose other "
                    "ports (--pubsub-port, --firestore-port, --storage-port, --base-port)"
                )
            given[port] = what
        busy = {
            what: port for what, port in ports.requested().items() if not emu.port_is_free(port)
        }
        if busy:
            options = {EMULATORS[name]: f"--{name}-port" for name in self.options.given_ports}
            raise DevError(hints.busy_ports(busy, options))
        ports = _fill_free(ports, tuple(a.name for a in self.apps), self.external, used)
        ours = {n: p for n, p in ports.hosts.items() if n not in self.external}
        return replace(
            ports,
            fakes={name: self._listen(f"fake-{name}", port) for name, port in ports.fakes.items()},
            hosts={**ports.hosts, **{n: self._listen(f"host-{n}", p) for n, p in ours.items()}},
        )

    def _listen(self, child: str, port: int) -> int:
        """Listen on ``port`` (0: a free one) for ``child`` to inherit; the port."""
        try:
            self.sockets[child] = listening_socket(HOST, port)
        except OSError as error:
            raise DevError(f"cannot listen on port {port} for {child}: {error.strerror}") from error
        port_: int = self.sockets[child].getsockname()[1]
        return port_

    def _check_storage_emulator(self) -> None:
        if importlib.util.find_spec("gcp_storage_emulator") is None:
            raise DevError(
                "the Storage emulator is the Python package gcp-storage-emulator: "
                "pip install gcp-storage-emulator (make installs it), or set STORAGE_EMULATOR_HOST"
            )

    def _use_given_emulators(self, specs: list[emu.EmulatorSpec]) -> None:
        """Check the emulators named by their ``*_EMULATOR_HOST`` answer, before anything starts."""
        for spec in self._needed():
            if spec not in specs:
                self.emulators[spec.name] = emu.start(spec)

    def _start_emulators(self, ports: Ports, specs: list[emu.EmulatorSpec]) -> None:
        """Start the emulators side by side. Each one is the stack's (for :meth:`stop`) as
        soon as it started; Ctrl-C, whenever it comes, cancels the starts still waiting
        (each stops its emulator)."""
        given = {"pubsub": ports.pubsub, "firestore": ports.firestore, "storage": ports.storage}
        cancel = threading.Event()

        def start(spec: emu.EmulatorSpec) -> None:
            # a port the user did not give (0) is emu.start's to pick, and re-pick
            running = emu.start(spec, given[spec.name] or None, log_dir=self.log_dir, cancel=cancel)
            self.emulators[spec.name] = running

        futures: list[concurrent.futures.Future[None]] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            try:  # from the first start on: a Ctrl-C before the last one began cancels it too
                for spec in specs:
                    futures.append(pool.submit(start, spec))
                # In rounds: a signal that comes just as a wait begins does not wake it, and
                # the handler, which raises the KeyboardInterrupt, runs once a round ends.
                while concurrent.futures.wait(futures, timeout=SIGNAL_CHECK_S).not_done:
                    pass
            except BaseException:
                cancel.set()
                raise  # once every start has ended: leaving the pool waits for them
        errors = [e for f in futures if (e := f.exception()) is not None]
        if errors:
            raise DevError(f"an emulator did not start: {errors[0]}") from errors[0]
        for running in self.emulators.values():
            self._saved_env.setdefault(running.spec.env_var, os.environ.get(running.spec.env_var))
            os.environ[running.spec.env_var] = running.env_value

    def _start_fakes(self, ports: Ports) -> None:
        for name in ports.fakes:
            sock = self.sockets[f"fake-{name}"]
            argv = fake_argv(name, sock.fileno(), self.options.auto_pos)
            log = self.log_dir / f"fake-{name}.log"
            child = Child(f"fake-{name}", argv, child_env({}), log, [sock.fileno()])
            self.fakes[name] = child  # first: a Ctrl-C just after its start must stop it too
            child.start()

    def _start_host(self, name: str, env: dict[str, str]) -> None:
        sock = self.sockets[f"host-{name}"]
        argv = [sys.executable, *host_args(name, sock, self.options.state_dir, self.options.lake)]
        log = self.log_dir / f"host-{name}.log" if self.options.host_logs_to_files else None
        child = Child(f"host-{name}", argv, child_env(env), log, [sock.fileno()])
        self.hosts[name] = child  # first: a Ctrl-C just after its start must stop it too
        child.start()

    def _host_urls(self, ports: Ports) -> dict[str, str]:
        return {app.name: url(ports.hosts[app.name]) for app in self.apps}

    def _wait_healthy(self, urls: dict[str, str], timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        waiting = dict(urls)
        while waiting:
            for child in [*self.fakes.values(), *self.hosts.values()]:
                if not child.alive:
                    raise DevError(f"{child.name} exited with code {child.returncode} at start")
            waiting = {what: u for what, u in waiting.items() if not healthy(u)}
            if waiting and time.monotonic() > deadline:
                raise DevError(f"not healthy after {timeout_s:.0f} s: {', '.join(waiting)}")
            if waiting:
                time.sleep(0.1)

    # -- run -----------------------------------------------------------------------------

    def groups(self) -> dict[str, int]:
        """name -> process group of every process this stack started."""
        found = {
            f"emulator-{name}": e.process.pid
            for name, e in self.emulators.items()
            if e.process is not None
        }
        for child in [*self.fakes.values(), *self.hosts.values()]:
            if child.process is not None:
                found[child.name] = child.pid
        return found

    def supervise(self) -> None:
        """Restart a host that died or hung (its pushes are redelivered, its triggers
        resumed).

        Call it periodically; raises :class:`DevError` when a host keeps dying at start, or
        when an emulator or a fake exited: their state is in memory, so a restart would not
        bring the stack back. A host that answers ``/healthz`` with no 200 (no answer, or a
        503 naming its problems, logged) for :data:`HUNG_AFTER_S` is stopped and restarted
        (a restarted host resumes its triggers from their checkpoints).
        """
        self._check_emulators_and_fakes()
        for name, child in self.hosts.items():
            if child.alive and self._hung(name):
                _log.warning(
                    "the %s host has not answered /healthz%s for %.0f s; restarting it",
                    name,
                    "" if self._unhealthy_because.get(name) == NO_ANSWER else " with 200",
                    HUNG_AFTER_S,
                )
                child.stop()
                self._unanswered_since.pop(name, None)
            if child.alive:
                if time.monotonic() - child.started_at > 10:
                    self._quick_deaths[name] = 0
                continue
            quick = time.monotonic() - child.started_at < 10
            self._quick_deaths[name] = self._quick_deaths.get(name, 0) + 1 if quick else 0
            if self._quick_deaths[name] >= MAX_QUICK_DEATHS:
                raise DevError(f"the {name} host keeps exiting (code {child.returncode})")
            _log.warning("the %s host exited with code %s; restarting it", name, child.returncode)
            child.stop()
            self._unanswered_since.pop(name, None)  # the new process's silence counts afresh
            time.sleep(RESTART_DELAY_S)
            child.restarts += 1
            child.start()
            if self.manifest is not None:
                self.manifest = replace(self.manifest, groups=self.groups())
                self.manifest.write(self.options.state_dir / MANIFEST)

    def _hung(self, name: str) -> bool:
        """Probe the running host ``name`` (at most every :data:`PROBE_EVERY_S`); True once
        it has answered none for :data:`HUNG_AFTER_S`."""
        now = time.monotonic()
        if self.manifest is None or now - self._probed_at.get(name, 0.0) < PROBE_EVERY_S:
            return False
        self._probed_at[name] = now
        why = unhealthy_because(self.manifest.hosts[name])
        if why is None:
            self._unanswered_since.pop(name, None)
            self._unhealthy_because.pop(name, None)
            return False
        if why != NO_ANSWER:
            _log.warning("the %s host is not healthy: %s", name, why)
        self._unhealthy_because[name] = why
        return now - self._unanswered_since.setdefault(name, now) >= HUNG_AFTER_S

    def _check_emulators_and_fakes(self) -> None:
        exited = [
            (f"the {name} emulator", running.process.poll(), running.log_path)
            for name, running in self.emulators.items()
            if running.process is not None and running.process.poll() is not None
        ]
        exited += [
            (child.name, child.returncode, child.log_path)
            for child in self.fakes.values()
            if not child.alive
        ]
        if exited:
            what, code, log = exited[0]
            where = f" (its log: {log})" if log else ""
            raise DevError(f"{what} exited with code {code}: the stack cannot go on{where}")

    def stop(self) -> None:
        """Stop every process this stack started (hosts, fakes, emulators) and remove its
        ``stack.json``; idempotent.

        The hosts and fakes stop side by side, then the emulators side by side: a host
        that stops still talks to them (the lake writer acknowledges the batch in hand).
        """
        children = [*self.hosts.values(), *self.fakes.values()]
        stop_groups([c.process for c in children if c.process is not None])
        for name, owner in self._owned.items():
            running = self.emulators.get(name)
            if running is not None and running.process is None:  # one it started goes with it
                self._release(running, owner)
        self._owned.clear()
        emulators = [e.process for e in self.emulators.values() if e.process is not None]
        stop_groups(emulators, EMULATOR_STOP_TIMEOUT_S)
        for child in children:
            child.stop()  # exited already: sweeps its group once more
        for running in self.emulators.values():
            running.stop()  # exited already: removes its data
        for sock in self.sockets.values():
            sock.close()
        self.sockets.clear()
        self.hosts.clear()
        self.fakes.clear()
        self.emulators.clear()
        for var, value in self._saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        self._saved_env.clear()
        if self.manifest is not None:
            path = self.options.state_dir / MANIFEST
            with contextlib.suppress(OSError, ValueError, TypeError):
                if Manifest.read(path) == self.manifest:  # not another stack's, written since
                    path.unlink()
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _taken(where: str, taken: EmulatorTaken) -> str:
    """The message for the emulator at ``where`` that another stack uses."""
    owner = taken.owner
    if owner is None:
        return hints.emulator_taken(where, taken.emulator, None, None, None)
    host = owner.host if owner.host != socket.gethostname() else None
    return hints.emulator_taken(where, taken.emulator, owner.state_dir, owner.pid, host)


def unknown_subsystems(names: Collection[str], known: Collection[str]) -> str | None:
    """The message for names that are no subsystem, or ``None`` when every one is."""
    unknown = sorted(set(names) - set(known))
    if not unknown:
        return None
    return f"no subsystem named {', '.join(unknown)} (known: {', '.join(sorted(known))})"


def _fill_free(
    ports: Ports, subsystems: tuple[str, ...], external: Collection[str], fakes: Collection[str]
) -> Ports:
    """Hosts the user runs get a free port when left at 0; ``fakes`` are those the stack runs.

    What else is left at 0 stays so: the stack listens on a free port for a host
    or fake, and :func:`shared.emulators.start` picks one for an emulator.
    """
    hosts = {name: ports.hosts.get(name, 0) for name in subsystems}
    return Ports(
        pubsub=ports.pubsub,
        firestore=ports.firestore,
        storage=ports.storage,
        fakes={name: ports.fakes.get(name, 0) for name in fakes},
        hosts={
            name: (port or emu.free_port()) if name in external else port
            for name, port in hosts.items()
        },
    )
