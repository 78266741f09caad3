"""Each restaurant's point of sale signs its callbacks with a key of its own.

A restaurant's key is derived from the platform's one POS secret
(``POS_WEBHOOK_SECRET``): the hex HMAC-SHA256, keyed with that secret, of
:data:`KEY_LABEL` followed by the restaurant id. The platform stores no key per
restaurant, yet a point of sale that knows its own key cannot sign for another
restaurant; rotating the secret rotates every key. ``fooddelivery pos-key``
prints a restaurant's key for whoever sets up its point of sale.
"""

from __future__ import annotations

import hashlib
import hmac

KEY_LABEL = "fooddelivery pos callback key v1:"


def restaurant_key(secret: str, restaurant_id: str) -> str:
    """The key the point of sale of ``restaurant_id`` signs its callbacks with."""
    message = (KEY_LABEL + restaurant_id).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
