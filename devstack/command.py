"""``fooddelivery dev``: the whole system on the Google emulators, one host per subsystem.

Starts the Pub/Sub, Firestore and Storage emulators (or uses the ones named by
``PUBSUB_EMULATOR_HOST`` / ``FIRESTORE_EMULATOR_HOST`` / ``STORAGE_EMULATOR_HOST``),
the fakes of the third parties the subsystems use and one function host per
subsystem, provisions every topic and subscription from the topologies, and prints
READY with the URLs and the environment. Ctrl-C or SIGTERM stops everything it started (and, before
READY, exits with code 130).

``--scenario`` then plays the demo story over the BFF HTTP APIs and stops
(``--attach`` plays it against a stack already running from the same state dir).

Bad options stop the command before it starts anything, with a message and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from devstack import hints
from devstack.launch import host_args
from devstack.layout import (
    BASE_PORT,
    EMULATORS,
    FAKES,
    HOST_OFFSET,
    MANIFEST,
    STATE_DIR,
    Manifest,
    Ports,
)
from devstack.stack import DevError, DevOptions, DevStack, unknown_subsystems
from devstack.third_parties import SECRETS, used_fakes
from scenario.demo import MAX_ORDERS
from shared import logs
from shared.auth.local import dev_key_path
from shared.exceptions import KitError
from shared.paths import PROJECT_ROOT
from shared.prose import help_text
from shared.runtime.app import SubsystemApp
from shared.system import load_subsystems
from shared.topology.model import Consumer, Endpoint, Function, Role, Service, ServiceKind

SUPERVISE_EVERY_S = 0.3
INTERRUPTED = 128 + signal.SIGINT
"""The exit code of a command stopped by Ctrl-C (or SIGTERM) before it printed READY."""
_STOPPED = "every process the stack started has exited"
ORDERS, SEED = 5, 7
"""The scenario's defaults: orders to place, and the story's random seed."""
_log = logging.getLogger("fooddelivery.dev")


def register(commands: Any) -> None:
    """Add the ``dev`` command."""
    parser = commands.add_parser(
        "dev",
        help="run every function locally on the Google emulators",
        description=help_text(__doc__ or ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ports = parser.add_argument_group("ports (127.0.0.1)")
    ports.add_argument("--pubsub-port", type=int, default=None, help="default 8085")
    ports.add_argument("--firestore-port", type=int, default=None, help="default 8086")
    ports.add_argument("--storage-port", type=int, default=None, help="default 9023")
    ports.add_argument(
        "--base-port",
        type=int,
        default=BASE_PORT,
        help=f"fakes on BASE+1..3, hosts from BASE+11, one per subsystem (default {BASE_PORT})",
    )
    ports.add_argument(
        "--free-ports", action="store_true", help="any free port for whatever is not given"
    )
    parser.add_argument(
        "--auto-pos",
        type=float,
        nargs="?",
        const=2.0,
        default=None,
        metavar="SECONDS",
        help="the fake point of sale answers by itself after SECONDS (default 2)",
    )
    parser.add_argument("--no-lake", action="store_true", help="do not write the event lake")
    parser.add_argument(
        "--external-host",
        action="append",
        default=[],
        metavar="SUBSYSTEM",
        help="do not start this subsystem's host: you run it (e.g. under a debugger) "
        "with python -m devstack.host SUBSYSTEM --port PORT",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=STATE_DIR,
        help=f"logs, trigger checkpoints and {MANIFEST} (default {STATE_DIR})",
    )
    story = parser.add_argument_group("scenario")
    story.add_argument(
        "--scenario", action="store_true", help="play the demo story over HTTP, then stop"
    )
    story.add_argument(
        "--attach", action="store_true", help="with --scenario: use the running stack"
    )
    story.add_argument(
        "--orders", type=int, help=f"orders to place, at most {MAX_ORDERS:,} (default {ORDERS})"
    )
    story.add_argument("--seed", type=int, help=f"random seed (default {SEED})")
    story.add_argument(
        "--timeline", choices=("traced", "all", "none"), help="as for demo (default traced)"
    )
    parser.set_defaults(run=run)


def options_from(args: argparse.Namespace) -> DevOptions:
    """The stack's options from the command line."""
    names = tuple(app.name for app in load_subsystems())
    ports = Ports.defaults(names, args.base_port)
    if args.free_ports:
        ports = Ports(0, 0, 0, {}, {})
    ports = Ports(
        pubsub=args.pubsub_port if args.pubsub_port is not None else ports.pubsub,
        firestore=args.firestore_port if args.firestore_port is not None else ports.firestore,
        storage=args.storage_port if args.storage_port is not None else ports.storage,
        fakes=ports.fakes,
        hosts=ports.hosts,
    )
    dev_key = dev_key_path(os.environ.get("FOODDELIVERY_DEV_KEY")).resolve()
    return DevOptions(
        ports=ports,
        state_dir=args.state_dir.resolve(),
        dev_key=dev_key,
        auto_pos=args.auto_pos,
        lake=not args.no_lake,
        external_hosts=frozenset(args.external_host),
        given_ports=frozenset(
            name for name in EMULATORS if getattr(args, f"{name}_port") is not None
        ),
    )


def usage_error(args: argparse.Namespace, subsystems: tuple[str, ...]) -> str | None:
    """What is wrong with the options, before anything starts (``None``: nothing)."""
    if not args.scenario:
        story = [f"--{o}" for o in ("orders", "seed", "timeline") if getattr(args, o) is not None]
        given = ["--attach"] * args.attach + story
        if given:
            return f"{', '.join(given)}: only with --scenario (which plays the demo story)"
    if args.orders is not None and args.orders < 1:
        return "--orders must be at least 1"
    if args.orders is not None and args.orders > MAX_ORDERS:
        return f"--orders must be at most {MAX_ORDERS:,}"
    if args.auto_pos is not None and not (math.isfinite(args.auto_pos) and args.auto_pos >= 0):
        return "--auto-pos must be a number of seconds, 0 or more"
    if args.storage_port is not None and args.no_lake:
        return "--storage-port goes without --no-lake (the Storage emulator holds the lake)"
    try:
        not_a_dir = args.state_dir.exists() and not args.state_dir.is_dir()
    except OSError as error:  # a name too long, a directory on the way that may not be searched
        return f"--state-dir {args.state_dir}: {error.strerror or error}"
    if not_a_dir:
        return f"--state-dir {args.state_dir} is not a directory"
    for option in ("pubsub_port", "firestore_port", "storage_port"):
        port = getattr(args, option)
        if port is not None and not 1 <= port <= hints.PORT_MAX:
            return f"--{option.replace('_', '-')} must be a port from 1 to {hints.PORT_MAX}"
    highest = hints.PORT_MAX - max(len(FAKES), HOST_OFFSET - 1 + len(subsystems))
    if not 1 <= args.base_port <= highest:
        return (
            f"--base-port must be from 1 to {highest}: the stack listens on ports up to "
            f"base + {HOST_OFFSET - 1 + len(subsystems)}"
        )
    return unknown_subsystems(args.external_host, subsystems)


def auto_pos_problem(args: argparse.Namespace, apps: Sequence[SubsystemApp[Any]]) -> str | None:
    """Why ``--auto-pos`` cannot take effect, if it is given and cannot: the stack it
    would start has no fake point of sale (no function of ``apps`` declares the point of
    sale's secret), or ``--attach`` starts none (the running one answers as it was told)."""
    if args.auto_pos is None:
        return None
    if args.attach:
        return (
            "--auto-pos goes without --attach: the running stack's point of sale answers as "
            "it was started to (start the stack with --auto-pos)"
        )
    if "pos" not in used_fakes(apps):
        return (
            f"--auto-pos: no function declares the secret {SECRETS['pos']}, so the stack "
            "runs no fake point of sale to answer"
        )
    return None


def run(args: argparse.Namespace) -> int:
    """Start the stack, print READY, supervise it until Ctrl-C/SIGTERM, stop everything."""
    # First of all: a Ctrl-C while the subsystems load must stop the command too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    # A shell starts background jobs with SIGINT ignored; `kill -INT` must still stop us.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _run(args)
    except KeyboardInterrupt:  # before the stack started anything, or while a story played
        print("\nfooddelivery dev: interrupted", file=sys.stderr, flush=True)
        return INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _run(args: argparse.Namespace) -> int:
    logs.configure("text")
    logging.getLogger("fooddelivery.runtime").setLevel(logging.CRITICAL)
    apps = load_subsystems()
    problem = usage_error(args, tuple(app.name for app in apps)) or auto_pos_problem(args, apps)
    if problem is None and args.scenario:
        from devstack.scenario import story_problem

        problem = story_problem(apps)
    if problem:
        return _fail(problem)
    args.orders = ORDERS if args.orders is None else args.orders
    args.seed = SEED if args.seed is None else args.seed
    args.timeline = args.timeline or "traced"
    if args.scenario and args.attach:
        from devstack.live import attach
        from devstack.scenario import play

        try:
            manifest = attach(args.state_dir)
        except KitError as error:
            return _fail(str(error))
        return play(manifest, args)
    started = time.perf_counter()
    stack = DevStack(options_from(args))
    ready = interrupted = False
    try:
        manifest = stack.start()
        text = banner(
            manifest,
            time.perf_counter() - started,
            args.state_dir,
            stack.external,
            apps=apps,
            lake=not args.no_lake,
            playing=args.scenario,
        )
        ready = True  # before the text: a SIGTERM sent on reading READY is a stop, not 130
        print(text, flush=True)
        story = _Story(manifest, args) if args.scenario else None
        while story is None or story.playing:
            time.sleep(SUPERVISE_EVERY_S)
            stack.supervise()
        return story.result()
    except KeyboardInterrupt:
        if not ready:  # said in one line once everything stopped
            interrupted = True
            return INTERRUPTED
        print("\nstopping…", file=sys.stderr, flush=True)
        return 0
    except KitError as error:  # the reason first, then that everything stopped
        return _fail(str(error))
    finally:
        with _signals_ignored():  # a second Ctrl-C must not cut the stop short
            stack.stop()
        if interrupted:
            print(
                f"\nfooddelivery dev: interrupted while starting; {_STOPPED}",
                file=sys.stderr,
                flush=True,
            )
        elif stack.started_processes:
            print(f"stopped: {_STOPPED}", file=sys.stderr, flush=True)


def banner(
    manifest: Manifest,
    seconds: float,
    state_dir: Path,
    external: frozenset[str] = frozenset(),
    *,
    apps: Sequence[SubsystemApp[Any]] | None = None,
    lake: bool = True,
    playing: bool = False,
) -> str:
    """The READY text: URLs, environment, and how to use them (commands that work as shown);
    ``apps``: the stack's subsystems (default: every registered one), whose HTTP functions
    it lists; ``playing``: the story starts now, so how to play it is not shown."""
    from devstack.scenario import story_problem

    env_sh = state_dir / "env.sh"
    source = f"source {shlex.quote(str(env_sh))}"
    system = load_subsystems() if apps is None else apps
    bffs, others = http_functions(system, manifest)
    lines = [f"READY in {seconds:.1f} s", "", "BFF APIs (bearer token needed):"]
    lines += _listed(bffs)
    if others:
        lines += ["", "Other HTTP functions (webhooks):", *_listed(others)]
    lines += ["", "Function hosts (POST /<target> for push, schedule and trigger targets):"]
    wide = max((len(name) for name in manifest.hosts), default=10)
    for name, base in manifest.hosts.items():
        lines.append(f"  {name:<{wide}} {base}   stats: {base}/_dev/stats")
    for name in sorted(external):
        port = int(manifest.hosts[name].rsplit(":", 1)[1])
        host = hints.command(hints.python(), host_args(name, port, state_dir, lake))
        lines.append(f"  {name} is yours to run, after `{source}`:")
        lines.append(f"    {host}")
    if manifest.fakes:  # only those of the third parties some subsystem uses
        lines += ["", "Third-party fakes:"]
        lines += [f"  {name:<9} {base}" for name, base in manifest.fakes.items()]
    lines += ["", f"Environment of every function (also in {env_sh}):"]
    lines += [f"  export {k}={shlex.quote(v)}" for k, v in sorted(manifest.env.items())]
    at = hints.state_dir_args(state_dir)
    lines += run_alone(system, source, at)
    lines += [
        "Mint a token:  "
        + hints.command(hints.tool("fooddelivery"), ["token", "--as", "customer:alice"]),
    ]
    if not playing and story_problem(system) is None:  # a system with the demo's subsystems
        story = hints.command(hints.tool("fooddelivery"), ["dev", "--scenario", "--attach", *at])
        lines.append(f"Play the story: {story}")
    lines.append("Ctrl-C stops everything.")
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(manifest.env.items()))
    _write_private(env_sh, exports)
    return "\n".join(lines)


def run_alone(apps: Sequence[SubsystemApp[Any]], source: str, at: Sequence[str]) -> list[str]:
    """The READY lines that show how to run one function of ``apps`` alone against the stack
    (after ``source``; ``at``: the state dir's option): the first BFF API and the first
    listener (else another function fed by a subscription) of the first subsystem, in
    alphabetical order, that has one; none when no subsystem has either."""
    bff = _first(apps, lambda s, fn: isinstance(fn, Endpoint) and s.kind is ServiceKind.BFF)
    pushed = _first(apps, lambda s, fn: isinstance(fn, Consumer) and fn.role is Role.LISTENER)
    pushed = pushed or _first(apps, lambda s, fn: isinstance(fn, Consumer))
    if bff is None and pushed is None:
        return []
    lines = ["", f"Run one function alone against this stack, after `{source}`:"]
    for found, port in ((bff, "8090"), (pushed, "8091")):
        if found is not None:
            serve = ["--source", _main_py(found[0]), "--target", found[1], "--port", port]
            lines.append("  " + hints.command(hints.tool("functions-framework"), serve))
    if pushed is not None:
        route = [*pushed, "http://127.0.0.1:8091", *at]
        lines += [
            f"  and send {pushed[1]}'s pushes there (without the URL: back to the stack's host):",
            "  " + hints.command(f"{hints.python()} -m devstack.route", route),
        ]
    return lines


def _first(
    apps: Sequence[SubsystemApp[Any]], wanted: Callable[[Service, Function], bool]
) -> tuple[str, str] | None:
    """(subsystem, target) of the first function of ``apps`` (alphabetically by subsystem,
    each's functions as declared) that is ``wanted``."""
    for app in sorted(apps, key=lambda a: a.name):
        for service, fn in app.topology.functions():
            if wanted(service, fn):
                return app.name, fn.target(service)
    return None


def _main_py(subsystem: str) -> str:
    """Where functions-framework finds ``subsystem``'s targets: its package's ``main.py`` (the
    package its entry point names, as ``fooddelivery deploy`` packages it; else its name)."""
    from shared.deploy.archive import subsystem_packages

    package = subsystem_packages().get(subsystem, subsystem)
    return hints.shown(PROJECT_ROOT / package / "main.py")  # pasted from anywhere


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner only: ``env.sh`` holds the settings the command
    was started with, a subsystem's keys among them."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # one written before keeps its mode otherwise
    with os.fdopen(fd, "w") as file:
        file.write(text)


def http_functions(
    apps: Sequence[SubsystemApp[Any]], manifest: Manifest
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Every HTTP function of ``apps`` as (``subsystem/service``, URL), subsystems in
    alphabetical order, each's functions as declared: the BFFs' APIs, then the others
    (an ESG's webhook for a third party). A service's function is named too when the
    service has more than one."""
    bffs: list[tuple[str, str]] = []
    others: list[tuple[str, str]] = []
    for app in sorted(apps, key=lambda a: a.name):
        endpoints = list(app.topology.endpoints())
        for service, fn in endpoints:
            label = f"{app.name}/{service.name}"
            if sum(1 for other, _ in endpoints if other is service) > 1:
                label += f" {fn.name}"
            found = bffs if service.kind is ServiceKind.BFF else others
            found.append((label, manifest.endpoints[fn.target(service)]))
    return bffs, others


def _listed(labelled: list[tuple[str, str]]) -> list[str]:
    width = max((len(label) for label, _ in labelled), default=0)
    return [f"  {label:<{width}}  {url}" for label, url in labelled]


class _Story:
    """The demo story, played on a thread while the command keeps supervising the stack."""

    def __init__(self, manifest: Manifest, args: argparse.Namespace) -> None:
        from devstack.scenario import play

        self._code = 1
        self._error: BaseException | None = None
        # A daemon: after Ctrl-C or a failed stack, a story waiting for hosts must not
        # hold the command's exit.
        self._thread = threading.Thread(
            target=self._play, args=(play, manifest, args), name="story", daemon=True
        )
        self._thread.start()

    @property
    def playing(self) -> bool:
        """True until the story ended."""
        return self._thread.is_alive()

    def result(self) -> int:
        """The story's exit code; what it raised is raised here, in the command's thread."""
        if self._error is not None:
            raise self._error
        return self._code

    def _play(self, play: Any, manifest: Manifest, args: argparse.Namespace) -> None:
        try:
            self._code = play(manifest, args)
        except BaseException as error:
            self._error = error


def _fail(message: str) -> int:
    print(f"fooddelivery dev: {message}", file=sys.stderr, flush=True)
    return 2


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM meanwhile: the stack is being stopped already, and a stop
    cut short would leave its processes to their tethers, after the command has exited."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


__all__ = ["MANIFEST", "STATE_DIR", "DevError", "register"]
