"""Pub/Sub pushes to a function only once its push identity may invoke it.

Until Cloud Run grants the push identity ``roles/run.invoker``, every push is refused (403),
retried with the channel's backoff, and after ``max_delivery_attempts`` dead-lettered to
``faults``: events published meanwhile become faults to resubmit by hand. So every push
subscription is made after the grant. ``modules/function`` orders its own subscription with
``depends_on``; a bridge (``modules/bridge``, an ingress's subscription on a sister's
``external`` topic) is made from the URL that ``modules/system`` takes from the consumer's
``modules/subsystem``, which takes it from ``modules/function``'s ``url`` output: that output
must wait for the grant, or the bridge's subscription can come first, the grant's own
resource being created only after the function it names.
"""

from __future__ import annotations

import re

GRANT = "google_cloud_run_v2_service_iam_member.invoker"


def test_the_functions_own_subscription_waits_for_the_invoker_grant(modules):
    subscription = modules["modules/function"]["resource"]["google_pubsub_subscription.push"]
    assert subscription["push_config"][0]["push_endpoint"] == "${local.run_uri}"
    assert f"${{{GRANT}}}" in subscription["depends_on"]


def test_a_bridge_pushes_to_a_url_handed_out_after_the_invoker_grant(modules):
    bridge = modules["modules/system"]["module"]["bridge"]
    endpoint = re.fullmatch(
        r"\$\{module\.subsystem\[[^\]]+\]\.(\w+)\[[^\]]+\]\}", bridge["push_endpoint"]
    )
    assert endpoint is not None, bridge["push_endpoint"]
    passed_on = modules["modules/subsystem"]["output"][endpoint.group(1)]["value"]
    output = re.fullmatch(
        r"\$\{\{for name, fn in module\.function : name => fn\.(\w+)\}\}", passed_on
    )
    assert output is not None, passed_on

    url = modules["modules/function"]["output"][output.group(1)]
    assert url["value"] == "${local.run_uri}"
    assert f"${{{GRANT}}}" in url.get("depends_on", []), (
        "a bridge's subscription may push before its push identity may invoke the function"
    )
