"""Drafts and internal articles are never shown to employees: not on any page, not in
search, not in the filing suggestions; each view's 403 and 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from knowledge.models import Article
from knowledge.selectors import article_access, article_list_visible_to
from tests.factories import DepartmentFactory, agent_of


@pytest.fixture
def three(published, draft, internal):
    return published, draft, internal


def test_employee_sees_published_public_articles_only(requester, three):
    assert list(article_list_visible_to(user=requester)) == [three[0]]


def test_agent_of_another_department_sees_what_employees_see(hr_agent, three):
    assert list(article_list_visible_to(user=hr_agent)) == [three[0]]


def test_agent_of_the_department_also_reads_internal_articles(it_agent2, three):
    published, _, internal = three
    assert set(article_list_visible_to(user=it_agent2)) == {published, internal}


def test_articles_of_an_inactive_department_are_hidden_from_employees(it, requester, published):
    it.is_active = False
    it.save()
    assert not article_list_visible_to(user=requester).exists()


@pytest.mark.parametrize("which", [1, 2])
def test_employee_gets_404_for_drafts_and_internal_articles(client, requester, three, which):
    client.force_login(requester)
    article = three[which]
    assert client.get(reverse("kb_article", args=[article.slug])).status_code == 404
    assert client.get(reverse("kb_article", args=["no-such-article"])).status_code == 404
    with pytest.raises(Exception, match="No such article"):
        article_access(user=requester, slug=article.slug)


def test_department_page_lists_drafts_for_agents_only(client, requester, it_agent2, three):
    published, draft, internal = three
    client.force_login(requester)
    html = client.get(reverse("kb_department", args=["IT"])).content.decode()
    assert published.title in html
    assert draft.title not in html and internal.title not in html
    client.force_login(it_agent2)
    html = client.get(reverse("kb_department", args=["IT"])).content.decode()
    assert draft.title in html and internal.title in html and "New article" in html


def test_search_never_finds_drafts_or_internal_articles_for_employees(client, requester, write):
    write("Printer guide", status="draft")
    write("Printer procedure", is_internal=True)
    write("Printer help")
    client.force_login(requester)
    response = client.get(reverse("kb_search"), {"q": "printer"})
    assert [a.title for a in response.context["result"].articles] == ["Printer help"]


def test_search_finds_drafts_for_nobody(client, it_agent, write):
    write("Printer guide", status="draft")
    client.force_login(it_agent)
    response = client.get(reverse("kb_search"), {"q": "printer"})
    assert response.context["result"].articles == []


def test_suggestions_never_show_drafts_or_internal_articles(client, requester, it_type, write):
    write("Printer guide", status="draft")
    write("Printer procedure", is_internal=True)
    client.force_login(requester)
    response = client.get(reverse("kb_suggest", args=["IT"]), {"title": "printer"})
    assert response.status_code == 200
    assert response.context["result"].articles == []


def test_home_counts_only_visible_articles(client, requester, three):
    client.force_login(requester)
    response = client.get(reverse("kb_home"))
    assert [(s.department.code, s.articles) for s in response.context["shelves"]] == [("IT", 1)]


def test_pages_need_sign_in(client, published):
    for url in (
        reverse("kb_home"), reverse("kb_search"), reverse("kb_department", args=["IT"]),
        reverse("kb_article", args=[published.slug]),
    ):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_unknown_or_inactive_department_is_not_found(client, requester):
    DepartmentFactory(code="OLD", is_active=False)
    client.force_login(requester)
    for code in ("NOPE", "OLD"):
        assert client.get(reverse("kb_department", args=[code])).status_code == 404
        assert client.get(reverse("kb_search"), {"q": "x", "department": code}).status_code == 404


def test_only_the_departments_agents_write_and_edit(client, requester, hr_agent, published, it):
    client.force_login(requester)
    assert client.get(reverse("kb_article_new", args=["IT"])).status_code == 404
    assert client.get(reverse("kb_article_edit", args=[published.slug])).status_code == 403
    client.force_login(hr_agent)
    assert client.post(reverse("kb_article_new", args=["IT"]), {}).status_code == 404
    assert client.post(reverse("kb_article_edit", args=[published.slug]), {}).status_code == 403


def test_agent_writes_and_edits_through_the_pages(client, it_agent):
    client.force_login(it_agent)
    data = {
        "title": "Badge lost", "body": "Call **security**.", "status": "published",
        "owner": it_agent.pk,
    }  # fmt: skip
    response = client.post(reverse("kb_article_new", args=["IT"]), data)
    article = Article.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "kb_article", args=["badge-lost"]
    )
    response = client.post(reverse("kb_article_edit", args=[article.slug]), {**data, "title": ""})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    client.post(reverse("kb_article_edit", args=[article.slug]), {**data, "status": "draft"})
    article.refresh_from_db()
    assert article.status == "draft"


def test_internal_article_page_for_agents_says_so(client, it, internal):
    client.force_login(agent_of(it, username="ivy"))
    html = client.get(reverse("kb_article", args=[internal.slug])).content.decode()
    assert "Internal" in html and "Re-imaging procedure" in html


def test_article_page_renders_the_sanitised_body(client, requester, write):
    article = write("Tricky", "Hello <script>alert(1)</script> **world**")
    client.force_login(requester)
    html = client.get(reverse("kb_article", args=[article.slug])).content.decode()
    assert "<strong>world</strong>" in html and "<script>alert(1)" not in html
