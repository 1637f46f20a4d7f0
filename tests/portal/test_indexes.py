"""The hot queries can use their indexes: each index's expression matches the SQL the ORM
writes for the lookup (a mismatch, e.g. UPPER(email) against email, silently means a
scan of every row at scale). A test table is tiny, so the planner is told to avoid
sequential scans and sorts, and the plan must then name the index."""

import pytest
from allauth.account.models import EmailAddress
from django.db import connection

from customers.models import Customer
from partners.models import AuditEvent
from portal.models import User
from portal.scoping import org_scope, unscoped
from subscriptions.selectors import subscription_table

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")  # an ordered list must come in order
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_case_insensitive_email_lookups_use_an_index():
    users = User.objects.filter(email__iexact="A@Example.test").order_by()
    assert "user_email_upper" in plan(users)
    emails = EmailAddress.objects.filter(email__iexact="A@Example.test").order_by()
    assert "emailaddress_email_upper" in plan(emails)


def test_customer_lists_and_search_use_their_indexes(world):
    with unscoped("reading plans"):
        mine = Customer.objects.filter(provider=world.provider).order_by("company_name", "pk")
        assert "customer_provider_name" in plan(mine[:25])
        delegated = plan(mine.filter(reseller=world.reseller)[:25])
        # (provider, reseller, name, id) or (reseller, name, id): read in order, no sort
        assert "Index Scan using customer_" in delegated and "Sort" not in delegated
        found = plan(Customer.objects.filter(company_name__icontains="harbor"))
        assert "customer_name_trgm" in found
        assert "customer_domain_trgm" in plan(Customer.objects.filter(domain__icontains="harb"))


def test_an_organizations_activity_is_one_indexed_column(world):
    with unscoped("reading plans"):
        entries = AuditEvent.objects.filter(AuditEvent.visible_to(world.provider))
        assert "provider_id" in plan(entries.order_by("-created_at")[:25])
        assert "Index" in plan(entries.order_by("-created_at")[:25])


def test_a_resellers_subscriptions_are_read_by_id(world):
    """Issue 16: the reasons a reseller sees a subscription (delegated, credited, supported)
    are sub-selects whose ids are an index condition on the page's query, which therefore
    never reads the whole table (at scale each sub-select is on its own index: see
    docs/performance.md)."""
    with org_scope(world.reseller):
        page = subscription_table(org=world.reseller).order_by("customer__company_name", "pk")
        found = plan(page[:25])
    assert "Seq Scan on subscriptions_subscription" not in found
    assert "Seq Scan on customers_customer" not in found
    assert "(id = ANY ($" in found
