"""Each action on a subscription, on its success path and where the rules refuse it: support
contact, incentive, licenses and the cancellation window, auto-renew, upgrade, suspend,
reactivate, cancel.
"""

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format

from partners.models import Membership
from portal.models import OutboundEmail
from portal.scoping import unscoped
from subscriptions.models import Offer
from subscriptions.services import lifecycle
from tests.factories import (
    OfferFactory,
    SubscriptionFactory,
)
from tests.subscriptions._shop import (
    act,
    closed_window_dates,
    events,
    flashes,
    fresh,
    member,
    open_window_dates,
    snapshot,
    sub_url,
    update,
    url,
)

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# Each action's success path
# ------------------------------------------------------------------------------
def test_designating_a_reseller_as_support_contact_emails_its_admins(world, shop, client_for):
    sub = shop.subscription
    with unscoped("test setup"):
        second_admin = member(world.reseller, Membership.Role.ADMIN, "r1-boss@example.test")
        second_admin_inactive = member(
            world.reseller, Membership.Role.ADMIN, "r1-gone@example.test"
        )
        second_admin_inactive.is_active = False
        second_admin_inactive.save()
    outbox = OutboundEmail.objects.count()
    response = act(
        client_for(world.provider_support),
        world.provider,
        "support-contact",
        sub,
        contact=world.reseller.pk,
    )
    assert "The designated support contact was saved." in flashes(response)
    after = fresh(sub)
    assert after.support_contact_id == world.reseller.pk and after.version == 2
    event = events(sub)[-1]
    assert (event.verb, event.actor, event.organization) == (
        "support_contact_changed",
        world.provider_support,
        world.provider,
    )
    assert event.changes == {"old": "Contoso Test", "new": "Fabrikam Test"}
    emails = OutboundEmail.objects.order_by("pk")[outbox:]
    assert sorted(e.to for e in emails) == sorted(
        [world.reseller_admin.email, second_admin.email]
    )  # Admins only: not the sales or support agents, nor inactive accounts
    for email in emails:
        assert email.template == "support_contact_designated"
        assert email.subject == "Contoso Test made you the support contact for Adatum Corp"
        assert "Business Basic (5 licenses)" in email.body_text
    body = response.content.decode()
    assert "Designated support contact changed from Contoso Test to Fabrikam Test" in body


def test_the_support_contact_can_return_to_the_provider_telling_the_old_one(
    world, shop, client_for
):
    sub = shop.subscription
    update(sub, support_contact=shop.r2)
    outbox = OutboundEmail.objects.count()
    response = act(
        client_for(world.provider_admin),
        world.provider,
        "support-contact",
        sub,
        contact=world.provider.pk,
    )
    assert "The designated support contact was saved." in flashes(response)
    assert fresh(sub).support_contact_id is None
    assert events(sub)[-1].changes == {"old": "Northwind Test", "new": "Contoso Test"}
    # Only the reseller that stopped being the contact hears of it (issue 19).
    emails = OutboundEmail.objects.order_by("pk")[outbox:]
    assert [(e.to, e.template) for e in emails] == [
        (shop.r2_admin.email, "support_contact_removed")
    ]


def test_a_reseller_that_is_not_a_partner_cannot_be_support_contact(world, shop, client_for):
    sub = shop.subscription
    before = snapshot(sub)
    response = act(
        client_for(world.provider_admin), world.provider, "support-contact", sub, contact=shop.r3.pk
    )
    assert any("Select a valid choice" in m for m in flashes(response))
    assert snapshot(sub) == before
    assert OutboundEmail.objects.filter(template="support_contact_designated").count() == 0


def test_the_incentive_reseller_can_be_changed_and_removed(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.provider_sales)
    response = act(client, world.provider, "incentive", sub, reseller=world.reseller.pk)
    assert "The reseller for incentive credit was saved." in flashes(response)
    assert fresh(sub).reseller_id == world.reseller.pk and fresh(sub).version == 2
    response = act(client, world.provider, "incentive", sub, reseller="")
    assert "The reseller for incentive credit was saved." in flashes(response)
    assert fresh(sub).reseller_id is None and fresh(sub).version == 3
    assert [(e.verb, e.changes) for e in events(sub)[-2:]] == [
        ("incentive_reseller_changed", {"old": "Northwind Test", "new": "Fabrikam Test"}),
        ("incentive_reseller_changed", {"old": "Fabrikam Test", "new": None}),
    ]
    body = response.content.decode()
    assert "Reseller for incentive credit changed from Fabrikam Test to none" in body
    before = snapshot(sub)
    response = act(client, world.provider, "incentive", sub, reseller=shop.r3.pk)
    assert any("Select a valid choice" in m for m in flashes(response))
    assert snapshot(sub) == before


def test_licenses_can_be_added_and_reduced_inside_the_window(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.reseller_admin)  # the delegated reseller may do it
    response = act(client, world.reseller, "licenses", sub, quantity=12)
    assert "The number of licenses was changed." in flashes(response)
    assert fresh(sub).quantity == 12 and fresh(sub).version == 2
    response = act(client, world.reseller, "licenses", sub, quantity=3)
    assert "The number of licenses was changed." in flashes(response)
    assert fresh(sub).quantity == 3 and fresh(sub).version == 3
    assert [(e.verb, e.changes, e.organization) for e in events(sub)[-2:]] == [
        ("licenses_changed", {"old": 5, "new": 12}, world.reseller),
        ("licenses_changed", {"old": 12, "new": 3}, world.reseller),
    ]
    assert "Licenses changed from 12 to 3" in response.content.decode()


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (101, "Business Basic takes 1 to 100 licenses."),
        (0, "A subscription needs at least 1 license."),
        ("", "Enter the number of licenses."),
    ],
)
def test_licenses_outside_the_offers_limits_are_refused(quantity, message, world, shop, client_for):
    sub = shop.subscription
    before = snapshot(sub)
    response = act(
        client_for(world.provider_admin), world.provider, "licenses", sub, quantity=quantity
    )
    assert message in flashes(response)
    assert snapshot(sub) == before


def test_outside_the_window_licenses_can_be_added_but_not_reduced(world, shop, client_for):
    sub = shop.subscription
    update(sub, **closed_window_dates())
    sub = fresh(sub)
    closed, renewal = sub.cancellation_window_ends, sub.renewal_date
    client = client_for(world.provider_admin)
    page = client.get(sub_url(world.provider, "detail", sub)).content.decode()
    assert (
        f"Closed on {date_format(closed, 'DATE_FORMAT')}; it opens again at renewal on "
        f"{date_format(renewal, 'DATE_FORMAT')}." in page
    )
    before = snapshot(sub)
    response = act(client, world.provider, "licenses", sub, quantity=4)
    [message] = flashes(response)
    assert "only within 7 days of purchase or renewal" in message
    assert f"The window closed on {date_format(closed, 'DATE_FORMAT')}" in message
    assert f"it opens again at renewal on {date_format(renewal, 'DATE_FORMAT')}" in message
    assert snapshot(sub) == before
    response = act(client, world.provider, "licenses", sub, quantity=6)
    assert "The number of licenses was changed." in flashes(response)
    assert fresh(sub).quantity == 6


def test_the_window_is_counted_from_the_last_renewal(world, shop, client_for):
    sub = shop.subscription
    today = timezone.localdate()
    # Bought two years and three days ago; renewed three days ago.
    update(
        sub,
        start_date=today - relativedelta(years=2, days=3),
        renewal_date=today + relativedelta(years=1, days=-3),
    )
    assert fresh(sub).in_cancellation_window
    response = act(client_for(world.provider_admin), world.provider, "licenses", sub, quantity=2)
    assert "The number of licenses was changed." in flashes(response)


@pytest.mark.parametrize(("days_ago", "open_"), [(0, True), (7, True), (8, False)])
def test_the_window_is_open_for_seven_days_after_purchase(days_ago, open_, world, shop, client_for):
    sub = shop.subscription
    start = timezone.localdate() - datetime.timedelta(days=days_ago)
    update(sub, start_date=start, renewal_date=start + relativedelta(years=1))
    client = client_for(world.provider_admin)
    page = client.get(sub_url(world.provider, "detail", sub)).content.decode()
    ends = date_format(start + datetime.timedelta(days=7), "DATE_FORMAT")
    assert (f"Open until {ends}: licenses can be reduced" in page) == open_
    response = act(client, world.provider, "licenses", sub, quantity=4)
    assert ("The number of licenses was changed." in flashes(response)) == open_
    assert fresh(sub).quantity == (4 if open_ else 5)


def test_auto_renew_can_be_turned_off_and_on(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.provider_admin)
    response = act(client, world.provider, "auto-renew", sub)  # unchecked box
    assert "Auto-renew was saved." in flashes(response)
    assert fresh(sub).auto_renew is False and fresh(sub).version == 2
    assert "auto-renew off" in response.content.decode()
    response = act(client, world.provider, "auto-renew", sub, auto_renew="on")
    assert fresh(sub).auto_renew is True and fresh(sub).version == 3
    assert [(e.verb, e.changes) for e in events(sub)[-2:]] == [
        ("auto_renew_changed", {"new": False}),
        ("auto_renew_changed", {"new": True}),
    ]
    body = response.content.decode()
    assert "Auto-renew turned off" in body and "Auto-renew turned on" in body


def test_upgrading_moves_to_the_allowed_offer_and_keeps_the_licenses(world, shop, client_for):
    sub = shop.subscription
    update(sub, quantity=17)
    response = act(
        client_for(world.provider_sales), world.provider, "upgrade", sub, offer=shop.standard.pk
    )
    assert "The subscription was upgraded; its licenses carried over." in flashes(response)
    after = fresh(sub)
    assert after.offer_id == shop.standard.pk and after.quantity == 17
    assert (after.term, after.billing_frequency) == ("P1Y", "annual")
    assert after.version == 2
    event = events(sub)[-1]
    assert (event.verb, event.changes) == (
        "upgraded",
        {"old": "Business Basic", "new": "Business Standard"},
    )
    assert "Upgraded from Business Basic to Business Standard" in response.content.decode()


@pytest.mark.parametrize("target", ["premium", "retired-upgrade", "same"])
def test_upgrading_to_an_offer_that_is_not_an_allowed_upgrade_is_refused(
    target, world, shop, client_for
):
    sub = shop.subscription
    offer = {"premium": shop.premium, "retired-upgrade": shop.retired, "same": shop.basic}[target]
    with unscoped("test setup"):
        shop.basic.upgrades.add(shop.retired)  # listed as an upgrade, but inactive
    before = snapshot(sub)
    response = act(client_for(world.provider_admin), world.provider, "upgrade", sub, offer=offer.pk)
    assert any("Select a valid choice" in m for m in flashes(response))
    assert snapshot(sub) == before
    with unscoped("service call"), pytest.raises(ValidationError) as exc:
        lifecycle.upgrade_subscription(
            subscription=sub,
            actor=world.provider_admin,
            org=world.provider,
            offer=offer,
            version=None,
        )
    assert f"{offer.name} is not an upgrade of this subscription." in exc.value.messages
    assert snapshot(sub) == before


def test_an_upgrade_that_cannot_hold_the_licenses_asks_to_change_them_first(
    world, shop, client_for
):
    sub = shop.subscription
    with unscoped("test setup"):
        Offer.objects.filter(pk=shop.standard.pk).update(max_licenses=3)
    before = snapshot(sub)
    response = act(
        client_for(world.provider_admin), world.provider, "upgrade", sub, offer=shop.standard.pk
    )
    assert "Business Standard takes 1 to 3 licenses; change the licenses first." in flashes(
        response
    )
    assert snapshot(sub) == before


def test_suspend_and_reactivate(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.reseller_admin)  # delegated admin may do both
    response = act(client, world.reseller, "suspend", sub)
    assert "The subscription was suspended." in flashes(response)
    assert fresh(sub).status == "suspended" and fresh(sub).version == 2
    assert "<dd>Suspended</dd>" in response.content.decode()
    before = snapshot(sub)
    response = act(client, world.reseller, "suspend", sub)
    assert "A suspended subscription cannot be changed that way." in flashes(response)
    assert snapshot(sub) == before
    response = act(client, world.reseller, "reactivate", sub)
    assert "The subscription was reactivated." in flashes(response)
    assert fresh(sub).status == "active" and fresh(sub).version == 3
    assert [(e.verb, e.changes) for e in events(sub)[-2:]] == [
        ("status_changed", {"old": "active", "new": "suspended"}),
        ("status_changed", {"old": "suspended", "new": "active"}),
    ]
    assert "Status changed from suspended to active" in response.content.decode()


def test_cancel_asks_for_confirmation_and_is_final(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.provider_admin)
    page = client.get(sub_url(world.provider, "cancel", sub))
    body = page.content.decode()
    assert "Cancelling is final: the subscription cannot be reactivated." in body
    assert "The cancellation window closed" not in body
    assert fresh(sub).status == "active"  # showing the page changes nothing
    response = client.post(sub_url(world.provider, "cancel", sub), {"version": 1}, follow=True)
    assert "The subscription was cancelled." in flashes(response)
    after = fresh(sub)
    assert after.status == "cancelled" and after.version == 2
    assert events(sub)[-1].changes == {"old": "active", "new": "cancelled"}
    body = response.content.decode()
    assert "Status changed from active to cancelled" in body
    assert url(world.provider, "subscriptions:licenses", pk=sub.pk) not in body
    assert url(world.provider, "subscriptions:reactivate", pk=sub.pk) not in body
    before = snapshot(sub)
    for action, data in (
        ("reactivate", {}),
        ("suspend", {}),
        ("licenses", {"quantity": 9}),
        ("auto-renew", {}),
        ("upgrade", {"offer": shop.standard.pk}),
        ("cancel", {}),
    ):
        response = act(client, world.provider, action, sub, **data)
        assert "This subscription is cancelled and can no longer be changed." in flashes(
            response
        ), action
    assert snapshot(sub) == before


def test_a_suspended_subscription_can_be_cancelled(world, shop, client_for):
    sub = shop.subscription
    update(sub, status="suspended")
    response = act(client_for(world.provider_sales), world.provider, "cancel", sub)
    assert "The subscription was cancelled." in flashes(response)
    assert fresh(sub).status == "cancelled"


def test_cancelling_outside_the_window_is_refused_and_says_when(world, shop, client_for):
    sub = shop.subscription
    update(sub, **closed_window_dates())
    sub = fresh(sub)
    client = client_for(world.provider_admin)
    page = client.get(sub_url(world.provider, "cancel", sub)).content.decode()
    closed = date_format(sub.cancellation_window_ends, "DATE_FORMAT")
    renewal = date_format(sub.renewal_date, "DATE_FORMAT")
    assert (
        f"The cancellation window closed on {closed}; cancelling will be possible again at "
        f"renewal on {renewal}." in page
    )
    before = snapshot(sub)
    response = act(client, world.provider, "cancel", sub)
    [message] = flashes(response)
    assert f"it opens again at renewal on {date_format(sub.renewal_date, 'DATE_FORMAT')}" in message
    assert snapshot(sub) == before


# ------------------------------------------------------------------------------
# Known bug
# ------------------------------------------------------------------------------
def test_the_cancellation_window_still_counts_from_the_purchase_after_an_upgrade_to_a_longer_term(
    world, shop, client_for
):
    with unscoped("test setup"):
        monthly = OfferFactory(name="Monthly Basic", term="P1M")
        monthly.upgrades.add(shop.standard)  # P1Y
        sub = SubscriptionFactory(
            customer=shop.plain_customer,
            offer=monthly,
            term="P1M",
            quantity=10,
            **open_window_dates("P1M"),
        )
    client = client_for(world.provider_admin)
    response = act(client, world.provider, "upgrade", sub, offer=shop.standard.pk)
    assert "The subscription was upgraded; its licenses carried over." in flashes(response)
    after = fresh(sub)
    assert after.term_start >= after.start_date
    response = act(client, world.provider, "licenses", sub, quantity=4)
    assert "The number of licenses was changed." in flashes(response)
