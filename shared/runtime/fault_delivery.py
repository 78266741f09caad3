"""Where a subsystem's function listens, and handing it a replayed fault's request there.

* On a ``fooddelivery dev`` stack (``FOODDELIVERY_MODE=emulator``) the function is
  served by the subsystem's host, whose URL the stack's ``env.sh`` exports as
  ``FOODDELIVERY_HOST_<NAME>``, at ``/<target>``; the host listens on 127.0.0.1
  and asks for no credentials.
* On GCP (``FOODDELIVERY_MODE=gcp``) it is the Cloud Function
  ``https://<region>-<project>.cloudfunctions.net/<name>`` (its target with ``-``),
  called with a Google-signed ID token for that URL
  (:func:`~shared.id_tokens.fetch_google_id_token`), as Pub/Sub, Eventarc and
  Cloud Scheduler call it with theirs.

The function's answer is the verdict, as it is for Pub/Sub: 2xx took the request;
anything else, or no answer, raises :class:`ReplayError` saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from shared.exceptions import KitError
from shared.id_tokens import IdTokenError, IdTokens
from shared.settings import PREFIX

if TYPE_CHECKING:
    from shared.runtime.fault_replay import ReplayRequest
    from shared.settings import Settings

DEFAULT_REGION = "europe-west1"
"""The region terraform deploys to unless told otherwise (``var.region``)."""
REGION_SETTING = "REGION"
"""``FOODDELIVERY_REGION``: the functions' region, for ``faults resubmit`` on GCP."""
HOST_SETTING = "HOST_{}"
"""``FOODDELIVERY_HOST_<NAME>``: a dev stack's host of subsystem NAME (its ``env.sh``)."""
TIMEOUT_S = (10.0, 600.0)
"""(connect, read): a function may take as long as its own timeout to answer."""
EXCERPT = 300
"""The characters of a refusal's body an error quotes."""


class ReplayError(KitError):
    """The function could not be reached, or did not take the request."""


@dataclass(frozen=True, slots=True)
class FunctionUrl:
    """Where one function takes requests, and the ID tokens it wants (``None``: none)."""

    url: str
    where: str
    """Who answers there, for messages: ``the order host``, ``Cloud Functions``."""
    tokens: IdTokens | None = None

    @property
    def on_gcp(self) -> bool:
        """True for a deployed function (reached over the internet with an ID token)."""
        return self.tokens is not None


def function_url(subsystem: str, target: str, settings: Settings, region: str) -> FunctionUrl:
    """The URL of ``subsystem``'s function ``target`` for ``settings.mode``.

    Raises :class:`ReplayError` when the settings do not say where it is.
    """
    if settings.mode == "emulator":
        setting = HOST_SETTING.format(subsystem.upper())
        base = settings.extra.get(setting)
        if not base:
            raise ReplayError(
                f"{PREFIX}{setting} is not set: `source` the env.sh of the running "
                "`fooddelivery dev` stack (one started before it exported the hosts' URLs "
                "must be restarted)"
            )
        if not base.startswith(("http://", "https://")):
            raise ReplayError(
                f"{PREFIX}{setting} is {base!r}, not a URL: the host's, as the stack's env.sh "
                "exports it (http://127.0.0.1:PORT)"
            )
        return FunctionUrl(f"{base.rstrip('/')}/{target}", f"the {subsystem} host")
    if settings.mode == "gcp":
        project = settings.projects[subsystem]
        name = target.replace("_", "-")
        url = f"https://{region}-{project}.cloudfunctions.net/{name}"
        return FunctionUrl(url, "Cloud Functions", IdTokens(url))
    raise ReplayError(f"{PREFIX}MODE is {settings.mode}: no function can be reached")


def deliver(
    function: FunctionUrl, request: ReplayRequest, session: requests.Session, label: str
) -> requests.Response:
    """POST ``request`` to ``function`` (``label`` names it in errors); its 2xx answer, which
    names the fault when the function refused the request as poison
    (:func:`~shared.runtime.faults.refusal`).

    Raises :class:`ReplayError` when nothing answers, no ID token can be had, or the
    answer is not 2xx.
    """
    headers = dict(request.headers)
    try:
        if function.tokens is not None:
            headers.update(function.tokens.headers())
        response = session.post(function.url, data=request.body, headers=headers, timeout=TIMEOUT_S)
    except IdTokenError as error:
        raise ReplayError(
            f"{str(error).rstrip('.')}. Only service-account credentials mint ID tokens: point "
            "GOOGLE_APPLICATION_CREDENTIALS at a key of one allowed to invoke the function, "
            "or at the file `gcloud auth application-default login "
            "--impersonate-service-account=SA` writes"
        ) from None
    except requests.ConnectionError:
        raise ReplayError(
            f"{label}: nothing answers at {function.url}{_unreachable(function)}"
        ) from None
    except requests.Timeout:
        raise ReplayError(
            f"{label}: no answer from {function.url} in {TIMEOUT_S[1]:.0f} s"
        ) from None
    except requests.RequestException as error:  # e.g. the answer broke off half-way
        raise ReplayError(f"{label}: no whole answer from {function.url}: {error}") from None
    if 200 <= response.status_code < 300:
        return response
    said = " ".join(response.text.split())[:EXCERPT] or response.reason
    raise ReplayError(
        f"{label} at {function.url} refused it (HTTP {response.status_code}: {said})"
        f"{_refusal_hint(function, response.status_code)}"
    )


def _unreachable(function: FunctionUrl) -> str:
    if function.on_gcp:
        return ""
    return f" ({function.where}): is the stack running, and its host with it?"


def _refusal_hint(function: FunctionUrl, status: int) -> str:
    if function.on_gcp and status in (401, 403, 404):
        return (
            ". Is the function deployed in that region (--region)? It admits only callers "
            "with roles/run.invoker on it, and, unless public, only traffic from inside "
            "Google Cloud (ingress ALLOW_INTERNAL_ONLY): run this from a VM in the "
            "project's VPC network"
        )
    if not function.on_gcp and status == 404:
        return ". No such function there: is the host running older code?"
    return ""
