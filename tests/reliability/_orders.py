"""Helpers and fixtures for the order atomicity and concurrency tests (RELIABILITY.md §4).

Concurrency here is real: each request runs in its own thread with its own database
connection, released together by a barrier (no sleeps); the tests use transactional_db
so every request sees what the others committed.
"""

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from partners.models import AuditEvent, Partnership
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from subscriptions.models import Offer, Order, Subscription, SubscriptionEvent
from tests.factories import CustomerFactory, OfferFactory, SubscriptionFactory


@dataclass
class Outcome:
    status: int
    location: str
    seconds: float


def same_session(client: Client) -> Client:
    """Another Client on the same session cookie: a second click in the same browser."""
    twin = Client()
    twin.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return twin


def concurrently(*calls) -> list:
    """Run each call in its own thread and connection, all released at once; return
    their results in order. A call that raises fails the test with its exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()  # back to the pool; an open one would block the flush

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    if errors:
        raise errors[0]
    return results


def post(client: Client, url: str, data: dict):
    """POST and time it; returns an Outcome (status, redirect target, seconds)."""

    def call() -> Outcome:
        start = time.monotonic()
        response = client.post(url, data)
        return Outcome(response.status_code, response.get("Location", ""), time.monotonic() - start)

    return call


def flashes(client: Client, url: str) -> list[str]:
    """The messages a page shows once (the redirect target of a POST)."""
    response = client.get(url)
    return [str(m) for m in response.context["messages"]] if response.context else []


def counts() -> dict:
    """Everything an order can write, by table."""
    with unscoped("count what orders wrote"):
        return {
            "customers": Customer.objects.count(),
            "delegations": Customer.objects.exclude(reseller=None).count(),
            "users": User.objects.count(),
            "orders": Order.objects.count(),
            "subscriptions": Subscription.objects.count(),
            "history": SubscriptionEvent.objects.count(),
            "outbox": OutboundEmail.objects.count(),
            "activity": AuditEvent.objects.exclude(verb__startswith="login.").count(),
        }


def activity(verb: str) -> int:
    with unscoped("count activity entries"):
        return AuditEvent.objects.filter(verb=verb).count()


def org_url(org, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


@pytest.fixture
def shop(world):
    """P1's catalog, a partner reseller, and a customer with one subscription of 10
    licenses bought today (the cancellation window is open)."""
    today = timezone.localdate()
    Partnership.objects.create(provider=world.provider, reseller=world.reseller)
    basic = OfferFactory(name="Business Basic", min_licenses=1, max_licenses=300)
    standard = OfferFactory(name="Business Standard", min_licenses=1, max_licenses=300)
    teams = OfferFactory(name="Teams Essentials", min_licenses=1, max_licenses=300)
    basic.upgrades.add(standard)
    customer = CustomerFactory(provider=world.provider, company_name="Northwind Traders")
    subscription = SubscriptionFactory(
        customer=customer,
        offer=basic,
        quantity=10,
        start_date=today,
        renewal_date=today + timedelta(days=365),
    )
    return SimpleNamespace(
        basic=basic,
        standard=standard,
        teams=teams,
        offers=[basic, standard, teams],
        customer=customer,
        subscription=subscription,
    )


def fresh(subscription: Subscription) -> Subscription:
    with unscoped("read back"):
        return Subscription.objects.get(pk=subscription.pk)


def offer_ids(*offers: Offer) -> list[int]:
    return [o.pk for o in offers]
