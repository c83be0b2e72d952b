"""Fixtures of the journeys: the real stack (stack.py), one headless Chromium, and per
journey a `Journey` that signs people in, takes numbered screenshots of the key steps and
runs the accessibility check.

Screenshots go to $SERVICEDESK_VAR_DIR/journeys/<journey>/NN-step.png (var/journeys/ by
default; CI: var/ci-embedded/journeys/ and var/ci-services/journeys/), the stack's logs to
.../journeys/stack/. Both stay after the run; a failing journey also gets a screenshot of
every page it had open (99-failure-K.png), and its report shows the end of the stack's logs.
"""

from __future__ import annotations

import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.browser.journeys import axe
from tests.browser.journeys.stack import Stack

PASSWORD = "demo"  # seed_demo's password for every demo user
# Runs last among the journeys: its ticket is filed when the stack starts, and its one
# minute runs out while the other journeys run.
LAST = "test_an_sla_breach_escalates_to_the_lead"
PROCESS_LOGS = ("web", "worker", "beat")


def journeys_dir() -> Path:
    return Path(settings.VAR_DIR) / "journeys"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """After any shuffling (pytest-randomly), move the breach journey to the end of its
    module, leaving every other test where it is."""
    slots = [i for i, item in enumerate(items) if item.path.parent == Path(__file__).parent]
    ours = [items[i] for i in slots]
    ordered = [i for i in ours if i.name != LAST] + [i for i in ours if i.name == LAST]
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    journey = funcargs.get("journey") or getattr(funcargs.get("breach"), "journey", None)
    if journey is not None:
        if report.when == "call":
            journey.screenshot_everything()
        report.sections.append(("journey screenshots", f"in {journey.folder}"))
    stack = funcargs.get("stack") or getattr(journey, "stack", None)
    if stack is not None:
        report.sections.append(
            ("servicedesk stack: end of its logs", stack.log_tail(names=PROCESS_LOGS))
        )


SUMMARY: list[str] = []
SPENT: Counter[str] = Counter()  # seconds, by kind of step, over every journey


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Where the screenshots and logs are, and how long the stack took: in every run's
    output (CI's log), whether the journeys passed or not."""
    if SUMMARY:
        terminalreporter.section("browser journeys")
        for line in SUMMARY:
            terminalreporter.write_line(line)


@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    require_browser()
    root = journeys_dir()
    shutil.rmtree(root, ignore_errors=True)  # the screenshots and logs of the last run
    stack = Stack(log_dir=root / "stack")
    try:
        stack.start()
    except BaseException:
        SUMMARY.append(f"The stack did not start ({stack.mode}); its logs: {root}/stack/")
        print(stack.log_tail())
        stack.stop()
        raise
    started = time.monotonic()
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in stack.timings.items())
    SUMMARY.append(f"Stack: {stack.describe()}; started in {timings}.")
    yield stack
    stopping = time.monotonic()
    stack.stop()
    stops = ", ".join(f"{k} {v:.1f} s" for k, v in stack.timings.items() if k.endswith(" stop"))
    spent = ", ".join(f"{kind} {seconds:.0f} s" for kind, seconds in SPENT.most_common())
    SUMMARY.append(
        f"Journeys ran {stopping - started:.0f} s (of which {spent}); the stack stopped in "
        f"{time.monotonic() - stopping:.1f} s ({stops})."
    )
    SUMMARY.append(f"Screenshots of every step and the stack's logs: {root}/")


@pytest.fixture(scope="package")
def browser(stack: Stack) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Journey:
    """One journey's people (a browser context each), screenshots and checks."""

    def __init__(self, *, name: str, stack: Stack, browser: Any, folder: Path) -> None:
        self.name = name
        self.stack = stack
        self.browser = browser
        self.folder = folder
        self.pages: list[Any] = []
        self.step = 0

    def url(self, path: str) -> str:
        return self.stack.url + path

    def sign_in(self, username: str, *, form: bool = False) -> Any:
        """A browser of one's own (its own cookies), signed in: through the login form if
        `form` (the page is then where the form led), otherwise with a session made for the
        run (stack_data.signed_in_sessions: a password check costs a second of CPU; the
        page is blank until the journey opens one)."""
        started = time.monotonic()
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        if form:
            page.goto(self.url("/login/"))
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/login/" not in url)
            assert "/login/" not in page.url, f"{username} could not sign in"
        else:
            key = self.stack.session_key(username)
            context.add_cookies([{"name": "sessionid", "value": key, "url": self.stack.url}])
        self.pages.append(page)
        SPENT["signing in"] += time.monotonic() - started
        return page

    def anonymous(self) -> Any:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        self.pages.append(page)
        return page

    def shot(self, page: Any, step: str) -> Path:
        self.step += 1
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self.step:02d}-{slug}.png"
        started = time.monotonic()
        page.screenshot(path=str(path), full_page=True)
        SPENT["screenshots"] += time.monotonic() - started
        return path

    def check_accessibility(self, page: Any, screen: str) -> None:
        started = time.monotonic()
        found = axe.violations(page)
        SPENT["accessibility checks"] += time.monotonic() - started
        assert not found, (
            f"Accessibility ({screen}, {page.url}): {len(found)} serious or critical "
            f"violation(s):\n{axe.describe(found)}"
        )

    def screenshot_everything(self) -> None:
        for number, page in enumerate(self.pages, start=1):
            if page.is_closed():
                continue
            try:
                page.screenshot(path=str(self.folder / f"99-failure-{number}.png"), full_page=True)
            except Exception as error:
                print(f"could not take a failure screenshot of {page.url}: {error}")

    def close(self) -> None:
        for page in self.pages:
            page.context.close()
        self.pages.clear()


@pytest.fixture
def journey(request: pytest.FixtureRequest, stack: Stack, browser: Any) -> Iterator[Journey]:
    name = request.node.name.removeprefix("test_")
    folder = journeys_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    journey = Journey(name=name, stack=stack, browser=browser, folder=folder)
    yield journey
    journey.close()
