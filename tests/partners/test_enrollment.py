import pytest
from django.urls import reverse

from partners.models import AuditEvent, Membership, Organization
from portal.scoping import unscoped

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Adventure Works IT",
    "partner_id": "5123456",
    "country": "FR",
    "contact_email": "hello@adventure.example",
}


def test_a_user_without_an_organization_is_offered_enrollment(world, client_for):
    client = client_for(world.no_org_user)
    response = client.get(reverse("home"))
    assert response["Location"] == reverse("enroll")
    page = client.get(reverse("enroll")).content.decode()
    assert "Enroll as an indirect reseller" in page
    assert "You don't belong to an organization yet" in page
    for label in ("Company name", "Partner ID", "Country", "Contact email"):
        assert f">{label}</label>" in page


def test_enrollment_requires_login(client):
    response = client.get(reverse("enroll"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_enrolling_creates_a_reseller_with_the_user_as_admin(world, client_for):
    client = client_for(world.no_org_user)
    response = client.post(reverse("enroll"), VALID)
    org = Organization.objects.get(partner_id="5123456")
    assert response["Location"] == org.get_absolute_url()
    assert org.kind == Organization.Kind.RESELLER
    assert org.country.code == "FR"
    assert Membership.objects.get(organization=org).user == world.no_org_user
    assert Membership.objects.get(organization=org).role == Membership.Role.ADMIN
    with unscoped("assert"):
        assert AuditEvent.objects.filter(organization=org, verb="organization.enrolled").exists()
    dashboard = client.get(response["Location"]).content.decode()
    assert "is enrolled as an indirect reseller" in dashboard
    assert "Indirect providers" in dashboard  # the reseller's menu
    assert "Indirect resellers</a>" not in dashboard


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("partner_id", "12ab", "Enter the program&#x27;s Partner ID"),
        ("partner_id", "123", "Enter the program&#x27;s Partner ID"),
        ("country", "XX", "Select a valid choice."),
        ("contact_email", "nope", "Enter a valid email address."),
        ("name", "   ", "This field is required."),
    ],
)
def test_bad_enrollment_is_refused_with_a_message_and_nothing_written(
    field, value, message, world, client_for
):
    before = Organization.objects.count(), Membership.objects.count()
    response = client_for(world.no_org_user).post(reverse("enroll"), {**VALID, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (Organization.objects.count(), Membership.objects.count()) == before


def test_slugs_stay_unique_for_companies_with_the_same_name(world, client_for):
    client_for(world.no_org_user).post(reverse("enroll"), VALID)
    client_for(world.reseller_admin).post(reverse("enroll"), {**VALID, "partner_id": "5999999"})
    slugs = set(Organization.objects.filter(name=VALID["name"]).values_list("slug", flat=True))
    assert slugs == {"adventure-works-it", "adventure-works-it-2"}
