"""T1.7 and T1.8 of RELIABILITY.md: no page is cached across organizations, responses are
private, and the Django admin is for superusers only, behind allauth's rate limits.
"""

import re
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from tests.reliability._isolation import private

ROOT = Path(__file__).resolve().parents[2]
LOGIN = reverse("account_login")


# ------------------------------------------------------------------------------
# T1.7 Cache and headers
# ------------------------------------------------------------------------------
@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/1",
            "KEY_PREFIX": f"t1-{uuid.uuid4().hex}",
        }
    }
    from django.core.cache import cache

    yield cache
    cache.clear()


CACHED_PAGES = [
    "dashboard",
    "activity",
    "customers:list",
    "subscriptions:list",
    "team:list",
    "partners:reseller-list",
    "partners:provider-list",
]


def test_pages_of_one_organization_never_reach_another(t1, redis_cache):
    """T1.7: with the real Redis cache, P1 then P2 (and R1 then R2) on the same pages."""
    redis_cache.set("probe", "ok")
    assert redis_cache.get("probe") == "ok"  # the real cache is in use
    checked = 0
    for first, second in (("p1", "p2"), ("r1", "r2")):
        for route in CACHED_PAGES:
            for slug_of in (first, second):
                url = reverse(route, kwargs={"org_slug": t1.orgs[slug_of].slug})
                for role in (first, second):
                    response = t1.clients[role].get(url)
                    checked += 1
                    assert private(response), (url, role, response.get("Cache-Control"))
                    if role == second:
                        assert not t1.leaks(second, response.content), (url, role)
    assert checked == 2 * len(CACHED_PAGES) * 4
    # The Setup info page (the one-time password) is never stored anywhere.
    c1 = t1.customers["c1"]
    url = reverse("customers:setup-info", kwargs={"org_slug": t1.orgs["p1"].slug, "pk": c1.pk})
    response = t1.clients["p1"].get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_no_view_or_template_caches_pages():
    """No cache_page, per-site cache, template fragment cache or memoized tenant data."""
    patterns = re.compile(r"cache_page|CacheMiddleware|\{%\s*cache\s|lru_cache|functools\.cache\b")
    offenders = []
    for app in ("portal", "partners", "customers", "subscriptions", "templates"):
        for path in (ROOT / app).rglob("*"):
            ours = path.suffix in {".py", ".html", ".txt"} and "migrations" not in path.parts
            if ours and patterns.search(path.read_text(errors="replace")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# ------------------------------------------------------------------------------
# T1.8 The admin
# ------------------------------------------------------------------------------
def test_admin_is_for_superusers_only(t1, client_for):
    import logging

    from tests.factories import UserFactory

    class Lines(logging.Handler):
        def __init__(self):
            super().__init__(logging.INFO)
            self.lines = []

        def emit(self, record):
            self.lines.append(record.getMessage())

    index = reverse("admin:index")
    plain_staff = UserFactory(email="staff-not-super@example.test", is_staff=True)
    for user in (plain_staff, t1.users["p1"], t1.users["r1"], t1.users["c1"]):
        assert client_for(user).get(index, follow=True).status_code == 404, user
    anonymous = t1.clients["anonymous"].get(index, follow=True)
    assert urlparse(anonymous.redirect_chain[-1][0]).path == LOGIN
    log, handler = logging.getLogger("portal.admin.access"), Lines()
    log.addHandler(handler)
    try:
        response = t1.clients["staff"].get(index)
        client_for(plain_staff).get(index)
    finally:
        log.removeHandler(handler)
    assert response.status_code == 200
    assert private(response)
    # Every staff access is logged, with who and what; refused visitors are not staff.
    assert handler.lines == [f"staff admin access: {t1.users['staff'].email} GET {index}"]


def test_admin_login_goes_through_allauth_rate_limits(t1, settings, redis_cache):
    settings.ACCOUNT_RATE_LIMITS = {}  # allauth's defaults: login_failed 5/300s per account
    client = t1.clients["anonymous"]
    login = client.get(reverse("admin:index"), follow=True).redirect_chain[-1][0]
    assert urlparse(login).path == LOGIN
    email = t1.users["staff"].email
    for attempt in range(1, 7):
        response = client.post(login, {"login": email, "password": f"wrong-{attempt}"})
        assert response.status_code == 200, attempt
        too_many = "Too many failed login attempts" in response.content.decode()
        assert too_many == (attempt == 6), attempt
    # Locked out: even the right password is refused now.
    from tests.factories import PASSWORD

    response = client.post(login, {"login": email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302
