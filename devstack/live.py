"""A running dev stack as the demo story's :class:`~scenario.story.Stack`, over HTTP only.

``settle()`` waits until the hosts have been quiet for a moment: every host's
``/_dev/stats`` shows the same counts for ``quiet_s``, nothing in flight, no
trigger change pending and no delivery that asked for a retry recently (the
broker redelivers it after a backoff). ``advance()`` does nothing: the clock is
real. The issuer signs with the stack's development key. :func:`attach` finds the
stack running at a state dir, or says clearly that none is (or that it is still starting).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from devstack import hints
from devstack.health import healthy
from devstack.layout import MANIFEST, PAYMENT_KEY, PUSH_KEY, Manifest
from devstack.state_lock import StateDirBusy, check_free
from scenario.actors import processor_authorizations
from shared.auth import LocalIssuer
from shared.exceptions import KitError
from shared.timeline import Entry

QUIET_S = 0.5
RETRY_QUIET_S = 3.0
SETTLE_TIMEOUT_S = 60.0
_log = logging.getLogger("fooddelivery.dev")


class NoStackError(KitError):
    """No stack runs at the state dir, or part of it does not answer."""


def read_manifest(state_dir: Path) -> Manifest:
    """The ``stack.json`` at ``state_dir``; :class:`NoStackError` when there is none."""
    path = state_dir / MANIFEST
    try:
        return Manifest.read(path)
    except FileNotFoundError:
        try:
            check_free(state_dir)
        except StateDirBusy as busy:
            raise NoStackError(hints.starting(state_dir, busy.pid)) from None
        raise NoStackError(hints.no_stack(state_dir)) from None
    except (OSError, ValueError, TypeError) as error:
        raise NoStackError(f"cannot read {path}: {error}") from None


def attach(state_dir: Path) -> Manifest:
    """The manifest of the stack running at ``state_dir``, once its fakes and hosts answer."""
    manifest = read_manifest(state_dir)
    parts = {
        **{f"fake {name}": base for name, base in manifest.fakes.items()},
        **{f"{name} host": base for name, base in manifest.hosts.items()},
    }
    down = [f"the {what} ({base})" for what, base in parts.items() if not healthy(base)]
    if len(down) == len(parts):
        try:
            check_free(state_dir)  # a new stack may be starting where one was killed
        except StateDirBusy as busy:
            raise NoStackError(hints.starting(state_dir, busy.pid)) from None
        raise NoStackError(hints.stale_manifest(state_dir))
    if down:
        raise NoStackError(
            f"{', '.join(down)} of the stack at {state_dir} "
            f"{'does' if len(down) == 1 else 'do'} not answer: start a host you run yourself "
            "(see the READY text), or wait until the stack has restarted it"
        )
    return manifest


class LiveStack:
    """The story's view of a stack described by ``manifest``."""

    def __init__(
        self,
        manifest: Manifest,
        *,
        quiet_s: float = QUIET_S,
        retry_quiet_s: float = RETRY_QUIET_S,
        settle_timeout_s: float = SETTLE_TIMEOUT_S,
    ) -> None:
        self.manifest = manifest
        self.urls = manifest.urls()
        self.issuer = LocalIssuer.from_file(Path(manifest.dev_key))
        self.quiet_s, self.retry_quiet_s = quiet_s, retry_quiet_s
        self.settle_timeout_s = settle_timeout_s
        self._session = requests.Session()
        self._session.trust_env = False  # loopback only: no proxy
        self._session.mount("http://", HTTPAdapter(pool_maxsize=64, max_retries=0))

    @property
    def session(self) -> requests.Session:
        """The HTTP session the actors' apps use."""
        return self._session

    def stats(self) -> dict[str, dict[str, Any] | None]:
        """Every host's ``/_dev/stats`` (``None`` for a host that does not answer)."""
        found: dict[str, dict[str, Any] | None] = {}
        for name, base in self.manifest.hosts.items():
            try:
                response = self._session.get(f"{base}/_dev/stats", timeout=5)
                found[name] = response.json() if response.ok else None
            except requests.RequestException:
                found[name] = None
        return found

    def settle(self) -> None:
        """Wait until every host is quiet (at most ``settle_timeout_s``); else warn which
        hosts were still busy, and with what."""
        if not self.wait_quiet():
            busy = busy_hosts(self.stats(), self.retry_quiet_s) or ["none by now"]
            _log.warning(
                "the stack was still busy after %.0f s: %s",
                self.settle_timeout_s,
                "; ".join(busy),
            )

    def wait_quiet(self) -> bool:
        """Wait until every host is quiet; False if that took longer than the timeout."""
        deadline = time.monotonic() + self.settle_timeout_s
        last: object = None
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            stats = self.stats()
            signature = tuple(
                (n, s["handled"], s["published"]) if s else (n, None) for n, s in stats.items()
            )
            busy = bool(busy_hosts(stats, self.retry_quiet_s))
            now = time.monotonic()
            if signature != last or busy:
                last, quiet_since = signature, now
            elif now - quiet_since >= self.quiet_s:
                return True
            time.sleep(0.05)
        return False

    def advance(self, ms: int) -> None:
        """Nothing to do: the stack runs on the real clock."""

    def authorizations(self, order_id: str) -> list[dict[str, Any]]:
        """What the payment processor holds for ``order_id``."""
        return processor_authorizations(
            lambda path: self._fake("payments", path, PAYMENT_KEY), order_id
        )

    def notifications(self) -> list[dict[str, Any]]:
        """Every message the push provider accepted."""
        found: list[dict[str, Any]] = self._fake("push", "/v1/messages", PUSH_KEY)["messages"]
        return found

    def driver_messages(self) -> list[dict[str, Any]]:
        """The push messages sent to drivers (what their phones showed)."""
        found: list[dict[str, Any]] = self._fake("push", "/v1/messages?kind=driver", PUSH_KEY)[
            "messages"
        ]
        return found

    def faults(self) -> list[dict[str, Any]]:
        """The faults every subsystem recorded (each host's newest first, a page at a time)."""
        found: list[dict[str, Any]] = []
        for base in self.manifest.hosts.values():
            after: str | None = None
            while True:
                params = {} if after is None else {"after": after}
                response = self._session.get(f"{base}/_dev/faults", params=params, timeout=10)
                response.raise_for_status()
                answer = response.json()
                found += answer["faults"]
                after = answer["next"]
                if after is None:
                    break
        return found

    def cursor(self) -> dict[str, int]:
        """How many events each host has published so far (for :meth:`events`)."""
        return {name: s["published"] if s else 0 for name, s in self.stats().items()}

    def events(self, after: dict[str, int] | None = None) -> list[Entry]:
        """The events the hosts published (after ``after``, a :meth:`cursor`), each once
        however often it was re-emitted."""
        seen: dict[str, Entry] = {}
        for name, base in self.manifest.hosts.items():
            since = (after or {}).get(name, 0)
            response = self._session.get(f"{base}/_dev/events?after={since}", timeout=30)
            response.raise_for_status()
            for e in response.json()["events"]:
                entry = Entry(
                    e["timestamp"],
                    e["subsystem"],
                    e["topic"],
                    e["source"],
                    e["type"],
                    e["key"],
                    e["id"],
                    e.get("cause"),
                    e.get("note") or "",  # a host of an older stack sends none
                )
                seen.setdefault(f"{e['topic']}:{e['id']}", entry)
        return list(seen.values())

    def _fake(self, name: str, path: str, key: str) -> Any:
        response = self._session.get(
            f"{self.manifest.fakes[name]}{path}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()


def busy_hosts(stats: dict[str, dict[str, Any] | None], retry_quiet_s: float) -> list[str]:
    """Each host of ``stats`` (:meth:`LiveStack.stats`) that is not quiet, and why: it does
    not answer, has deliveries in flight or pending, or asked for a redelivery less than
    ``retry_quiet_s`` ago."""
    found: list[str] = []
    for name, stat in stats.items():
        if stat is None:
            found.append(f"{name} (does not answer)")
            continue
        why = [
            f"{stat['inflight']} in flight" if stat["inflight"] else "",
            f"{stat['pending']} pending" if stat["pending"] else "",
            f"a retry {stat['sinceRetryS']:.0f} s ago"
            if stat["sinceRetryS"] is not None and stat["sinceRetryS"] < retry_quiet_s
            else "",
        ]
        if any(why):
            found.append(f"{name} ({', '.join(w for w in why if w)})")
    return found
