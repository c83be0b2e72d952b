"""Suggestions while filing: the form shows the department's most relevant articles as
the title is typed; an article opened and no request filed is a deflection; filing
anyway links the articles shown to the ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from knowledge.models import FilingSession, FilingSuggestion, SearchLog, TicketArticle
from knowledge.stats import knowledge_figures
from tests.factories import TicketFactory
from tickets.models import Ticket

T0 = datetime(2026, 4, 6, 9, tzinfo=UTC)
TOKEN = "a" * 32


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def articles(write):
    return {
        "jam": write("Printer is jammed", "Open tray 2 and pull the paper out."),
        "toner": write("Order toner", "Toner for every printer comes from the catalogue."),
        "vpn": write("Set up the VPN", "Install the client."),
    }


def suggest(client, title, token=TOKEN, code="IT"):
    return client.get(reverse("kb_suggest", args=[code]), {"title": title, "kb_session": token})


def file_request(client, it_type, token=TOKEN, title="Printer jammed again"):
    url = reverse("request_new", args=["IT", it_type.pk])
    return client.post(url, {"title": title, "description": "Help", "kb_session": token})


def figures(it, now):
    return knowledge_figures(
        department=it, since=T0 - timedelta(days=1), until=T0 + timedelta(days=7), now=now
    )


def test_form_carries_a_fresh_session_token_and_asks_for_suggestions(client, requester, it_type):
    client.force_login(requester)
    html = client.get(reverse("request_new", args=["IT", it_type.pk])).content.decode()
    assert 'name="kb_session"' in html
    assert reverse("kb_suggest", args=["IT"]) in html and "input changed delay:400ms" in html
    assert not FilingSession.objects.exists()  # stored on first use only


def test_suggestions_rank_the_departments_articles(client, requester, articles, it_type):
    client.force_login(requester)
    response = suggest(client, "printer jam")
    assert [a.title for a in response.context["result"].articles] == ["Printer is jammed"]
    response = suggest(client, "print")  # typed so far: a prefix
    assert [a.title for a in response.context["result"].articles] == [
        "Printer is jammed", "Order toner",
    ]  # fmt: skip
    session = FilingSession.objects.get()
    assert (session.user, session.department.code) == (requester, "IT")
    shown = set(FilingSuggestion.objects.values_list("article__title", flat=True))
    assert shown == {"Printer is jammed", "Order toner"}
    log = SearchLog.objects.get()  # one row per session, its last query
    assert (log.query, log.result_count, log.source) == ("print", 2, "filing")


def test_other_departments_articles_are_not_suggested(client, requester, articles, hr_type):
    client.force_login(requester)
    assert suggest(client, "printer", code="HR").context["result"].articles == []


def test_opened_and_not_filed_is_a_deflection_once_the_window_passes(
    client, requester, articles, it, it_type, _frozen
):
    client.force_login(requester)
    suggest(client, "printer jam")
    jam = articles["jam"]
    response = client.get(reverse("kb_article", args=[jam.slug]), {"from": TOKEN})
    assert (
        response.status_code == 200 and "Opened from your new request" in response.content.decode()
    )
    assert FilingSuggestion.objects.get(article=jam).opened_at == T0
    assert figures(it, now=T0 + timedelta(hours=23)).deflections == 0  # window still open
    assert figures(it, now=T0 + timedelta(hours=25)).deflections == 1


def test_shown_but_not_opened_is_no_deflection(client, requester, articles, it, it_type):
    client.force_login(requester)
    suggest(client, "printer jam")
    assert figures(it, now=T0 + timedelta(days=2)).deflections == 0


def test_filing_anyway_links_the_shown_articles_and_is_no_deflection(
    client, requester, articles, it, it_type, it_agent
):
    client.force_login(requester)
    suggest(client, "printer")
    client.get(reverse("kb_article", args=[articles["jam"].slug]), {"from": TOKEN})
    response = file_request(client, it_type)
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    links = {(link.article.title, link.kind) for link in TicketArticle.objects.all()}
    assert links == {("Printer is jammed", "opened"), ("Order toner", "suggested")}
    assert FilingSession.objects.get().ticket == ticket
    assert figures(it, now=T0 + timedelta(days=2)).deflections == 0
    # The ticket's agents see them; the requester does not.
    client.force_login(it_agent)
    html = client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    assert "Read while filing" in html and "Order toner" in html
    client.force_login(requester)
    html = client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    assert "Read while filing" not in html


def test_filing_from_another_form_within_the_window_cancels_the_deflection(
    client, requester, articles, it, it_type, _frozen
):
    client.force_login(requester)
    suggest(client, "printer")
    client.get(reverse("kb_article", args=[articles["jam"].slug]), {"from": TOKEN})
    _frozen.shift(timedelta(hours=3))
    TicketFactory(request_type=it_type, created_by=requester)  # a new form, no token
    assert figures(it, now=T0 + timedelta(days=2)).deflections == 0


def test_someone_elses_token_records_nothing(client, requester, colleague, articles, it, it_type):
    client.force_login(requester)
    suggest(client, "printer")
    client.force_login(colleague)
    suggest(client, "vpn")  # the same token: refused
    client.get(reverse("kb_article", args=[articles["jam"].slug]), {"from": TOKEN})
    assert FilingSuggestion.objects.filter(opened_at__isnull=False).count() == 0
    file_request(client, it_type)
    assert not TicketArticle.objects.exists()
    assert FilingSession.objects.get().ticket is None


@pytest.mark.parametrize("token", ["", "short", "x" * 65, "bad token with spaces!!!!!!"])
def test_a_malformed_token_records_nothing_but_still_suggests(client, requester, articles, token):
    client.force_login(requester)
    response = suggest(client, "printer", token=token)
    assert response.status_code == 200 and len(response.context["result"].articles) == 2
    assert not FilingSession.objects.exists()


def test_filing_with_a_malformed_token_still_files(client, requester, it_type):
    client.force_login(requester)
    assert file_request(client, it_type, token="<script>").status_code == 302
    assert Ticket.objects.count() == 1


def test_suggestions_need_sign_in_and_a_department_taking_requests(client, requester, it):
    assert suggest(client, "printer").status_code == 302
    client.force_login(requester)
    assert suggest(client, "printer", code="NOPE").status_code == 404


def test_a_form_opened_with_nothing_typed_is_no_session(client, requester, articles):
    client.force_login(requester)
    assert suggest(client, "  ").status_code == 200  # htmx asks once on load
    assert not FilingSession.objects.exists()
