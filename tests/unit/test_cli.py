from __future__ import annotations

from shared.auth import LocalIssuer, LocalVerifier, Principal
from shared.cli import main


def test_token_mints_a_verifiable_token_with_a_persistent_key(tmp_path, monkeypatch, capsys):
    key = tmp_path / "key.pem"
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(key))
    assert main(["token", "--as", "staff:sam@r-1"]) == 0
    token = capsys.readouterr().out.strip()
    assert LocalIssuer.from_file(key).verify(token) == Principal("staff", "sam", "r-1")


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
