"""Egress: the internal ``delivery-status-changed`` is published as the v1 contract, in order.

The statuses come from dispatch's announcing trigger, which Google does not order (a
failed run is retried after the next change's went out), so one may reach this egress
after a later one, or after the delivery's cancellation. The contract promises each
delivery's statuses in their course, keyed by the order, so this egress publishes a
coherent course whatever the arrival order:

* a status older than one already heard (or than the cancellation) is not published;
  each internal status and cancellation carries its ``revision`` (see
  :mod:`delivery.events`), and the latest one heard is kept in
  ``egress-deliveries/{deliveryId}`` with what the consumers were told, noted once it is
  published (a status whose publication failed is never taken as told);
* ``delivered`` when ``picked-up`` was never told is published after a ``picked-up``;
* a driver's ``assigned``, ``picked-up`` or ``delivered`` while another driver is the one
  told assigned is published after that driver's ``released``;
* a ``released`` of a driver the consumers were not told is assigned is not published;
* the cancellation is published as ``cancelled`` only to consumers told a driver is
  assigned (who no longer brings the order): otherwise Order's own status says it all.

Two of a delivery's statuses may still be handled at once (a redelivery after an ack
deadline while the first delivery runs): the later follows on from what the earlier claimed,
not yet noted as told, and publishes it again, so every status is published at least once,
maybe twice and out of order. Each published status carries its ``revision`` (the internal
event's, and its place among the statuses published for it, as text that sorts in the
delivery's course), by which consumers order them, and its id derives from that revision,
whichever event publishes it: a status published twice is one event, which consumers keep
once.

A status announced before revisions existed has none and is published as it comes (a
cancellation without one, as before, not at all).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from delivery.contracts import DeliveryStatusChanged
from delivery.events import DELIVERY_CANCELLED
from shared.contracts import publish

if TYPE_CHECKING:
    from collections.abc import Callable

    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope, Json
    from shared.runtime.context import Context
    from shared.stores import Doc

DELIVERIES = "egress-deliveries"
"""``egress-deliveries/{deliveryId}``: ``{heard, pending, revision, told, before}``: the latest
status or cancellation of the delivery heard of (``heard``, whose statuses are being
published), the statuses it claimed with those claimed before it not yet noted published
(``pending``: ``{heard, discriminator, status}`` each), the latest one published
(``revision``), and what the consumers were told after that one and before it (``{status,
driver}`` or ``null``). ``revision``, ``told`` and ``before`` are missing until a first one is
published; ``heard`` is missing from records kept before it was (it is ``revision`` then),
``pending`` from those kept before claims were."""


Step = tuple[str, DeliveryStatusChanged]
"""A status to publish, with the discriminator that tells it apart from the others published
for the same internal event."""


def publish_delivery_status(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Publish the delivery's course up to ``event``'s status or cancellation; a body that
    breaks the contract becomes a fault."""
    body = dict(event.body)
    revision = body.pop("revision", None)
    if event.type == DELIVERY_CANCELLED:
        if revision is None:  # announced before revisions: it cannot be placed in the course
            return
        steps = _hear(ctx, body["id"], revision, lambda told: cancellation(told, body))
    else:
        status = DeliveryStatusChanged.model_validate(body)
        if revision is None:
            publish(ctx, status)
            return
        steps = _hear(ctx, status.id, revision, lambda told: course(told, status))
    if steps is None:
        ctx.log.info(
            "delivery %s: %s came after a later one; not published", body["id"], event.type
        )
        return
    for discriminator, step in steps:
        # Its place in the course names the status: published again, by this event or by a
        # later one following on from it, it is the same event.
        publish(ctx, step, discriminator=discriminator, fact=f"{step.id}/{step.revision}")


def course(told: Doc | None, status: DeliveryStatusChanged) -> list[Step]:
    """The statuses to publish so that consumers told ``told`` (``{status, driver}``, or
    ``None``) follow the delivery to ``status``."""
    if told is not None and told["status"] == "cancelled":
        return []
    assigned = _assigned(told)
    if status.status == "released":
        return [("", status)] if assigned and assigned["id"] == status.driver.id else []
    steps: list[Step] = []
    if assigned is not None and assigned["id"] != status.driver.id:
        released = {"status": "released", "driver": assigned, "location": None}
        steps.append(("released", _as(status, released)))
    if status.status == "delivered" and (told is None or told["status"] != "picked-up"):
        steps.append(("picked-up", _as(status, {"status": "picked-up"})))
    return [*steps, ("", status)]


def cancellation(told: Doc | None, cancelled: Json) -> list[Step]:
    """``cancelled`` for consumers told a driver is assigned (who no longer brings the order);
    nothing for those never told of one, or told they handed it back."""
    assigned = _assigned(told)
    if assigned is None or "changedAt" not in cancelled:
        return []
    status = {
        "id": cancelled["id"],
        "orderId": cancelled["orderId"],
        "status": "cancelled",
        "driver": assigned,
        "location": None,
        "changedAt": cancelled["changedAt"],
    }
    return [("", DeliveryStatusChanged.model_validate(status))]


def _assigned(told: Doc | None) -> Doc | None:
    """The driver consumers were told is assigned, if that is the last they were told."""
    return told["driver"] if told is not None and told["status"] == "assigned" else None


def _as(status: DeliveryStatusChanged, changes: Json) -> DeliveryStatusChanged:
    return DeliveryStatusChanged.model_validate(
        {**status.model_dump(mode="json", by_alias=True), **changes}
    )


def _hear(
    ctx: Context[DeliveryPorts],
    delivery_id: str,
    revision: list[Any],
    steps_after: Callable[[Doc | None], list[Step]],
) -> list[Step] | None:
    """Note ``revision`` as the latest heard of the delivery and return what to publish for
    it, ``steps_after`` what consumers were told; ``None`` when a later revision was heard.
    A repeat of the latest one returns its statuses again: their publication may have
    failed.

    What consumers were told is noted only once the statuses are published
    (:meth:`~shared.runtime.context.Context.after_publish`): a status whose publication
    failed for good (dead-lettered) is never taken as told, so the next one still publishes
    what it implies (the pickup before the delivery, the hand-back before the next driver).
    Until then the statuses claimed are kept (``pending``): one heard while an earlier one is
    still being published (handled at once, after an ack deadline) follows on from what that
    one claimed and publishes it again, so no status is lost whichever of them fails.
    """
    store, heard = ctx.ports.store, _order(revision)
    found: list[tuple[list[Doc], Doc | None]] = []  # (statuses to publish, told before)

    def claim(known: Doc | None) -> Doc | None:
        found.clear()  # an updater may run again (a transaction retried)
        latest = _order(_heard(known)) if known is not None else None
        if latest is not None and latest > heard:
            return None
        if known is not None and latest == heard and "pending" not in known:
            before = _legacy_before(known, heard)  # claimed before claims were kept
            found.append((_claimed(steps_after(before), revision), before))
            return None
        if known is not None and latest == heard and _noted_at(known) == heard:
            before = known["before"]
            found.append((_claimed(steps_after(before), revision), before))
            return None
        carried = [kept for kept in _unnoted(known) if _order(kept["heard"]) < heard]
        before = _told_by(carried[-1]) if carried else _noted(known)
        if known is not None and latest == heard:  # claimed, maybe published, not noted
            found.append((_unnoted(known), before))
            return None
        found.append((_compact([*carried, *_claimed(steps_after(before), revision)]), before))
        return {**(known or {}), "heard": revision, "pending": found[-1][0]}

    store.update(DELIVERIES, delivery_id, claim)
    if not found:
        return None
    [(claimed, before)] = found
    told = _told_by(claimed[-1]) if claimed else before

    def note(current: Doc | None) -> Doc | None:
        if current is not None and _order(current.get("revision", ["", -1])) >= heard:
            return None
        return {**(current or {}), "revision": revision, "told": told, "before": before}

    ctx.after_publish(lambda: store.update(DELIVERIES, delivery_id, note))
    return [
        (kept["discriminator"], DeliveryStatusChanged.model_validate(kept["status"]))
        for kept in claimed
    ]


def _claimed(steps: list[Step], revision: list[Any]) -> list[Doc]:
    """``steps``, the statuses the internal event of ``revision`` calls for, as kept while
    they are published: each with its place in the delivery's course."""
    version, step = _order(revision)
    return [
        {
            "heard": revision,
            "discriminator": discriminator,
            "status": {
                **status.model_dump(mode="json", by_alias=True),
                "revision": f"{version}/{step:03d}/{place:02d}",
            },
        }
        for place, (discriminator, status) in enumerate(steps)
    ]


def _compact(claimed: list[Doc]) -> list[Doc]:
    """``claimed`` without a status followed by another of the same status and driver (a
    location reported since): what is kept stays bounded while publications fail."""
    return [
        kept
        for kept, after in zip(claimed, [*claimed[1:], None], strict=False)
        if after is None or _told_by(after) != _told_by(kept)
    ]


def _unnoted(known: Doc | None) -> list[Doc]:
    """The statuses claimed (``pending``) by revisions heard but not noted published."""
    if known is None:
        return []
    noted = _noted_at(known)
    return [kept for kept in known.get("pending", []) if _order(kept["heard"]) > noted]


def _noted_at(known: Doc) -> tuple[str, int]:
    """The latest revision noted published (before any if none was)."""
    return _order(known["revision"]) if "revision" in known else ("", -1)


def _noted(known: Doc | None) -> Doc | None:
    """What consumers were told by the latest statuses noted published."""
    return known.get("told") if known is not None else None


def _legacy_before(known: Doc, heard: tuple[str, int]) -> Doc | None:
    """What consumers were told before the statuses of ``heard``, the latest heard, in a
    record kept before the statuses claimed were."""
    if "revision" not in known:
        return None
    told: Doc | None = known["before"] if _noted_at(known) == heard else known["told"]
    return told


def _told_by(kept: Doc) -> Doc:
    """What consumers are told by the status ``kept``."""
    status = kept["status"]
    return {"status": status["status"], "driver": status["driver"]}


def _heard(known: Doc) -> list[Any]:
    """The latest revision ``known`` says was heard."""
    heard: list[Any] = known["heard"] if "heard" in known else known["revision"]
    return heard


def _order(revision: list[Any]) -> tuple[str, int]:
    version, step = revision
    return str(version), int(step)
