"""Security review (issue 14), finding 2: a new customer's admin account is on the portal's
sign-in domain, and such an account never enrolls, joins or answers a partnership request.
"""

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from customers.models import Customer
from partners.models import (
    Membership,
    PartnershipRequest,
    TeamInvitation,
)
from partners.services import organizations as organizations_services
from partners.services import partnerships
from partners.services import team as team_services
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from tests.factories import (
    ResellerFactory,
)
from tests.reliability._sign_in_domain import (
    CUSTOMER_ACCOUNT,
    NEW_PASSWORD,
    body,
    enroll_data,
    legacy_invitation,
    legacy_request,
    wizard_customer_admin,
    written,
)

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# Finding 2: the admin account is on the portal's domain
# ------------------------------------------------------------------------------
def test_a_new_customers_admin_signs_in_on_the_portals_domain_not_the_customers(
    world, shop, client_for
):
    admin = wizard_customer_admin(client_for, world.provider, world.provider_sales, shop)

    assert admin.email == "admin@adatum-example.portal.example"
    with unscoped("assert"):
        customer = Customer.objects.get(admin_user=admin.user)
        assert customer.domain == "adatum-example.com"  # the customer's own: contact data
        assert customer.sign_in_prefix == "adatum-example"
        # No account and no address anywhere on the customer's domain.
        assert not User.objects.filter(email__iendswith="@adatum-example.com").exists()
        assert not EmailAddress.objects.filter(email__iendswith="@adatum-example.com").exists()
        assert list(
            EmailAddress.objects.filter(user=admin.user).values_list("email", "verified")
        ) == [(admin.email, True)]


# ------------------------------------------------------------------------------
# Finding 2: such an account never enrolls, joins or answers
# ------------------------------------------------------------------------------
def test_a_customer_sign_in_account_cannot_enroll_a_reseller(world, shop, client_for):
    admin = wizard_customer_admin(client_for, world.provider, world.provider_sales, shop)
    before = written()

    response = admin.client.post(reverse("enroll"), enroll_data())

    assert response.status_code == 200
    assert "It can't enroll an indirect reseller" in body(response)
    assert written() == before
    # The service refuses whoever calls it, not just the page.
    with pytest.raises(ValidationError) as refused:
        organizations_services.enroll_reseller(user=admin.user, **enroll_data())
    assert refused.value.code == "customer_account"
    assert written() == before
    # And the page offers no form, the account menu no link, and it says why.
    page = admin.client.get(reverse("enroll"))
    assert page.status_code == 200
    assert CUSTOMER_ACCOUNT in body(page)
    assert 'name="partner_id"' not in page.content.decode()
    assert "Enroll a reseller company" not in body(page)


@pytest.mark.parametrize("decision", ["accept", "decline"])
def test_a_customer_sign_in_account_cannot_answer_a_partnership_request_from_its_link(
    decision, world, shop, client_for
):
    admin = wizard_customer_admin(client_for, world.provider, world.provider_sales, shop)
    # As if it had enrolled before this release: Admin of a reseller, the request to it.
    legacy = ResellerFactory(name="Adatum Reselling")
    Membership.objects.create(user=admin.user, organization=legacy, role="admin")
    request, token = legacy_request(world.other_provider, admin.email)
    before = written()

    opened = admin.client.get(reverse("partnership-link", kwargs={"token": token}), follow=True)
    assert opened.status_code == 200

    # A hand-made POST (the page offers no button) is refused by the service.
    answered = admin.client.post(
        reverse("partnership-accept"), {"decision": decision, "reseller": legacy.pk}, follow=True
    )
    assert "It can't answer partnership requests" in body(answered)
    assert written() == before
    with unscoped("assert"):
        request.refresh_from_db()
    assert request.state == PartnershipRequest.State.PENDING
    # The page it opened said why, and offered neither button.
    assert CUSTOMER_ACCOUNT in body(opened)
    assert 'value="accept"' not in opened.content.decode()
    assert 'value="decline"' not in opened.content.decode()


@pytest.mark.parametrize("decision", ["accept", "decline"])
def test_a_customer_sign_in_account_cannot_answer_from_the_indirect_providers_page(
    decision, world, shop, client_for
):
    admin = wizard_customer_admin(client_for, world.provider, world.provider_sales, shop)
    legacy = ResellerFactory(name="Adatum Reselling", slug="adatum-reselling")
    Membership.objects.create(user=admin.user, organization=legacy, role="admin")
    request, _token = legacy_request(world.other_provider, admin.email)
    before = written()

    url = reverse("partners:request-respond", kwargs={"org_slug": legacy.slug, "pk": request.pk})
    response = admin.client.post(url, {"decision": decision}, follow=True)

    assert "It can't answer partnership requests" in body(response)
    assert written() == before
    page = admin.client.get(reverse("partners:provider-list", kwargs={"org_slug": legacy.slug}))
    assert world.other_provider.name in body(page)  # the request is listed...
    assert 'value="accept"' not in page.content.decode()  # ...with no buttons


def test_a_customer_sign_in_account_cannot_join_an_organization_by_invitation(
    world, shop, client_for
):
    admin = wizard_customer_admin(client_for, world.provider, world.provider_sales, shop)
    invitation, token = legacy_invitation(world.reseller, admin.email)
    opened = admin.client.get(reverse("team-invitation", kwargs={"token": token}), follow=True)
    before = written()

    response = admin.client.post(reverse("team-invitation-accept"), follow=True)

    assert "It can't join an organization" in body(response)
    assert written() == before
    assert not Membership.objects.filter(user=admin.user).exists()
    with pytest.raises(ValidationError) as refused:
        team_services.accept_invitation(user=admin.user, invitation=invitation)
    assert refused.value.code == "customer_account"
    assert CUSTOMER_ACCOUNT in body(opened)
    assert "Accept invitation" not in body(opened)


def test_a_second_verified_address_made_primary_changes_nothing(world, shop, client_for):
    """The account adds its own address (verified by a code) and makes it its login: it
    is still the customer's sign-in account, and keeps the sign-in address."""
    admin = wizard_customer_admin(client_for, world.provider, world.provider_sales, shop)
    EmailAddress.objects.filter(user=admin.user).update(primary=False)
    EmailAddress.objects.create(
        user=admin.user, email="dana@adatum.example", verified=True, primary=True
    )
    User.objects.filter(pk=admin.user.pk).update(email="dana@adatum.example")
    admin.user.refresh_from_db()
    request, _token = legacy_request(world.other_provider, "dana@adatum.example")
    legacy = ResellerFactory()
    Membership.objects.create(user=admin.user, organization=legacy, role="admin")
    before = written()

    for answer in (
        lambda: organizations_services.enroll_reseller(user=admin.user, **enroll_data()),
        lambda: partnerships.accept_partnership(request=request, reseller=legacy, actor=admin.user),
        lambda: partnerships.decline_partnership(request=request, actor=admin.user),
    ):
        with pytest.raises(ValidationError) as refused:
            answer()
        assert refused.value.code == "customer_account"
    assert written() == before

    # The sign-in address cannot be removed from the account.
    removed = admin.client.post(
        reverse("account_email"),
        {"email": "admin@adatum-example.portal.example", "action_remove": ""},
    )
    assert removed.status_code in (200, 302)
    assert EmailAddress.objects.filter(
        user=admin.user, email="admin@adatum-example.portal.example"
    ).exists()


def test_nobody_signs_up_with_or_adds_an_address_on_the_sign_in_domain(world, client_for):
    before = User.objects.count()
    signup = Client().post(
        reverse("account_signup"),
        {
            "email": "admin@contoso.portal.example",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert signup.status_code == 200
    assert "customers' sign-in accounts made by the portal" in body(signup)
    assert User.objects.count() == before
    assert not OutboundEmail.objects.exists()

    someone = client_for(world.reseller_admin)
    added = someone.post(
        reverse("account_email"), {"email": "ADMIN@Contoso.Portal.Example", "action_add": ""}
    )
    assert added.status_code == 200
    assert "customers' sign-in accounts made by the portal" in body(added)
    assert not EmailAddress.objects.filter(
        user=world.reseller_admin, email__iendswith="portal.example"
    ).exists()


def test_no_invitation_or_partnership_request_goes_to_a_sign_in_address(world, client_for):
    provider = client_for(world.provider_admin)
    before = written()
    requested = provider.post(
        reverse("partners:request-create", kwargs={"org_slug": world.provider.slug}),
        {"email": "admin@canary.portal.example", "contact_name": "Canary"},
    )
    assert requested.status_code == 200
    assert "It receives no email and can't answer partnership requests." in body(requested)
    invited = provider.post(
        reverse("team:invite", kwargs={"org_slug": world.provider.slug}),
        {"email": "admin@canary.portal.example", "role": "sales_agent"},
    )
    assert invited.status_code == 200
    assert "It receives no email and can't join an organization." in body(invited)
    assert written() == before
    with unscoped("assert"):
        assert not PartnershipRequest.objects.exists()
        assert not TeamInvitation.objects.exists()
