"""Helpers of the new-customer wizard tests (the wizard's own helpers are in tests/factories.py)."""

from django.urls import reverse

NEW_PASSWORD = "violet-lantern-orbit-47"
BAD_LOGIN = "The email address and/or password you specified are not correct."
NOTHING_CHOSEN = "Choose at least one subscription and enter its number of licenses."
INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


def login(client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})
