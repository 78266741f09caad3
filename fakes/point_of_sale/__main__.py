"""``python -m fakes.point_of_sale [--port 8702] [--api-key KEY] [--webhook-secret S]
[--auto-answer-s SEC] [--key-retention-s S]``."""

from __future__ import annotations

import argparse
import sys

from fakes.idempotency import DEFAULT_KEY_RETENTION_S
from fakes.point_of_sale import DEFAULT_API_KEY, DEFAULT_PORT, DEFAULT_WEBHOOK_SECRET, create_app
from fakes.server import main

parser = argparse.ArgumentParser(
    prog="python -m fakes.point_of_sale", description="The fake restaurant point of sale."
)
parser.add_argument(
    "--api-key", default=DEFAULT_API_KEY, help="the bearer key the platform's calls need"
)
parser.add_argument(
    "--webhook-secret", default=DEFAULT_WEBHOOK_SECRET, help="the HMAC key of the callbacks"
)
parser.add_argument(
    "--auto-answer-s",
    type=float,
    default=None,
    metavar="SECONDS",
    help="accept each new order after SECONDS, then mark it ready after SECONDS more",
)
parser.add_argument(
    "--key-retention-s",
    type=float,
    default=DEFAULT_KEY_RETENTION_S,
    help="seconds an idempotency key is kept after its first use (default a day)",
)

if __name__ == "__main__":
    sys.exit(main(create_app, name="point of sale", default_port=DEFAULT_PORT, parser=parser))
