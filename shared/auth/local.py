"""The development issuer: RS256 tokens signed with a key kept on the developer's machine."""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import secrets
import stat
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.auth.principal import AuthError, Principal
from shared.auth.verifier import CLOCK_SKEW_S, TokenVerifier, refusal
from shared.paths import LOCAL_STATE

LOCAL_ISSUER = "https://fooddelivery.local/issuer"
DEV_KEY_PATH = LOCAL_STATE / "dev-signing-key.pem"
"""Where the local issuer keeps its key (override with FOODDELIVERY_DEV_KEY).

Anchored to the project (like ``build/`` and ``terraform/``), not to the
current directory, so ``token``, ``demo`` and ``dev`` share one key wherever
they run.
"""
AUDIENCE = "fooddelivery"


def dev_key_path(setting: str | None) -> Path:
    """The key file a ``FOODDELIVERY_DEV_KEY`` value names: :data:`DEV_KEY_PATH` when it
    is unset, empty or blank (as ``FOODDELIVERY_DEV_KEY=`` leaves it), never the current
    directory an empty path would name."""
    if setting is None or not setting.strip():
        return DEV_KEY_PATH
    return Path(setting)


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """The key's id (``kid``): its RFC 7638 JWK thumbprint (SHA-256, base64url).

    Derived from the key alone, so the issuer and a verifier holding only the public key
    name it alike, and a new key is a new id.
    """
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    canonical = json.dumps(
        {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class LocalVerifier(TokenVerifier):
    """Verifies the development issuer's RS256 tokens with its public key only.

    Like an Identity Platform token, a token names its signing key in its header
    (``kid``, :func:`key_id`); one naming another key was minted with another
    development key and is refused as such. A token naming none is checked with the
    key as it is (the issuer stamped none before).
    """

    def __init__(self, public_key: rsa.RSAPublicKey) -> None:
        super().__init__()
        self._public_key = public_key
        self.key_id = key_id(public_key)
        """The id of the key (:func:`key_id`) that tokens it verifies name."""

    @classmethod
    def from_file(cls, path: Path) -> LocalVerifier:
        """The verifier for the key at ``path``: a public key, or the issuer's private key."""
        pem = _read_key(path)
        try:
            if b"PRIVATE KEY" in pem:
                private = serialization.load_pem_private_key(pem, password=None)
                public = private.public_key() if isinstance(private, rsa.RSAPrivateKey) else None
            else:
                loaded = serialization.load_pem_public_key(pem)
                public = loaded if isinstance(loaded, rsa.RSAPublicKey) else None
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            raise AuthError(f"{path} is not a PEM key: {e}") from e
        if public is None:
            raise AuthError(f"{path} is not an RSA key")
        return cls(public)

    def public_pem(self) -> str:
        """The public key in PEM, for verifiers that must not be able to mint."""
        return self._public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as e:
            raise refusal(e) from e
        if kid is not None and kid != self.key_id:
            raise AuthError(
                "invalid token: it names another signing key ('kid'); "
                "was it minted with another development key?"
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                audience=AUDIENCE,
                issuer=LOCAL_ISSUER,
                options={"require": ["exp", "iat", "sub"], "strict_aud": True},
                leeway=CLOCK_SKEW_S,
            )
        except jwt.PyJWTError as e:
            raise refusal(e) from e
        return claims


class LocalIssuer(LocalVerifier):
    """A development issuer: mints and verifies RS256 tokens with a local key."""

    def __init__(self, private_key: rsa.RSAPrivateKey | None = None) -> None:
        key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        super().__init__(key.public_key())
        self._key = key

    @classmethod
    def from_file(cls, path: Path) -> LocalIssuer:
        """Load the private key at ``path``, creating it (mode 0600) on first use.

        A file that cannot be read or created, that holds anything but an
        unencrypted RSA private key, or that other users may read or change, is an
        :class:`AuthError` naming the path.
        """
        if _exists(path):
            return cls._load(path)
        issuer = cls()
        pem = issuer._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as e:
            raise AuthError(
                f"cannot create the development key {path}: {e.filename} is not a directory"
            ) from e
        except OSError as e:
            raise AuthError(f"cannot create the development key {path}: {_reason(e)}") from e
        # Written whole to a file of its own first, then linked into place: a process
        # reading the key meanwhile finds none (and makes its own), never half of one.
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            raise AuthError(f"cannot create the development key {path}: {_reason(e)}") from e
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            _publish(draft, path, pem)
        except FileExistsError:
            if _exists(path):  # another process created it first: share that key
                return cls._load(path)
            raise AuthError(
                f"cannot create the development key {path}: it is a broken symbolic link"
            ) from None
        except OSError as e:
            raise AuthError(f"cannot write the development key {path}: {_reason(e)}") from e
        finally:
            draft.unlink(missing_ok=True)
        return issuer

    @classmethod
    def _load(cls, path: Path) -> LocalIssuer:
        pem = _read_key(path)
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except TypeError as e:  # encrypted
            raise AuthError(f"{path} is encrypted; the development key has no password") from e
        except (ValueError, UnsupportedAlgorithm) as e:
            if b"PUBLIC KEY-----" in pem and b"PRIVATE KEY-----" not in pem:
                raise AuthError(
                    f"{path} holds a public key; the development key must be the private key"
                ) from e
            raise AuthError(f"{path} is not a PEM private key") from e
        if not isinstance(key, rsa.RSAPrivateKey):
            raise AuthError(f"{path} is not an RSA private key")
        _require_private(path)
        return cls(key)

    def mint(self, principal: Principal, ttl_s: int = 3600) -> str:
        """A signed token for ``principal`` valid for ``ttl_s`` seconds."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": LOCAL_ISSUER,
            "aud": AUDIENCE,
            "sub": principal.subject,
            "actor": principal.actor,
            "iat": now,
            "exp": now + ttl_s,
        }
        if principal.restaurant is not None:
            claims["restaurant"] = principal.restaurant
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})


def dev_verifier(path: Path) -> LocalVerifier:
    """The verifier of the development key at ``path``: the key there (a deployment's public
    key, or the issuer's private key), or a new issuer's when there is none yet (created on
    first use, as :meth:`LocalIssuer.from_file` does). A key that cannot be read, created or
    used is an :class:`AuthError` naming the path."""
    return LocalVerifier.from_file(path) if _exists(path) else LocalIssuer.from_file(path)


def _reason(error: OSError) -> str:
    """The OS's words for ``error``, without Python's ``[Errno n]`` prefix."""
    return error.strerror or str(error)


_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}
"""What ``link`` fails with on a file system without hard links (FAT, some shared folders)."""


def _publish(draft: Path, path: Path, pem: bytes) -> None:
    """Put the key written whole at ``draft`` at ``path``; FileExistsError when a key is there.

    On a file system without hard links, ``pem`` is written at ``path`` itself, created only if
    absent: a reader may then catch it half written, but no key is ever replaced.
    """
    try:
        os.link(draft, path)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in _NO_HARD_LINKS:
            raise
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        except OSError:
            path.unlink(missing_ok=True)
            raise


def _require_private(path: Path) -> None:
    """Refuse a key file that users other than its owner may read or change (POSIX only):
    whoever reads it mints tokens the development stack, and a ``local-test`` deployment
    given its public key, accept. The issuer creates its key with mode 0600."""
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as e:
        raise AuthError(f"cannot read the development key {path}: {_reason(e)}") from e
    if mode & 0o077:
        raise AuthError(
            f"the development key {path} is open to other users (mode {mode:04o}), who could "
            f"mint tokens with it; make it private (chmod 600 {path}) or delete it for a new one"
        )


def _exists(path: Path) -> bool:
    """Whether there is a key file at ``path``, or an :class:`AuthError` when that cannot be
    told (a directory on the way that may not be searched, a name too long)."""
    try:
        return path.exists()
    except OSError as e:
        raise AuthError(f"cannot read the development key {path}: {_reason(e)}") from e


def _read_key(path: Path) -> bytes:
    """The bytes of the key file at ``path``, or an :class:`AuthError` saying why not."""
    try:
        if path.is_dir():
            raise AuthError(f"the development key {path} is a directory; it must name the key file")
        return path.read_bytes()
    except OSError as e:
        raise AuthError(f"cannot read the development key {path}: {_reason(e)}") from e
