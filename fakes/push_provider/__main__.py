"""``python -m fakes.push_provider [--port 8703] [--api-key KEY] [--key-retention-s S]``."""

from __future__ import annotations

import argparse
import sys

from fakes.idempotency import DEFAULT_KEY_RETENTION_S
from fakes.push_provider import DEFAULT_API_KEY, DEFAULT_PORT, create_app
from fakes.server import main

parser = argparse.ArgumentParser(
    prog="python -m fakes.push_provider", description="The fake push-notification provider."
)
parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the accepted bearer key")
parser.add_argument(
    "--key-retention-s",
    type=float,
    default=DEFAULT_KEY_RETENTION_S,
    help="seconds an idempotency key is kept after its first use (default a day)",
)

if __name__ == "__main__":
    sys.exit(main(create_app, name="push provider", default_port=DEFAULT_PORT, parser=parser))
