"""Whether a host or fake of a stack answers: ``GET /healthz``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

NO_ANSWER = "no answer to /healthz"
"""What :func:`unhealthy_because` says of a host or fake that does not answer."""


def healthy(base_url: str) -> bool:
    """True when ``GET {base_url}/healthz`` answers 200."""
    return unhealthy_because(base_url) is None


def unhealthy_because(base_url: str) -> str | None:
    """Why ``GET {base_url}/healthz`` does not answer 200 (the problems a host names in its
    503), or ``None`` when it does."""
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
            return None if response.status == 200 else f"/healthz answered {response.status}"
    except urllib.error.HTTPError as error:
        try:
            problems = json.loads(error.read()).get("problems") or []
        except (ValueError, AttributeError, OSError):
            problems = []
        return "; ".join(map(str, problems)) or f"/healthz answered {error.code}"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return NO_ANSWER
