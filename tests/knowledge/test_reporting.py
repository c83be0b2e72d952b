"""The lead dashboard's help-articles section: views, the helpful ratio, deflections and
the searches that found nothing, per department and period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from knowledge import services
from knowledge.models import FilingSession, FilingSuggestion
from knowledge.stats import knowledge_figures
from tests.factories import UserFactory

NOW = datetime(2026, 3, 16, 11, tzinfo=UTC)
SINCE, UNTIL = datetime(2026, 2, 15, tzinfo=UTC), datetime(2026, 3, 17, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def activity(it, hr, hr_agent, write, requester, colleague):
    vpn = write("Connect to the VPN")
    hr_article = write("Payslips", actor=hr_agent, department=hr)
    before = SINCE - timedelta(days=3)
    for at in (NOW, NOW, before):
        services.article_view_record(article=vpn, user=requester, now=at)
    services.article_view_record(article=hr_article, user=requester, now=NOW)
    services.article_feedback_give(article=vpn, user=requester, helpful=True, now=NOW)
    services.article_feedback_give(article=vpn, user=colleague, helpful=False, now=NOW)
    third = UserFactory(username="tess")
    services.article_feedback_give(article=vpn, user=third, helpful=True, now=NOW)
    for query, department in (("Wifi", it), ("wifi ", it), ("fax", it), ("wifi", hr), ("vpn", it)):
        services.search_record(
            query=query, department=department, result_count=int(query == "vpn"), now=NOW
        )
    services.search_record(query="wifi", department=it, result_count=0, now=before)
    # A deflection: opened, nothing filed, ten days ago; and one still inside its window.
    for token, at in (("d" * 32, NOW - timedelta(days=10)), ("e" * 32, NOW - timedelta(hours=1))):
        session = FilingSession.objects.create(
            token=token, user=requester, department=it, created_at=at
        )
        FilingSuggestion.objects.create(session=session, article=vpn, shown_at=at, opened_at=at)
    return vpn


def test_figures_count_the_department_and_period_only(it, activity):
    figures = knowledge_figures(department=it, since=SINCE, until=UNTIL, now=NOW)
    assert figures.views == 2
    assert (figures.helpful, figures.not_helpful, figures.helpful_percent) == (2, 1, 67)
    assert figures.deflections == 1
    assert figures.empty_searches == [("wifi", 2), ("fax", 1)]


def test_an_empty_period_has_no_ratio(it):
    figures = knowledge_figures(department=it, since=SINCE, until=UNTIL, now=NOW)
    assert (figures.views, figures.helpful_percent, figures.deflections) == (0, None, 0)
    assert figures.empty_searches == []


def test_figures_take_two_queries(it, activity, django_assert_num_queries):
    with django_assert_num_queries(2):
        knowledge_figures(department=it, since=SINCE, until=UNTIL, now=NOW)


def test_lead_dashboard_shows_the_section(client, it_lead, activity):
    client.force_login(it_lead)
    response = client.get(reverse("lead_dashboard", args=["IT"]))
    html = response.content.decode()
    assert response.context["knowledge"].views == 2
    assert "Help articles" in html and "Searches that found nothing" in html
    assert "<td>wifi</td>" in html and "67 %" in html


def test_previewing_a_draft_is_not_a_view(client, it, it_agent, draft):
    client.force_login(it_agent)
    assert client.get(reverse("kb_article", args=[draft.slug])).status_code == 200
    assert knowledge_figures(department=it, since=SINCE, until=UNTIL, now=NOW).views == 0
