"""Pub/Sub may sign the OIDC token of every identity it pushes to a private function as.

Pub/Sub push subscriptions call the consumers as ``push-invoker``; Eventarc delivers
Firestore events through a Pub/Sub push subscription of its own, which calls the triggers as
``eventarc-invoker``. Google's Pub/Sub service agent mints those tokens, and one enabled
before April 8, 2021 (a project deployed into with ``create_projects = false``) needs
``roles/iam.serviceAccountTokenCreator`` on the identity to do so (Eventarc: "Roles and
permissions"; Pub/Sub: "Authentication for push subscriptions"); without it every delivery
is refused. New projects do not need it, and granting it there is harmless.
"""

from __future__ import annotations

import re

from .test_first_apply import console, for_each

SIGNER = re.compile(r'google_service_account\.invoker\["(\w+)"\]\.email')
PUSHED_AS = ("push_subscription", "firestore_trigger")
"""The function module's inputs whose identity Pub/Sub pushes as (subscriptions, Eventarc)."""
GRANT = "google_service_account_iam_member.push_token_creator"


def test_pubsub_may_sign_for_every_identity_it_pushes_as(modules, tmp_path):
    subsystem = modules["modules/subsystem"]
    call = subsystem["module"]["function"]
    signers = {key for name in PUSHED_AS for key in SIGNER.findall(call[name])}
    assert signers == {"push", "eventarc"}, "the invoker identities changed: update this test"

    grant = subsystem["resource"][GRANT]
    assert grant["role"] == "roles/iam.serviceAccountTokenCreator"
    assert grant["member"] == "serviceAccount:${local.pubsub_service_agent}"
    if "for_each" in grant:
        assert grant["service_account_id"] == "${google_service_account.invoker[each.key].name}"
        granted = set(console(for_each(grant), {}, tmp_path))
    else:
        granted = set(re.findall(r'invoker\["(\w+)"\]', grant["service_account_id"]))
    assert sorted(signers - granted) == [], "identities Pub/Sub cannot sign for"


def test_nothing_pushes_before_pubsub_may_sign_its_tokens(modules):
    """The functions' subscriptions and Eventarc triggers (and, through the function's ``url``,
    the bridges: ``test_ingress_invokers``) are made after the grant: a push Pub/Sub cannot
    sign is refused, and after ``max_delivery_attempts`` dead-lettered."""
    call = modules["modules/subsystem"]["module"]["function"]
    assert f"${{{GRANT}}}" in call["depends_on"]
