"""Search ranks by relevance and tolerates word forms, on SQLite (term matching) and on
PostgreSQL (the stored, weighted search vector): every test here runs on both."""

from __future__ import annotations

import pytest
from django.db import connection

from knowledge import services
from knowledge.models import Article
from knowledge.search import article_search, crude_stem, search_terms
from knowledge.selectors import article_list_visible_to


def titles(user, query, **kwargs):
    result = article_search(articles=article_list_visible_to(user=user), query=query, **kwargs)
    return [a.title for a in result.articles]


@pytest.fixture
def shelf(write):
    write("Printer is jammed", "Open tray 2 and pull the paper out gently.")
    write("Order toner", "Toner for every printer is ordered through the catalogue.")
    write("Set up the VPN", "Install the client; it asks for your badge number.")
    write("Forgotten password", "Reset it at the self-service portal, then wait a minute.")
    write("Reset the VPN token", "Passwords do not help here: the token must be re-enrolled.")


def test_title_match_ranks_above_body_match(requester, shelf):
    assert titles(requester, "printer") == ["Printer is jammed", "Order toner"]


def test_word_forms_match(requester, shelf):
    assert titles(requester, "printers")[0] == "Printer is jammed"
    assert titles(requester, "passwords")[0] == "Forgotten password"
    assert "Forgotten password" in titles(requester, "resetting")


def test_every_word_is_required_when_some_article_has_them_all(requester, shelf):
    assert titles(requester, "reset vpn") == ["Reset the VPN token"]


def test_any_word_will_do_when_no_article_has_them_all(requester, shelf):
    result = article_search(articles=article_list_visible_to(user=requester), query="toner badge")
    assert not result.matched_all
    assert {a.title for a in result.articles} == {"Order toner", "Set up the VPN"}


def test_unfinished_last_word_matches_as_a_prefix(requester, shelf):
    assert titles(requester, "forgotten passw", prefix=True) == ["Forgotten password"]


def test_nothing_and_stop_words_find_nothing(requester, shelf):
    assert titles(requester, "") == []
    assert titles(requester, "how do I the") == []
    assert titles(requester, "zebra") == []


def test_query_syntax_is_not_sql_or_tsquery(requester, shelf):
    # tsquery operators, LIKE wildcards and quotes are only separators.
    assert titles(requester, "printer & | ! ( ) : * ' %_ \\") == [
        "Printer is jammed",
        "Order toner",
    ]
    assert titles(requester, "%") == []


def test_edits_are_searchable_at_once(it_agent, requester, write):
    article = write("Old title", "Nothing to see.")
    services.article_update(
        article=article, actor=it_agent, title="Badge reader broken", body="Call security.",
        category=None, is_internal=False, status="published", owner=it_agent,
    )  # fmt: skip
    assert titles(requester, "badge") == ["Badge reader broken"]
    assert titles(requester, "old") == []


def test_terms_and_stems():
    assert search_terms("How do I reset MY Password's?") == ["reset", "passwords"]
    assert crude_stem("printers") == "printer"
    assert crude_stem("resetting") == "reset"
    assert crude_stem("configuration") == "configur"
    assert crude_stem("vpn") == "vpn"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the search vector is PostgreSQL's")
def test_search_vector_weights_title_a_and_body_b(published):
    vector = Article.objects.values_list("search_vector", flat=True).get(pk=published.pk)
    # "Connect to the VPN" / "Open the **VPN** client and sign in with your badge."
    assert "'connect':1A" in vector and "'badg':14B" in vector and "'vpn':4A,7B" in vector


def test_title_matches_come_first_even_beyond_the_candidate_cap(requester, write, monkeypatch):
    """PostgreSQL ranks a bounded set of candidates; the articles whose title matches are
    candidates of their own, so many body-only matches written earlier cannot hide one."""
    from knowledge import search

    monkeypatch.setattr(search, "CANDIDATES", 2)
    monkeypatch.setattr(search, "TITLE_CANDIDATES", 1)
    for n in range(5):
        write(f"Note {n}", "Mentions the scanner in passing.")
    write("Scanner does not scan", "Check the cable.")
    assert titles(requester, "scanner")[0] == "Scanner does not scan"
