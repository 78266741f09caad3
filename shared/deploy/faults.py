"""The fault recorder as a functions-framework target, for the deployed archive.

On GCP each subsystem's ``faults`` topic feeds this target through a push
subscription; it stores fault events and dead letters in the subsystem's
``faults`` collection with :class:`~shared.runtime.faults.FaultRecorder`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.exceptions import EnvelopeError, StoreError
from shared.hub.message import parse_push
from shared.runtime.faults import FaultRecorder
from shared.runtime.functions import NOT_SET_UP, as_text, posted_only

if TYPE_CHECKING:
    import flask

    from shared.runtime.functions import FunctionHost, Target

TARGET = "faults_recorder"
"""The target's name: the Cloud Function's (:data:`~shared.deploy.tfvars.FAULT_RECORDER`) as
a Python name."""


def fault_recorder_target(host: FunctionHost) -> Target:
    """A push target storing what arrives on the subsystem's ``faults`` topic.

    204 acknowledges; 503 (the store failed, or the function could not be set up, which is
    logged as for the host's own targets: :meth:`~shared.runtime.functions.FunctionHost.set_up`)
    asks Pub/Sub to redeliver; 400 rejects a body that is not a push request. It answers as a
    consumer's target does: 405 to any method but POST
    (:func:`~shared.runtime.functions.posted_only`), and in plain text, or with no content
    type at all (:func:`~shared.runtime.functions.as_text`).
    """

    def faults_recorder(request: flask.Request) -> tuple[str, int]:
        try:
            _, message = parse_push(request.get_json(silent=True))
        except EnvelopeError as error:
            return f"not a Pub/Sub push request: {error}", 400
        infra = host.set_up(TARGET, lambda: host.infrastructure()[0])
        if infra is None:
            return f"redeliver: {NOT_SET_UP}", 503
        try:
            FaultRecorder(infra.store).handle(message)
        except StoreError:
            return "redeliver", 503
        return "", 204

    return as_text(posted_only(faults_recorder))
