"""An operator's way into a subsystem's store and bus, from a command on their machine.

Operator commands (``fooddelivery faults``, ``fooddelivery migrate``) reach a
subsystem as its function host does: :class:`~shared.settings.Settings` from the
``FOODDELIVERY_*`` environment, the same adapters. On a running ``fooddelivery dev``
stack after ``source .fooddelivery/dev/env.sh``; on GCP with ``FOODDELIVERY_MODE=gcp``,
``FOODDELIVERY_PROJECT_<NAME>`` and application-default credentials.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from shared.emulators import FIRESTORE, PUBSUB, EmulatorSpec, listens
from shared.exceptions import KitError
from shared.runtime.functions import adapters as host_adapters
from shared.settings import PREFIX, Settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shared.hub.base import AbstractPublisher
    from shared.stores.base import AbstractDocumentStore

SOURCE_ENV = "source <state dir>/env.sh"
"""What loads a dev stack's environment (the state dir is `.fooddelivery/dev` by default)."""


class UnreachableError(KitError):
    """The settings do not lead to the subsystem's store and bus."""


def connect(
    subsystem: str, environ: Mapping[str, str] | None = None
) -> tuple[AbstractDocumentStore, AbstractPublisher]:
    """``subsystem``'s store and publisher, built from the settings as its function host does.

    Its project must be named (``FOODDELIVERY_PROJECT_<NAME>``): ``FOODDELIVERY_PROJECT``
    and ``GOOGLE_CLOUD_PROJECT`` name the one project a function runs in, not a subsystem.
    """
    return host_adapters(subsystem, _settings(subsystem, environ, (FIRESTORE, PUBSUB)))


def connect_bus(subsystem: str, environ: Mapping[str, str] | None = None) -> AbstractPublisher:
    """``subsystem``'s publisher alone, as :func:`connect` builds it, for a command that only
    publishes (``fooddelivery lake replay``): it needs no access to Firestore."""
    from shared.hub.pubsub import PubSubPublisher

    settings = _settings(subsystem, environ, (PUBSUB,))
    return PubSubPublisher(settings.projects[subsystem])


def _settings(
    subsystem: str, environ: Mapping[str, str] | None, emulators: tuple[EmulatorSpec, ...]
) -> Settings:
    """The settings that lead to ``subsystem``'s project, through ``emulators`` in emulator
    mode; else :class:`UnreachableError` saying what is missing."""
    env = os.environ if environ is None else environ
    try:
        settings = Settings.from_env(env)
    except ValueError as error:
        raise UnreachableError(str(error)) from None
    problem = _unreachable(subsystem, settings, env, emulators)
    if problem:
        raise UnreachableError(
            f"{problem}: run `{SOURCE_ENV}` first (with `fooddelivery dev` running; the state dir "
            "is .fooddelivery/dev by default), or set "
            f"{PREFIX}MODE=gcp and {PREFIX}PROJECT_{subsystem.upper()}=<its project id> "
            "(with application-default credentials)"
        )
    return settings


def _unreachable(
    subsystem: str, settings: Settings, env: Mapping[str, str], emulators: tuple[EmulatorSpec, ...]
) -> str | None:
    """What keeps the command from ``subsystem``'s project (through ``emulators``), if anything."""
    if settings.mode == "memory":  # a store in another process's memory is out of reach
        mode = env.get(f"{PREFIX}MODE")
        return f"{PREFIX}MODE is {mode}" if mode else f"{PREFIX}MODE is not set"
    if subsystem not in settings.projects:
        return f"{PREFIX}PROJECT_{subsystem.upper()} is not set"
    if not settings.projects[subsystem].strip():  # else Google's client says "no credentials"
        return f"{PREFIX}PROJECT_{subsystem.upper()} is empty"
    if settings.mode == "emulator":
        for spec in emulators:
            where = env.get(spec.env_var)
            if not where:
                return f"{spec.env_var} is not set"
            if not listens(where):
                return f"nothing listens at {spec.env_var}={where} (has the stack stopped?)"
    return None
