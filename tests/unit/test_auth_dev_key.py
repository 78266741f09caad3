"""The development issuer's key file: created whole, once, readable by its owner only."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from shared.api import HttpApi
from shared.auth import (
    AuthError,
    LocalIssuer,
    LocalVerifier,
    Principal,
    VerifierUnavailable,
    verifier_from,
)


def test_a_key_being_written_is_never_read_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two commands minting their first token at once (``fooddelivery token`` run in
    # parallel): the second must not find the first one's key file still empty.
    path = tmp_path / "key.pem"
    writing, finish = threading.Event(), threading.Event()
    real_fdopen = os.fdopen

    def slow_fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            writing.set()
            finish.wait(10)
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", slow_fdopen)
    made: dict[str, LocalIssuer | BaseException] = {}

    def first() -> None:
        try:
            made["first"] = LocalIssuer.from_file(path)
        except BaseException as e:  # reported by the assertion below
            made["first"] = e

    thread = threading.Thread(target=first, name="first")
    thread.start()
    assert writing.wait(10)
    try:
        second = LocalIssuer.from_file(path)
    finally:
        finish.set()
        thread.join(10)

    first_issuer = made["first"]
    assert isinstance(first_issuer, LocalIssuer)
    assert first_issuer.key_id == second.key_id == LocalIssuer.from_file(path).key_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem"]


def _written(path: Path, mode: int) -> LocalIssuer:
    """A fresh issuer whose private key ``path`` holds, with ``mode``."""
    fresh = path.with_name("fresh.pem")
    issuer = LocalIssuer.from_file(fresh)
    path.write_bytes(fresh.read_bytes())
    fresh.unlink()
    path.chmod(mode)
    return issuer


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620], ids=lambda m: f"{m:04o}")
def test_a_key_other_users_may_read_or_change_is_refused_saying_how_to_fix_it(
    tmp_path: Path, mode: int
) -> None:
    key = tmp_path / "key.pem"
    _written(key, mode)

    with pytest.raises(AuthError, match=rf"open to other users \(mode 0{mode:o}\).*chmod 600"):
        LocalIssuer.from_file(key)

    key.chmod(0o600)
    assert LocalIssuer.from_file(key).public_pem() == LocalVerifier.from_file(key).public_pem()


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_verifier_reads_a_key_others_may_read(tmp_path: Path) -> None:
    # A deployment mounts the key read-only for every user; it verifies, it never mints.
    key = tmp_path / "key.pem"
    token = _written(key, 0o444).mint(Principal("customer", "alice"))
    assert LocalVerifier.from_file(key).verify(token) == Principal("customer", "alice")


def test_a_key_is_created_on_a_file_system_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "key.pem"

    issuer = LocalIssuer.from_file(path)

    assert LocalIssuer.from_file(path).key_id == issuer.key_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem"]


@pytest.mark.parametrize("value", ["", "  "])
def test_a_bff_given_an_empty_dev_key_setting_verifies_with_the_default_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # FOODDELIVERY_DEV_KEY= (set, empty) named the current directory, which is no key
    default = tmp_path / "default" / "dev-signing-key.pem"
    monkeypatch.setattr("shared.auth.local.DEV_KEY_PATH", default)
    monkeypatch.chdir(tmp_path)
    token = LocalIssuer.from_file(default).mint(Principal("customer", "alice"))

    verifier = verifier_from({"DEV_KEY": value})

    assert verifier.verify(token) == Principal("customer", "alice")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default"]


def test_a_key_path_that_cannot_be_looked_at_is_a_clear_auth_error(tmp_path: Path) -> None:
    # Not "no key yet": the file system cannot say (here a name too long; likewise a
    # directory on the way that may not be searched).
    key = tmp_path / ("k" * 300) / "key.pem"
    with pytest.raises(AuthError, match=r"cannot read the development key .*: File name too long"):
        LocalIssuer.from_file(key)
    with pytest.raises(AuthError, match=r"cannot read the development key .*: File name too long"):
        LocalVerifier.from_file(key)


def test_a_bff_whose_key_path_cannot_be_looked_at_answers_503_not_500(tmp_path: Path) -> None:
    key = tmp_path / ("k" * 300) / "key.pem"
    token = LocalIssuer().mint(Principal("customer", "alice"))
    with pytest.raises(VerifierUnavailable) as refused:
        verifier_from({"DEV_KEY": str(key)}).verify(token)
    assert str(key) not in str(refused.value)

    api = HttpApi("Probe", verifier_from({"DEV_KEY": str(key)}))

    @api.route("GET", "/me", actors={"customer"})
    def me(caller: Principal) -> dict[str, str]:
        """Who the caller is."""
        return {"subject": caller.subject}

    answered = (
        api.flask_app().test_client().get("/me", headers={"Authorization": f"Bearer {token}"})
    )
    assert answered.status_code == 503
    assert "Retry-After" in answered.headers
