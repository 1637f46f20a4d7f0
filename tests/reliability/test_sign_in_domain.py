"""Security review (issue 14), finding 2 and the last bullet of finding 6.

Finding 2: the New customer wizard made `admin@<the customer's domain>` a verified address
that nobody proved they hold; that account could enroll a reseller and answer partnership
requests as the address. Now the admin account signs in on the portal's own domain
(admin@<prefix>.<CUSTOMER_SIGN_IN_DOMAIN>, like Partner Center's onmicrosoft.com), and
such an account never enrolls, joins an organization or answers a request.

Finding 6: step 1 said "A customer with the domain ... already exists" about another
provider's customer. The customer's own domain is now unique per provider only; the
portal-wide unique sign-in prefix answers "not available" without saying who holds it.

Everything runs through the real views, services and PostgreSQL; the customers' admin
accounts are made by the real wizard and read from its Setup info page (so each test
exercises what the wizard really makes).
"""

import html
import re
from types import SimpleNamespace

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from customers.models import Customer
from partners.models import (
    AuditEvent,
    Membership,
    Organization,
    Partnership,
    PartnershipRequest,
    TeamInvitation,
)
from partners.services import organizations as organizations_services
from partners.services import partnerships
from partners.services import team as team_services
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from portal.tokens import new_token
from subscriptions.models import Order
from tests.factories import (
    STEP,
    CustomerFactory,
    ResellerFactory,
    UserFactory,
    current_step,
    details,
    idempotency_key,
    lines,
    post_step,
    shown_password,
    submit,
    text,
    to_review,
    wizard_url,
)
from tests.reliability._orders import concurrently, same_session

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-lantern-orbit-47"
NOT_AVAILABLE = "is not available. Choose another sign-in domain."
CUSTOMER_ACCOUNT = "a customer's sign-in account"


# ------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------
def wizard_customer_admin(client_for, provider, sales_user, shop, **changes) -> SimpleNamespace:
    """A customer made by the real wizard; its admin signs in with the account name and
    password Setup info shows, and chooses a password of its own."""
    sales = client_for(sales_user)
    review = to_review(sales, provider, details(**changes), lines((shop.basic, 1)))
    done = submit(sales, provider, review)
    assert done.status_code == 302, text(done)[:2000]
    info = sales.get(done["Location"])
    account = html.unescape(
        re.search(r'id="setup-account">([^<]*)<', info.content.decode()).group(1)
    )
    password = shown_password(info)
    client = Client()
    client.post(reverse("account_login"), {"login": account, "password": password})
    changed = client.post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    with unscoped("the account the wizard made"):
        user = User.objects.get(email__iexact=account)
    return SimpleNamespace(client=client, email=account, user=user)


def written() -> dict:
    """Everything enrolling, joining or answering could write."""
    with unscoped("count what was written"):
        return {
            "organizations": Organization.objects.count(),
            "memberships": Membership.objects.count(),
            "partnerships": Partnership.objects.count(),
            "answered": PartnershipRequest.objects.exclude(state="pending").count(),
            "joined": TeamInvitation.objects.exclude(accepted_at=None).count(),
            "activity": AuditEvent.objects.exclude(verb__startswith="login.").count(),
            "outbox": OutboundEmail.objects.count(),
        }


def legacy_request(provider, email: str) -> tuple[PartnershipRequest, str]:
    """A pending request to `email`, as one made before this release (the portal now
    refuses to make one to a sign-in address)."""
    token, digest = new_token()
    with unscoped("test setup: a request made before this release"):
        request = PartnershipRequest.objects.create(
            provider=provider,
            email=email,
            subject="Partner with us",
            body=f"Hello\n{partnerships.LINK_MARKER}\n",
            token_digest=digest,
            expires_at=PartnershipRequest.default_expiry(),
        )
    return request, token


def legacy_invitation(org, email: str) -> tuple[TeamInvitation, str]:
    token, digest = new_token()
    with unscoped("test setup: an invitation made before this release"):
        invitation = TeamInvitation.objects.create(
            organization=org,
            email=email,
            role=Membership.Role.ADMIN,
            token_digest=digest,
            expires_at=TeamInvitation.default_expiry(),
        )
    return invitation, token


def enroll_data(**changes) -> dict:
    return {
        "name": "Adatum Reselling",
        "partner_id": "4455667",
        "country": "US",
        "contact_email": "dana@adatum.example",
        **changes,
    }


def body(response) -> str:
    return html.unescape(response.content.decode())


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


# ------------------------------------------------------------------------------
# Finding 6: another provider's customer is none of this provider's business
# ------------------------------------------------------------------------------
def test_another_providers_customer_domain_is_accepted_without_a_word_about_it(
    world, shop, client_for
):
    with unscoped("test setup: P2's customers"):
        CustomerFactory(
            provider=world.other_provider,
            company_name="Secret Co",
            domain="adatum-example.com",
            sign_in_prefix="secret-co",
        )
        CustomerFactory(
            provider=world.other_provider,
            company_name="Hidden Ltd",
            domain="hidden.example",
            sign_in_prefix="hidden-ltd",
        )
    sales = client_for(world.provider_sales)
    pages = []

    step_two = post_step(sales, world.provider, "details", details())
    pages.append(step_two)
    assert current_step(step_two) == "subscriptions"
    review = post_step(sales, world.provider, "subscriptions", lines((shop.basic, 1)))
    pages.append(review)
    done = submit(sales, world.provider, review)
    assert done.status_code == 302
    pages.append(sales.get(done["Location"]))

    # The Account tab of one of P1's customers takes P2's other customer's domain too.
    edit = reverse(
        "customers:edit", kwargs={"org_slug": world.provider.slug, "pk": shop.customer.pk}
    )
    form = {
        "company_name": "Northwind Traders",
        "domain": "hidden.example",
        "country": "US",
        "city": "Redmond",
        "street": "1 Main Street",
        "postal_code": "98052",
        "contact_first_name": "Alex",
        "contact_last_name": "Doe",
        "contact_email": "alex@northwind.example",
        "contact_phone": "+1 425 555 0100",
        "language": "en",
    }
    saved = sales.post(edit, form, follow=True)
    pages.append(saved)

    for page in pages:
        content = body(page)
        for secret in ("already", "Secret Co", "Hidden Ltd", world.other_provider.name):
            assert secret not in content
    with unscoped("assert"):
        assert Customer.objects.filter(domain="adatum-example.com").count() == 2
        assert Customer.objects.get(pk=shop.customer.pk).domain == "hidden.example"


def test_a_sign_in_domain_held_elsewhere_says_only_not_available(world, shop, client_for):
    """The same words whoever holds it (this provider, another, an old account) and
    nothing about the holder."""
    sales = client_for(world.provider_sales)
    with unscoped("test setup"):
        CustomerFactory(
            provider=world.other_provider,
            company_name="Secret Co",
            domain="secret.example",
            sign_in_prefix="adatum-example",
        )
        CustomerFactory(provider=world.provider, company_name="Own Co", sign_in_prefix="own-co")
    UserFactory(email="admin@leftover.portal.example")
    with unscoped("test: read the database as it is"):
        before = Customer.objects.count()

    answers = {}
    for prefix in ("adatum-example", "own-co", "leftover"):
        response = post_step(sales, world.provider, "details", details(sign_in_prefix=prefix))
        assert current_step(response) == "details"
        content = body(response)
        [message] = re.findall(r'id="id_details-sign_in_prefix_error"[^>]*><li>([^<]*)<', content)
        answers[prefix] = message.replace(f"{prefix}.portal.example", "<domain>")
        for secret in ("Secret Co", "secret.example", world.other_provider.name, "already"):
            assert secret not in content
    assert set(answers.values()) == {f"<domain> {NOT_AVAILABLE}"}
    with unscoped("test: read the database as it is"):
        assert Customer.objects.count() == before


def test_the_database_keeps_sign_in_prefixes_unique_and_domains_unique_per_provider(world):
    with unscoped("test setup"):
        before = Customer.objects.count()
        CustomerFactory(provider=world.provider, domain="contoso.com", sign_in_prefix="contoso")
        # Another provider may have a customer with the same domain...
        CustomerFactory(provider=world.other_provider, domain="contoso.com", sign_in_prefix="c2")
        # ...but not the same prefix, not a prefix that is not a lowercase DNS label, and
        # not the same domain twice for one provider.
        for fields in (
            {"provider": world.other_provider, "domain": "x.com", "sign_in_prefix": "contoso"},
            {"provider": world.other_provider, "domain": "y.com", "sign_in_prefix": "Contoso2"},
            {"provider": world.other_provider, "domain": "z.com", "sign_in_prefix": "-c3"},
            {"provider": world.provider, "domain": "contoso.com", "sign_in_prefix": "c4"},
        ):
            with pytest.raises(IntegrityError), transaction.atomic():
                CustomerFactory(**fields)
        assert Customer.objects.count() == before + 2


# ------------------------------------------------------------------------------
# Two Submits racing for one sign-in domain
# ------------------------------------------------------------------------------
def _submit_call(client: Client, url: str, payload: dict):
    def call():
        response = client.post(url, payload)
        return response.status_code, response.get("Location", ""), body(response)

    return call


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("racers", [2, 6])
def test_submits_racing_for_one_sign_in_domain_make_one_customer_and_tell_the_others(
    racers, world, shop, client_for
):
    """Different wizards (two providers, different companies and keys) all reviewed with
    the sign-in domain contoso while it was free; their Submits arrive together."""
    sides = [
        (world.provider, world.provider_sales),
        (world.other_provider, world.other_provider_admin),
    ]
    wizards = []
    for n in range(racers):
        provider, user = sides[n % 2]
        client = client_for(user)
        review = to_review(
            client,
            provider,
            details(domain=f"company{n}.example", sign_in_prefix="contoso"),
            lines((shop.basic, 1)),
        )
        payload = {STEP: "review", "review-idempotency_key": idempotency_key(review)}
        wizards.append((client, provider, payload))
    with unscoped("count"):
        before = (Customer.objects.count(), User.objects.count(), Order.objects.count())

    outcomes = concurrently(
        *[_submit_call(same_session(c), wizard_url(p), payload) for c, p, payload in wizards]
    )

    winners = [o for o in outcomes if o[0] == 302]
    losers = [o for o in outcomes if o[0] != 302]
    assert len(winners) == 1 and "/setup-info/" in winners[0][1]
    assert len(losers) == racers - 1
    for status, _location, content in losers:
        assert status == 200
        assert f"contoso.portal.example {NOT_AVAILABLE}" in content
        assert 'value="details"' in content  # back on step 1, at the sign-in domain field
    with unscoped("assert"):
        after = (Customer.objects.count(), User.objects.count(), Order.objects.count())
        assert tuple(a - b for a, b in zip(after, before, strict=True)) == (1, 1, 1)
        winner = Customer.objects.get(sign_in_prefix="contoso")
        assert winner.admin_user.email == "admin@contoso.portal.example"

    # A loser chooses another sign-in domain and submits again: its key is still unused.
    index = outcomes.index(losers[0])
    client, provider, payload = wizards[index]
    post_step(
        client,
        provider,
        "details",
        details(domain=f"company{index}.example", sign_in_prefix="contoso-west"),
    )
    review = post_step(client, provider, "subscriptions", lines((shop.basic, 1)))
    assert idempotency_key(review) == payload["review-idempotency_key"]
    assert submit(client, provider, review).status_code == 302
    with unscoped("assert"):
        assert Customer.objects.filter(sign_in_prefix="contoso-west").count() == 1


# ------------------------------------------------------------------------------
# The migration: existing customers and their admin logins follow
# ------------------------------------------------------------------------------
BEFORE = [("customers", "0003_end_delegations_of_ended_partnerships")]
AFTER = [("customers", "0004_customer_sign_in_prefix")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_every_customer_a_unique_prefix_and_moves_its_admin_login():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        # Every app as migrated now (allauth's included), customers at 0002.
        old = MigrationExecutor(connection)._create_project_state(with_applied_migrations=True)
        old = old.apps
        OldOrg = old.get_model("partners", "Organization")
        OldCustomer = old.get_model("customers", "Customer")
        OldUser = old.get_model("portal", "User")
        OldEmail = old.get_model("account", "EmailAddress")
        p1 = OldOrg.objects.create(kind="provider", name="P1", slug="m-p1", partner_id="9100001")
        p2 = OldOrg.objects.create(kind="provider", name="P2", slug="m-p2", partner_id="9100002")

        def customer(provider, domain, *, admin=True, extra=None):
            user = None
            if admin:
                user = OldUser.objects.create(email=f"admin@{domain}", password="!")
                OldEmail.objects.create(
                    user=user, email=f"admin@{domain}", verified=True, primary=True
                )
                if extra:
                    OldEmail.objects.create(user=user, email=extra, verified=True, primary=False)
            return OldCustomer.objects.create(
                provider=provider,
                company_name=domain,
                domain=domain,
                country="US",
                city="Redmond",
                street="1 Main Street",
                postal_code="98052",
                contact_first_name="Alex",
                contact_last_name="Doe",
                contact_email=f"alex@{domain}",
                contact_phone="+1 425 555 0100",
                language="en",
                agreement_accepted_on="2026-01-05",
                agreement_accepted_by_name="Alex Doe",
                agreement_accepted_by_email=f"alex@{domain}",
                admin_user=user,
            ).pk

        ids = {
            "contoso.com": customer(p1, "contoso.com", extra="dana@contoso.com"),
            "contoso.net": customer(p2, "contoso.net"),  # same first label
            "contoso-2.org": customer(p1, "contoso-2.org"),  # the first one's -2 form
            "fabrikam.example": customer(p2, "fabrikam.example"),
            "noadmin.example": customer(p1, "noadmin.example", admin=False),
        }
        # A sign-up made with a sign-in address before this release keeps its name.
        squatter = OldUser.objects.create(email="admin@fabrikam.portal.example", password="!")

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    with unscoped("assert what the migration wrote"):
        prefixes = {
            domain: Customer.objects.get(pk=pk).sign_in_prefix for domain, pk in ids.items()
        }
        assert prefixes == {
            "contoso.com": "contoso",
            "contoso.net": "contoso-2",
            "contoso-2.org": "contoso-2-2",
            "fabrikam.example": "fabrikam-2",
            "noadmin.example": "noadmin",
        }
        for domain, pk in ids.items():
            admin = Customer.objects.get(pk=pk).admin_user
            if admin is None:
                continue
            login = f"admin@{prefixes[domain]}.portal.example"
            assert admin.email == login
            assert (login, True, True) in EmailAddress.objects.filter(user=admin).values_list(
                "email", "verified", "primary"
            )
            # The unproven admin@<domain> is gone from every account.
            assert not EmailAddress.objects.filter(email=f"admin@{domain}").exists()
        # An address the customer's admin added itself stays, no longer primary.
        contoso_admin = Customer.objects.get(pk=ids["contoso.com"]).admin_user
        assert EmailAddress.objects.filter(
            user=contoso_admin, email="dana@contoso.com", primary=False, verified=True
        ).exists()
        assert User.objects.get(pk=squatter.pk).email == "admin@fabrikam.portal.example"
    # The moved login works.
    contoso_admin.set_password(NEW_PASSWORD)
    contoso_admin.save(update_fields=["password"])
    client = Client()
    response = client.post(
        reverse("account_login"),
        {"login": "admin@contoso.portal.example", "password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(contoso_admin.pk)
    # And the database now holds the new rules: a domain per provider, a prefix per portal.
    with unscoped("assert"), pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=ids["contoso.net"]).update(sign_in_prefix="contoso")
    with unscoped("assert"):
        Customer.objects.filter(pk=ids["contoso.net"]).update(domain="contoso.com")
