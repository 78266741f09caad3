"""``python -m fakes.push_provider [--port 8703] [--api-key KEY]``."""

from __future__ import annotations

import argparse
import sys

from fakes.push_provider import DEFAULT_API_KEY, DEFAULT_PORT, create_app
from fakes.server import main

parser = argparse.ArgumentParser(
    prog="python -m fakes.push_provider", description="The fake push-notification provider."
)
parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the accepted bearer key")

if __name__ == "__main__":
    sys.exit(main(create_app, name="push provider", default_port=DEFAULT_PORT, parser=parser))
