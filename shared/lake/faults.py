"""The faults of records the lake can never store, for every lake writer alike.

When every name an object may take holds other content (:class:`~shared.lake.base.NamesTaken`),
retrying its records stores nothing until someone moves those objects away. A lake writer
(the dev stack's pull worker, the embedded hub's) then records each message it could not
store as a fault of ``{subsystem}/kit/lake-writer`` on the subsystem's ``faults`` topic,
the message kept whole for ``fooddelivery faults resubmit``, and stops retrying it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.hub.message import to_message
from shared.runtime.faults import fault_event, message_key

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shared.clock import Clock
    from shared.hub.message import Message
    from shared.lake.base import NamesTaken

WRITER = "lake-writer"
"""The lake writer's name: its pull subscription on the emulator, and in its faults'
function (:func:`writer_function`)."""


def writer_function(subsystem: str) -> str:
    """The function the faults of ``subsystem``'s lake writer name as refusing a message."""
    return f"{subsystem}/kit/{WRITER}"


def unstored_faults(
    subsystem: str,
    batch: Sequence[tuple[tuple[int, bytes], Message]],
    taken: NamesTaken,
    clock: Clock,
    env: str,
) -> list[Message]:
    """The fault messages, for ``subsystem``'s ``faults`` topic, of the messages of ``batch``
    (each with its record, as given to :meth:`~shared.lake.base.AbstractLake.append`) whose
    record ``taken`` says the lake could not store, in ``batch``'s order."""
    unstored, function = set(taken.records), writer_function(subsystem)
    return [
        to_message(
            fault_event(
                subsystem=subsystem,
                function=function,
                message=message,
                error=taken,
                clock=clock,
                env=env,
                key=message_key(message),
            )
        )
        for record, message in batch
        if record in unstored
    ]
