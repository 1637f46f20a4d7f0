"""T5.4 security headers on every HTML page the URL walker reaches (ours, allauth's, the
admin's, error pages), and HSTS under production settings.

T5.6 (`check --deploy`) is tests/portal/test_deploy.py, marked reliability.
"""

import re

from django.test import Client
from django.urls import reverse

from tests.routes import ORG_ROUTES, kwargs_for

SCRIPT_NONCE = re.compile(r"<script\b[^>]*\bnonce=\"([^\"]+)\"")
SCRIPT_TAG = re.compile(r"<script\b[^>]*>")
SAME_ORIGIN_OR_DATA = re.compile(r'\bsrc="/static/|\btype="application/json"')


def csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = (part.split() for part in header.split(";") if part.strip())
    return {d[0]: d[1:] for d in directives}


def problems(label: str, response) -> list[str]:
    """Every header rule this HTML response breaks."""
    found = []
    policy = csp(response)
    expected = {
        "default-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
    }
    for directive, value in expected.items():
        if policy.get(directive) != [value]:
            found.append(f"{directive} is {policy.get(directive)}")
    script = policy.get("script-src", [])
    nonces = [v for v in script if v.startswith("'nonce-")]
    if len(nonces) != 1 or "'unsafe-inline'" in script or "'unsafe-eval'" in script:
        found.append(f"script-src is {script}")
    body = response.content.decode()
    # Inline scripts need this response's nonce; same-origin files are allowed by
    # 'self' and JSON data blocks never run (the browser test proves nothing is blocked).
    if nonces:
        for tag in SCRIPT_TAG.findall(body):
            match = SCRIPT_NONCE.search(tag)
            if match and f"'nonce-{match.group(1)}'" != nonces[0]:
                found.append(f"script with another response's nonce: {tag}")
            elif not match and not SAME_ORIGIN_OR_DATA.search(tag):
                found.append(f"inline script without a nonce: {tag}")
    for header, value in {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": None,
        "Cross-Origin-Opener-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }.items():
        if header not in response.headers or value not in (None, response.headers[header]):
            found.append(f"{header}: {response.headers.get(header)}")
    return [f"{label} ({response.status_code}): {p}" for p in found]


def html_pages(world) -> list[tuple[str, Client, str]]:
    """(label, client, url) for every GET page: the walker's org routes as an allowed
    member, then the public, allauth, admin and error pages."""
    pages = []
    for route, (in_p1, in_r1, method) in sorted(ORG_ROUTES.items()):
        if method != "get":
            continue
        for org, allowed in ((world.provider, in_p1), (world.reseller, in_r1)):
            if allowed:
                url = reverse(route, kwargs=kwargs_for(route, org, world))
                pages.append((f"{route} ({org.slug})", sorted(allowed)[0], url))
    org = {"org_slug": world.provider.slug}
    pages += [
        ("home (anonymous)", None, reverse("home")),
        ("enroll", "no_org_user", reverse("enroll")),
        ("customer area", "customer_admin", reverse("customer-home")),
        ("partnership link (bad)", None, reverse("partnership-link", args=["nope"])),
        ("team invitation (bad)", None, reverse("team-invitation", args=["nope"])),
        ("login", None, reverse("account_login")),
        ("signup", None, reverse("account_signup")),
        ("password reset", None, reverse("account_reset_password")),
        ("email addresses", "provider_admin", reverse("account_email")),
        ("change password", "provider_admin", reverse("account_change_password")),
        ("two-factor", "provider_admin", reverse("mfa_index")),
        ("not found", "provider_admin", "/no-such-page/"),
        ("not found (org)", "provider_admin", reverse("customers:detail", kwargs={**org, "pk": 0})),
        ("admin index", "staff", reverse("admin:index")),
        ("admin users", "staff", reverse("admin:portal_user_changelist")),
        ("admin user", "staff", reverse("admin:portal_user_change", args=[world.staff.pk])),
        ("admin organizations", "staff", reverse("admin:partners_organization_changelist")),
    ]
    return pages


def test_every_html_page_sends_the_security_headers(world, record_property):
    found, checked = [], 0
    clients = {}
    for label, persona, url in html_pages(world):
        if persona not in clients:
            clients[persona] = Client()
            if persona:
                clients[persona].force_login(getattr(world, persona))
        response = clients[persona].get(url)
        assert response.status_code in {200, 404, 410}, (label, response.status_code)
        assert response["Content-Type"].startswith("text/html"), label
        found += problems(label, response)
        checked += 1
    assert checked >= 40, checked
    assert not found, "\n".join(found)
    record_property("figure", f"T5.4: {checked} HTML responses with every security header")


def test_each_response_has_its_own_nonce(world):
    first, second = (csp(Client().get(reverse("account_login")))["script-src"] for _ in "ab")
    assert first != second


def test_hsts_under_production_settings(world):
    """settings.py defaults (DEBUG off): a year, subdomains included, on HTTPS responses."""
    client = Client()
    client.force_login(world.staff)
    for url in (reverse("account_login"), reverse("admin:index"), "/no-such-page/"):
        response = client.get(url, secure=True)
        assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
