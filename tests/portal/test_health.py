import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_healthz_answers_ok_without_login(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_pages_carry_the_security_headers(client):
    response = client.get(reverse("account_login"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "'nonce-" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response.cookies["csrftoken"]["secure"]


@pytest.mark.django_db
def test_the_footer_shows_the_version(client):
    import portal

    assert f"version {portal.__version__}" in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_unknown_pages_get_the_portals_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "Partner Portal" in response.content.decode()


@pytest.mark.django_db
def test_a_failed_csrf_check_explains_what_to_do(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.provider_admin)
    response = client.post(reverse("enroll"), {})
    assert response.status_code == 403
    assert "Your form expired or came from another page" in response.content.decode()


@pytest.mark.django_db
def test_favicon_ico_leads_to_the_portals_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/img/favicon.svg")
    from django.contrib.staticfiles import finders

    assert finders.find("img/favicon.svg")
