"""Process settings, read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from shared.exceptions import SettingError

Mode = Literal["memory", "emulator", "gcp"]
LogFormat = Literal["json", "text"]
PREFIX = "FOODDELIVERY_"


@dataclass(frozen=True, slots=True)
class Settings:
    """How a function process reaches its infrastructure.

    * ``memory``: process-local in-memory store and hub (unit tests of ``main.py``);
    * ``emulator``: the Google emulators named by ``*_EMULATOR_HOST``, each of which the
      clients built must have (:meth:`require_emulators`);
    * ``gcp``: the real services of ``project``.

    ``projects`` maps every subsystem to its project id (``FOODDELIVERY_PROJECT_<NAME>``);
    ``extra`` holds the remaining ``FOODDELIVERY_*`` values, such as third-party URLs, and
    ``MODE`` again: a subsystem's adapters see only ``extra``, and some depend on the mode
    (on ``gcp`` the token verifier needs ``AUTH``, see :func:`shared.auth.verifier_from`).
    """

    mode: Mode = "memory"
    env: str = "local"
    project: str = "local"
    projects: Mapping[str, str] = field(default_factory=dict)
    log_format: LogFormat = "json"
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Secrets among them: left out of the repr, as logs and tracebacks show it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", {**self.extra, "MODE": self.mode})

    def require_emulators(self, *variables: str, environ: Mapping[str, str] | None = None) -> None:
        """In ``emulator`` mode, a :class:`SettingError` naming those of the ``variables``
        (``FIRESTORE_EMULATOR_HOST``...) that ``environ`` (the process's) lacks or holds blank:
        Google's clients read them, and without one reach the real service with the
        machine's ambient credentials. Nothing in another mode."""
        if self.mode != "emulator":
            return
        env = os.environ if environ is None else environ
        unset = [name for name in variables if name not in env]
        empty = [name for name in variables if name in env and not env[name].strip()]
        if unset or empty:
            said = [
                f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} {state}"
                for names, state in ((unset, "not set"), (empty, "empty"))
                if names
            ]
            raise SettingError(
                f"{PREFIX}MODE is emulator, but {'; '.join(said)}: Google's clients would "
                "reach the real services with this machine's credentials. Point them at the "
                "emulators (`source <state dir>/env.sh` of a running `fooddelivery dev` "
                f"stack), or set {PREFIX}MODE=gcp to mean it"
            )

    def project_of(self, subsystem: str) -> str:
        """The project that hosts ``subsystem``."""
        return self.projects.get(subsystem, f"{subsystem}-{self.env}")

    @staticmethod
    def log_format_in(environ: Mapping[str, str]) -> LogFormat:
        """``FOODDELIVERY_LOG_FORMAT``, or the default (json) when it is unset or unusable: how
        to log the :class:`SettingError` of :meth:`from_env` itself."""
        given = environ.get(f"{PREFIX}LOG_FORMAT")
        return "text" if given == "text" else "json"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``FOODDELIVERY_*`` variables (and ``GOOGLE_CLOUD_PROJECT``)."""
        env = os.environ if environ is None else environ
        mode = env.get(f"{PREFIX}MODE", "gcp" if env.get("K_SERVICE") else "memory")
        if mode not in ("memory", "emulator", "gcp"):
            raise SettingError(f"{PREFIX}MODE must be memory, emulator or gcp, not {mode!r}")
        log_format = env.get(f"{PREFIX}LOG_FORMAT", "json")
        if log_format not in ("json", "text"):
            raise SettingError(f"{PREFIX}LOG_FORMAT must be json or text, not {log_format!r}")
        projects = {
            k.removeprefix(f"{PREFIX}PROJECT_").lower(): v
            for k, v in env.items()
            if k.startswith(f"{PREFIX}PROJECT_")
        }
        known = {"MODE", "ENV", "PROJECT", "LOG_FORMAT"}
        extra = {
            k.removeprefix(PREFIX): v
            for k, v in env.items()
            if k.startswith(PREFIX)
            and not k.startswith(f"{PREFIX}PROJECT_")
            and k.removeprefix(PREFIX) not in known
        }
        return cls(
            mode=mode,  # type: ignore[arg-type]
            env=env.get(f"{PREFIX}ENV", "local"),
            project=env.get(f"{PREFIX}PROJECT", env.get("GOOGLE_CLOUD_PROJECT", "local")),
            projects=projects,
            log_format=log_format,  # type: ignore[arg-type]
            extra=extra,
        )
