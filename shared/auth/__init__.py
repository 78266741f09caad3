"""Bearer-token authentication for BFF APIs.

Two verifiers share one port:

* :class:`LocalIssuer` signs and verifies RS256 tokens with a key generated on
  the developer's machine (embedded and emulator modes; ``fooddelivery token``);
* :class:`IdentityPlatformVerifier` verifies Google Identity Platform / Firebase
  ID tokens against Google's published keys (production), reading the actor
  from a custom claim.

A token's claims become a :class:`Principal`: who (``subject``), acting as what
(``actor``: customer, driver or staff) and, for staff, which ``restaurant``. A
token that is refused is an :class:`AuthError` (401); a valid token whose account
has no role yet, one the system does not serve, or one set up wrong (staff of no
restaurant, a customer or driver of one) is :class:`NoRole` (403).
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.auth.identity_platform import GOOGLE_JWKS_URL, IdentityPlatformVerifier
from shared.auth.local import (
    AUDIENCE,
    DEV_KEY_PATH,
    LOCAL_ISSUER,
    LocalIssuer,
    LocalVerifier,
    dev_key_path,
    dev_verifier,
)
from shared.auth.principal import (
    ACTORS,
    Actor,
    AuthError,
    MissingToken,
    NoRole,
    Principal,
    VerifierUnavailable,
    bearer_token,
    parse_identity,
)
from shared.auth.verifier import CLOCK_SKEW_S, DeferredVerifier, TokenVerifier
from shared.exceptions import SettingError

__all__ = [
    "ACTORS",
    "AUDIENCE",
    "CLOCK_SKEW_S",
    "DEV_KEY_PATH",
    "GOOGLE_JWKS_URL",
    "LOCAL_ISSUER",
    "Actor",
    "AuthError",
    "DeferredVerifier",
    "IdentityPlatformVerifier",
    "LocalIssuer",
    "LocalVerifier",
    "MissingToken",
    "NoRole",
    "Principal",
    "TokenVerifier",
    "VerifierUnavailable",
    "bearer_token",
    "parse_identity",
    "verifier_from",
]


def verifier_from(settings: Mapping[str, str]) -> TokenVerifier:
    """The verifier a deployment's settings ask for.

    ``AUTH=identity-platform`` verifies Identity Platform tokens of
    ``IDENTITY_PROJECT`` (of its tenant ``IDENTITY_TENANT`` when set); otherwise
    (development) the local issuer's key at ``DEV_KEY`` (default :data:`DEV_KEY_PATH`)
    is used, read when the first token is verified. On a workstation that file is the
    issuer's private key (created on first use); a deployment gives the BFFs
    only its public key (``fooddelivery token --public-key``), so they can
    verify tokens but not mint them. On Google Cloud (``MODE=gcp``) ``AUTH`` must be set: a
    function there has no development key to fall back on. An ``AUTH`` unset there, unknown,
    or ``identity-platform`` without its project or with a ``JWKS_URL`` that is no https (nor on
    this machine) is a deployment's mistake, not a caller's: a
    :class:`~shared.exceptions.SettingError` when the subsystem starts (its functions answer
    503, the setting named in their log), never an :class:`AuthError` (a 401) per token.
    """
    mode = settings.get("AUTH")
    if mode is None:
        if settings.get("MODE") == "gcp":
            raise SettingError(
                "FOODDELIVERY_AUTH is not set: on Google Cloud (FOODDELIVERY_MODE=gcp) it must "
                "be local or identity-platform"
            )
        mode = "local"
    if mode == "identity-platform":
        project = settings.get("IDENTITY_PROJECT")
        if not project:
            raise SettingError(
                "FOODDELIVERY_AUTH=identity-platform needs FOODDELIVERY_IDENTITY_PROJECT: the "
                "project whose Identity Platform signs the users in"
            )
        try:
            return IdentityPlatformVerifier(
                project,
                settings.get("JWKS_URL", GOOGLE_JWKS_URL),
                tenant=settings.get("IDENTITY_TENANT") or None,
            )
        except SettingError as error:  # the keys' URL it is given is refused
            raise SettingError(f"FOODDELIVERY_JWKS_URL: {error}") from error
    if mode != "local":
        raise SettingError(f"FOODDELIVERY_AUTH must be local or identity-platform, not {mode!r}")
    key = dev_key_path(settings.get("DEV_KEY"))
    return DeferredVerifier(lambda: dev_verifier(key))
