"""The activity log: one entry per change, each side sees its own, nobody edits it."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from customers.services import set_customer_reseller
from partners.models import AuditEvent, Partnership
from partners.services.partnerships import (
    accept_partnership,
    decline_partnership,
    end_partnership,
    request_partnership,
    resend_partnership_request,
    revoke_partnership_request,
)
from portal.scoping import org_scope, unscoped
from subscriptions.models import Subscription
from subscriptions.services.lifecycle import (
    change_licenses,
    designate_support_contact,
    set_auto_renew,
    set_incentive_reseller,
    set_status,
    upgrade_subscription,
)
from subscriptions.services.orders import add_subscriptions
from tests.factories import (
    PASSWORD,
    CustomerFactory,
    MembershipFactory,
    OfferFactory,
    ResellerFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


def changes() -> list[AuditEvent]:
    with unscoped("count"):
        return list(AuditEvent.objects.exclude(verb__startswith="login.").order_by("pk"))


@pytest.fixture
def partnered(world):
    with unscoped("test setup"):
        return Partnership.objects.create(provider=world.provider, reseller=world.reseller)


def exactly_one(action, verb: str):
    before = len(changes())
    with unscoped("the service under test"):
        action()
    after = changes()
    assert len(after) == before + 1, [e.verb for e in after[before:]]
    assert after[-1].verb == verb
    return after[-1]


def test_every_partnership_action_writes_exactly_one_entry(world):
    p1, r1, admin = world.provider, world.reseller, world.provider_admin
    with unscoped("setup"):
        request, _ = request_partnership(provider=p1, actor=admin, email="x@example.test")
    exactly_one(
        lambda: resend_partnership_request(provider=p1, actor=admin, request=request),
        "partnership.request_resent",
    )
    exactly_one(
        lambda: revoke_partnership_request(provider=p1, actor=admin, request=request),
        "partnership.request_revoked",
    )
    entry = exactly_one(
        lambda: request_partnership(provider=p1, actor=admin, email=world.reseller_admin.email),
        "partnership.requested",
    )
    assert entry.provider == p1 and entry.reseller is None
    with unscoped("setup"):
        pending = request.__class__.objects.get(state="pending")
    accepted = exactly_one(
        lambda: accept_partnership(request=pending, reseller=r1, actor=world.reseller_admin),
        "partnership.accepted",
    )
    assert (accepted.organization, accepted.provider, accepted.reseller) == (r1, p1, r1)
    with unscoped("setup"):
        partnership = Partnership.objects.get(ended_at=None)
    ended = exactly_one(
        lambda: end_partnership(org=p1, actor=admin, partnership=partnership), "partnership.ended"
    )
    assert ended.reseller == r1
    with unscoped("setup"):
        second, _ = request_partnership(provider=p1, actor=admin, email=world.reseller_admin.email)
    exactly_one(
        lambda: decline_partnership(request=second, actor=world.reseller_admin, reseller=r1),
        "partnership.declined",
    )


def test_every_customer_and_subscription_action_writes_exactly_one_entry(world, partnered):
    p1, admin = world.provider, world.provider_admin
    other = ResellerFactory()
    with unscoped("setup"):
        Partnership.objects.create(provider=p1, reseller=other)
        customer = CustomerFactory(provider=p1)
        basic = OfferFactory(name="Basic")
        standard = OfferFactory(name="Standard")
        basic.upgrades.add(standard)
    exactly_one(
        lambda: set_customer_reseller(customer=customer, actor=admin, reseller=world.reseller),
        "customer.reseller_assigned",
    )
    exactly_one(
        lambda: set_customer_reseller(customer=customer, actor=admin, reseller=other),
        "customer.reseller_changed",
    )
    removed = exactly_one(
        lambda: set_customer_reseller(customer=customer, actor=admin, reseller=None),
        "customer.reseller_removed",
    )
    assert removed.reseller == other  # the reseller that lost access sees why

    def add():
        with org_scope(p1):
            add_subscriptions(
                provider=p1,
                actor=admin,
                customer=customer,
                lines=[(basic, 5)],
                reseller=None,
                confirm_no_incentive=True,
                idempotency_key="6f1c2b52-7d5c-4cf4-8a53-8f0d5c1e2a11",
            )

    exactly_one(add, "subscription.created")
    with unscoped("setup"):
        subscription = Subscription.objects.get(customer=customer)
    common = {"subscription": subscription, "actor": admin, "org": p1, "version": None}
    steps = [
        (lambda: change_licenses(quantity=9, **common), "subscription.licenses_changed"),
        (lambda: upgrade_subscription(offer=standard, **common), "subscription.upgraded"),
        (lambda: set_auto_renew(auto_renew=False, **common), "subscription.auto_renew_changed"),
        (
            lambda: set_incentive_reseller(reseller=world.reseller, **common),
            "subscription.incentive_reseller_changed",
        ),
        (
            lambda: designate_support_contact(contact=world.reseller, **common),
            "subscription.support_contact_changed",
        ),
        (lambda: set_status(status="suspended", **common), "subscription.status_changed"),
        (lambda: set_status(status="active", **common), "subscription.status_changed"),
        (lambda: set_status(status="cancelled", **common), "subscription.status_changed"),
    ]
    # The support contact is the customer's reseller: delegate it first.
    exactly_one(
        lambda: set_customer_reseller(customer=customer, actor=admin, reseller=world.reseller),
        "customer.reseller_assigned",
    )
    for action, verb in steps:
        entry = exactly_one(action, verb)
        assert entry.subscription_id == subscription.pk
        assert entry.customer_id == customer.pk


def test_sign_ins_and_failed_sign_ins_are_logged_for_each_organization(world, client_for):
    MembershipFactory(user=world.reseller_admin, organization=world.provider, role="sales_agent")
    client_for(None).post(
        reverse("account_login"), {"login": world.reseller_admin.email, "password": PASSWORD}
    )
    client_for(None).post(
        reverse("account_login"), {"login": world.reseller_admin.email, "password": "no"}
    )
    with unscoped("assert"):
        succeeded = AuditEvent.objects.filter(verb="login.succeeded", actor=world.reseller_admin)
        failed = AuditEvent.objects.filter(verb="login.failed", actor=world.reseller_admin)
        assert {e.organization for e in succeeded} == {world.provider, world.reseller}
        assert {e.organization for e in failed} == {world.provider, world.reseller}


def activity(client, org, **params):
    return client.get(reverse("activity", kwargs={"org_slug": org.slug}), params)


def test_each_side_sees_only_its_own_business(world, partnered, client_for):
    p1, r1, admin = world.provider, world.reseller, world.provider_admin
    with unscoped("setup"):
        request_partnership(provider=p1, actor=admin, email="canary-prospect@example.test")
        delegated = CustomerFactory(provider=p1, company_name="Delegated Co")
        private = CustomerFactory(provider=p1, company_name="Private Co")
        set_customer_reseller(customer=delegated, actor=admin, reseller=r1)
        other = ResellerFactory()
        Partnership.objects.create(provider=p1, reseller=other)
        set_customer_reseller(customer=private, actor=admin, reseller=other)
    provider_page = activity(client_for(admin), p1).content.decode()
    assert "Delegated Co" in provider_page and "Private Co" in provider_page
    assert "canary-prospect@example.test" in provider_page
    reseller_page = activity(client_for(world.reseller_admin), r1).content.decode()
    assert "Delegated Co" in reseller_page
    assert "Private Co" not in reseller_page
    assert "canary-prospect@example.test" not in reseller_page
    outsider_page = activity(client_for(world.other_provider_admin), world.other_provider)
    assert "Delegated Co" not in outsider_page.content.decode()


def test_activity_filters_by_kind_user_and_date_and_exports_csv(world, partnered, client_for):
    p1, admin = world.provider, world.provider_admin
    with unscoped("setup"):
        request_partnership(provider=p1, actor=admin, email="a@example.test")
        request_partnership(provider=p1, actor=world.provider_sales, email="b@example.test")
        customer = CustomerFactory(provider=p1, company_name="Adatum")
        set_customer_reseller(customer=customer, actor=admin, reseller=world.reseller)
        AuditEvent.objects.filter(target="a@example.test").update(
            created_at=timezone.now() - timedelta(days=10)
        )
    client = client_for(admin)
    page = activity(client, p1, kind="customer").content.decode()
    assert "Adatum" in page and "a@example.test" not in page
    page = activity(client, p1, actor=world.provider_sales.pk).content.decode()
    assert "b@example.test" in page and "a@example.test" not in page
    since = (timezone.localdate() - timedelta(days=2)).isoformat()
    page = activity(client, p1, created_at_after=since).content.decode()
    assert "b@example.test" in page and "a@example.test" not in page
    rows = list(csv.reader(io.StringIO(activity(client, p1, _export="csv").content.decode())))
    assert rows[0] == ["When", "Who", "On behalf of", "What", "Object", "Before → after"]
    assert any(
        row[3] == "Reseller assigned" and row[5] == f"— → {world.reseller.name}" for row in rows
    )


@pytest.mark.parametrize("rows", [1, 60])
def test_activity_page_runs_a_constant_number_of_queries(
    rows, world, client_for, django_assert_max_num_queries
):
    with unscoped("setup"):
        for i in range(rows):
            request_partnership(
                provider=world.provider, actor=world.provider_admin, email=f"{i}@x.test"
            )
    client = client_for(world.provider_admin)
    with django_assert_max_num_queries(12):
        assert activity(client, world.provider).status_code == 200


def test_nobody_can_edit_or_delete_entries_in_the_admin(world, rf):
    model_admin = admin.site._registry[AuditEvent]
    request = rf.get("/")
    request.user = world.staff
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_admin_actions_go_through_the_same_rules_and_log(world, partnered, client_for, mailoutbox):
    staff = client_for(world.staff)
    with unscoped("setup"):
        request, _ = request_partnership(
            provider=world.provider, actor=world.provider_admin, email="p@example.test"
        )
        subscription = SubscriptionFactory(customer=CustomerFactory(provider=world.provider))
    before = len(changes())
    staff.post(
        reverse("admin:partners_partnershiprequest_changelist"),
        {"action": "resend_requests", "_selected_action": [request.pk]},
    )
    staff.post(
        reverse("admin:subscriptions_subscription_changelist"),
        {"action": "suspend", "_selected_action": [subscription.pk]},
    )
    staff.post(
        reverse("admin:partners_partnership_changelist"),
        {"action": "end_partnerships", "_selected_action": [partnered.pk]},
    )
    verbs = [e.verb for e in changes()[before:]]
    assert verbs == [
        "partnership.request_resent",
        "partnership.request_sent",
        "subscription.status_changed",
        "partnership.ended",
    ]
    with unscoped("assert"):
        subscription.refresh_from_db()
        partnered.refresh_from_db()
    assert subscription.status == "suspended" and subscription.version == 2
    assert partnered.ended_at is not None
    # Suspending again is refused by the same rule as in the portal: nothing changes.
    staff.post(
        reverse("admin:subscriptions_subscription_changelist"),
        {"action": "suspend", "_selected_action": [subscription.pk]},
    )
    assert len(changes()) == before + 4


def test_the_acting_organization_is_always_a_side_of_its_entry(world):
    """AuditEvent.visible_to is one indexed column (provider, or reseller) because
    record_event puts the acting organization on its own side."""
    from partners.audit import record_event

    with unscoped("the service under test"):
        own = record_event(org=world.provider, actor=world.provider_admin, verb="member.added")
        theirs = record_event(
            org=world.reseller,
            actor=world.reseller_admin,
            verb="partnership.accepted",
            provider=world.provider,
        )
        assert (own.provider, own.reseller) == (world.provider, None)
        assert (theirs.provider, theirs.reseller) == (world.provider, world.reseller)
        with pytest.raises(ValueError, match="not part of"):
            record_event(
                org=world.reseller,
                actor=world.reseller_admin,
                verb="x.y",
                reseller=ResellerFactory(),
            )
    for org, seen in ((world.provider, {own, theirs}), (world.reseller, {theirs})):
        with org_scope(org):
            assert set(AuditEvent.objects.filter(AuditEvent.visible_to(org))) >= seen
    with org_scope(world.reseller):
        assert own not in AuditEvent.objects.filter(AuditEvent.visible_to(world.reseller))
