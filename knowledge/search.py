"""Ranking articles by relevance to a query, on PostgreSQL and (simpler) on SQLite.

PostgreSQL: each article's stored `search_vector` (title weight A, body weight B, the
'english' configuration, so "printers" finds "printer") is matched against a tsquery
built from the query's words and ranked by ts_rank, through the GIN index. SQLite: each
word is cut to a crude stem ("resetting" -> "reset") and matched as a substring of the
title or body (so word forms and prefixes match); an article scores 3 per word in its
title and 1 per word in its body.

Both first require every word; if that finds nothing and there were several words, any
word will do (ranked, so articles with more of the words come first). The caller passes
the articles the user may see (knowledge.selectors): this module only ranks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import (
    Case,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import Combinable

from knowledge.models import Article

MAX_QUERY = 200
# At most this many articles are ranked on PostgreSQL: those whose title matches, then any
# that match (see _pg_ranked).
TITLE_CANDIDATES = 200
CANDIDATES = 500
MAX_TERMS = 8
CONFIG = "english"
# Words that match almost everything; PostgreSQL's 'english' configuration drops these
# (and more) itself, the SQLite fallback needs to be told.
_STOP_WORDS = """a an and are as at be but by can do does for from how i in is it my me no not
    of on or our so that the this to was we what when where which who why will with you your
    im cant cannot wont dont doesnt isnt"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
# Longest first: "ations" before "s".
SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ies", "ied", "ed", "es", "er", "ly", "s")


def search_terms(query: str) -> list[str]:
    """The query's words, lower case, without stop words and duplicates, at most
    MAX_TERMS of them. Only letters and digits: nothing of the query reaches SQL as
    syntax (tsquery operators, LIKE wildcards)."""
    terms: list[str] = []
    for word in WORD.findall(query[:MAX_QUERY].lower()):
        word = word.replace("'", "")
        if len(word) < 2 or word in STOP_WORDS or word in terms:
            continue
        terms.append(word[:40])
        if len(terms) == MAX_TERMS:
            break
    return terms


def crude_stem(word: str) -> str:
    """A stem good enough for substring matching: "printers" -> "printer",
    "resetting" -> "reset", "configuration" -> "configur", "policies" -> "polic"."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                stem = stem[:-1]  # "resett" -> "reset", "logg" -> "log"
            return stem
    return word


@dataclass
class SearchResult:
    articles: list[Article]
    terms: list[str]
    matched_all: bool  # False: no article had every word, these have some


def article_search(
    *, articles: QuerySet[Article], query: str, limit: int = 20, prefix: bool = False
) -> SearchResult:
    """The `limit` articles of `articles` most relevant to `query`, best first.

    `prefix`: the query's last word may be unfinished (typed as we speak), so it
    matches words it begins ("passw" finds "password").
    """
    terms = search_terms(query)
    if not terms:
        return SearchResult([], [], True)
    rank = _pg_ranked if connection.vendor == "postgresql" else _sqlite_ranked
    found = rank(articles, terms, limit=limit, match_any=False, prefix=prefix)
    if found or len(terms) == 1:
        return SearchResult(found, terms, True)
    found = rank(articles, terms, limit=limit, match_any=True, prefix=prefix)
    return SearchResult(found, terms, False)


def _pg_ranked(
    articles: QuerySet[Article], terms: list[str], *, limit: int, match_any: bool, prefix: bool
) -> list[Article]:
    words = [f"'{term}'" for term in terms]  # quoted lexemes: letters and digits only
    if prefix and len(terms[-1]) >= 3:
        words[-1] += ":*"
    query = SearchQuery(
        (" | " if match_any else " & ").join(words), config=CONFIG, search_type="raw"
    )
    rank = SearchRank(F("search_vector"), query)
    # Ranking reads every candidate's vector from the table: for a word in a quarter of
    # 100,000 articles that alone took 300 ms. So rank a bounded set of candidates, in
    # the same pass that finds them: the articles whose title matches (their own GIN
    # index, migration 0003), then others whose title or body matches, up to a cap
    # each. Exact whenever fewer articles match. Then read only the best rows.
    candidates = articles.order_by().annotate(rank=rank).values_list("pk", "rank")
    title_hits = candidates.alias(title_vector=SearchVector("title", config=CONFIG)).filter(
        title_vector=query
    )[:TITLE_CANDIDATES]
    hits = candidates.filter(search_vector=query)[:CANDIDATES]
    # An article may be in both: twice `limit` rows hold `limit` different ones.
    best = title_hits.union(hits, all=True).order_by("-rank", "pk")[: 2 * limit]
    ranks: dict[int, float] = {}
    for pk, score in best:
        ranks.setdefault(pk, score)
    ids = list(ranks)[:limit]
    rows = {a.pk: a for a in articles.filter(pk__in=ids).defer("search_vector")}
    return [rows[pk] for pk in ids if pk in rows]


def _sqlite_ranked(
    articles: QuerySet[Article], terms: list[str], *, limit: int, match_any: bool, prefix: bool
) -> list[Article]:
    stems = [crude_stem(term) for term in terms]
    matches = [Q(title__icontains=stem) | Q(body__icontains=stem) for stem in stems]
    score: Combinable = Value(0)
    for stem in stems:
        score = (
            score
            + Case(When(title__icontains=stem, then=Value(3)), default=Value(0))
            + Case(When(body__icontains=stem, then=Value(1)), default=Value(0))
        )
    return list(
        articles.filter(reduce(or_ if match_any else and_, matches))
        .annotate(rank=ExpressionWrapper(score, output_field=IntegerField()))
        .order_by("-rank", "-updated_at", "pk")[:limit]
    )


def search_vector() -> Combinable:
    """What `Article.search_vector` holds, for an UPDATE (PostgreSQL only)."""
    return SearchVector("title", weight="A", config=CONFIG) + SearchVector(
        "body", weight="B", config=CONFIG
    )
