"""The survey in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright) opens the link from the invitation email, picks a score, a reason that goes
with it (shown by surveys.js), writes a comment, submits and lands on the thank-you page.
A second tab opened on the same link before the answer submits too: one response.

Runs against pytest-django's live server; the whole journeys against the real stack (web,
worker and beat) are in tests/browser/journeys/. Browser requirements: tests/browser/chromium.py.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connections

from surveys.models import SurveyReason, SurveyResponse, SurveySettings, SurveyTemplate
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.factories import TicketFactory
from tickets import services
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(monkeypatch):
    require_browser()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        try:
            yield context
        finally:
            context.close()
            browser.close()
            # A connection opened while Playwright's loop ran is left open otherwise, and
            # PostgreSQL then refuses to drop the test database at the end of the run.
            connections.close_all()


@pytest.fixture
def survey_email(live_server, settings, it, it_type, requester, it_agent):
    """IT surveys at once; Rita's request is resolved; the invitation email she got."""
    settings.SITE_URL = live_server.url
    SurveySettings.objects.create(department=it, delay_minutes=0, per_person_cap_days=0)
    template = SurveyTemplate.objects.create(name="IT", department=it)
    SurveyReason.objects.create(
        template=template, label="It took too long", min_score=1, max_score=2
    )
    SurveyReason.objects.create(
        template=template, label="Quick and friendly", min_score=4, max_score=5
    )
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    mail.outbox.clear()
    services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Ticket.Status.RESOLVED)
    (message,) = [m for m in mail.outbox if "How did IT do?" in m.subject]
    return message


def test_from_the_email_link_to_the_thank_you_page(browser_page, survey_email, live_server):
    link = re.search(r"Or open the survey: (\S+)", survey_email.body).group(1)
    assert link.startswith(live_server.url + "/survey/")

    page = browser_page.new_page()
    other_tab = browser_page.new_page()
    page.goto(link)
    other_tab.goto(link)
    assert page.get_by_role("heading", name="How did we do?").is_visible()
    reason = page.get_by_label("It took too long")
    assert not reason.is_visible()  # no score chosen yet

    page.get_by_text("Dissatisfied", exact=True).click()
    assert reason.is_visible()
    assert not page.get_by_label("Quick and friendly").is_visible()
    reason.check()
    page.get_by_label("Anything you would like to tell us? (optional)").fill(
        "Fixed in the end, but it took three days."
    )
    page.get_by_role("button", name="Send my answer").click()

    page.get_by_role("heading", name="Thank you for your answer").wait_for()
    assert "2 out of 5" in page.content()
    assert page.get_by_role("button", name="Reopen my request").is_visible()

    # The second tab still shows the form; submitting it records nothing more.
    other_tab.get_by_text("Very satisfied", exact=True).click()
    other_tab.get_by_role("button", name="Send my answer").click()
    other_tab.get_by_role("heading", name="Thank you for your answer").wait_for()

    (response,) = SurveyResponse.objects.all()
    assert (response.score, response.reasons, response.comment) == (
        2,
        ["It took too long"],
        "Fixed in the end, but it took three days.",
    )
