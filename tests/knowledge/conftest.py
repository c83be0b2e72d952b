"""Knowledge-base fixtures: articles written through the services, as in production."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge import services
from knowledge.models import Article


@pytest.fixture
def write(it_agent):
    """write(title, body, **fields): an article of IT (published unless told), by
    alice unless `actor=` says otherwise."""

    def _write(title: str, body: str = "", **fields: Any) -> Article:
        actor = fields.pop("actor", it_agent)
        department = fields.pop("department", None) or actor.memberships.first().department
        fields.setdefault("status", Article.Status.PUBLISHED)
        return services.article_create(
            actor=actor,
            department=department,
            title=title,
            body=body or f"How to deal with {title.lower()}.",
            **fields,
        )

    return _write


@pytest.fixture
def published(write):
    return write("Connect to the VPN", "Open the **VPN** client and sign in with your badge.")


@pytest.fixture
def draft(write):
    return write("Replace a laptop battery", "Bring it to the IT desk.", status="draft")


@pytest.fixture
def internal(write):
    return write(
        "Re-imaging procedure",
        "Boot from the network and pick the standard image.",
        is_internal=True,
    )
