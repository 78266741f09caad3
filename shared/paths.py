"""Where the project's own files are, whatever directory a command runs from."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The checkout: the folder holding ``shared/``, the subsystems and ``terraform/``."""
LOCAL_STATE = PROJECT_ROOT / ".fooddelivery"
"""Local state that is never committed: the dev signing key, the dev stack's files."""
