"""Abuse and bad input (RELIABILITY.md section 5): T5.1 login limits in Redis and a Redis
outage, T5.2 app-level limits, T5.3 the CSRF sweep, T5.7 oversized requests.

The admin-login half of T5.1 lives with the isolation tests (secure_admin_login).
"""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from customers.models import Customer
from partners.services.partnerships import draft_message
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from subscriptions.models import Order
from tests.factories import (
    PASSWORD,
    CustomerFactory,
    OfferFactory,
    details,
    lines,
    submit,
    to_review,
)
from tests.reliability._abuse import CACHE_BACKEND, drafts
from tests.routes import ORG_ROUTES, PUBLIC_ROUTES, kwargs_for, our_routes, snapshot

ROOT = Path(__file__).resolve().parents[2]
TOO_MANY_LOGINS = "Too many failed login attempts. Try again later."
TOO_MANY = "Too many requests"  # templates/429.html


def rows() -> dict:
    """Every table a request under test could write to."""
    with unscoped("row counts"):
        return snapshot() | {
            "users": User.objects.count(),
            "emails": EmailAddress.objects.count(),
            "outbox": OutboundEmail.objects.count(),
        }


# ------------------------------------------------------------------------------
# T5.1 Failed logins: allauth's limit, counted in the real Redis
# ------------------------------------------------------------------------------
def test_the_sixth_wrong_password_within_five_minutes_is_refused(world, rate_limits_on):
    """T5.1: allauth's login_failed "5/300s/key"; the counter is a Redis key."""
    email = world.provider_admin.email
    login = reverse("account_login")
    answers = []
    for attempt in range(6):
        response = Client().post(login, {"login": email, "password": f"wrong-{attempt}"})
        answers.append((response.status_code, TOO_MANY_LOGINS in response.content.decode()))
    assert answers == [(200, False)] * 5 + [(200, True)]
    # Locked out: even the right password is refused now.
    response = Client().post(login, {"login": email, "password": PASSWORD})
    assert response.status_code == 200 and TOO_MANY_LOGINS in response.content.decode()
    keys = rate_limits_on.keys("login_failed:5/300.0/key:*")
    assert len(keys) == 1, rate_limits_on.keys()
    assert rate_limits_on.client.ttl(keys[0]) > 0  # expires by itself


def test_a_redis_outage_does_not_break_login(world, settings, closed_port, caplog):
    """T5.1: with the cache unreachable, login works (limits skipped and logged), never a 500."""
    settings.ACCOUNT_RATE_LIMITS = {}
    settings.CACHES = {
        "default": {"BACKEND": CACHE_BACKEND, "LOCATION": f"redis://127.0.0.1:{closed_port}/0"}
    }
    client = Client(raise_request_exception=False)
    login = reverse("account_login")
    wrong = client.post(login, {"login": world.provider_admin.email, "password": "wrong"})
    assert wrong.status_code == 200
    assert "not correct" in wrong.content.decode()
    right = client.post(login, {"login": world.provider_admin.email, "password": PASSWORD})
    assert right.status_code == 302
    assert client.get(reverse("account_email")).status_code == 200  # signed in
    assert "cache unavailable" in caplog.text


# ------------------------------------------------------------------------------
# T5.2 App-level limits: partnership emails, order submits, token links
# ------------------------------------------------------------------------------
def test_the_21st_partnership_email_in_an_hour_is_refused(
    world, settings, rate_limits_on, client_for
):
    assert settings.PARTNERSHIP_REQUESTS_PER_HOUR == 20
    client = client_for(world.provider_sales)
    sent = drafts(world.provider, world.provider_admin, 21)
    statuses = []
    for request, token in sent:
        subject, body = draft_message(request, token)
        url = reverse(
            "partners:request-send", kwargs={"org_slug": world.provider.slug, "pk": request.pk}
        )
        before = rows()
        response = client.post(url, {"token": token, "subject": subject, "body": body})
        statuses.append(response.status_code)
    assert statuses == [302] * 20 + [429]
    assert TOO_MANY in response.content.decode()
    assert rows() == before  # the refused one wrote nothing: no outbox row
    with unscoped("count"):
        assert OutboundEmail.objects.count() == 20
    # The budget is the provider's: a colleague is refused too.
    response = client_for(world.provider_admin).post(url, {"token": token})
    assert response.status_code == 429


def test_the_21st_partnership_draft_in_an_hour_is_refused(world, rate_limits_on, client_for):
    client = client_for(world.provider_sales)
    url = reverse("partners:request-create", kwargs={"org_slug": world.provider.slug})
    statuses = [
        client.post(url, {"email": f"owner{n}@reseller{n}.example"}).status_code for n in range(20)
    ]
    assert statuses == [200] * 20  # each renders its draft
    before = rows()
    response = client.post(url, {"email": "owner@one-too-many.example"})
    assert response.status_code == 429
    assert rows() == before


@pytest.fixture
def offer(db):
    return OfferFactory(name="Business Basic", min_licenses=1, max_licenses=300)


@pytest.fixture
def customer(world):
    return CustomerFactory(provider=world.provider, company_name="Coho Winery")


def test_the_11th_order_submit_in_a_minute_is_refused(
    world, rate_limits_on, client_for, offer, customer
):
    client = client_for(world.provider_sales)
    url = reverse("subscriptions:add", kwargs={"org_slug": world.provider.slug, "pk": customer.pk})

    def add():
        data = {"idempotency_key": str(uuid.uuid4()), f"offer_{offer.pk}": 1, "reseller": ""}
        return client.post(url, data)

    assert [add().status_code for _ in range(10)] == [302] * 10
    before = rows()
    response = add()
    assert response.status_code == 429 and TOO_MANY in response.content.decode()
    assert rows() == before
    with unscoped("count"):
        assert Order.objects.filter(customer=customer).count() == 10
    # Another user of the same provider still has their own budget.
    other = client_for(world.provider_admin).post(
        url, {"idempotency_key": str(uuid.uuid4()), f"offer_{offer.pk}": 1, "reseller": ""}
    )
    assert other.status_code == 302


def test_only_the_wizards_final_submit_counts(world, settings, rate_limits_on, client_for, offer):
    """Next and Back are free; Submit shares the order budget with New subscription."""
    settings.ORDER_SUBMITS_PER_MINUTE = 1
    client = client_for(world.provider_sales)
    first = submit(
        client, world.provider, to_review(client, world.provider, details(), lines((offer, 3)))
    )
    assert first.status_code == 302
    review = to_review(
        client, world.provider, details(domain="second.example"), lines((offer, 3))
    )  # its two Next steps were not refused
    before = rows()
    second = submit(client, world.provider, review)
    assert second.status_code == 429
    assert rows() == before
    with unscoped("count"):
        assert not Customer.objects.filter(domain="second.example").exists()


def test_guessing_invitation_links_is_slowed_per_ip(world, settings, rate_limits_on):
    """Invalid tokens count; partnership and team invitation links share the budget."""
    settings.TOKEN_LINK_ATTEMPTS_PER_MINUTE = 5
    guesses = [reverse("partnership-link", args=[f"guess-{n}"]) for n in range(3)] + [
        reverse("team-invitation", args=[f"guess-{n}"]) for n in range(2)
    ]
    assert [Client().get(url).status_code for url in guesses] == [404] * 5
    assert Client().get(reverse("partnership-link", args=["guess-6"])).status_code == 429
    assert Client().get(reverse("team-invitation", args=["guess-7"])).status_code == 429
    # Another address is not affected.
    other = Client(REMOTE_ADDR="192.0.2.7")
    assert other.get(reverse("partnership-link", args=["guess-8"])).status_code == 404


def test_switching_rate_limits_off_switches_ours_off_too(world, settings, redis_cache):
    settings.ACCOUNT_RATE_LIMITS = False  # what RATE_LIMITS=false sets
    settings.TOKEN_LINK_ATTEMPTS_PER_MINUTE = 1
    url = reverse("partnership-link", args=["guess"])
    assert [Client().get(url).status_code for _ in range(3)] == [404] * 3
    assert redis_cache.keys() == []  # nothing was even counted

    def limits_on(env: dict) -> str:
        code = "from portal import ratelimit; print(ratelimit.enabled())"
        result = subprocess.run(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert limits_on({"RATE_LIMITS": "false"}) == "False"
    assert limits_on({"RATE_LIMITS": "true"}) == "True"


# ------------------------------------------------------------------------------
# T5.3 CSRF sweep: every POST-accepting URL refuses a POST without a token
# ------------------------------------------------------------------------------
def _accepts_post(pattern: URLPattern) -> bool:
    view = getattr(pattern.callback, "view_class", None)
    if view is None:
        return False  # function views: listed by hand below
    return hasattr(view, "post") and "post" in view.http_method_names


def _allauth_post_routes(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            yield from _allauth_post_routes(pattern.url_patterns, namespace)
        elif (
            isinstance(pattern, URLPattern)
            and pattern.name
            and pattern.callback.__module__.startswith("allauth")
            and _accepts_post(pattern)
        ):
            yield pattern.name, str(pattern.pattern)


def _csrf_targets(world) -> list[tuple[str, str, User]]:
    """(route, url, a user allowed to use it) for every route that accepts POST."""
    routes = our_routes()
    resolver = {name: p for name, p in _flat(get_resolver().url_patterns)}
    targets = []
    for route, (in_p1, in_r1, _method) in sorted(ORG_ROUTES.items()):
        if not _accepts_post(resolver[route]):
            continue
        org, allowed = (world.provider, in_p1) if in_p1 else (world.reseller, in_r1)
        user = getattr(world, sorted(allowed)[0])
        targets.append((route, reverse(route, kwargs=kwargs_for(route, org, world)), user))
    for route in sorted(PUBLIC_ROUTES):
        pattern = resolver[route]
        if _accepts_post(pattern) or route == "set-language":
            args = ["some-token"] if "<" in routes[route] else []
            targets.append((route, reverse(route, args=args), world.no_org_user))
    for name, path in sorted(set(_allauth_post_routes(get_resolver().url_patterns))):
        args = re.findall(r"<(?:\w+:)?(\w+)>", path)
        url = reverse(name, kwargs={a: "x-key" for a in args}) if args else reverse(name)
        targets.append((name, url, world.provider_admin))
    return targets


def _flat(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _flat(pattern.url_patterns, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern


def test_every_post_without_a_csrf_token_is_refused(world, record_property):
    """T5.3: logged in as someone allowed, no token: 403 everywhere, nothing written."""
    targets = _csrf_targets(world)
    before = rows()
    answers = {}
    for route, url, user in targets:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        response = client.post(
            url, {"email": "x@example.test", "role": "admin", "language": "zh-hans"}
        )
        answers[route] = response.status_code
    refused = {route for route, status in answers.items() if status == 403}
    assert refused == set(answers), {r: s for r, s in answers.items() if s != 403}
    assert len(answers) >= 40, sorted(answers)  # the sweep really covers ours and allauth's
    assert rows() == before
    record_property("figure", f"T5.3: {len(answers)} POST routes without a CSRF token, all 403")


def test_htmx_requests_send_the_csrf_token(world):
    """htmx reads hx-headers from <body>: X-CSRFToken with the page's token passes CSRF."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.provider_admin)
    page = client.get(reverse("team:list", kwargs={"org_slug": world.provider.slug}))
    match = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page.content.decode())
    assert match, "base.html must give htmx the CSRF token"
    url = reverse("team:invite", kwargs={"org_slug": world.provider.slug})
    data = {"email": "new@example.test", "role": "support_agent"}
    assert client.post(url, data, HTTP_HX_REQUEST="true").status_code == 403
    response = client.post(url, data, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=match.group(1))
    assert response.status_code in {200, 302}


# ------------------------------------------------------------------------------
# T5.7 Oversized requests: 400 with a friendly page, or a form error
# ------------------------------------------------------------------------------
def test_oversized_requests_are_refused_and_write_nothing(world, client_for):
    client = client_for(world.provider_admin)
    client.raise_request_exception = False
    invite = reverse("team:invite", kwargs={"org_slug": world.provider.slug})
    before = rows()

    big = client.post(invite, {"email": "a@example.test", "role": "admin", "x": "a" * 3_000_000})
    many = client.post(invite, {f"f{n}": "1" for n in range(1_001)})
    assert (big.status_code, many.status_code) == (400, 400)
    for response in (big, many):
        body = response.content.decode()
        assert "Request not understood" in body and "nothing was changed" in body

    long_name = "A" * 10_000
    wizard = reverse("subscriptions:new-customer", kwargs={"org_slug": world.provider.slug})
    form = client.post(
        wizard,
        {
            "new_customer_wizard-current_step": "details",
            **{f"details-{k}": v for k, v in details(company_name=long_name).items()},
        },
    )
    assert form.status_code == 200
    assert "Ensure this value has at most" in form.content.decode()
    enroll = client_for(world.no_org_user).post(
        reverse("enroll"), {"name": long_name, "partner_id": "5123456", "country": "FR"}
    )
    assert enroll.status_code == 200
    assert "Ensure this value has at most" in enroll.content.decode()
    assert all(r.status_code < 500 for r in (big, many, form, enroll))
    assert rows() == before
