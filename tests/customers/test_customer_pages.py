import csv
import io
import re

import pytest
from django.urls import reverse

from customers.models import Customer
from partners.models import Membership, Partnership
from partners.services.partnerships import end_partnership
from portal.scoping import unscoped
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OfferFactory,
    ResellerFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def delegation(world):
    """P1 partnered with R1; C1 delegated to R1 with two subscriptions, C1b not delegated."""
    with unscoped("test setup"):
        partnership = Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        c1 = CustomerFactory(
            provider=world.provider, reseller=world.reseller, company_name="Adatum Corp"
        )
        c1b = CustomerFactory(provider=world.provider, company_name="Coho Winery")
        offer = OfferFactory(name="Business Basic")
        SubscriptionFactory(customer=c1, offer=offer, quantity=7)
        SubscriptionFactory(customer=c1, offer=OfferFactory(name="Teams Essentials"))
    return partnership, c1, c1b


def url(org, name, **kwargs):
    return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


def count_customers() -> int:
    with unscoped("test: read the database as it is"):
        return Customer.objects.count()


# ------------------------------------------------------------------------------
# The Customers page
# ------------------------------------------------------------------------------
def test_provider_lists_its_customers_with_reseller_and_subscription_count(
    world, delegation, client_for
):
    body = client_for(world.provider_support).get(url(world.provider, "customers:list"))
    page = body.content.decode()
    assert "Adatum Corp" in page and "Coho Winery" in page
    assert world.reseller.name in page
    assert "Canary Customer" not in page  # P2's customer
    assert ">Add new customer<" not in page  # support agents don't add customers
    admin_page = client_for(world.provider_admin).get(url(world.provider, "customers:list"))
    assert ">Add new customer<" in admin_page.content.decode()


def test_customers_filter_by_reseller_and_none_and_search(world, delegation, client_for):
    client = client_for(world.provider_admin)
    page = client.get(url(world.provider, "customers:list"), {"reseller": world.reseller.pk})
    assert "Adatum Corp" in page.content.decode()
    assert "Coho Winery" not in page.content.decode()
    page = client.get(url(world.provider, "customers:list"), {"reseller": "none"})
    assert "Coho Winery" in page.content.decode()
    assert "Adatum Corp" not in page.content.decode()
    page = client.get(url(world.provider, "customers:list"), {"q": "coho"})
    assert "Coho Winery" in page.content.decode() and "Adatum Corp" not in page.content.decode()
    page = client.get(url(world.provider, "customers:list"), {"q": delegation[1].domain})
    assert "Adatum Corp" in page.content.decode()


def test_a_foreign_reseller_in_the_filter_is_refused(world, delegation, client_for):
    other = ResellerFactory()
    page = client_for(world.provider_admin).get(
        url(world.provider, "customers:list"), {"reseller": other.pk}
    )
    assert "Select a valid choice" in page.content.decode()
    assert other.name not in page.content.decode()


def test_a_provider_with_more_resellers_than_a_filter_lists(
    world, delegation, client_for, settings
):
    """Past FILTER_CHOICES_LIMIT partners the select offers the chosen reseller only (the
    Customers button of Indirect resellers links here with it) and says how to pick."""
    settings.FILTER_CHOICES_LIMIT = 2
    with unscoped("test setup"):
        for name in ("Zeta Partner", "Yotta Partner"):
            Partnership.objects.create(provider=world.provider, reseller=ResellerFactory(name=name))
    client = client_for(world.provider_admin)
    page = client.get(url(world.provider, "customers:list")).content.decode()
    select = page[
        page.index('name="reseller"') : page.index("</select>", page.index('name="reseller"'))
    ]
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "none"]
    assert "select Customers on its row of the Indirect resellers page" in page
    page = client.get(url(world.provider, "customers:list"), {"reseller": world.reseller.pk})
    html = page.content.decode()
    assert f'<option value="{world.reseller.pk}" selected>{world.reseller.name}</option>' in html
    assert "Adatum Corp" in html and "Coho Winery" not in html and "Zeta Partner" not in html
    other = ResellerFactory()
    page = client.get(url(world.provider, "customers:list"), {"reseller": other.pk})
    assert "Select a valid choice" in page.content.decode()


def test_customers_export_csv(world, delegation, client_for):
    response = client_for(world.provider_admin).get(
        url(world.provider, "customers:list"), {"_export": "csv"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "Company name",
        "Primary domain",
        "Indirect reseller",
        "Subscriptions",
        "Created",
    ]
    assert ["Adatum Corp", delegation[1].domain, world.reseller.name, "2"] == rows[1][:4]
    assert rows[2][2] == ""  # no reseller


@pytest.mark.parametrize("rows", [1, 60])
def test_customers_page_runs_a_constant_number_of_queries(
    rows, world, client_for, django_assert_max_num_queries
):
    with unscoped("test setup"):
        for _ in range(rows):
            SubscriptionFactory(customer=CustomerFactory(provider=world.provider))
    client = client_for(world.provider_admin)
    with django_assert_max_num_queries(12):
        assert client.get(url(world.provider, "customers:list")).status_code == 200


def test_empty_customers_page_says_what_to_do(world, client_for):
    page = client_for(world.provider_admin).get(url(world.provider, "customers:list"))
    assert "No customers yet" in page.content.decode()
    assert "Add new customer" in page.content.decode()


def test_a_row_expands_with_details_and_subscription_actions(world, delegation, client_for):
    _, c1, _ = delegation
    client = client_for(world.provider_admin)
    row_url = url(world.provider, "customers:row", pk=c1.pk)
    listing = client.get(url(world.provider, "customers:list")).content.decode()
    assert f'hx-get="{row_url}"' in listing and 'aria-expanded="false"' in listing
    fragment = client.get(row_url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith("<tr")
    assert "Business Basic" in fragment and "7 licenses" in fragment
    assert ">Add subscription<" in fragment and ">View subscriptions<" in fragment
    page = client.get(row_url).content.decode()  # without JavaScript: a page of its own
    assert "<html" in page and "Business Basic" in page


# ------------------------------------------------------------------------------
# Customer detail and editing
# ------------------------------------------------------------------------------
def test_customer_detail_shows_account_reseller_and_subscriptions(world, delegation, client_for):
    _, c1, _ = delegation
    page = client_for(world.provider_support).get(url(world.provider, "customers:detail", pk=c1.pk))
    body = page.content.decode()
    for text in (
        "Adatum Corp",
        c1.domain,
        "Customer agreement",
        "Business Basic",
        c1.admin_user.email,
    ):
        assert text in body
    assert "has administrator access to this customer" in body
    assert ">Edit account<" not in body


VALID_ACCOUNT = {
    "company_name": "Adatum Corporation",
    "domain": "adatum-new.example",
    "country": "CA",
    "city": "Toronto",
    "street": "2 Bay St",
    "postal_code": "M5J 2N8",
    "contact_first_name": "Ana",
    "contact_last_name": "Lee",
    "contact_email": "ana@adatum.example",
    "contact_phone": "+1 416 555 0199",
    "language": "en",
}


def test_sales_agent_edits_the_account(world, delegation, client_for):
    _, c1, _ = delegation
    client = client_for(world.provider_sales)
    response = client.post(
        url(world.provider, "customers:edit", pk=c1.pk), VALID_ACCOUNT, follow=True
    )
    assert "The account information was saved." in response.content.decode()
    c1.refresh_from_db()
    assert (c1.company_name, c1.domain, c1.country.code) == (
        "Adatum Corporation",
        "adatum-new.example",
        "CA",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("company_name", "", "This field is required."),
        ("domain", "not a domain", "Enter a domain name"),
        ("contact_email", "nope", "Enter a valid email address."),
        ("contact_phone", "call me", "Enter a phone number"),
        ("country", "XX", "Select a valid choice."),
    ],
)
def test_bad_account_input_is_refused_and_nothing_changes(
    field, value, message, world, delegation, client_for
):
    _, c1, _ = delegation
    with unscoped("test: read the database as it is"):
        before = Customer.objects.values().get(pk=c1.pk)
    response = client_for(world.provider_admin).post(
        url(world.provider, "customers:edit", pk=c1.pk), {**VALID_ACCOUNT, field: value}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    with unscoped("test: read the database as it is"):
        assert Customer.objects.values().get(pk=c1.pk) == before


def test_a_domain_of_another_of_ones_own_customers_is_refused(world, delegation, client_for):
    _, c1, c1b = delegation
    response = client_for(world.provider_admin).post(
        url(world.provider, "customers:edit", pk=c1.pk), {**VALID_ACCOUNT, "domain": c1b.domain}
    )
    assert f"One of your customers already has the domain {c1b.domain}." in (
        response.content.decode()
    )
    with unscoped("assert"):
        assert Customer.objects.get(pk=c1.pk).domain == c1.domain


# ------------------------------------------------------------------------------
# The reseller relationship
# ------------------------------------------------------------------------------
def test_establish_a_reseller_relationship_with_an_existing_customer(world, delegation, client_for):
    _, _, c1b = delegation
    client = client_for(world.provider_admin)
    page = client.get(url(world.provider, "customers:reseller", pk=c1b.pk)).content.decode()
    assert "Establish a reseller relationship" in page
    assert world.reseller.name in page
    response = client.post(
        url(world.provider, "customers:reseller", pk=c1b.pk), {"reseller": world.reseller.pk}
    )
    assert response.status_code == 302
    c1b.refresh_from_db()
    assert c1b.reseller == world.reseller


def test_only_active_partners_can_be_chosen(world, delegation, client_for):
    _, _, c1b = delegation
    stranger = ResellerFactory()
    response = client_for(world.provider_admin).post(
        url(world.provider, "customers:reseller", pk=c1b.pk), {"reseller": stranger.pk}
    )
    assert "Select a valid choice" in response.content.decode()
    c1b.refresh_from_db()
    assert c1b.reseller is None


def test_remove_the_reseller_after_a_confirmation_that_says_what_changes(
    world, delegation, client_for
):
    _, c1, _ = delegation
    client = client_for(world.provider_admin)
    page = client.get(url(world.provider, "customers:reseller-remove", pk=c1.pk))
    assert "will lose administrator access" in page.content.decode()
    client.post(url(world.provider, "customers:reseller-remove", pk=c1.pk))
    c1.refresh_from_db()
    assert c1.reseller is None
    reseller_client = client_for(world.reseller_admin)
    assert reseller_client.get(url(world.reseller, "customers:detail", pk=c1.pk)).status_code == 404


# ------------------------------------------------------------------------------
# Delegated administration: the reseller's side
# ------------------------------------------------------------------------------
def test_the_delegated_reseller_sees_and_edits_the_customer(world, delegation, client_for):
    _, c1, c1b = delegation
    client = client_for(world.reseller_admin)
    listing = client.get(url(world.reseller, "customers:list")).content.decode()
    assert "Adatum Corp" in listing
    assert "Coho Winery" not in listing  # not delegated
    assert world.provider.name in listing  # provider column for resellers
    filtered = client.get(url(world.reseller, "customers:list"), {"provider": world.provider.pk})
    assert "Adatum Corp" in filtered.content.decode()
    assert client.get(url(world.reseller, "customers:detail", pk=c1b.pk)).status_code == 404
    response = client.post(
        url(world.reseller, "customers:edit", pk=c1.pk), {**VALID_ACCOUNT, "city": "Ottawa"}
    )
    assert response.status_code == 302
    c1.refresh_from_db()
    assert c1.city == "Ottawa"
    # Resellers don't decide delegation.
    assert client.get(url(world.reseller, "customers:reseller", pk=c1.pk)).status_code == 404


def test_a_partnered_reseller_that_was_not_delegated_sees_nothing(world, delegation, client_for):
    r2 = ResellerFactory()
    admin = MembershipFactory(organization=r2, role=Membership.Role.ADMIN).user
    with unscoped("test setup"):
        Partnership.objects.create(provider=world.provider, reseller=r2)
    client = client_for(admin)
    listing = client.get(url(r2, "customers:list")).content.decode()
    assert "Adatum Corp" not in listing and "Coho Winery" not in listing
    assert client.get(url(r2, "customers:detail", pk=delegation[1].pk)).status_code == 404


def test_access_ends_the_moment_the_partnership_ends(world, delegation, client_for):
    partnership, c1, _ = delegation
    client = client_for(world.reseller_admin)
    assert client.get(url(world.reseller, "customers:detail", pk=c1.pk)).status_code == 200
    with unscoped("test"):
        end_partnership(org=world.provider, actor=world.provider_admin, partnership=partnership)
    assert client.get(url(world.reseller, "customers:detail", pk=c1.pk)).status_code == 404
    assert "Adatum Corp" not in client.get(url(world.reseller, "customers:list")).content.decode()


def test_indirect_resellers_page_counts_delegated_customers_and_subscriptions(
    world, delegation, client_for
):
    page = client_for(world.provider_admin).get(url(world.provider, "partners:reseller-list"))
    row = page.content.decode().split(world.reseller.name, 1)[1].split("</tr>", 1)[0]
    assert "<td >1</td>" in row.replace('class=""', "") or ">1<" in row
    assert ">2<" in row
