"""Partnerships after they start: the Indirect resellers page, the reseller's side (Indirect
providers), and ending a partnership.
"""

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partners.models import Partnership
from partners.services.partnerships import accept_partnership, request_partnership
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from tests.factories import ResellerFactory
from tests.partners._partnerships import count, partner, reseller_with_admin, start_request, url

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# The Indirect resellers page
# ------------------------------------------------------------------------------
def partners_of(provider, n):
    resellers = [
        ResellerFactory(name=f"Reseller {i:03d}", partner_id=f"{5300000 + i}") for i in range(n)
    ]
    with unscoped("test setup"):
        Partnership.objects.bulk_create(
            [Partnership(provider=provider, reseller=r) for r in resellers]
        )
    return resellers


def test_the_list_shows_active_partners_with_their_actions(world, client_for):
    partners_of(world.provider, 3)
    page = client_for(world.provider_sales).get(url(world, "partners:reseller-list"))
    body = page.content.decode()
    assert "Reseller 000" in body and "5300002" in body
    assert body.count(">Add new customer<") == 3
    assert "End partnership" not in body  # Admins only
    support = client_for(world.provider_support).get(url(world, "partners:reseller-list"))
    assert ">Add new customer<" not in support.content.decode()
    assert ">Request a partnership<" not in support.content.decode()


def test_the_list_searches_by_name_or_partner_id_and_sorts(world, client_for):
    partners_of(world.provider, 12)
    client = client_for(world.provider_admin)
    body = client.get(url(world, "partners:reseller-list"), {"q": "reseller 011"}).content.decode()
    assert "Reseller 011" in body and "Reseller 010" not in body
    body = client.get(url(world, "partners:reseller-list"), {"q": "5300003"}).content.decode()
    assert "Reseller 003" in body and "Reseller 004" not in body
    body = client.get(url(world, "partners:reseller-list"), {"sort": "-name"}).content.decode()
    assert body.index("Reseller 011") < body.index("Reseller 000")


def test_the_list_exports_csv(world, client_for):
    partners_of(world.provider, 2)
    response = client_for(world.provider_admin).get(
        url(world, "partners:reseller-list"), {"_export": "csv"}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "Indirect reseller",
        "Partner ID",
        "Partnership since",
        "Customers",
        "Subscriptions",
        "Partner ID status",
    ]
    today = timezone.now().date().isoformat()
    assert rows[1] == ["Reseller 000", "5300000", today, "0", "0", "Unverified"]


def test_the_list_paginates(world, client_for):
    partners_of(world.provider, 30)
    client = client_for(world.provider_admin)
    first = client.get(url(world, "partners:reseller-list")).content.decode()
    second = client.get(url(world, "partners:reseller-list"), {"page": 2}).content.decode()
    assert "Reseller 024" in first and "Reseller 025" not in first
    assert "Reseller 025" in second


@pytest.mark.parametrize("rows", [1, 60])
def test_the_list_runs_a_constant_number_of_queries(
    rows, world, client_for, django_assert_max_num_queries
):
    partners_of(world.provider, rows)
    for i in range(min(rows, 10)):
        with unscoped("test setup"):
            request_partnership(
                provider=world.provider, actor=world.provider_admin, email=f"p{i}@example.test"
            )
    client = client_for(world.provider_admin)
    with django_assert_max_num_queries(14):
        assert client.get(url(world, "partners:reseller-list")).status_code == 200


def test_providers_never_see_each_others_partners_or_requests(world, client_for):
    partner(world.provider, world.reseller)
    start_request(client_for(world.provider_admin), world, email="canary-p1@example.test")
    page = client_for(world.other_provider_admin).get(
        url(world, "partners:reseller-list", org=world.other_provider)
    )
    body = page.content.decode()
    assert world.reseller.name not in body
    assert "canary-p1@example.test" not in body


# ------------------------------------------------------------------------------
# The reseller's side
# ------------------------------------------------------------------------------
def test_the_reseller_sees_its_providers_and_requests_addressed_to_its_users(world, client_for):
    partner(world.other_provider, world.reseller)
    start_request(client_for(world.provider_admin), world, email=world.reseller_admin.email)
    page = client_for(world.reseller_admin).get(
        url(world, "partners:provider-list", org=world.reseller)
    )
    body = page.content.decode()
    assert world.other_provider.name in body  # a partner
    assert world.provider.name in body and ">Accept<" in body  # a pending request
    outsider = reseller_with_admin("someone@else.example")
    other_page = client_for(User.objects.get(email="someone@else.example")).get(
        url(world, "partners:provider-list", org=outsider)
    )
    assert world.provider.name not in other_page.content.decode()


def test_the_reseller_accepts_from_the_indirect_providers_page(world, client_for):
    request, _, _ = start_request(
        client_for(world.provider_admin), world, email=world.reseller_admin.email
    )
    client = client_for(world.reseller_admin)
    response = client.post(
        url(world, "partners:request-respond", org=world.reseller, pk=request.pk),
        {"decision": "accept"},
        follow=True,
    )
    assert f"You are now an indirect reseller of {world.provider.name}." in (
        response.content.decode()
    )
    with unscoped("assert"):
        assert Partnership.objects.filter(provider=world.provider, reseller=world.reseller).exists()


# ------------------------------------------------------------------------------
# Ending a partnership
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("side", ["provider", "reseller"])
def test_either_admin_ends_a_partnership_and_history_stays(side, world, client_for):
    partnership = partner(world.provider, world.reseller)
    org = getattr(world, side)
    admin = world.provider_admin if side == "provider" else world.reseller_admin
    client = client_for(admin)
    end_url = url(world, "partners:partnership-end", org=org, pk=partnership.pk)
    confirm = html.unescape(client.get(end_url).content.decode())
    assert "loses access to" in confirm and "return to" in confirm and "history" in confirm
    response = client.post(end_url, follow=True)
    assert "The partnership has ended." in response.content.decode()
    with unscoped("assert"):
        partnership.refresh_from_db()
    assert partnership.ended_at is not None and partnership.ended_by == admin
    assert count(Partnership) == 1
    other_admin = world.reseller_admin if side == "provider" else world.provider_admin
    assert OutboundEmail.objects.filter(to=other_admin.email, subject__contains="ended").exists()
    resellers = client_for(world.provider_admin).get(url(world, "partners:reseller-list"))
    assert world.reseller.name not in resellers.content.decode().split("Partnership requests")[0]
    assert client.post(end_url).status_code == 404  # already ended


def test_an_ended_partnership_can_be_re_established(world, client_for):
    partnership = partner(world.provider, world.reseller)
    client_for(world.provider_admin).post(url(world, "partners:partnership-end", pk=partnership.pk))
    request, _, _ = start_request(
        client_for(world.provider_admin), world, email=world.reseller_admin.email
    )
    accept_partnership(request=request, reseller=world.reseller, actor=world.reseller_admin)
    with unscoped("assert"):
        assert Partnership.objects.filter(ended_at=None).count() == 1
        assert Partnership.objects.count() == 2


def test_ending_returns_support_contacts_to_the_provider_and_keeps_incentives(world, client_for):
    from subscriptions.models import Subscription
    from tests.factories import CustomerFactory, SubscriptionFactory

    partnership = partner(world.provider, world.reseller)
    with unscoped("test setup"):
        customer = CustomerFactory(provider=world.provider, reseller=world.reseller)
        supported = SubscriptionFactory(
            customer=customer, support_contact=world.reseller, reseller=world.reseller
        )
    client_for(world.provider_admin).post(url(world, "partners:partnership-end", pk=partnership.pk))
    with unscoped("test: read the database as it is"):
        supported = Subscription.objects.get(pk=supported.pk)
    assert supported.support_contact is None  # back to the provider
    assert supported.reseller == world.reseller  # incentive association stays
    assert supported.version == 2


def test_reseller_counts_follow_changes_and_come_from_the_cache(
    world, client_for, django_capture_on_commit_callbacks
):
    """The Customers and Subscriptions counts of Indirect resellers are cached per
    reseller and counted afresh after any change to the provider's customers."""
    from customers.services import set_customer_reseller
    from subscriptions.services.lifecycle import set_status
    from tests.factories import CustomerFactory, SubscriptionFactory

    with unscoped("test setup"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        customer = CustomerFactory(provider=world.provider)
        today = timezone.localdate()
        subscription = SubscriptionFactory(
            customer=customer, start_date=today, renewal_date=today + timedelta(days=365)
        )
    client = client_for(world.provider_admin)
    path = url(world, "partners:reseller-list")

    def cells():
        html = client.get(path).content.decode()
        row = html[html.index(world.reseller.name) :]
        # The Partner ID cell holds spans (its "unverified" badge): the first two are counts.
        return re.findall(r"<td[^>]*>(\d+)</td>", row)[:2]

    assert cells() == ["0", "0"]
    with unscoped("the services"), django_capture_on_commit_callbacks(execute=True):
        set_customer_reseller(
            customer=customer, actor=world.provider_admin, reseller=world.reseller
        )
    assert cells() == ["1", "1"]
    with CaptureQueriesContext(connection) as queries:
        assert cells() == ["1", "1"]
    assert not [q for q in queries if "customers_customer" in q["sql"]]  # from the cache
    with unscoped("the services"), django_capture_on_commit_callbacks(execute=True):
        set_status(
            subscription=subscription, actor=world.provider_admin, org=world.provider,
            status="cancelled", version=None,
        )  # fmt: skip
    assert cells() == ["1", "0"]
