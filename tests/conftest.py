from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from servicedesk.celery import app as celery_app
from servicedesk.config import config_cache_clear
from tests.factories import (
    DepartmentFactory,
    RequestTypeFactory,
    TicketFactory,
    UserFactory,
    agent_of,
    lead_of,
)


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise warns on every test client if STATIC_ROOT (filled by collectstatic) is missing.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    # CI's services phase must really run on PostgreSQL and Redis, not fall back.
    if os.environ.get("REQUIRE_SERVICES") != "1":
        return
    problems = []
    if settings.DATABASES["default"]["ENGINE"] != "servicedesk.postgresql":
        problems.append("DATABASE_URL does not point to PostgreSQL")
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        problems.append("CELERY_BROKER_URL does not point to Redis")
    if problems:
        raise pytest.UsageError(
            "REQUIRE_SERVICES=1 but " + " and ".join(problems) + " (CI configuration error)."
        )


@pytest.fixture(autouse=True)
def _fresh_config_cache():
    """The process's configuration cache (servicedesk/config.py) starts empty in every
    test: SQLite reuses ids after a test's rollback, and the generation row rolls back."""
    config_cache_clear()
    yield
    config_cache_clear()


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SITE_URL = "http://desk.test"


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Tasks sent after commit run in-process, so on_commit hooks deliver the outbox at
    once. Tests marked `worker` talk to a real broker and a real worker instead."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


# --- A small company: IT and HR serve; Sales asks. ------------------------------------


@pytest.fixture
def it(db):
    return DepartmentFactory(code="IT", name="IT")


@pytest.fixture
def hr(db):
    return DepartmentFactory(code="HR", name="Human Resources")


@pytest.fixture
def sales(db):
    return DepartmentFactory(code="SAL", name="Sales")


@pytest.fixture
def it_type(it):
    return RequestTypeFactory(department=it, name="Hardware")


@pytest.fixture
def it_confidential_type(it):
    return RequestTypeFactory(department=it, name="Security incident", is_confidential=True)


@pytest.fixture
def hr_type(hr):
    return RequestTypeFactory(department=hr, name="Payslip question")


@pytest.fixture
def requester(sales):
    return UserFactory(username="rita", home_department=sales)


@pytest.fixture
def colleague(sales):
    return UserFactory(username="carl", home_department=sales)


@pytest.fixture
def it_agent(it):
    return agent_of(it, username="alice")


@pytest.fixture
def it_agent2(it):
    return agent_of(it, username="bob")


@pytest.fixture
def it_lead(it):
    return lead_of(it, username="lena")


@pytest.fixture
def hr_agent(hr):
    return agent_of(hr, username="hank")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def ticket(it_type, requester):
    return TicketFactory(request_type=it_type, created_by=requester)


@pytest.fixture
def confidential_ticket(it_confidential_type, requester):
    return TicketFactory(request_type=it_confidential_type, created_by=requester)
