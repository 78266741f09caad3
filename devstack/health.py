"""Whether a host or fake of a stack answers: ``GET /healthz``."""

from __future__ import annotations

import urllib.error
import urllib.request


def healthy(base_url: str) -> bool:
    """True when ``GET {base_url}/healthz`` answers 200."""
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False
