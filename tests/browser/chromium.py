"""Debian's Chromium driven by Playwright, for every browser test.

Needs `pip install '.[browser]'` and Chromium (`apt-get install chromium`). Without them a
browser test is skipped, except in CI (CI=true), where it fails: the journeys must run there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def missing() -> str:
    """Why the browser tests cannot run here, or "" if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install '.[browser]')"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
    return ""


def require_browser() -> None:
    """Skip the test without a browser, or fail it in CI."""
    problem = missing()
    if problem and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {problem}")
    if problem:
        pytest.skip(problem)
