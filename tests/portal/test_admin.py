import pytest
from django.apps import apps
from django.urls import reverse

from partners.audit import record_event
from partners.models import Partnership
from partners.services.partnerships import request_partnership
from partners.services.team import invite_member
from portal.emails import queue_message
from portal.scoping import unscoped
from subscriptions.models import (
    Order,
    RenewalReminder,
    ScheduledChange,
    SubscriptionEvent,
    TermTransition,
)
from tests.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_staff_render_every_changelist_and_change_form(world, client_for):
    with unscoped("test setup"):
        invite_member(
            org=world.provider, actor=world.provider_admin, email="i@x.test", role="admin"
        )
        record_event(org=world.provider, actor=world.provider_admin, verb="test.event")
        request_partnership(
            provider=world.provider, actor=world.provider_admin, email="r@example.test"
        )
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        subscription = SubscriptionFactory(customer=CustomerFactory(provider=world.provider))
        SubscriptionEvent.objects.create(subscription=subscription, verb="created")
        end = subscription.renewal_date
        ScheduledChange.objects.create(subscription=subscription, term_end=end, quantity=3)
        TermTransition.objects.create(
            subscription=subscription, term_end=end, kind="renewed", as_of=end
        )
        RenewalReminder.objects.create(subscription=subscription, term_end=end, days_before=7)
        Order.objects.create(
            provider=world.provider, customer=CustomerFactory(provider=world.provider)
        )
    queue_message(to="x@example.test", subject="s", body_text="b")
    client = client_for(world.staff)
    from django.contrib import admin

    assert client.get(reverse("admin:index")).status_code == 200
    for model in admin.site._registry:
        if model._meta.app_label not in {"portal", "partners", "customers", "subscriptions"}:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        assert client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200, info
        with unscoped("admin test"):
            obj = model.objects.first()
        assert obj is not None, info
        page = client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        assert page.status_code == 200, info
    assert (
        client.get(reverse("admin:partners_organization_changelist"), {"q": "Contoso"}).status_code
        == 200
    )


def test_every_model_of_ours_is_registered_in_the_admin():
    from django.contrib import admin

    ours = {
        m
        for m in apps.get_models()
        if m._meta.app_label in {"portal", "partners", "customers", "subscriptions"}
    }
    assert ours <= set(admin.site._registry)


def test_non_staff_users_get_404_from_the_admin(world, client_for):
    response = client_for(world.provider_admin).get(reverse("admin:index"), follow=True)
    assert response.status_code == 404


def test_anonymous_admin_visitors_log_in_through_allauth(client):
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))


def test_staff_cannot_bypass_the_rules_by_editing_records(world, client_for):
    with unscoped("test setup"):
        subscription = SubscriptionFactory(customer=CustomerFactory(provider=world.provider))
        membership = world.provider_admin.memberships.get()
    client = client_for(world.staff)
    response = client.post(
        reverse("admin:subscriptions_subscription_change", args=[subscription.pk]),
        {"status": "cancelled", "quantity": 1},
    )
    assert response.status_code == 403
    response = client.post(
        reverse("admin:partners_membership_change", args=[membership.pk]), {"role": "support_agent"}
    )
    assert response.status_code == 403
    with unscoped("assert"):
        subscription.refresh_from_db()
    membership.refresh_from_db()
    assert (subscription.status, subscription.quantity) == ("active", 5)
    assert membership.role == "admin"
    # Read-only pages still render, with links between related objects.
    page = client.get(reverse("admin:subscriptions_subscription_changelist")).content.decode()
    customer_url = reverse("admin:customers_customer_change", args=[subscription.customer_id])
    assert f'href="{customer_url}"' in page
