"""Passwords are hashed with Argon2id at no less than OWASP's minimum, and older hashes
are upgraded when their owner next signs in (issue 14, finding 7)."""

import pytest
from django.contrib.auth.hashers import identify_hasher, make_password
from django.urls import reverse

import portal.settings as production
from tests.factories import UserFactory

# OWASP Password Storage Cheat Sheet, Argon2id: m = 19 MiB, t = 2, p = 1 at the least.
OWASP_MIN = {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}


@pytest.fixture
def real_hashers(settings):
    # The suite hashes with MD5 for speed (tests/conftest.py); these tests use the
    # portal's own list, as a deployment does.
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    return settings


def test_new_passwords_are_argon2id_at_owasp_minimum_or_more(real_hashers):
    encoded = make_password("a long enough passphrase 2026")
    hasher = identify_hasher(encoded)
    assert encoded.startswith("argon2$argon2id$")
    params = hasher.decode(encoded)
    assert params["memory_cost"] >= OWASP_MIN["memory_cost"]
    assert params["time_cost"] >= OWASP_MIN["time_cost"]
    assert params["parallelism"] >= OWASP_MIN["parallelism"]


@pytest.mark.django_db
def test_a_pbkdf2_hash_is_upgraded_to_argon2id_at_sign_in(real_hashers, client):
    password = "an older password 2019!"
    user = UserFactory(email="old-hash@example.test")
    user.password = make_password(password, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    assert user.password.startswith("pbkdf2_sha256$")

    response = client.post(reverse("account_login"), {"login": user.email, "password": password})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert user.check_password(password)
    # The old hash is gone for good: signing in again keeps the same Argon2id hash.
    upgraded = user.password
    client.logout()
    client.post(reverse("account_login"), {"login": user.email, "password": password})
    user.refresh_from_db()
    assert user.password == upgraded


@pytest.mark.django_db
def test_a_wrong_password_does_not_upgrade_the_hash(real_hashers, client):
    user = UserFactory(email="old-hash-2@example.test")
    user.password = make_password("the right one 2019!", hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    client.post(reverse("account_login"), {"login": user.email, "password": "wrong guess"})
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$")
