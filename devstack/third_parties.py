"""Which third-party fakes a stack runs, and how its functions find them, from the topologies.

A function says it talks to a third party by the secret it declares
(``secrets=("PAYMENT_PROCESSOR_KEY",)``): the stack starts the fake of each third party
some registered subsystem's function uses (:data:`SECRETS`), and only those, and gives
the functions its URL and keys (:data:`~devstack.layout.FAKE_KEYS`: the point of sale's
``POS_API_KEY`` for the calls to it, ``POS_WEBHOOK_SECRET`` for its callbacks). The point
of sale also calls back: its webhook is the HTTP
function (an :class:`~shared.topology.model.Endpoint`) that declares
``POS_WEBHOOK_SECRET``, whichever subsystem it belongs to, and the functions read its URL
as ``POS_CALLBACK_URL``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from devstack.layout import FAKE_KEYS, FAKES, url
from shared.exceptions import KitError
from shared.topology.model import Endpoint

if TYPE_CHECKING:
    from shared.runtime.app import SubsystemApp

SECRETS = {
    "payments": "PAYMENT_PROCESSOR_KEY",
    "pos": "POS_WEBHOOK_SECRET",
    "push": "PUSH_PROVIDER_KEY",
}
"""Each fake (by the stack's name for it) -> the secret a function that uses it declares."""


class ThirdPartyError(KitError):
    """The topologies do not say which function the point of sale calls back."""


def used_fakes(apps: Iterable[SubsystemApp[Any]]) -> tuple[str, ...]:
    """The fakes (in :data:`~devstack.layout.FAKES` order) whose secret a function of
    ``apps`` declares."""
    declared = {s for app in apps for _, fn in app.topology.functions() for s in fn.secrets}
    return tuple(name for name in FAKES if SECRETS[name] in declared)


def pos_webhook(apps: Iterable[SubsystemApp[Any]]) -> tuple[str, str] | None:
    """(subsystem, target) of the HTTP function the point of sale calls back: the one
    declaring ``POS_WEBHOOK_SECRET``; ``None`` when no function declares it.

    :class:`ThirdPartyError` when the functions declaring it are not exactly one HTTP
    function: ``POS_CALLBACK_URL`` names one URL.
    """
    secret = SECRETS["pos"]
    declaring = [
        (app.name, service, fn)
        for app in apps
        for service, fn in app.topology.functions()
        if secret in fn.secrets
    ]
    if not declaring:
        return None
    endpoints = [(name, fn.target(s)) for name, s, fn in declaring if isinstance(fn, Endpoint)]
    if len(endpoints) == 1:
        return endpoints[0]
    named = ", ".join(f"{name}/{s.name} {fn.name}" for name, s, fn in declaring)
    if not endpoints:
        raise ThirdPartyError(
            f"{named} declare{'s' if len(declaring) == 1 else ''} the secret {secret}, but no "
            "HTTP function (Endpoint) does: the point of sale calls back the one that does "
            "(POS_CALLBACK_URL)"
        )
    raise ThirdPartyError(
        f"{', '.join(f'{n}/{t}' for n, t in endpoints)} all declare the secret {secret}: the "
        "point of sale calls back one webhook (POS_CALLBACK_URL); declare it on one of them"
    )


def fake_settings(
    apps: Iterable[SubsystemApp[Any]], fakes: Mapping[str, int], hosts: Mapping[str, int]
) -> dict[str, str]:
    """The ``FOODDELIVERY_*`` settings pointing the functions of ``apps`` at the fakes they
    use, listening on ``fakes`` (fake -> port), with the point of sale's callbacks to the
    webhook's host on ``hosts`` (subsystem -> port)."""
    apps = list(apps)
    used = used_fakes(apps)
    missing = [name for name in used if name not in fakes]
    if missing:
        raise ThirdPartyError(f"no port for the fake {', '.join(missing)}, which is used")
    found = {
        f"FOODDELIVERY_{secret}": value
        for name in used
        for secret, value in FAKE_KEYS[name].values()
    }
    if "payments" in used:
        found["FOODDELIVERY_PAYMENT_PROCESSOR_URL"] = url(fakes["payments"])
    if "push" in used:
        found["FOODDELIVERY_PUSH_PROVIDER_URL"] = url(fakes["push"])
    webhook = pos_webhook(apps)
    if webhook is not None:
        subsystem, target = webhook
        found["FOODDELIVERY_POS_URL"] = url(fakes["pos"])
        found["FOODDELIVERY_POS_CALLBACK_URL"] = f"{url(hosts[subsystem])}/{target}"
    return found
