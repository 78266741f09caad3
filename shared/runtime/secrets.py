"""Secret settings: read on first use, and only by the functions that declare them.

On Google Cloud a function is given only the secrets its topology entry
declares (``secrets=("API_KEY",)``), so a subsystem's bootstrap, which runs in
every function, must not read a secret up front: the adapter that needs one
holds a :class:`Secret` and reveals it when it calls out. While a function
runs, the kit scopes the secrets it may reveal to those it declares, so a
forgotten declaration fails in the embedded and local runs, with a message
saying what to declare, not first on Google Cloud::

    with secrets_scope(fn.secrets):
        handler(event, ctx)

A function cannot work without a secret it declares: a function host checks, as it sets
the function up, that each is given (:func:`require_declared`), so a deployment that
lacks one fails the set-up, the secret named, rather than each call; an embedded system
checks every function it runs as it is built, so a test or a demo that lacks one fails
there too, not first when a function calls out. Its value is still read only when used.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.exceptions import SettingError

if TYPE_CHECKING:
    from shared.topology.model import Endpoint

_declared: ContextVar[tuple[str, frozenset[str], str] | None] = ContextVar("secrets", default=None)
"""(function, the secrets it declares, what to do instead) while a function runs; None
outside any."""
DECLARE = "add secrets=({name!r},) to the function in the topology"
"""What a function that reads a secret it does not declare should do."""
READ_LATER = (
    "a bootstrap runs in every function, and on Google Cloud only those that declare "
    "{name} get it: hand the adapter infra.secret({name!r}), to reveal when it calls out"
)
"""What a bootstrap that reads a secret up front should do."""
UNSET = (
    "{function} declares the secret {name}, but FOODDELIVERY_{name} is {state}: give it a "
    "value ({where})"
)
"""What a function that declares a secret its settings lack is told."""
DEPLOYED = "on Google Cloud, a version of its secret in Secret Manager; locally, in the environment"
"""Where a function host's settings come from (:data:`UNSET`'s ``where``)."""
IN_PROCESS = "in process, EmbeddedSystem(settings={{{name!r}: ...}})"
"""Where an embedded system's settings come from (:data:`UNSET`'s ``where``)."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret setting, read only when used (see the module)."""

    name: str
    subsystem: str
    settings: Mapping[str, str] = field(repr=False)

    def reveal(self) -> str:
        """The value, or a :class:`KeyError` saying what the function must declare."""
        running = _declared.get()
        if running is not None and self.name not in running[1]:
            raise KeyError(
                f"{running[0]} reads the secret {self.name} but does not declare it: "
                + running[2].format(name=self.name)
            )
        try:
            return self.settings[self.name]
        except KeyError:
            if running is not None:  # declared: it is its value that is missing
                said = UNSET.format(
                    function=running[0], name=self.name, state="not set", where=DEPLOYED
                )
                raise KeyError(said) from None
            raise KeyError(
                f"{self.subsystem} needs the secret FOODDELIVERY_{self.name}: declare it in the "
                f"function's secrets=(...) so that it is mounted"
            ) from None

    @classmethod
    def given(cls, name: str, value: str) -> Secret:
        """A secret with a known value (tests, tools)."""
        return cls(name, "-", {name: value})


class secrets_scope:  # lower case, as contextlib.suppress: it is used as a function
    """While the block runs, ``function`` may reveal only the ``declared`` secrets.

    A class, not a generator, as it wraps every function run. The block's end
    restores the scope it began in, however it ends. A scope may be entered
    again once left, not while it is in use.
    """

    __slots__ = ("_advice", "_declared", "_function", "_token")

    def __init__(self, function: str, declared: Collection[str], advice: str = DECLARE) -> None:
        self._function, self._declared, self._advice = function, declared, advice
        self._token: Token[tuple[str, frozenset[str], str] | None] | None = None

    def __enter__(self) -> None:
        if self._token is not None:
            raise RuntimeError(f"the secrets scope of {self._function} is already in use")
        self._token = _declared.set((self._function, frozenset(self._declared), self._advice))

    def __exit__(self, *_exc: object) -> None:
        if self._token is not None:
            _declared.reset(self._token)
            self._token = None


def require_declared(
    function: str, declared: Collection[str], settings: Mapping[str, str], where: str = DEPLOYED
) -> None:
    """Raise a :class:`~shared.exceptions.SettingError` naming the first of the ``declared``
    secrets that ``settings`` lack or hold empty: ``function`` cannot work without it (an
    empty key is no key), so it must fail its set-up, not each call. Only their presence is
    checked: a value is still read when used (:meth:`Secret.reveal`). ``where`` says where
    the settings come from (:data:`DEPLOYED`, :data:`IN_PROCESS`; ``{name}`` is the secret)."""
    for name in sorted(declared):
        if not settings.get(name):
            state = "empty" if name in settings else "not set"
            said = UNSET.format(
                function=function, name=name, state=state, where=where.format(name=name)
            )
            raise SettingError(said)


def bootstrapping(subsystem: str) -> secrets_scope:
    """The scope a subsystem's bootstrap runs in: no secret may be revealed there."""
    return secrets_scope(f"{subsystem}'s bootstrap", (), READ_LATER)


def serve_endpoint(fn: Endpoint, ports: Any, qualified: str) -> Any:
    """``fn``'s app, each request of which may reveal only the secrets ``fn`` declares.

    The scope wraps the app's ``wsgi_app`` (Flask's place for middleware), so the
    app stays what it was for its callers (a test client, a host's dispatcher).
    """
    app = fn.app(ports)
    inner = app.wsgi_app

    def scoped(environ: dict[str, Any], start_response: Any) -> Any:
        with secrets_scope(qualified, fn.secrets):
            return inner(environ, start_response)

    app.wsgi_app = scoped
    return app
