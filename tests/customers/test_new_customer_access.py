"""The new-customer wizard: who may use it, the customer admin's first login with the Setup
info password, and the wizard's query budget.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from portal.models import User
from portal.scoping import unscoped
from subscriptions.models import Subscription
from tests.customers._wizard import BAD_LOGIN, NEW_PASSWORD, login
from tests.factories import (
    ADMIN,
    DOMAIN,
    OfferFactory,
    counts,
    create_through_wizard,
    current_step,
    details,
    idempotency_key,
    lines,
    post_step,
    submit,
    text,
    wizard_url,
)

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# 8. Roles
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("persona", "org"),
    [
        ("provider_support", "provider"),
        ("reseller_admin", "provider"),
        ("reseller_admin", "reseller"),
        ("other_provider_admin", "provider"),
        ("no_org_user", "provider"),
    ],
)
def test_only_provider_admins_and_sales_agents_may_add_customers(
    persona, org, world, offers, client_for
):
    client = client_for(getattr(world, persona))
    target = getattr(world, org)
    before = counts()
    assert client.get(wizard_url(target)).status_code == 404
    assert post_step(client, target, "details", details()).status_code == 404
    assert counts() == before


def test_anonymous_visitors_are_sent_to_login(world):
    response = Client().get(wizard_url(world.provider))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_provider_admin_can_add_a_customer(world, offers, client_for):
    admin = client_for(world.provider_admin)
    assert admin.get(wizard_url(world.provider)).status_code == 200
    customer, password = create_through_wizard(admin, world.provider, lines((offers.teams, 9)))
    assert password
    with unscoped("assert"):
        assert Customer.objects.get(pk=customer.pk).created_by == world.provider_admin


# ------------------------------------------------------------------------------
# 9. The customer admin's first login
# ------------------------------------------------------------------------------
def test_the_customer_admin_must_replace_the_temporary_password_first(
    world, partner, offers, sales
):
    customer, temporary = create_through_wizard(
        sales,
        world.provider,
        lines((offers.basic, 7), (offers.premium, 25)),
        reseller=partner.pk,
    )
    email = ADMIN
    client = Client()
    assert login(client, email, temporary).status_code == 302
    assert client.session.get("_auth_user_id") == str(customer.admin_user_id)

    change_url = reverse("account_change_password")
    for name in ("home", "customer-home"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"] == change_url
    response = client.get(
        reverse("customers:list", kwargs={"org_slug": world.provider.slug}), follow=True
    )
    assert response.redirect_chain[-1][0] == change_url
    assert "Choose a new password to replace your temporary one." in text(response)

    changed = client.post(
        change_url,
        {"oldpassword": temporary, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    with unscoped("assert"):
        admin = User.objects.get(pk=customer.admin_user_id)
    assert admin.must_change_password is False
    assert admin.temporary_password_expires_at is None

    home = client.get(reverse("home"))
    assert home["Location"] == reverse("customer-home")
    area = client.get(reverse("customer-home"))
    assert area.status_code == 200
    page = text(area)
    assert "Adatum Corporation" in page and DOMAIN in page
    assert "<td>Business Basic</td><td>7</td>" in page
    assert "<td>Business Premium</td><td>25</td>" in page
    assert "Fabrikam Test" in page

    assert BAD_LOGIN in text(login(Client(), email, temporary))
    fresh = Client()
    assert login(fresh, email, NEW_PASSWORD).status_code == 302
    assert fresh.session.get("_auth_user_id") == str(customer.admin_user_id)


def test_a_wrong_new_password_keeps_the_temporary_state(world, offers, sales):
    customer, temporary = create_through_wizard(sales, world.provider, lines((offers.basic, 1)))
    client = Client()
    login(client, ADMIN, temporary)
    refused = client.post(
        reverse("account_change_password"),
        {"oldpassword": temporary, "password1": NEW_PASSWORD, "password2": "something-else-9"},
    )
    assert refused.status_code == 200
    with unscoped("assert"):
        assert User.objects.get(pk=customer.admin_user_id).must_change_password is True
    assert client.get(reverse("customer-home"))["Location"] == reverse("account_change_password")


def test_an_expired_temporary_password_is_refused_at_login(world, offers, sales):
    customer, temporary = create_through_wizard(sales, world.provider, lines((offers.basic, 1)))
    User.objects.filter(pk=customer.admin_user_id).update(
        temporary_password_expires_at=timezone.now() - timedelta(minutes=1)
    )
    client = Client()
    response = client.post(
        reverse("account_login"),
        {"login": ADMIN, "password": temporary},
        follow=True,
    )
    assert client.session.get("_auth_user_id") is None
    assert "Your temporary password has expired." in text(response)
    assert client.get(reverse("customer-home"))["Location"].startswith(reverse("account_login"))


# ------------------------------------------------------------------------------
# 10. Query budget
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("offer_count", [3, 30])
def test_the_wizard_steps_run_a_bounded_number_of_queries(
    offer_count, world, partner, sales, django_assert_max_num_queries
):
    catalog = [OfferFactory(name=f"Offer {n:02}") for n in range(offer_count)]
    p1 = world.provider
    with django_assert_max_num_queries(20):
        first = sales.get(wizard_url(p1), {"reseller": partner.pk})
    assert current_step(first) == "details"
    with django_assert_max_num_queries(20):
        second = post_step(sales, p1, "details", details(reseller=partner.pk))
    assert current_step(second) == "subscriptions"
    with django_assert_max_num_queries(20):
        review = post_step(sales, p1, "subscriptions", lines(*((o, 2) for o in catalog)))
    assert current_step(review) == "review"
    assert text(review).count("<td>2</td>") == offer_count
    with django_assert_max_num_queries(20):
        back = post_step(
            sales,
            p1,
            "review",
            {"idempotency_key": idempotency_key(review)},
            wizard_goto_step="subscriptions",
        )
    assert current_step(back) == "subscriptions"

    # Submit writes the customer, its admin, the order, every line and the audit trail in a
    # constant number of queries too; so does the Setup info page.
    review = post_step(sales, p1, "subscriptions", lines(*((o, 2) for o in catalog)))
    # 51 for 3 offers and for 30; of those, 4 are the emails to the reseller's one Admin
    # (who its Admins are, and a row in the outbox, for "delegated" and for "credited").
    with django_assert_max_num_queries(52):
        done = submit(sales, p1, review)
    assert done.status_code == 302
    with django_assert_max_num_queries(20):
        info = sales.get(done["Location"])
    assert "Setup info" in text(info)
    with unscoped("assert"):
        assert Subscription.objects.count() == offer_count
