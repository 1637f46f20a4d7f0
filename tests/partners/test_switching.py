import pytest
from django.urls import reverse

from partners.models import Membership
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_org_user(world):
    """The reseller's admin also works as Sales agent at the provider."""
    MembershipFactory(
        user=world.reseller_admin, organization=world.provider, role=Membership.Role.SALES_AGENT
    )
    return world.reseller_admin


def test_header_shows_the_current_organization_and_the_others(world, two_org_user, client_for):
    page = client_for(two_org_user).get(
        reverse("dashboard", kwargs={"org_slug": world.reseller.slug})
    )
    body = page.content.decode()
    assert "Current organization:" in body
    assert f'<span class="org-switcher__name">{world.reseller.name}</span>' in body
    assert world.provider.name in body
    assert world.other_provider.name not in body


def test_switching_keeps_the_page_when_the_other_organization_has_it(
    world, two_org_user, client_for
):
    client = client_for(two_org_user)
    body = client.get(reverse("customers:list", kwargs={"org_slug": world.reseller.slug}))
    assert reverse("customers:list", kwargs={"org_slug": world.provider.slug}) in (
        body.content.decode()
    )
    # A provider has no "Indirect providers" page: the switcher falls back to the dashboard.
    body = client.get(reverse("partners:provider-list", kwargs={"org_slug": world.reseller.slug}))
    assert f'href="{reverse("dashboard", kwargs={"org_slug": world.provider.slug})}"' in (
        body.content.decode()
    )


def test_home_returns_to_the_last_organization_used(world, two_org_user, client_for):
    client = client_for(two_org_user)
    client.get(reverse("dashboard", kwargs={"org_slug": world.provider.slug}))
    assert client.get(reverse("home"))["Location"] == reverse(
        "dashboard", kwargs={"org_slug": world.provider.slug}
    )
    client.get(reverse("dashboard", kwargs={"org_slug": world.reseller.slug}))
    assert client.get(reverse("home"))["Location"] == reverse(
        "dashboard", kwargs={"org_slug": world.reseller.slug}
    )


def test_menus_follow_the_kind_of_organization(world, two_org_user, client_for):
    client = client_for(two_org_user)
    provider_page = client.get(reverse("dashboard", kwargs={"org_slug": world.provider.slug}))
    reseller_page = client.get(reverse("dashboard", kwargs={"org_slug": world.reseller.slug}))
    assert ">Indirect resellers</a>" in provider_page.content.decode()
    assert ">Indirect providers</a>" in reseller_page.content.decode()
    assert ">Indirect providers</a>" not in provider_page.content.decode()


def test_role_is_per_organization(world, two_org_user, client_for):
    client = client_for(two_org_user)
    # Admin at the reseller, Sales agent at the provider.
    assert (
        client.get(reverse("team:invite", kwargs={"org_slug": world.reseller.slug})).status_code
        == 200
    )
    assert (
        client.get(reverse("team:invite", kwargs={"org_slug": world.provider.slug})).status_code
        == 404
    )


def test_anonymous_home_is_the_landing_page(client):
    page = client.get(reverse("home")).content.decode()
    assert "Partner with indirect resellers in one place" in page
    assert reverse("account_login") in page and reverse("account_signup") in page


def test_staff_without_an_organization_land_in_the_admin(world, client_for):
    assert client_for(world.staff).get(reverse("home"))["Location"] == reverse("admin:index")
