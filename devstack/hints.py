"""Commands as the dev stack's messages show them: ready to paste, venv activated or not.

The tools are named by their path in the running interpreter's ``bin`` directory
(``.venv/bin/fooddelivery``), so a hint works whether or not the virtual
environment is activated, and ``--state-dir`` is shown whenever it is not the
default one.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from devstack.layout import MANIFEST, STATE_DIR

PORT_MAX = 65535
_FALLBACK = {"fooddelivery": "-m shared.cli", "functions-framework": "-m functions_framework"}


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    path = Path(path).absolute()
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    text = str(relative)
    return text if "/" in text else f"./{text}"


def python() -> str:
    """This interpreter, as a command."""
    return shlex.quote(shown(Path(sys.executable)))


def tool(name: str) -> str:
    """A console script of this environment (``fooddelivery``, ``functions-framework``)."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return shlex.quote(shown(script))
    return f"{python()} {_FALLBACK[name]}" if name in _FALLBACK else name


def command(program: str, args: Sequence[str]) -> str:
    """``program`` (already quoted) and ``args``, quoted for a POSIX shell."""
    return " ".join([program, *(shlex.quote(a) for a in args)])


def state_dir_args(state_dir: Path) -> list[str]:
    """``["--state-dir", DIR]`` unless ``state_dir`` is the default one."""
    if Path(state_dir).resolve() == STATE_DIR.resolve():
        return []
    return ["--state-dir", str(state_dir)]


def start_command(state_dir: Path) -> str:
    """How to start a stack with this state dir."""
    return command(tool("fooddelivery"), ["dev", *state_dir_args(state_dir)])


def no_stack(state_dir: Path, why: str = "") -> str:
    """The message for a command that needs a running stack and finds none."""
    because = f" ({why})" if why else ""
    return (
        f"no stack is running at {state_dir}{because}: start one with "
        f"`{start_command(state_dir)}`, or give the --state-dir of the one that runs"
    )


def starting(state_dir: Path, pid: int | None) -> str:
    """The message for a command that needs a running stack and finds one still starting."""
    which = f" (pid {pid})" if pid is not None else ""
    return f"the stack at {state_dir}{which} is still starting: try again once it printed READY"


def stale_manifest(state_dir: Path) -> str:
    """The message for a ``stack.json`` left behind by a stack that no longer answers."""
    return no_stack(state_dir, f"its {MANIFEST} is left from a stack that no longer answers")


def already_running(state_dir: Path, pid: int | None) -> str:
    """The message for a second stack started on the state dir of one that runs."""
    which = f" (pid {pid})" if pid is not None else ""
    env_sh = shlex.quote(str(Path(state_dir) / "env.sh"))
    attach = command(
        tool("fooddelivery"), ["dev", "--scenario", "--attach", *state_dir_args(state_dir)]
    )
    return (
        f"a stack is already running at {state_dir}{which}: use it (`source {env_sh}`, "
        f"or `{attach}`), stop it, or give another --state-dir"
    )


SHARED = {
    "Pub/Sub": "whose pushes this stack would take",
    "Firestore": "whose documents and change feeds this stack would mix with its own",
    "Storage": "whose event lake this stack would mix with its own",
}
"""What a second stack on an emulator would do to the stack that uses it."""


def emulator_taken(
    where: str, emulator: str, state_dir: str | None, pid: int | None, host: str | None
) -> str:
    """The message for a stack started on the ``emulator`` (``Pub/Sub``) at ``where`` that
    the stack at ``state_dir`` (pid ``pid``, on ``host`` when not this one) still uses
    (``None``: a stack that won a race to it)."""
    variables = "PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST and STORAGE_EMULATOR_HOST"
    if state_dir is None:
        return (
            f"the {emulator} emulator at {where} is being taken by another stack: stop it, or "
            f"unset {variables} to have this stack start its own emulators"
        )
    on = f" on {host}" if host else ""
    attach = command(
        tool("fooddelivery"), ["dev", "--scenario", "--attach", *state_dir_args(Path(state_dir))]
    )
    return (
        f"the {emulator} emulator at {where} is used by the stack at {state_dir} "
        f"(pid {pid}{on}), {SHARED[emulator]}. Stop that stack; or unset "
        f"{variables} (a shell that sourced its env.sh exports them) to have this stack start "
        f"its own emulators; or play the story on that stack with `{attach}`"
    )


def busy_ports(busy: Mapping[str, int], given: Mapping[str, str]) -> str:
    """The message for ports in use: ``busy`` maps what would listen to its port, ``given``
    what the user gave a port to (e.g. the Pub/Sub emulator) to the option they gave it with.

    ``--free-ports`` moves only the ports the user did not give, so it is suggested only for
    those.
    """
    listed = ", ".join(f"{port} ({what})" for what, port in busy.items())
    start = f"port(s) already in use: {listed}. Stop what listens there"
    theirs = [given[what] for what in busy if what in given]
    ours = [f"{port} ({what})" for what, port in busy.items() if what not in given]
    if not ours:
        return f"{start}, or give {' and '.join(theirs)} another port"
    choose = "choose other ports (--pubsub-port, --firestore-port, --storage-port, --base-port)"
    if not theirs:
        return f"{start}, {choose} or pass --free-ports"
    return (
        f"{start}, or {choose}; --free-ports would move {', '.join(ours)}, "
        f"not the port you gave {' and '.join(theirs)}"
    )
