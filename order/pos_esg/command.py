"""``fooddelivery pos-key RESTAURANT_ID``: the key a restaurant's point of sale signs with.

Whoever connects a restaurant's point of sale gives it this key (never the
platform's secret, which would let it sign for every restaurant). The secret is
read from standard input, byte for byte, so it never shows in a process list::

    gcloud secrets versions access latest --secret pos-webhook-secret \\
        --project acme-fd-order-dev | fooddelivery pos-key r-1
"""

from __future__ import annotations

import argparse
import sys

from order.pos_esg.keys import restaurant_key
from shared.auth.principal import is_name

USAGE_HINT = (
    "pipe the platform's POS webhook secret in, e.g. gcloud secrets versions access "
    "latest --secret pos-webhook-secret --project PROJECT | fooddelivery pos-key RESTAURANT_ID"
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pos-key`` to the ``fooddelivery`` command."""
    parser = commands.add_parser(
        "pos-key",
        help="print the key a restaurant's point of sale signs its callbacks with",
        description="Print the key a restaurant's point of sale signs its callbacks with, "
        "derived from the platform's POS webhook secret read from standard input.",
    )
    parser.add_argument(
        "restaurant_id", metavar="RESTAURANT_ID", help="the restaurant whose key to print, e.g. r-1"
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if not is_name(args.restaurant_id) or not _utf8(args.restaurant_id):
        print(
            f"fooddelivery pos-key: {args.restaurant_id!r} is not a restaurant id "
            "(no whitespace, '/', ':' or '@'; at most 128 characters)",
            file=sys.stderr,
        )
        return 2
    if sys.stdin is None or sys.stdin.isatty():  # None: started with stdin closed (<&-)
        print(f"fooddelivery pos-key: {USAGE_HINT}", file=sys.stderr)
        return 2
    try:
        secret = sys.stdin.read()
        secret.encode()  # the key is derived from the secret's UTF-8 bytes
    except UnicodeError:
        print(
            f"fooddelivery pos-key: the secret on standard input is not UTF-8 text; {USAGE_HINT}",
            file=sys.stderr,
        )
        return 2
    if not secret:
        print(
            f"fooddelivery pos-key: the secret on standard input is empty; {USAGE_HINT}",
            file=sys.stderr,
        )
        return 2
    if secret.endswith("\n"):
        print(
            "fooddelivery pos-key: note: the secret read ends with a newline, which is "
            "part of it (pipe it with printf %s if it was not stored with one)",
            file=sys.stderr,
        )
    print(restaurant_key(secret, args.restaurant_id))
    return 0


def _utf8(text: str) -> bool:
    """Whether ``text`` is UTF-8 text: an argument that is not holds surrogates."""
    try:
        text.encode()
    except UnicodeError:
        return False
    return True
