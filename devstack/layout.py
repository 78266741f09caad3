"""Where everything of a dev stack listens, and the manifest a running stack leaves behind.

A stack is described by its :class:`Ports` before it starts and by its
:class:`Manifest` once it runs: the hosts' and fakes' URLs, every HTTP endpoint,
the environment the functions run with and the process groups it started. The
manifest is written to ``<state dir>/stack.json`` so that other processes
(``fooddelivery dev --scenario --attach``, the tests, the benchmark) can find it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fakes import payment_processor, point_of_sale, push_provider
from scenario.actors import Urls
from shared.paths import LOCAL_STATE

HOST = "127.0.0.1"
MANIFEST = "stack.json"
FAKES = ("payments", "pos", "push")
"""The third-party fakes, by the name the stack gives them."""
FAKE_MODULES = {
    "payments": "fakes.payment_processor",
    "pos": "fakes.point_of_sale",
    "push": "fakes.push_provider",
}
PAYMENT_KEY = payment_processor.DEFAULT_API_KEY
PUSH_KEY = push_provider.DEFAULT_API_KEY
POS_KEY = point_of_sale.DEFAULT_API_KEY
POS_SECRET = point_of_sale.DEFAULT_WEBHOOK_SECRET
FAKE_KEYS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "payments": {"--api-key": ("PAYMENT_PROCESSOR_KEY", PAYMENT_KEY)},
    "pos": {
        "--api-key": ("POS_API_KEY", POS_KEY),
        "--webhook-secret": ("POS_WEBHOOK_SECRET", POS_SECRET),
    },
    "push": {"--api-key": ("PUSH_PROVIDER_KEY", PUSH_KEY)},
}
"""Each fake's keys: its command-line option -> (the secret the functions read the key as,
the stack's value of it)."""
ENV = "dev"
LAKE_BUCKET = "fooddelivery-dev-lake"
BASE_PORT = 8700
"""Fakes listen on base+1..3 (their own defaults), hosts on base+11.. in subsystem order."""
HOST_OFFSET = 11
"""The first host listens on base + HOST_OFFSET."""
EMULATORS = {
    "pubsub": "the Pub/Sub emulator",
    "firestore": "the Firestore emulator",
    "storage": "the Storage emulator",
}
"""Each emulator (by the name its port option bears: ``--pubsub-port``...) as messages name it."""
STATE_DIR = LOCAL_STATE / "dev"
"""Where a stack keeps its logs, checkpoints, ``stack.json`` and ``env.sh`` by default."""


def url(port: int) -> str:
    """``http://127.0.0.1:{port}``."""
    return f"http://{HOST}:{port}"


@dataclass(frozen=True, slots=True)
class Ports:
    """The ports of one stack; 0 means "not chosen yet" until :meth:`resolved`."""

    pubsub: int = 8085
    firestore: int = 8086
    storage: int = 9023
    fakes: Mapping[str, int] = field(default_factory=dict)
    hosts: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def defaults(cls, subsystems: tuple[str, ...], base: int = BASE_PORT) -> Ports:
        """Fixed, memorable ports from ``base``."""
        return cls(
            fakes={name: base + 1 + n for n, name in enumerate(FAKES)},
            hosts={name: base + HOST_OFFSET + n for n, name in enumerate(subsystems)},
        )

    def requested(self) -> dict[str, int]:
        """Every chosen (non-zero) port, by what will listen on it."""
        wanted = {
            EMULATORS["pubsub"]: self.pubsub,
            EMULATORS["firestore"]: self.firestore,
            EMULATORS["storage"]: self.storage,
            **{f"the fake {name}": port for name, port in self.fakes.items()},
            **{f"the {name} host": port for name, port in self.hosts.items()},
        }
        return {what: port for what, port in wanted.items() if port}


def project_of(subsystem: str) -> str:
    """The emulator project that stands for ``subsystem``'s GCP project."""
    return f"{subsystem}-{ENV}"


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a running stack tells its users, as written to ``stack.json``."""

    hosts: dict[str, str]
    """subsystem -> base URL of its host."""
    fakes: dict[str, str]
    """payments / pos / push -> base URL."""
    endpoints: dict[str, str]
    """HTTP function target (``checkout_bff_api``...) -> its base URL."""
    env: dict[str, str]
    """The environment every function runs with (emulators, projects, settings)."""
    dev_key: str
    groups: dict[str, int] = field(default_factory=dict)
    """name -> process group id of every process the stack started."""

    def urls(self) -> Urls:
        """The actors' URLs: every ``<name>_bff_api`` and the POS terminal."""
        names = [f for f in Urls.__dataclass_fields__ if f != "pos"]
        return Urls(**{n: self.endpoints[f"{n}_bff_api"] for n in names}, pos=self.fakes["pos"])

    def write(self, path: Path) -> None:
        """Store as JSON (written to a temporary file, then renamed)."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Load a manifest written by :meth:`write`."""
        return cls(**json.loads(path.read_text()))
