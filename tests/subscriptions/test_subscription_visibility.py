"""Issue 16: who sees a subscription. A reseller's rule is one indexed sub-select per reason
(delegated, credited, supported) joined by UNION ALL instead of an OR across two tables;
it must answer exactly what the OR answered, on every kind of row, and never list a
subscription twice."""

import pytest
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from customers.models import Customer, customer_visibility
from partners.models import Partnership
from portal.scoping import org_scope, unscoped
from subscriptions.models import ScheduledChange, Subscription, SubscriptionEvent
from subscriptions.selectors import subscription_detail, subscription_table
from tests.factories import CustomerFactory, ProviderFactory, ResellerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def or_rule(tenant, prefix: str = "") -> Q:
    """The rule as it was: whoever sees the customer, or a reseller credited or designated
    support contact while it partners with the customer's provider, as one OR."""
    rule = customer_visibility(tenant, prefix=f"{prefix}customer__")
    if isinstance(tenant, Customer):
        return rule
    partnered = Partnership.objects.filter(
        provider=OuterRef(f"{prefix}customer__provider"), reseller=tenant, ended_at=None
    )
    named = Q(**{f"{prefix}reseller": tenant}) | Q(**{f"{prefix}support_contact": tenant})
    return rule | (named & Q(Exists(partnered)))


@pytest.fixture
def mixed(world):
    """Two partners of P1 and P3, an ended partnership with P4, and a subscription for
    every reason a reseller sees one, for several at once, and for none."""
    with unscoped("test setup"):
        p1, p2 = world.provider, world.other_provider
        p3, p4 = ProviderFactory(slug="p3"), ProviderFactory(slug="p4")
        r1, r2, r3 = world.reseller, ResellerFactory(slug="r2"), ResellerFactory(slug="r3")
        for provider, reseller in ((p1, r1), (p1, r2), (p3, r1), (p3, r3), (p4, r2)):
            Partnership.objects.create(provider=provider, reseller=reseller)
        Partnership.objects.create(provider=p4, reseller=r1, ended_at=timezone.now())

        def sub(provider, delegated_to=None, **named):
            customer = CustomerFactory(provider=provider, reseller=delegated_to)
            return SubscriptionFactory(customer=customer, **named)

        rows = [
            sub(p1, r1),  # delegated
            sub(p1, reseller=r1),  # credited
            sub(p1, support_contact=r1),  # supported
            sub(p1, r1, reseller=r1, support_contact=r1),  # all three
            sub(p1, r1, support_contact=r1),  # delegated and supported
            sub(p1, reseller=r1, support_contact=r1),  # credited and supported
            sub(p1, r2, reseller=r1),  # another's customer, credited to R1
            sub(p1, r2, support_contact=r1, reseller=r2),  # another's, supported by R1
            sub(p1, r2),  # another's: foreign to R1
            sub(p1, support_contact=p1),  # the provider supports it itself
            sub(p1),  # the provider's alone
            sub(p3, r1),  # delegated by a second partner
            sub(p3, r3, support_contact=r1),
            sub(p4, r1),  # delegated, but the partnership ended
            sub(p4, reseller=r1, support_contact=r1),  # named, partnership ended
            sub(p4, r2, reseller=r2),
            sub(p2, reseller=r3),  # R3 named where it is no partner
            sub(p2),
        ]
        # Two subscriptions of one customer: both listed, each once.
        rows.append(SubscriptionFactory(customer=rows[0].customer, reseller=r1))
        for row in rows:
            SubscriptionEvent.objects.create(subscription=row, verb="created", changes={})
            ScheduledChange.objects.create(subscription=row, term_end=row.renewal_date, quantity=9)
    customer = rows[0].customer
    return {"orgs": [p1, p2, p3, p4, r1, r2, r3], "customer": customer, "rows": rows}


def test_the_union_sees_exactly_what_the_or_saw(mixed):
    tenants = [*mixed["orgs"], mixed["customer"]]
    for tenant in tenants:
        with unscoped("the old rule, for comparison"):
            expected = Subscription.objects.filter(or_rule(tenant))
            expected = set(expected.values_list("pk", flat=True))
        with org_scope(tenant):
            assert set(Subscription.objects.values_list("pk", flat=True)) == expected, tenant
            for model in (SubscriptionEvent, ScheduledChange):
                with unscoped("the old rule, for comparison"):
                    old = model.objects.filter(or_rule(tenant, prefix="subscription__"))
                    old = set(old.values_list("subscription_id", flat=True))
                new = set(model.objects.values_list("subscription_id", flat=True))
                assert new == old == expected, (model, tenant)


def test_the_reseller_sees_each_reason_once(mixed, world):
    with org_scope(world.reseller):
        listed = list(
            subscription_table(org=world.reseller)
            .order_by("customer__company_name", "pk")
            .values_list("pk", flat=True)
        )
        counted = subscription_table(org=world.reseller).count()
    rows = mixed["rows"]
    visible = {rows[n].pk for n in (0, 1, 2, 3, 4, 5, 6, 7, 11, 12, 18)}
    assert len(listed) == len(set(listed)) == counted == len(visible)
    assert set(listed) == visible


def test_every_org_opens_what_it_lists(mixed):
    for org in mixed["orgs"]:
        with org_scope(org):
            listed = list(subscription_table(org=org).values_list("pk", flat=True))
            assert len(listed) == len(set(listed))
            opened = subscription_detail(org=org).filter(pk__in=listed).count()
            assert opened == len(listed)
