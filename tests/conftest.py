"""Fixtures shared by the whole suite: personas, logged-in clients, a real Celery worker.

Tests talk to the real PostgreSQL and Redis named by DATABASE_URL and CELERY_BROKER_URL
(defaults in pyproject.toml's [tool.pytest_env]); nothing in the ORM or broker is mocked.
"""

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from partners.models import Membership, Organization
from portal.models import User
from portal.scoping import unscoped
from tests.factories import (
    ARTIFACTS,
    CustomerFactory,
    MembershipFactory,
    ProviderFactory,
    ResellerFactory,
    UserFactory,
)

# The local SMTP server fixtures (aiosmtpd): smtp_server, smtp_settings, mailers_at, closed_port.
from tests.smtp_server import closed_port, mailers_at, smtp_server, smtp_settings  # noqa: F401


def pytest_configure(config):
    # Hypothesis: the full 200 examples per form when the reliability tests run on their
    # own (`pytest -m reliability`), a short pass in `make test` (tests/reliability/_fuzz.py).
    # Set in the environment so xdist's workers, which configure again, agree.
    if "reliability" in (config.option.markexpr or ""):
        os.environ.setdefault("HYPOTHESIS_PROFILE", "full")
    # Test-only settings live here, not in a second settings module.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # allauth's rate limits would trip across tests sharing 127.0.0.1; the abuse tests
    # switch them back on with the `settings` fixture.
    settings.ACCOUNT_RATE_LIMITS = False
    # Each xdist process gets its own Celery queue, so workers don't take each other's
    # tasks. Set before anything publishes: Celery caches its queues on first use.
    from portal.celery import app

    queue = f"portal-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    app.conf.update(
        task_always_eager=False,
        broker_url=settings.CELERY_BROKER_URL,
        result_backend=settings.CELERY_BROKER_URL,
        task_default_queue=queue,
    )


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)
        if "reliability" in item.path.parts:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache. Without this, the in-process cache kept what an
    earlier test of the same xdist worker put there (the offer list, the page counts), and
    an entry that expired in the middle of a later test cost it a query it had not counted
    (test_two_hundred_rows_cost_the_queries_of_one, 7 queries instead of 6, now and then)."""
    from django.core.cache import cache

    cache.clear()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    # Fixtures build data for several tenants; test bodies stay guarded by the scope.
    with unscoped("test fixtures"):
        return (yield)


# ------------------------------------------------------------------------------
# Personas
# ------------------------------------------------------------------------------
@dataclass
class World:
    provider: Organization  # P1
    other_provider: Organization  # P2, whose data P1 must never see
    reseller: Organization  # R1
    provider_admin: User
    provider_sales: User
    provider_support: User
    other_provider_admin: User
    reseller_admin: User
    no_org_user: User
    staff: User
    customer_admin: User  # the admin account of a customer of P2


@pytest.fixture
def world(db) -> World:
    provider = ProviderFactory(name="Contoso Test", slug="p1")
    other = ProviderFactory(name="Tailspin Test", slug="p2")
    reseller = ResellerFactory(name="Fabrikam Test", slug="r1")

    def member(org, role, email):
        return MembershipFactory(organization=org, role=role, user=UserFactory(email=email)).user

    return World(
        provider=provider,
        other_provider=other,
        reseller=reseller,
        provider_admin=member(provider, Membership.Role.ADMIN, "p1-admin@example.test"),
        provider_sales=member(provider, Membership.Role.SALES_AGENT, "p1-sales@example.test"),
        provider_support=member(provider, Membership.Role.SUPPORT_AGENT, "p1-support@example.test"),
        other_provider_admin=member(other, Membership.Role.ADMIN, "p2-admin@example.test"),
        reseller_admin=member(reseller, Membership.Role.ADMIN, "r1-admin@example.test"),
        no_org_user=UserFactory(email="loner@example.test"),
        staff=UserFactory(email="staff@example.test", is_staff=True, is_superuser=True),
        customer_admin=CustomerFactory(
            provider=other, company_name="Canary Customer", domain="canary.example"
        ).admin_user,
    )


@pytest.fixture
def client_for():
    """client_for(user) -> a Client logged in as that user (None: anonymous)."""

    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


# ------------------------------------------------------------------------------
# A real Celery worker on the real Redis
# ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def celery_app_for_tests():
    from portal.celery import app

    assert app.conf.task_default_queue.startswith("portal-test-")
    return app


@pytest.fixture(scope="session")
def _celery_worker_thread(celery_app_for_tests, django_db_setup, django_db_blocker):
    from celery.contrib.testing.worker import start_worker

    with django_db_blocker.unblock():
        celery_app_for_tests.control.purge()
    with start_worker(
        celery_app_for_tests, pool="solo", perform_ping_check=False, shutdown_timeout=10
    ) as worker:
        yield worker


@pytest.fixture
def celery_worker(_celery_worker_thread, transactional_db):
    """A running worker. The test's writes are committed, so the worker sees them."""
    return _celery_worker_thread


# ------------------------------------------------------------------------------
# Browser (Playwright driving a real Chromium)
# ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or ""
    args = {
        **browser_type_launch_args,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }
    if executable:
        args["executable_path"] = executable
    return args


@pytest.fixture
def screenshot(page, request):
    """screenshot("step") saves a full-page PNG under tests/e2e/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)

    def take(step: str) -> Path:
        path = ARTIFACTS / f"{base}--{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
