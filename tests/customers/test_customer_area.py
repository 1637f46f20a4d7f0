import pytest
from django.urls import reverse

from portal.scoping import unscoped
from tests.factories import CustomerFactory, OfferFactory, ResellerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_customer(world):
    with unscoped("test setup"):
        world.provider.phone = "+1 425 555 0111"
        world.provider.save()
        customer = CustomerFactory(provider=world.provider, company_name="Adatum Corp")
        SubscriptionFactory(customer=customer, offer=OfferFactory(name="Business Basic"))
        support = ResellerFactory(name="Fabrikam Support", contact_email="help@fabrikam.example")
        SubscriptionFactory(
            customer=customer, offer=OfferFactory(name="Teams Essentials"), support_contact=support
        )
    return customer


def test_the_customer_admin_sees_its_company_and_subscriptions(own_customer, client_for):
    page = client_for(own_customer.admin_user).get(reverse("customer-home"))
    body = page.content.decode()
    assert "Adatum Corp" in body and own_customer.domain in body
    assert "Business Basic" in body and "Teams Essentials" in body
    # Support contact: the provider by default, or the designated reseller.
    assert "+1 425 555 0111" in body
    assert "Fabrikam Support" in body and "help@fabrikam.example" in body
    assert "Canary Customer" not in body


def test_home_sends_the_customer_admin_to_its_account(own_customer, client_for):
    response = client_for(own_customer.admin_user).get(reverse("home"))
    assert response["Location"] == reverse("customer-home")


def test_the_customer_area_is_only_for_customer_admins(world, client_for):
    assert client_for(world.provider_admin).get(reverse("customer-home")).status_code == 404
    anonymous = client_for(None).get(reverse("customer-home"))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))


def test_a_customer_admin_sees_no_organization_pages(own_customer, world, client_for):
    client = client_for(own_customer.admin_user)
    for name in ("dashboard", "customers:list", "partners:reseller-list"):
        assert (
            client.get(reverse(name, kwargs={"org_slug": world.provider.slug})).status_code == 404
        )
