"""Every generated subscription filter fits Pub/Sub's limit of 256 bytes.

A channel's routing rule becomes its subscription's ``filter``; Pub/Sub refuses a longer one
("The maximum length of a filter is 256 bytes", the ``filter`` argument of
``google_pubsub_subscription``), and only ``terraform apply`` would say so. Several filters
are within a few bytes of it, so one more event type on a channel can cross it.
"""

from __future__ import annotations

import pytest

from .test_drift import ENVIRONMENTS, committed

MAX_FILTER_BYTES = 256


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_subscription_filter_fits_pubsub(env):
    too_long = {
        f"{name}/{fn_name}": len(fn["subscription"]["filter"].encode())
        for name, sub in committed(env).items()
        for fn_name, fn in sub["functions"].items()
        if fn["subscription"] is not None
        and len(fn["subscription"]["filter"].encode()) > MAX_FILTER_BYTES
    }
    assert too_long == {}, f"filters longer than {MAX_FILTER_BYTES} bytes (bytes by function)"
