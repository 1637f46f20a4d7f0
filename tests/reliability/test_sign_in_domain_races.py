"""Security review (issue 14), the last bullet of finding 6 and the rest of finding 2: another
provider's customer is none of this provider's business, two Submits racing for one sign-in
domain, and the migration of existing customers' admin logins.
"""

import re

import pytest
from allauth.account.models import EmailAddress
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from customers.models import Customer
from portal.models import User
from portal.scoping import unscoped
from subscriptions.models import Order
from tests.factories import (
    STEP,
    CustomerFactory,
    UserFactory,
    current_step,
    details,
    idempotency_key,
    lines,
    post_step,
    submit,
    to_review,
    wizard_url,
)
from tests.reliability._orders import concurrently, same_session
from tests.reliability._sign_in_domain import NEW_PASSWORD, NOT_AVAILABLE, body

pytestmark = pytest.mark.django_db


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
