"""The knowledge base's list pages and the suggestions take a fixed number of queries,
whatever the number of articles."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from knowledge.models import Category

PG = connection.vendor == "postgresql"


@pytest.fixture
def many(it, write):
    category = Category.objects.create(department=it, name="Printing")
    for n in range(6):
        write(f"Printer problem {n}", category=category if n % 2 else None)
    write("Printer draft", status="draft")


# Every page: session, user, memberships (visibility, cached for the navigation). Then:
@pytest.mark.parametrize(
    ("name", "args", "query", "queries"),
    [
        # departments with counts, their rows
        ("kb_home", [], {}, 5),
        # the search (PostgreSQL: ids and ranks, then the rows), its log row
        ("kb_search", [], {"q": "printer"}, 6 if PG else 5),
        # department; its articles with categories; drafts (none for employees)
        ("kb_department", ["IT"], {}, 5),
        # department; the suggestions; the session, its suggestions, its search-log row
        # looked up and updated, inside savepoints (the test's transaction)
        ("kb_suggest", ["IT"], {"title": "printer", "kb_session": "s" * 30}, 16),
    ],
)
def test_list_pages_take_a_fixed_number_of_queries(
    client, requester, many, django_assert_num_queries, name, args, query, queries
):
    client.force_login(requester)
    url = reverse(name, args=args)
    client.get(url, query)  # warm: the session exists
    with django_assert_num_queries(queries):
        assert client.get(url, query).status_code == 200
