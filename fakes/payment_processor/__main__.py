"""``python -m fakes.payment_processor [--port 8701] [--api-key KEY] [--key-retention-s S]``."""

from __future__ import annotations

import argparse
import sys

from fakes.payment_processor import (
    DEFAULT_API_KEY,
    DEFAULT_KEY_RETENTION_S,
    DEFAULT_PORT,
    create_app,
)
from fakes.server import main

parser = argparse.ArgumentParser(
    prog="python -m fakes.payment_processor", description="The fake payment processor."
)
parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the accepted bearer key")
parser.add_argument(
    "--key-retention-s",
    type=float,
    default=DEFAULT_KEY_RETENTION_S,
    help="seconds an idempotency key is kept after its first use (default a day)",
)

if __name__ == "__main__":
    sys.exit(main(create_app, name="payment processor", default_port=DEFAULT_PORT, parser=parser))
