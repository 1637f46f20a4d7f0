"""Issue 16: renewal reminders through the outbox, 30 and 7 days before a term ends, to
the provider's Admins and the associated reseller's, in each recipient's language, once
only; a profile setting turns them off."""

import datetime

import pytest
from django.urls import reverse

from portal.models import OutboundEmail
from portal.scoping import unscoped
from subscriptions.models import RenewalReminder, ScheduledChange
from subscriptions.services.renewals import run_lifecycle
from tests.factories import CustomerFactory, OfferFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

D = datetime.date
END = D(2027, 3, 31)


@pytest.fixture
def sub(world):
    with unscoped("test setup"):
        return SubscriptionFactory(
            customer=CustomerFactory(provider=world.provider, company_name="Northwind"),
            offer=OfferFactory(name="Business Basic"),
            reseller=world.reseller,
            quantity=5,
            start_date=D(2026, 3, 31),
            renewal_date=END,
        )


def reminders() -> list[tuple[str, str]]:
    return sorted(
        OutboundEmail.objects.filter(template="subscription_renewal_reminder").values_list(
            "to", "subject"
        )
    )


def test_thirty_and_seven_days_before_once_each(world, sub):
    assert run_lifecycle(as_of=END - datetime.timedelta(days=31)).reminded == 0
    assert run_lifecycle(as_of=END - datetime.timedelta(days=30)).reminded == 1
    assert run_lifecycle(as_of=END - datetime.timedelta(days=30)).reminded == 0
    assert run_lifecycle(as_of=END - datetime.timedelta(days=20)).reminded == 0
    assert run_lifecycle(as_of=END - datetime.timedelta(days=7)).reminded == 1
    assert run_lifecycle(as_of=END - datetime.timedelta(days=3)).reminded == 0
    sent = reminders()
    # Provider Admins and the associated reseller's Admins, twice (30 and 7 days).
    assert [to for to, _ in sent] == [
        "p1-admin@example.test",
        "p1-admin@example.test",
        "r1-admin@example.test",
        "r1-admin@example.test",
    ]
    assert "Business Basic for Northwind renews in 30 days" in {s for _, s in sent}
    with unscoped("test"):
        assert sorted(RenewalReminder.objects.values_list("days_before", flat=True)) == [7, 30]


def test_a_late_run_sends_only_the_nearest_reminder(world, sub):
    run_lifecycle(as_of=END - datetime.timedelta(days=5))
    with unscoped("test"):
        assert list(RenewalReminder.objects.values_list("days_before", flat=True)) == [7]
    run_lifecycle(as_of=END - datetime.timedelta(days=4))
    assert len(reminders()) == 2  # one per recipient, once


def test_the_reminder_says_what_will_happen(world, sub):
    with unscoped("test setup"):
        ScheduledChange.objects.create(subscription=sub, term_end=END, quantity=12)
    run_lifecycle(as_of=END - datetime.timedelta(days=30))
    body = OutboundEmail.objects.filter(to="p1-admin@example.test").get().body_text
    assert "will renew automatically" in body
    assert "Licenses: 12" in body
    assert "change scheduled" in body


def test_auto_renew_off_says_it_will_expire(world, sub):
    with unscoped("test setup"):
        sub.auto_renew = False
        sub.save(update_fields=["auto_renew"])
    run_lifecycle(as_of=END - datetime.timedelta(days=7))
    subjects = {s for _, s in reminders()}
    assert subjects == {"Business Basic for Northwind expires in 7 days"}


def test_in_the_recipients_language(world, sub):
    world.reseller_admin.language = "zh-hans"
    world.reseller_admin.save(update_fields=["language"])
    run_lifecycle(as_of=END - datetime.timedelta(days=30))
    subject = OutboundEmail.objects.get(to="r1-admin@example.test").subject
    assert "续订" in subject


def test_a_recipient_turns_reminders_off_on_the_profile(world, sub, client_for):
    client = client_for(world.reseller_admin)
    page = client.get(reverse("profile"))
    assert page.status_code == 200
    assert "email me about renewals" in page.content.decode().lower()
    response = client.post(reverse("profile"), {})  # the box unticked
    assert response.status_code == 302
    world.reseller_admin.refresh_from_db()
    assert world.reseller_admin.renewal_emails is False
    run_lifecycle(as_of=END - datetime.timedelta(days=30))
    assert [to for to, _ in reminders()] == ["p1-admin@example.test"]
    run_lifecycle(as_of=END)
    assert list(
        OutboundEmail.objects.filter(template="subscription_renewed").values_list("to", flat=True)
    ) == ["p1-admin@example.test"]


def test_the_profile_page_needs_a_sign_in(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert "login" in response["Location"]
