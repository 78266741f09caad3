from __future__ import annotations

import argparse
import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from shared.auth import LocalIssuer, LocalVerifier, Principal
from shared.cli import BROKEN_PIPE, build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def test_token_mints_a_verifiable_token_with_a_persistent_key(tmp_path, monkeypatch, capsys):
    key = tmp_path / "key.pem"
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(key))
    assert main(["token", "--as", "staff:sam@r-1"]) == 0
    token = capsys.readouterr().out.strip()
    assert LocalIssuer.from_file(key).verify(token) == Principal("staff", "sam", "r-1")


def test_token_lives_as_long_as_asked_up_to_a_day(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(tmp_path / "key.pem"))
    assert main(["token", "--as", "driver:dan", "--ttl", "86400"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 86_400


def test_a_bad_identity_is_a_clear_error_and_a_nonzero_exit(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(tmp_path / "key.pem"))
    assert main(["token", "--as", "chef:bob"]) == 2
    assert "must look like customer:alice" in capsys.readouterr().err


def test_token_prints_the_public_key_a_deployed_bff_verifies_with(tmp_path, monkeypatch, capsys):
    key = tmp_path / "key.pem"
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(key))
    assert main(["token", "--public-key"]) == 0
    public = tmp_path / "public.pem"
    public.write_text(capsys.readouterr().out)
    assert "PRIVATE" not in public.read_text()
    assert main(["token", "--as", "driver:dan"]) == 0
    token = capsys.readouterr().out.strip()
    assert LocalVerifier.from_file(public).verify(token) == Principal("driver", "dan")


def test_a_staff_token_whose_restaurant_looks_like_a_domain_says_whom_it_is_for(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(tmp_path / "dev.pem"))
    assert main(["token", "--as", "staff:sam@r-1"]) == 0
    capsys.readouterr()
    assert main(["token", "--as", "staff:sam@example.com"]) == 0
    err = capsys.readouterr().err
    assert "minted for staff 'sam' of restaurant 'example.com'" in err
    assert "like staff:sam@example.com@r-1" in err
    assert main(["token", "--as", "staff:sam@example.com@r-1"]) == 0
    assert capsys.readouterr().err == ""


def test_token_without_an_identity_says_what_to_give(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(tmp_path / "key.pem"))
    assert main(["token"]) == 2
    assert "give --as ACTOR:NAME" in capsys.readouterr().err


def test_the_kits_sample_demo_runs_without_the_domain(capsys):
    import argparse

    from shared.sample.demo import register

    commands = argparse.ArgumentParser().add_subparsers()
    register(commands)
    args = commands.choices["demo"].parse_args(["--orders", "3", "--seed", "1"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "alpha.order-submitted" in out
    assert "carts shipped" in out


def test_an_unusable_dev_key_is_one_clear_line_and_exit_2(tmp_path, monkeypatch, capsys):
    key = tmp_path / "key.pem"
    public = tmp_path / "key.pub.pem"
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(key))
    assert main(["token", "--public-key"]) == 0
    public.write_text(capsys.readouterr().out)
    (tmp_path / "junk.pem").write_text("junk\n")
    for bad, message in [
        (public, "holds a public key; the development key must be the private key"),
        (tmp_path / "junk.pem", "is not a PEM private key"),
        (tmp_path, "is a directory"),
        (tmp_path / "junk.pem" / "key.pem", "cannot create the development key"),
    ]:
        monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(bad))
        assert main(["token", "--as", "customer:alice"]) == 2
        err = capsys.readouterr().err
        assert err == f"fooddelivery token: {err.removeprefix('fooddelivery token: ').strip()}\n"
        assert message in err and str(bad) in err


@pytest.mark.parametrize("option", [["--as", "customer:alice"], ["--public-key"]])
def test_a_dev_key_path_that_cannot_be_looked_at_is_one_line_and_exit_2(
    tmp_path, monkeypatch, capsys, option
):
    # The file system cannot say whether a key is there: not a traceback, not a new key.
    key = tmp_path / ("k" * 300) / "key.pem"
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(key))
    assert main(["token", *option]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"fooddelivery token: cannot read the development key {key}: File name too long\n"
    )
    assert captured.out == ""


def test_token_says_when_it_creates_a_key(tmp_path, monkeypatch, capsys):
    key = tmp_path / "new" / "key.pem"
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(key))
    assert main(["token", "--as", "customer:alice"]) == 0
    assert f"created a new development key {key}" in capsys.readouterr().err
    assert main(["token", "--as", "customer:alice"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("ttl", "message"),
    [
        ("0", "argument --ttl: must be positive, not 0"),
        ("-5", "argument --ttl: must be positive, not -5"),
        ("soon", "argument --ttl: must be a whole number of seconds, not 'soon'"),
        ("86401", "argument --ttl: must be at most 86400 (a day), not 86401"),
    ],
)
def test_token_refuses_a_lifetime_that_is_not_positive_or_over_a_day(
    tmp_path, monkeypatch, capsys, ttl, message
):
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(tmp_path / "key.pem"))
    with pytest.raises(SystemExit) as exited:
        main(["token", "--as", "driver:dan", "--ttl", ttl])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        ("chef:bob", "must look like customer:alice"),
        ("staff:sam", "staff need their restaurant"),
        ("staff:sam@r:1", "the restaurant after the last '@' must be one id"),
        ("customer:", "names no one"),
        ("customer:a/b", "cannot be a token's subject"),
        ("customer:alice ", "cannot be a token's subject: it starts or ends with a blank"),
    ],
)
def test_token_refuses_identities_outside_the_grammar(
    tmp_path, monkeypatch, capsys, identity, message
):
    key = tmp_path / "key.pem"
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(key))
    assert main(["token", "--as", identity]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"fooddelivery token: identity {identity!r}")
    assert message in captured.err
    assert captured.out == ""
    assert not key.exists()  # refused before a development key was made for it


@pytest.mark.parametrize(
    ("identity", "principal"),
    [
        ("customer:alice@example.com", Principal("customer", "alice@example.com")),
        ("driver:github:583231", Principal("driver", "github:583231")),
        ("staff:sam@example.com@r-1", Principal("staff", "sam@example.com", "r-1")),
    ],
)
def test_token_mints_subjects_that_hold_separators(
    tmp_path, monkeypatch, capsys, identity, principal
):
    key = tmp_path / "key.pem"
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(key))
    assert main(["token", "--as", identity]) == 0
    token = capsys.readouterr().out.strip()
    assert LocalIssuer.from_file(key).verify(token) == principal


def test_the_top_level_help_is_for_users(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "inspect its topology" in out
    assert "``" not in out and "entry-point" not in out


def _with_a_closed_pipe(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``fooddelivery ARGV`` writing to a pipe whose reader has gone (``| head`` quit)."""
    script = (
        "import sys; from shared.cli import main; sys.stdout.reconfigure(line_buffering=True); "
        f"sys.exit(main({list(argv)!r}))"
    )
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-c", script],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)


def test_a_closed_output_pipe_ends_the_command_quietly():
    done = _with_a_closed_pipe("topology")
    assert done.stderr == ""
    assert done.returncode == BROKEN_PIPE


def test_help_into_a_closed_pipe_is_quiet_too():
    assert _with_a_closed_pipe("--help").stderr == ""


def test_a_broken_pipe_that_is_not_stdout_is_not_hidden(monkeypatch):
    def breaks(args):
        raise BrokenPipeError("a child process went away")

    monkeypatch.setattr("shared.cli._topology", breaks)
    with pytest.raises(BrokenPipeError):
        main(["topology"])  # stdout is captured here, not a pipe


class FullDisk(io.StringIO):
    """A standard output on a full disk: every write fails."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_output_that_cannot_be_written_is_one_clear_line_and_exit_1(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", FullDisk())
    assert main(["topology"]) == 1
    assert capsys.readouterr().err == (
        "fooddelivery topology: cannot write the output: No space left on device\n"
    )


def test_an_os_error_that_is_not_stdouts_is_not_hidden(monkeypatch):
    def fails(args):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("shared.cli._topology", fails)
    with pytest.raises(PermissionError):
        main(["topology"])


def _into(stdout: int | None, key: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``fooddelivery ARGV`` with ``stdout`` as its standard output (None: closed)."""
    script = f"import sys; from shared.cli import main; sys.exit(main({list(argv)!r}))"
    return subprocess.run(
        [sys.executable, "-c", script],
        stdout=subprocess.DEVNULL if stdout is None else stdout,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "FOODDELIVERY_DEV_KEY": str(key)},
        text=True,
        timeout=120,
        check=False,
        preexec_fn=None if stdout is not None else lambda: os.close(1),
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize(
    ("argv", "prog"),
    [
        (("topology",), "fooddelivery topology"),
        (("token", "--public-key"), "fooddelivery token"),
        (("--help",), "fooddelivery"),
    ],
)
def test_a_full_disk_under_stdout_is_one_line_not_a_traceback(tmp_path, argv, prog):
    with open("/dev/full", "w") as full:
        done = _into(full.fileno(), tmp_path / "dev.pem", *argv)
    assert done.stderr.endswith(f"{prog}: cannot write the output: No space left on device\n")
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.returncode == 1


@pytest.mark.skipif(os.name != "posix", reason="closes stdout with os.close in the child")
def test_a_closed_stdout_is_one_line_not_a_traceback(tmp_path):
    done = _into(None, tmp_path / "dev.pem", "token", "--as", "customer:alice")
    assert done.stderr.endswith(
        "fooddelivery token: cannot write the output: standard output is closed\n"
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 1


def test_topology_says_what_feeds_every_function(capsys):
    assert main(["topology"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "lifecycle_control_timeouts           <- every 60 s" in "\n".join(lines)
    functions = [line for line in lines if line.startswith("  ")]
    assert functions and all("<- " in line for line in functions)


def test_an_error_caught_for_every_command_names_the_command_as_argparse_does(capsys, monkeypatch):
    monkeypatch.delenv("FOODDELIVERY_MODE", raising=False)
    assert main(["faults", "list", "order"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fooddelivery faults list: FOODDELIVERY_MODE is not set")
    with pytest.raises(SystemExit):
        main(["faults", "list", "order", "--bogus"])
    assert "fooddelivery faults list: error: " in capsys.readouterr().err


def test_a_stray_argument_is_reported_with_its_commands_usage(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["faults", "list", "order", "--bogus"])

    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: fooddelivery faults list ")
    assert err.rstrip().endswith("fooddelivery faults list: error: unrecognized arguments: --bogus")


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["faults", "list", "--bogus"], "fooddelivery faults list "),
        (["faults", "resubmit", "--bogus"], "fooddelivery faults resubmit "),
        (["faults", "drop", "order", "f-1", "--bogus"], "fooddelivery faults drop "),
    ],
)
def test_an_unknown_option_is_named_before_a_missing_argument(capsys, argv, usage):
    # It was reported as the subsystem (or --reason) missing, not naming --bogus.
    with pytest.raises(SystemExit) as stopped:
        main(argv)

    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {usage}")
    assert err.rstrip().endswith(": error: unrecognized arguments: --bogus")


@pytest.mark.parametrize(
    ("argv", "missing"),
    [
        (["faults", "list"], "subsystem"),
        (["faults", "drop", "order", "f-1"], "--reason"),
    ],
)
def test_a_missing_argument_is_still_named_and_the_usage_still_requires_it(capsys, argv, missing):
    with pytest.raises(SystemExit) as stopped:
        main(argv)

    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith(f"error: the following arguments are required: {missing}")
    assert "[--reason" not in err


@pytest.mark.parametrize("argv", [["--bogus"], ["--bogus", "topology"]])
def test_an_unknown_top_level_option_is_named_with_the_top_level_usage(capsys, argv):
    # It was reported as a missing COMMAND (or with topology's usage), not naming --bogus.
    with pytest.raises(SystemExit) as stopped:
        main(argv)

    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: fooddelivery [-h] COMMAND ...\n")
    assert err.rstrip().endswith("fooddelivery: error: unrecognized arguments: --bogus")


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["lake", "--bogus", "replay", "order", "--since", "1h"], "fooddelivery lake [-h]"),
        (["faults", "--bogus", "list", "order"], "fooddelivery faults [-h]"),
        (["faults", "list", "--bogus", "order"], "fooddelivery faults list [-h]"),
    ],
)
def test_an_unknown_option_is_named_with_the_usage_of_the_command_it_was_given_to(
    capsys, argv, usage
):
    # `lake --bogus replay` was reported with `lake replay`'s usage, where `lake` took it.
    with pytest.raises(SystemExit) as stopped:
        main(argv)

    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {usage} ")
    prog = usage.removesuffix(" [-h]")
    assert err.rstrip().endswith(f"{prog}: error: unrecognized arguments: --bogus")


@pytest.mark.parametrize(
    ("argv", "usage", "missing"),
    [([], "fooddelivery [-h]", "COMMAND"), (["faults"], "fooddelivery faults [-h]", "ACTION")],
)
def test_a_missing_command_is_still_named(capsys, argv, usage, missing):
    with pytest.raises(SystemExit) as stopped:
        main(argv)

    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {usage} ")
    assert err.rstrip().endswith(f"error: the following arguments are required: {missing}")


@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_dev_key_variable_is_read_as_unset(tmp_path, monkeypatch, capsys, value):
    default = tmp_path / "default" / "dev-signing-key.pem"
    monkeypatch.setattr("shared.auth.local.DEV_KEY_PATH", default)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", value)

    assert main(["token", "--as", "customer:alice"]) == 0

    token = capsys.readouterr().out.strip()
    assert LocalIssuer.from_file(default).verify(token) == Principal("customer", "alice")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default"]  # no key named " "


def _python(
    script: str,
    *,
    stdout: int | None = None,
    stderr: int | None = None,
    close: int | None = None,
    key: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter at the project root, with file descriptor
    ``close`` closed (as ``2>&-`` leaves it) and ``key`` as the development key."""
    env = {**os.environ, "FOODDELIVERY_DEV_KEY": str(key)} if key else None
    return subprocess.run(
        [sys.executable, "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE if stderr is None else stderr,
        cwd=ROOT,
        env=env,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=None if close is None else lambda: os.close(close),
    )


def _main(*argv: str) -> str:
    return f"import sys; from shared.cli import main; sys.exit(main({list(argv)!r}))"


INTERRUPTS_AN_IMPORT = """
import sys

class Interrupt:  # Ctrl-C while the commands' modules load
    def find_spec(self, name, path=None, target=None):
        if name == "shared.catalog.command":
            raise KeyboardInterrupt

sys.meta_path.insert(0, Interrupt())
"""


def test_ctrl_c_while_the_commands_load_exits_130_without_a_traceback():
    done = _python(INTERRUPTS_AN_IMPORT + _main("topology"))
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "")


@pytest.mark.skipif(os.name != "posix", reason="closes stderr with os.close in the child")
def test_with_stderr_closed_messages_stay_out_of_the_output(tmp_path):
    done = _python(_main("token", "--as", "customer:alice"), close=2, key=tmp_path / "new.pem")
    assert done.returncode == 0
    token = done.stdout.strip()  # not preceded by "created a new development key"
    assert LocalIssuer.from_file(tmp_path / "new.pem").verify(token) == Principal(
        "customer", "alice"
    )
    refused = _python(_main("token"), close=2, key=tmp_path / "new.pem")
    assert (refused.returncode, refused.stdout) == (2, "")


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (("token",), 2),  # its own message
        (("migrate", "kitchen"), 2),  # a KitError
        (("token", "--as", "customer:alice"), 0),  # "created a new development key"
    ],
)
def test_a_closed_stderr_pipe_keeps_the_commands_exit_code(tmp_path, argv, code):
    read, write = os.pipe()
    os.close(read)
    try:
        done = _python(_main(*argv), stdout=subprocess.DEVNULL, stderr=write, key=tmp_path / "k")
    finally:
        os.close(write)
    assert done.returncode == code


def _parsers(parser, path=("fooddelivery",)):
    """Every (sub)command's parser with its command line; a subcommand must have a help line."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                assert listed.get(name), f"{' '.join(path)} {name} has no one-line help"
                yield from _parsers(sub, (*path, name))


def test_every_command_and_argument_says_what_it_is_in_help():
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                name = "/".join(action.option_strings) or action.metavar or action.dest
                assert action.help, f"{' '.join(path)}: {name} has no help"


def test_the_top_level_help_lists_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    codes = out[out.index("exit codes") :].splitlines()[1:]
    assert [line.split()[0] for line in codes if line[:3].strip()] == [
        "0",
        "1",
        "2",
        "130",
        str(BROKEN_PIPE),
    ]
