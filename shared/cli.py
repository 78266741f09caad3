"""The ``fooddelivery`` command.

The kit contributes the generic commands (``topology``, ``token``, ``contracts``,
``lake``, ``migrate``, ``tfvars``/``deploy``/``teardown``, ``faults``); a project adds
its own (``demo``...) through the ``fooddelivery.commands`` entry-point group, each a
function that registers a sub-parser.

This module imports the standard library only: the commands' modules (a second or more
of imports) load inside :func:`main`, so a Ctrl-C while they do ends like one during the
command, with exit code 130 and no traceback.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import stat
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import redirect_stderr, redirect_stdout
from typing import Any, TextIO, cast

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _topology(args: argparse.Namespace) -> int:
    from shared.system import load_subsystems
    from shared.topology.model import Consumer, Endpoint, Schedule, Trigger

    for app in load_subsystems():
        topo = app.topology
        print(f"{topo.name}: publishes {sorted(topo.publishes) or '-'}")
        for service, fn in topo.functions():
            where = ""
            if isinstance(fn, Consumer):
                source = f"{fn.channel.subsystem or topo.name}/{fn.channel.topic}"
                where = f"<- {source} [{fn.channel.rule.to_filter() or 'all'}]"
            elif isinstance(fn, Trigger):
                where = f"<- changes of '{fn.collection}'"
            elif isinstance(fn, Endpoint):
                where = "<- HTTP"
            elif isinstance(fn, Schedule):
                where = f"<- every {fn.every_s} s"
            print(f"  {service.kind:<7} {fn.target(service):<36} {where}".rstrip())
    return 0


def _token(args: argparse.Namespace) -> int:
    from shared.auth import AuthError, LocalIssuer, parse_identity
    from shared.auth.local import dev_key_path

    if not args.public_key and not args.identity:
        print("fooddelivery token: give --as ACTOR:NAME (or --public-key)", file=sys.stderr)
        return 2
    # a bad identity is refused before a development key is created for it
    principal = None if args.public_key else parse_identity(args.identity)
    path = dev_key_path(os.environ.get("FOODDELIVERY_DEV_KEY"))
    try:
        created = not path.exists()
    except OSError as e:  # a name too long, a directory on the way that may not be searched
        raise AuthError(f"cannot read the development key {path}: {e.strerror or e}") from e
    issuer = LocalIssuer.from_file(path)
    if created:  # say so: a mistyped FOODDELIVERY_DEV_KEY must not pass unnoticed
        print(f"fooddelivery token: created a new development key {path}", file=sys.stderr)
    if principal is None:
        print(issuer.public_pem(), end="")
        return 0
    if principal.restaurant is not None and "." in principal.restaurant:
        print(  # staff:sam@example.com reads as sam of restaurant example.com
            f"fooddelivery token: minted for staff {principal.subject!r} of restaurant "
            f"{principal.restaurant!r}; for an email subject name the restaurant after it, "
            f"like staff:{principal.subject}@{principal.restaurant}@r-1",
            file=sys.stderr,
        )
    print(issuer.mint(principal, ttl_s=args.ttl))
    return 0


MAX_TOKEN_TTL_S = 86_400
"""The longest a development token lives: a day. The key that signs it is also trusted by a
``local-test`` deployment, and a token cannot be revoked but by replacing the key."""


def _token_lifetime(text: str) -> int:
    """An argparse type: a whole number of seconds, from 1 to :data:`MAX_TOKEN_TTL_S`."""
    try:
        seconds = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of seconds, not {text!r}"
        ) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {seconds}")
    if seconds > MAX_TOKEN_TTL_S:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_TOKEN_TTL_S} (a day), not {seconds}: mint a new one instead"
        )
    return seconds


DESCRIPTION = (
    "Work with the food-delivery system: inspect its topology and event contracts, "
    "mint development tokens, run it on your machine, and deploy it to Google Cloud."
)
INTERRUPTED = 128 + signal.SIGINT
"""The exit code of a command stopped by Ctrl-C (or SIGINT)."""
BROKEN_PIPE = 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 141
"""The exit code of a command whose output pipe closed: as if killed by SIGPIPE."""
EPILOG = f"""\
Run 'fooddelivery COMMAND --help' for a command's options.

exit codes (every command):
  0    done
  1    it ran, and failed: a check found problems, work was left undone (a fault
       left open, an order not delivered), or the output could not be written
  2    refused or stopped: a bad option, argument, file or environment variable,
       or a service out of reach; one line on stderr says which
  {INTERRUPTED:<4} interrupted (Ctrl-C)
  {BROKEN_PIPE:<4} the output pipe closed (`fooddelivery topology | head -1`)
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with the kit's and the project's commands."""
    from importlib.metadata import entry_points

    from shared.catalog.command import register as register_contracts
    from shared.deploy.command import register as register_deploy
    from shared.lake.command import register as register_lake
    from shared.migrations.command import register as register_migrate
    from shared.runtime.faults_command import register as register_faults
    from shared.system import COMMANDS_GROUP

    parser = argparse.ArgumentParser(
        prog="fooddelivery",
        description=textwrap.fill(DESCRIPTION, width=79),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the exit codes' table
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    topology = commands.add_parser(
        "topology", help="print every subsystem's functions and channels"
    )
    topology.set_defaults(run=_topology)
    token = commands.add_parser(
        "token", help="mint a development bearer token (local issuer; dev and embedded modes)"
    )
    token.add_argument(
        "--as",
        dest="identity",
        metavar="ACTOR:NAME",
        help="customer:alice, customer:alice@example.com, driver:dan or staff:sam@RESTAURANT "
        "(a staff member's restaurant follows the last @: staff:sam@example.com@r-1)",
    )
    token.add_argument(
        "--public-key",
        action="store_true",
        help="print the issuer's public key instead (what a deployed BFF verifies with)",
    )
    token.add_argument(
        "--ttl",
        type=_token_lifetime,
        default=3600,
        help=f"lifetime in seconds, at most {MAX_TOKEN_TTL_S} (default 3600)",
    )
    token.set_defaults(run=_token)
    register_contracts(commands)
    register_lake(commands)
    register_migrate(commands)
    register_deploy(commands)
    register_faults(commands)
    registered = sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name)
    for ep in registered:
        register: Register = ep.load()
        register(commands)
    if "demo" not in {ep.name for ep in registered}:
        from shared.sample.demo import register as register_sample

        register_sample(commands)
    _know_own_parser(parser)
    return parser


def _know_own_parser(parser: argparse.ArgumentParser) -> None:
    """Let every (sub)command's parser name itself in the parsed arguments, so a stray
    argument is reported with that command's usage, not the top level's."""
    for action in parser._actions:  # argparse lists subcommands nowhere public
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _know_own_parser(sub)
    parser.set_defaults(command_parser=parser)


def _parse(
    parser: argparse.ArgumentParser, argv: list[str]
) -> tuple[argparse.Namespace, list[str]]:
    """``parser.parse_args(argv)`` and no stray arguments; or, when some are stray, the
    arguments parsed and the stray ones, for the caller to report even if required ones
    are missing: a stray one is the likelier mistake (an option mistyped, or misplaced).

    A first parse that requires nothing and prints nothing finds the stray arguments; an
    error (or ``--help``) it stops on is left to argparse's own parse to report."""
    required = [action for action in _actions(parser) if action.required]
    try:
        for action in required:
            action.required = False
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            args, stray = parser.parse_known_args(argv)
    except SystemExit:
        stray = []
    finally:
        for action in required:
            action.required = True
    return (args, stray) if stray else (parser.parse_args(argv), [])


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """The actions of ``parser``, and of its subcommands' parsers, theirs, and so on."""
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _actions(sub)


def _stray_parser(
    top: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str], stray: list[str]
) -> argparse.ArgumentParser:
    """The parser to report ``stray`` arguments with: that of the (sub)command one was given
    to, before the name of the subcommand it chose (the top level's, ``top``, for
    ``fooddelivery --bogus topology``; ``lake``'s for ``fooddelivery lake --bogus replay``),
    else the last command's."""
    parser, start = top, 0
    while (chosen := _subcommand(parser, args)) is not None:
        name, sub = chosen
        if name not in argv[start:]:
            break
        at = argv.index(name, start)
        if any(arg in argv[start:at] for arg in stray):
            return parser
        parser, start = sub, at + 1
    command: argparse.ArgumentParser = args.command_parser
    return command


def _subcommand(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[str, argparse.ArgumentParser] | None:
    """The name and parser of the subcommand of ``parser`` that ``args`` chose, if any."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = getattr(args, action.dest, None)
            if isinstance(name, str) and name in action.choices:
                return name, action.choices[name]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code (listed in :data:`EPILOG`)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C at any moment, even while the commands' modules load
        return INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = cast(TextIO, _GuardedOutput(stdout))
    sys.stderr = cast(TextIO, _QuietErrors(stderr))
    try:
        return _run(argv)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _run(argv: Sequence[str] | None) -> int:
    """Parse ``argv`` and run the command. An error it stops on is one line on stderr that
    starts as argparse starts a command's usage errors: ``fooddelivery faults list: ...``
    (the command's ``prog``; just ``fooddelivery`` before a command is known)."""
    from shared.exceptions import KitError

    prog = "fooddelivery"
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser()
        args, stray = _parse(parser, argv)
        prog = args.command_parser.prog
        if stray:
            where = _stray_parser(parser, args, argv, stray)
            where.error(f"unrecognized arguments: {' '.join(stray)}")
        code: int = args.run(args)
        sys.stdout.flush()  # a closed pipe must fail here, where it is handled
    except KitError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    except OutputError as error:  # `> /dev/full`, a full disk, a file over its quota...
        print(f"{prog}: cannot write the output: {error}", file=sys.stderr)
        _discard_stdout()  # else the exit's flush of what is still buffered fails again
        return 1
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:  # the reader went away (`fooddelivery topology | head`)
        if not _discard_piped_stdout():
            raise  # stdout is no pipe: some other pipe broke, a real error
        return BROKEN_PIPE
    return code


class OutputError(Exception):
    """Standard output refused what a command printed, for another reason than a closed
    pipe (which ends the command quietly)."""


class _GuardedOutput:
    """Standard output while a command runs: a write or flush that fails raises
    :class:`OutputError`, told apart from any other ``OSError`` the command meets.

    ``stream`` is None when the process started with its stdout closed (``>&-``): Python
    then drops what is printed, so the first write raises instead (a token printed to
    nowhere must not pass for one minted)."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is None:
            raise OutputError("standard output is closed")
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(e.strerror or str(e)) from e

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(e.strerror or str(e)) from e

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _QuietErrors:
    """Standard error while a command runs: a message it cannot take is dropped, so the
    exit code stays the command's and the message does not end up in the output.

    ``stream`` is None when the process started with its stderr closed (``2>&-``), where
    ``print(..., file=None)`` would write to stdout. A write that fails (a pipe whose
    reader went away) points the stream's descriptor at /dev/null: what follows, and the
    exit's flush of what is still buffered, go there."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is not None:
            try:
                return self._stream.write(text)
            except (OSError, ValueError):  # ValueError: the stream was closed
                self._give_up()
        return len(text)

    def flush(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._give_up()

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    def _give_up(self) -> None:
        try:
            fd = cast(TextIO, self._stream).fileno()
        except (AttributeError, OSError, ValueError):
            self._stream = None
            return
        _to_devnull(fd)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _discard_piped_stdout() -> bool:
    """Point a piped stdout at /dev/null, so the final flush cannot fail again.

    False (and nothing done) when stdout is not a pipe or socket, so its
    BrokenPipeError cannot have come from there.
    """
    try:
        fd = sys.stdout.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return False
    _discard_stdout()
    return True


def _discard_stdout() -> None:
    """Point stdout's file descriptor at /dev/null (nothing done when it has none)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    _to_devnull(fd)


def _to_devnull(fd: int) -> None:
    """Point the file descriptor ``fd`` at /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
