"""Payment-esg's egress: order facts become processor calls, their outcomes become events.

``payments/{orderId}`` remembers where each payment stands, so a redelivered
event calls the processor only if the payment has not moved yet; it then
announces the stored outcome again (same event id for the same delivery), in
case the first attempt stored it but failed to publish. An authorization's outcome
stays what it was once the payment moves on: a submission delivered again after its
payment was captured, voided or refunded announces ``payment-authorized`` again,
never a decline of an order that was paid.

An order checkout cancelled before it was placed (``order-cancelled``) is not
authorized any more: a retry after the cancellation asks the processor nothing,
so the customer's card is not held and the retries end; the card token its
checkout named is forgotten then, as no payment outcome (which forgets it
otherwise) will be announced. Unless the processor was asked already
(``payment-attempts``: its answer may have been lost): then the retry asks again
with the same key, and an authorization made is voided by whichever of the two
comes second, with the same key as any void (``{orderId}:void``), so the
processor releases the money once.

A retry sends the very request the processor was first asked, card included, as
the attempt noted it: the processor answers a key reused with another card 422,
and a card removed meanwhile must not turn an authorization already made into a
decline that leaves the money held. The attempt forgets the card once the answer
is stored: a delivery that finds it forgotten takes that answer, and one that
has no card to ask again with (an attempt noted before attempts kept their card)
adopts what a look-up by reference finds (see below), else is a fault, never a
decline, as the first request may hold the money.

The processor replays its answer only while it keeps the key, about a day: a
retry whose attempt was noted longer ago than :data:`KEY_SAFE_WINDOW_MS` (a fault
resubmitted the next day, a long outage; or noted before attempts kept their time)
first looks the order's authorization up by its reference and adopts the one it
finds, whatever its status; only if there is none does it authorize anew, lest a
second authorization leave the first one holding the customer's money. One found
voided, refunded, expired (the processor lets one neither captured nor voided lapse,
Stripe after 7 days) or canceled (Stripe's word for lapsed or cancelled at its dashboard)
holds no money: the order is declined for it (reason ``authorization_voided``,
``authorization_canceled``...), never placed to be delivered unpaid (the payment stored in
the authorization's status, marked ``declined``, so that a redelivery declines it again, as
the same event); so is one found in a status that never held any (``requires_action``,
say: reason ``authorization_requires_action``), as the first answer would have declined
it. One that holds the money (authorized, else captured) is adopted before any of those. Only an
authorization for the order's amount and currency is adopted; one for another sum
is a fault for a person, never the order's payment, and so is one in a status payments
cannot tell.

A failure the processor keeps under the key (a 5xx replayed to every retry, as Stripe
does once a request began to run) ends that request, whatever it did: the retry looks
the authorization up by reference at once and adopts what it finds; with nothing
found, the attempt moves to a new key (``{orderId}:authorize:2``, then ``:3``) noted
before it is used, so a lost answer is asked again under it, and the order is
authorized within its deadline, not a day later by a person; unless checkout cancelled
the order meanwhile: then nothing is asked again, and the payment is declined
(``order_cancelled``), nothing held.

The processor's answer says where the money stands: an authorization answered
``captured`` (an account set to capture when it authorizes) is stored so and pays for
the order (its delivery captures nothing more; its cancellation refunds it); one answered
in a status that holds nothing (``requires_action``) declines the order
(``authorization_requires_action``); one in a status it cannot tell is a fault for a person,
nothing stored.

A void that finds the authorization captured (by a person, or by such an account for a
payment stored before its answer's status was read) does not leave the money of a
cancelled order taken: the payment is stored captured, and refunded under the refund's
own key (``{orderId}:refund``), which a redelivery repeats harmlessly; a warning says so.

A void that finds the authorization refunded (captured, then given back by a person at the
processor) has nothing left to do: the customer has the money back, so the payment is
stored refunded (reason ``authorization_refunded``) and ``payment-refunded`` announced as for
any refund; no fault. Unless the processor says it refunded less than the payment's amount
(``amountRefunded``): the rest is still taken, a fault for a person saying how much.

An authorization left neither captured nor voided for long expires at the processor
(Stripe: 7 days; Stripe calls it ``canceled``, as it does one cancelled by a person at its
dashboard), which then refuses to capture or void it. A void that finds it so, or in any
status that holds none of the money and never took it (:data:`FREED`), has nothing left to
do, the money being free already: the payment is stored voided (reason
``authorization_expired``, ``authorization_canceled``..., so a person reading it can tell)
and ``payment-voided`` is announced as for any void, since for the customer it is just that;
no fault. A capture that finds it holding nothing (expired, canceled, voided...) can take
the money no more: the payment is stored :data:`CAPTURE_FAILED` (reason
``authorization_expired``...), then a fault for a person says that the order was delivered
unpaid. The payment's status is final: a redelivery or a resubmission of the fault asks the
processor nothing and raises the same fault again (its record reopened), until a person who
has charged the customer otherwise, or written the sum off, drops it.

A payment's statuses, and what moves it (all of it in this module's constants):

* first stored: ``authorized`` or ``captured`` (:data:`HOLDING`), the processor's answer or
  an authorization adopted holding the money; ``declined`` (reason): refused, no card, or an
  authorization found that never held the money (:data:`NEVER_HELD`); ``voided``,
  ``refunded``, ``expired`` or ``canceled`` with ``declined`` true: an authorization adopted
  that holds nothing any more (:data:`RELEASED`);
* from ``authorized``: ``captured`` (delivered), ``voided`` (cancelled; reason
  ``authorization_expired``... when the processor had released it: :data:`FREED`),
  ``refunded`` (cancelled, and found refunded by hand), or :data:`CAPTURE_FAILED` (delivered,
  and found holding nothing); from ``captured``: ``refunded`` (cancelled) (:data:`SETTLEMENTS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.checkout_bff.models import ORDERS
from customer.checkout_bff.orders import CANCELLED
from customer.events import (
    ORDER_CANCELLED,
    ORDER_SUBMITTED,
    PAYMENT_AUTHORIZED,
    PAYMENT_CAPTURED,
    PAYMENT_DECLINED,
    PAYMENT_REFUNDED,
    PAYMENT_VOIDED,
)
from customer.payment_esg.cards import card_token, forget_card
from customer.payment_esg.processor import (
    CANCELED,
    EXPIRED,
    HOLDS_NOTHING,
    KEY_SAFE_WINDOW_MS,
    REACHES,
    Authorization,
    Authorized,
    Declined,
    FailureKept,
    InAnotherState,
    ProcessorUnavailable,
    Settlement,
)
from shared.exceptions import BusinessRuleViolation, ConflictError, InvalidKey

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore, Doc

PAYMENTS = "payments"
"""``{orderId, authorizationId, amount, currency, status, reason, declined, authorizedAt,
rounds}`` keyed by order id; ``reason`` says why a payment is declined, or voided by the
processor itself (``authorization_expired``, ``authorization_canceled``: see :data:`FREED`);
``declined`` is true for one that adopted an authorization found released already (its
status the authorization's, :data:`RELEASED`): the order was declined for it, as for one
whose status is ``declined``; a payment voided or refunded by a settlement was authorized
first, and so was one :data:`CAPTURE_FAILED` (its ``reason`` the status its capture found:
``authorization_expired``...). ``rounds`` names, per settlement (``capture``...), which key
it asks with (absent: 0; see :func:`idempotency_key`)."""
ATTEMPTS = "payment-attempts"
"""``payment-attempts/{orderId}``: ``{orderId, paymentMethod, askedAt, round}``, the processor
was asked to authorize the order with this card token, under the key of ``round`` (absent: 0;
see :func:`idempotency_key`) first at ``askedAt`` (epoch ms), so it may hold an authorization
whose answer never came back; ``paymentMethod`` is dropped once the answer is stored."""
AUTHORIZED_FIELDS = ("orderId", "authorizationId", "amount", "currency")
"""What the payment events tell of an authorized payment."""
RELEASED = frozenset({*(REACHES[action] for action in ("void", "refund")), EXPIRED, CANCELED})
"""The statuses of an adopted authorization that holds no money any more (released by a
settlement, lapsed, or cancelled at the processor: Stripe's ``canceled``): the order is
declined for them (reason ``authorization_voided``, ``authorization_canceled``...), never
placed."""
NEVER_HELD = HOLDS_NOTHING - RELEASED
"""The statuses of an authorization found by reference that never held the money (refused,
or waiting for a step of the customer's this flow has none of, such as ``requires_action``):
the payment is declined for it, as the processor's first answer in that status declines it
(reason ``authorization_requires_action``, say)."""
HOLDING = ("authorized", "captured")
"""The statuses of an authorization that holds the money, in the order a look-up adopts them."""
ADOPTABLE = frozenset({*HOLDING, *RELEASED})
"""The processor's statuses of an authorization found by reference that a payment can take."""
CANCELLED_FIRST = "order_cancelled"
"""The decline reason when the processor failed the order's authorization, made nothing, and
the order was cancelled before it could be asked anew."""
NO_CARD = "no_payment_method"
"""The decline reason when the order's card is gone (the saved card was removed meanwhile)."""
FREED = HOLDS_NOTHING - {REACHES["refund"]}
"""The statuses in which a void finds the authorization holding none of the money, none of it
ever taken (lapsed, cancelled at the processor, never held): the payment is voided, its reason
``authorization_{status}``. A refunded one had the money taken, then given back by a person:
the payment is refunded (reason ``authorization_refunded``), unless the processor says it gave
back less than it took, a fault for a person."""
CAPTURE_FAILED = "capture-failed"
"""The status of a delivered order's payment whose capture found the authorization holding
nothing (:data:`~customer.payment_esg.processor.HOLDS_NOTHING`: expired, canceled...): the
food went out unpaid, for good (its ``reason`` says why: ``authorization_expired``...). A
delivery of the order's news that finds it so asks the processor nothing and raises the same
fault again."""

SETTLEMENTS: dict[str, dict[str, tuple[Settlement, str]]] = {
    "delivered": {"authorized": ("capture", "captured")},
    "cancelled": {"authorized": ("void", "voided"), "captured": ("refund", "refunded")},
}
"""Per order status: for a payment in a given status, the call to make and the status reached."""
SETTLED = {"captured": PAYMENT_CAPTURED, "voided": PAYMENT_VOIDED, "refunded": PAYMENT_REFUNDED}
"""The event each status a settlement reaches is announced with."""


def process(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Authorize a submitted order; capture, void or refund when it is delivered or cancelled."""
    if event.type == ORDER_SUBMITTED:
        authorize(event.body, ctx)
    elif event.type == ORDER_CANCELLED:
        release(event.body["id"], ctx)
    else:
        settle(event.body["id"], event.body["status"], ctx)


def authorize(order: Doc, ctx: Context[CustomerPorts]) -> None:
    """Emit ``payment-authorized`` or ``payment-declined`` for the order's total; void an
    authorization that came after checkout cancelled the order."""
    store, order_id = ctx.ports.store, order["id"]
    payment = store.get(PAYMENTS, order_id)
    attempt = None if payment else store.get(ATTEMPTS, order_id)
    if attempt is not None and not attempt.get("paymentMethod"):
        # Its card forgotten: the answer was stored after the read above (or it was noted
        # before attempts kept their card).
        payment = store.get(PAYMENTS, order_id)
    if payment is None:
        # One read of the order tells both whether it is cancelled and its card: a delivery
        # that finds it cancelled forgets the card, and one that read it before asks with it.
        current = store.get(ORDERS, order_id)
        if attempt is None and _cancelled(current):
            ctx.log.info("order %s was cancelled before its payment: not authorized", order_id)
            forget_card(store, order_id)  # no outcome will be announced, which would forget it
            return
        # An attempt noted before attempts kept their card names none: the order's card then.
        token = (attempt or {}).get("paymentMethod") or card_token(store, current)
        # Noted first: if the answer is lost, the retry asks again (same key, same request,
        # same answer) even once the order is cancelled, so an authorization made is voided.
        # A concurrent delivery's note, if first, is the one kept: its card, or, forgotten
        # once its answer was stored, that answer.
        note = {"orderId": order_id, "paymentMethod": token, "askedAt": ctx.clock.now_ms()}
        if token is not None and attempt is None and not store.create(ATTEMPTS, order_id, note):
            attempt = store.get(ATTEMPTS, order_id) or note
            token = attempt.get("paymentMethod")
            if token is None:
                payment = store.get(PAYMENTS, order_id)
                if payment is None:  # stored before the card is forgotten: cannot be
                    raise ConflictError(f"the payment of order {order_id} is being stored")
        if payment is None:
            payment = _stored(store, _authorization(order, token, attempt, ctx))
    store.update(ATTEMPTS, order_id, _forget_card)
    if _declined(payment):
        reason = payment.get("reason") or f"authorization_{payment['status']}"
        body = {"orderId": order_id, "reason": reason}
        ctx.emit(PAYMENT_DECLINED, "payment", body, partition_key=order_id)
    else:
        # When the processor said yes, which may be long after checkout: the order is placed
        # then (the event itself keeps the time of the checkout it answers).
        body = {**{k: payment[k] for k in AUTHORIZED_FIELDS}, "authorizedAt": _at(payment)}
        ctx.emit(PAYMENT_AUTHORIZED, "payment", body, partition_key=order_id)
    if _cancelled_at_checkout(store, order_id):
        release(order_id, ctx)


def release(order_id: str, ctx: Context[CustomerPorts]) -> None:
    """Void the authorization of an order cancelled before it was placed, if it has one yet.

    One that comes later is voided by :func:`authorize`.
    """
    payment = ctx.ports.store.get(PAYMENTS, order_id)
    if payment is not None:
        _settle(payment, SETTLEMENTS["cancelled"], ctx)


def settle(order_id: str, order_status: str, ctx: Context[CustomerPorts]) -> None:
    """Capture a delivered order's payment; void or refund a cancelled one's.

    A delivered order whose payment cannot be captured (declined, voided or
    refunded, or its authorization expired or canceled at the processor: then stored
    :data:`CAPTURE_FAILED`) is a fault: the food went out unpaid, and a person must settle
    it. A cancelled order's void that finds the authorization expired or canceled
    (:data:`FREED`) is the payment voided; refunded whole, the payment refunded.
    """
    moves = SETTLEMENTS.get(order_status)
    if moves is None:
        return
    try:
        payment = ctx.ports.store.get(PAYMENTS, order_id)
    except InvalidKey as e:  # no order checkout made: its ids name documents
        raise BusinessRuleViolation(
            f"order {order_id!r} is {order_status} but was never paid: its id cannot name "
            f"a payment ({e.problem})"
        ) from e
    if payment is None:
        raise BusinessRuleViolation(f"order {order_id} is {order_status} but was never paid")
    if order_status == "delivered" and payment["status"] == CAPTURE_FAILED:
        raise BusinessRuleViolation(
            f"{_delivered_unpaid(payment)} (its capture was refused before: the processor was "
            "not asked again)"
        )
    if order_status == "delivered" and payment["status"] not in HOLDING:
        raise BusinessRuleViolation(
            f"order {order_id} was delivered, but its payment is {payment['status']}: "
            "nothing to capture"
        )
    _settle(payment, moves, ctx)


def _settle(
    payment: Doc, moves: dict[str, tuple[Settlement, str]], ctx: Context[CustomerPorts]
) -> None:
    """Make the move ``moves`` has for the payment's status, then announce where it stands."""
    order_id = payment["orderId"]
    if payment["status"] in moves:
        action, reached = moves[payment["status"]]
        asked = _round(payment.get("rounds", {}), action)
        key = idempotency_key(order_id, action, asked)
        reason = None
        try:
            ctx.ports.payments.settle(payment["authorizationId"], action, idempotency_key=key)
        except FailureKept as kept:
            was = payment["status"]
            ctx.ports.store.update(
                PAYMENTS,
                order_id,
                lambda stored: (
                    {**stored, "rounds": {**stored.get("rounds", {}), action: asked + 1}}
                    if stored
                    and stored["status"] == was
                    and _round(stored.get("rounds", {}), action) == asked
                    else None
                ),
            )
            raise ProcessorUnavailable(f"{kept}; asked again under a new key") from kept
        except InAnotherState as found:
            if action == "capture" and found.status in HOLDS_NOTHING:
                # Stored first, so that the fault is raised again, never lost, if this stops
                # here; the payment says for good that the order went out unpaid.
                unpaid = _move(
                    ctx.ports.store,
                    order_id,
                    payment["status"],
                    CAPTURE_FAILED,
                    f"authorization_{found.status}",
                )
                raise BusinessRuleViolation(f"{_delivered_unpaid(unpaid)} ({found})") from found
            if action == "void" and found.status == REACHES["refund"]:
                # Captured and given back by a person: the money is back, if all of it is.
                given_back = payment["amount"] if found.refunded is None else found.refunded
                if given_back < payment["amount"]:
                    raise BusinessRuleViolation(_partly_refunded(payment, given_back)) from found
                ctx.log.info(
                    "order %s: authorization %s was refunded before it was voided: the payment "
                    "is refunded",
                    order_id,
                    payment["authorizationId"],
                )
                reached, reason = REACHES["refund"], f"authorization_{found.status}"
            elif action == "void" and found.status in FREED:
                # The money is free already, as the void would have left it.
                ctx.log.info(
                    "order %s: authorization %s was %s before it was voided: the payment is voided",
                    order_id,
                    payment["authorizationId"],
                    found.status,
                )
                reason = f"authorization_{found.status}"
            elif action == "void" and found.status == "captured":
                # The money of a cancelled order was taken meanwhile: it goes back, once.
                ctx.log.warning(
                    "order %s: the void of authorization %s found it captured already (%s): "
                    "refunding it",
                    order_id,
                    payment["authorizationId"],
                    found,
                )
                captured = _move(ctx.ports.store, order_id, payment["status"], "captured")
                _settle(captured, moves, ctx)
                return
            else:
                # a refusal like any other, for a person
                raise BusinessRuleViolation(str(found)) from found
        payment = _move(ctx.ports.store, order_id, payment["status"], reached, reason)
    if payment["status"] in {reached for _, reached in moves.values()}:
        body = {k: payment[k] for k in (*AUTHORIZED_FIELDS, "status")}
        # One settlement, whichever event led here (checkout's cancellation and the late
        # authorization both void): one event id, so the repeats are duplicates.
        fact = f"{order_id}/{payment['status']}"
        ctx.emit(SETTLED[payment["status"]], "payment", body, partition_key=order_id, fact=fact)


def _delivered_unpaid(payment: Doc) -> str:
    """What the fault of a delivered order whose capture found its authorization holding
    nothing (``payment``, :data:`CAPTURE_FAILED`: its reason ``authorization_expired``...)
    says."""
    status = str(payment["reason"]).removeprefix("authorization_")
    went = (
        "expired before it was captured (the processor lets one left uncaptured lapse, Stripe "
        "after 7 days)"
        if status == EXPIRED
        else f"was {status} at the processor before it was captured"
    )
    return (
        f"order {payment['orderId']} was delivered unpaid: its authorization "
        f"{payment['authorizationId']} {went}, so its {payment['amount']} "
        f"{payment['currency']} can no longer be taken: charge the customer by other means or "
        "write it off"
    )


def _partly_refunded(payment: Doc, refunded: int) -> str:
    """What the fault of a cancelled order whose void found its authorization captured and
    refunded in part says."""
    amount = payment["amount"]
    return (
        f"order {payment['orderId']} was cancelled, but its authorization "
        f"{payment['authorizationId']} was captured and only {refunded} of its {amount} "
        f"{payment['currency']} refunded at the processor: refund the other {amount - refunded} "
        "by hand"
    )


def _stored(store: AbstractDocumentStore, payment: Doc) -> Doc:
    """The payment as stored: ``payment``, or what a concurrent delivery stored first.

    Both asked the processor with one key and one request, so both got the same
    answer; one that got another authorization is a fault for a person to void.
    """
    order_id = payment["orderId"]
    if store.create(PAYMENTS, order_id, payment):
        return payment
    stored = store.get(PAYMENTS, order_id) or payment
    ours = payment["authorizationId"]
    if ours is not None and ours != stored["authorizationId"]:
        raise BusinessRuleViolation(
            f"order {order_id}: the processor answered one authorization request twice "
            f"differently ({ours}, stored: {stored['authorizationId'] or stored['status']}); "
            f"void {ours} by hand"
        )
    return stored


def _declined(payment: Doc) -> bool:
    """Whether the order was declined for the payment: refused, or an authorization adopted
    released already; never one authorized first, whatever a settlement made of it since."""
    return payment["status"] == "declined" or payment.get("declined") is True


def _forget_card(attempt: Doc | None) -> Doc | None:
    """The attempt without its card token, once the processor's answer is stored."""
    if attempt is None or "paymentMethod" not in attempt:
        return None
    return {k: v for k, v in attempt.items() if k != "paymentMethod"}


def _cancelled_at_checkout(store: AbstractDocumentStore, order_id: str) -> bool:
    return _cancelled(store.get(ORDERS, order_id))


def _cancelled(order: Doc | None) -> bool:
    """Whether checkout cancelled the order (as read) before it was placed."""
    return order is not None and order["status"] == CANCELLED


def _authorization(
    order: Doc, token: str | None, attempt: Doc | None, ctx: Context[CustomerPorts]
) -> Doc:
    """The payment the processor's answer makes; ``attempt`` is the one noted before, if
    this asks again."""
    order_id = order["id"]
    payment = {"orderId": order_id, "amount": order["total"], "currency": order["currency"]}
    # Looked up first, card or none: what the first request made is the order's.
    stale = attempt is not None and _key_may_be_gone(attempt, ctx)
    found = _adopted(order, "first asked longer ago than keys are kept", ctx) if stale else None
    if found is not None:
        return _taken(payment, found, ctx)
    if token is None and attempt is not None:
        looked = " (none found just now)" if stale else ""
        raise BusinessRuleViolation(
            f"order {order_id}: the processor was asked to authorize it with a card no "
            f"longer known, so it cannot be asked again: find the authorization by "
            f"reference {order_id}{looked}, if any, and void it by hand"
        )
    if token is None:  # the saved card was removed before the payment was taken
        return {**payment, "authorizationId": None, "status": "declined", "reason": NO_CARD}
    outcome = _ask(order, token, attempt, ctx)
    if isinstance(outcome, Authorization):
        return _taken(payment, outcome, ctx)
    if isinstance(outcome, Declined):
        if outcome.refusal:  # not the card: our request, which a person should look at
            ctx.log.warning(
                "order %s: the processor did not authorize: %s", order_id, outcome.refusal
            )
        return {**payment, "authorizationId": None, "status": "declined", "reason": outcome.reason}
    if outcome.status == "captured":
        ctx.log.warning(
            "order %s: the processor captured authorization %s as it authorized it (does the "
            "account capture automatically?): the order is paid, a cancellation refunds it",
            order_id,
            outcome.authorization_id,
        )
    # The processor's time when it gives one: a lost answer's retry learns it minutes later.
    at = outcome.authorized_at_ms
    authorized = {"authorizationId": outcome.authorization_id, "status": outcome.status}
    return {**payment, **authorized, "authorizedAt": ctx.clock.now_ms() if at is None else at}


def _taken(payment: Doc, found: Authorization, ctx: Context[CustomerPorts]) -> Doc:
    """The payment that adopts an authorization found by reference: declined, for the
    authorization's status, when it never held the money, or holds it no more (then in the
    authorization's status, so that a cancellation announces its release)."""
    if found.status in NEVER_HELD:
        declined = {"status": "declined", "reason": f"authorization_{found.status}"}
        return {**payment, "authorizationId": found.authorization_id, **declined}
    at = found.authorized_at_ms
    adopted: Doc = {"authorizationId": found.authorization_id, "status": found.status}
    if found.status in RELEASED:
        # An adopted authorization released already pays for nothing: the order is declined.
        adopted["declined"] = True
    return {**payment, **adopted, "authorizedAt": ctx.clock.now_ms() if at is None else at}


def _ask(
    order: Doc, token: str, attempt: Doc | None, ctx: Context[CustomerPorts]
) -> Authorized | Declined | Authorization:
    """The processor's answer to the order's authorization, asked under the attempt's key.

    A failure the processor keeps under the key ended the request: what it made, if
    anything, is adopted; if nothing, the order is declined if checkout cancelled it
    meanwhile, else the attempt moves on to the next key, asked with on the redelivery.
    Only from the key this delivery asked with: a concurrent delivery that saw the same
    failure asks with the key the first one moved to, never a third.
    """
    order_id, asked = order["id"], _round(attempt)
    try:
        return ctx.ports.payments.authorize(
            reference=order_id,
            amount=order["total"],
            currency=order["currency"],
            payment_method=token,
            idempotency_key=idempotency_key(order_id, "authorize", asked),
        )
    except FailureKept as kept:
        found = _adopted(order, "the processor kept a failure under the key", ctx)
        if found is not None:
            return found
        if _cancelled_at_checkout(ctx.ports.store, order_id):
            # Nothing held, and nothing wanted any more: never asked anew (to be voided).
            ctx.log.info("order %s: %s; cancelled meanwhile: not asked again", order_id, kept)
            return Declined(CANCELLED_FIRST)
        now = ctx.clock.now_ms()
        ctx.ports.store.update(
            ATTEMPTS,
            order_id,
            lambda noted: (
                {**noted, "round": asked + 1, "askedAt": now}
                if noted and _round(noted) == asked
                else None
            ),
        )
        raise ProcessorUnavailable(
            f"{kept}; nothing found by reference {order_id}: asked again under a new key"
        ) from kept


def idempotency_key(order_id: str, action: str, asked: int) -> str:
    """The idempotency key of the order's ``action`` (``authorize``, ``capture``...) in its
    ``asked``-th round (from 0): a round ends with a failure the processor keeps under its
    key, and the next asks under ``{orderId}:{action}:2``, then ``:3``."""
    return f"{order_id}:{action}" if asked == 0 else f"{order_id}:{action}:{asked + 1}"


def _round(noted: Doc | None, field: str = "round") -> int:
    """Which key (see :func:`idempotency_key`) ``noted[field]`` says to ask with."""
    asked = (noted or {}).get(field, 0)
    return asked if isinstance(asked, int) and not isinstance(asked, bool) else 0


def _key_may_be_gone(attempt: Doc, ctx: Context[CustomerPorts]) -> bool:
    """Whether the processor may have pruned the attempt's key: first asked longer ago than
    it surely keeps keys, or at a time unknown (noted before attempts kept it)."""
    asked = attempt.get("askedAt")
    return not isinstance(asked, int) or ctx.clock.now_ms() - asked > KEY_SAFE_WINDOW_MS


def _adopted(order: Doc, why: str, ctx: Context[CustomerPorts]) -> Authorization | None:
    """The authorization the processor holds for the order, found by its reference (looked
    up as ``why`` says): of those for the order's amount and currency, the oldest still
    authorized, else the oldest captured, else the oldest; ``None`` when there is none by the
    reference. One in a status payments cannot tell is a fault for a person."""
    order_id = order["id"]
    found = ctx.ports.payments.find(order_id)
    if not found:
        return None
    fitting = [a for a in found if _fits(a, order)]
    if not fitting:
        listed = ", ".join(f"{a.authorization_id} {a.amount} {a.currency}" for a in found)
        raise BusinessRuleViolation(
            f"order {order_id}: {why}, and the authorizations found by reference {order_id} "
            f"({listed}) hold none of its {order['total']} {order['currency']}: settle them "
            "by hand"
        )
    holding = sorted(
        (a for a in fitting if a.status in HOLDING), key=lambda a: HOLDING.index(a.status)
    )
    adopted = holding[0] if holding else fitting[0]
    if adopted.status not in ADOPTABLE | NEVER_HELD:
        raise BusinessRuleViolation(
            f"order {order_id}: {why}, and the authorization found by reference {order_id}, "
            f"{adopted.authorization_id}, is {adopted.status}: settle it by hand"
        )
    others = [a.authorization_id for a in found if a is not adopted]
    if others:
        ctx.log.warning(
            "order %s: adopted authorization %s; the processor holds others by its reference "
            "(%s): void any still authorized by hand",
            order_id,
            adopted.authorization_id,
            ", ".join(others),
        )
    if adopted.status == "captured":
        # Nothing here captures before delivery: a person did, and the order pays with it
        # (captured at delivery, refunded if cancelled), but should know.
        ctx.log.warning(
            "order %s: adopted authorization %s was captured before the order was placed",
            order_id,
            adopted.authorization_id,
        )
    ctx.log.info(
        "order %s: %s: adopted %s (%s), found by reference",
        order_id,
        why,
        adopted.authorization_id,
        adopted.status,
    )
    return adopted


def _fits(found: Authorization, order: Doc) -> bool:
    """Whether an authorization found holds the order's amount and currency, as far as the
    processor says."""
    return found.amount in (None, order["total"]) and found.currency in (None, order["currency"])


def _at(payment: Doc) -> int | None:
    """When the payment was authorized; ``None`` for one stored before that was noted."""
    at: int | None = payment.get("authorizedAt")
    return at


def _move(
    store: AbstractDocumentStore, order_id: str, was: str, now: str, reason: str | None = None
) -> Doc:
    """The payment moved from ``was`` to ``now`` (for ``reason``, if given); a lost race is
    retried by redelivery."""
    moved_to = {"status": now} if reason is None else {"status": now, "reason": reason}
    moved = store.update(
        PAYMENTS,
        order_id,
        lambda payment: {**payment, **moved_to} if payment and payment["status"] == was else None,
    )
    if moved is None:
        raise ConflictError(f"the payment of order {order_id} left {was} meanwhile")
    return moved
