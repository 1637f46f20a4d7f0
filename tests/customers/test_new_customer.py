"""New customer through the real wizard (customer details, subscriptions, review, submit):
the happy path, Back and Next, Cancel, and a double or replayed Submit.

Everything runs through the Django test client against the real views, sessions and
PostgreSQL: nothing in the ORM is mocked.
"""

import re

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from django_countries.fields import Country

from customers.models import Customer
from customers.views import SETUP_INFO_SESSION_KEY
from partners.models import AuditEvent
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from portal.sealing import SESSION_KEY as SEALED_SESSION_KEY
from subscriptions.models import Order, Subscription
from tests.factories import (
    ADMIN,
    DOMAIN,
    PREFIX,
    SIGN_IN_DOMAIN,
    STEPS,
    counts,
    create_through_wizard,
    current_step,
    details,
    idempotency_key,
    input_value,
    is_checked,
    lines,
    post_step,
    selected,
    setup_info_url,
    shown_password,
    submit,
    text,
    to_review,
    wizard_url,
)

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# 1. The happy path
# ------------------------------------------------------------------------------
def test_a_sales_agent_creates_a_delegated_customer_with_two_subscriptions(
    world, partner, offers, sales
):
    p1 = world.provider
    before = counts()

    first = sales.get(wizard_url(p1), {"reseller": partner.pk})
    assert first.status_code == 200
    assert current_step(first) == "details"
    assert selected(first, "details-reseller") == str(partner.pk)

    second = post_step(sales, p1, "details", details(reseller=partner.pk))
    assert current_step(second) == "subscriptions"
    for offer in (offers.basic, offers.premium, offers.teams):
        assert offer.name in text(second)

    review = post_step(
        sales,
        p1,
        "subscriptions",
        lines((offers.basic, 7), (offers.premium, 25), (offers.teams, 0)),
    )
    assert current_step(review) == "review"
    page = text(review)
    for label, value in [
        ("Company name", "Adatum Corporation"),
        ("Primary domain", DOMAIN),
        ("Sign-in domain", SIGN_IN_DOMAIN),
        ("Country", Country("US").name),
        ("City", "Redmond"),
        ("Contact email", "dana@adatum.example"),
        ("Language", "English"),
        ("Accepted by (name)", "Dana Lee"),
        ("Indirect reseller", "Fabrikam Test"),
    ]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in page
    assert "<td>Business Basic</td><td>7</td>" in page
    assert "<td>Business Premium</td><td>25</td>" in page
    assert "<td>Teams Essentials</td>" not in page  # 0 licenses: skipped
    assert counts() == before  # nothing is written before Submit

    done = submit(sales, p1, review)
    assert done.status_code == 302
    with unscoped("assert"):
        customer = Customer.objects.select_related("admin_user").get(domain=DOMAIN)
    assert done["Location"] == setup_info_url(p1, customer)
    assert f"{SETUP_INFO_SESSION_KEY}:{customer.pk}" in sales.session[SEALED_SESSION_KEY]

    info = sales.get(done["Location"])
    assert info.status_code == 200
    assert "no-store" in info["Cache-Control"]
    page = text(info)
    assert "Setup info" in page
    assert re.search(r'id="setup-account">admin@adatum-example\.portal\.example<', page)
    assert SIGN_IN_DOMAIN in page
    password = shown_password(info)
    assert len(password) >= 12

    reload = sales.get(done["Location"])
    assert reload.status_code == 200
    assert "no-store" in reload["Cache-Control"]
    assert "no longer available" in text(reload)
    assert password not in text(reload)
    assert 'id="setup-password"' not in text(reload)
    assert ADMIN in text(reload)

    # One customer, one order, two subscriptions, one admin account.
    after = counts()
    assert after["Customer"] == before["Customer"] + 1
    assert after["Order"] == before["Order"] + 1
    assert after["Subscription"] == before["Subscription"] + 2
    assert after["User"] == before["User"] + 1
    with unscoped("assert"):
        assert customer.provider == p1
        assert customer.reseller == partner
        assert customer.created_by == world.provider_sales
        assert customer.company_name == "Adatum Corporation"
        order = Order.objects.get(customer=customer)
        assert order.provider == p1 and order.created_by == world.provider_sales
        subscriptions = {
            s.offer: s for s in Subscription.objects.filter(customer=customer, order=order)
        }
        events = list(AuditEvent.objects.select_related("organization"))
    assert {o: s.quantity for o, s in subscriptions.items()} == {
        offers.basic: 7,
        offers.premium: 25,
    }
    for offer, subscription in subscriptions.items():
        assert subscription.reseller == partner  # credited for incentives
        assert subscription.term == offer.term
        assert subscription.status == Subscription.Status.ACTIVE

    admin = customer.admin_user
    assert admin.email == ADMIN
    assert customer.sign_in_prefix == PREFIX
    with unscoped("assert"):
        assert list(admin.emailaddress_set.values_list("email", "verified", "primary")) == [
            (ADMIN, True, True)
        ]
    assert admin.must_change_password is True
    assert admin.temporary_password_expires_at > timezone.now()
    assert admin.has_usable_password()
    assert admin.password != password
    assert admin.check_password(password)

    # The plaintext is stored nowhere: not in any column, any audit line, any email...
    with unscoped("search every row for the plaintext"):
        for model in (Customer, User, AuditEvent, OutboundEmail):
            for row in model.objects.values():
                assert password not in str(row), model.__name__
    # ...and not in the session once the Setup info page has shown it.
    for session in Session.objects.all():
        assert password not in session.session_data
        assert password not in str(session.get_decoded())
    assert SEALED_SESSION_KEY not in sales.session  # taken, and nothing else was stashed

    # Activity: one entry for the whole Submit, seen by the provider and the reseller.
    entries = [e for e in events if not e.verb.startswith("login.")]
    assert [(e.organization, e.verb, e.actor) for e in entries] == [
        (p1, "customer.created", world.provider_sales)
    ]
    created = entries[0]
    assert (created.provider, created.reseller, created.customer_id) == (p1, partner, customer.pk)
    assert sorted(created.data["lines"], key=lambda line: line["offer"]) == sorted(
        [
            {"offer": offers.basic.offer_id, "licenses": 7},
            {"offer": offers.premium.offer_id, "licenses": 25},
        ],
        key=lambda line: line["offer"],
    )


def test_a_customer_without_a_reseller_is_managed_by_the_provider(world, offers, sales):
    customer, _password = create_through_wizard(sales, world.provider, lines((offers.basic, 3)))
    with unscoped("assert"):
        customer.refresh_from_db()
        assert customer.reseller is None
        assert list(
            Subscription.objects.filter(customer=customer).values_list("reseller", flat=True)
        ) == [None]
        assert AuditEvent.objects.get(verb="customer.created").reseller is None


# ------------------------------------------------------------------------------
# 2. Back and Next keep input
# ------------------------------------------------------------------------------
def test_back_and_next_keep_everything_typed(world, partner, offers, sales):
    p1 = world.provider
    step1 = details(reseller=partner.pk)
    step2 = lines((offers.basic, 7), (offers.premium, 25))
    post_step(sales, p1, "details", step1)

    # Subscriptions → Back: step 1 is shown again with what was typed.
    back = post_step(sales, p1, "subscriptions", step2, wizard_goto_step="details")
    assert back.status_code == 200
    assert current_step(back) == "details"
    for name in ("company_name", "domain", "city", "street", "contact_phone", "contact_email"):
        assert input_value(back, f"details-{name}") == step1[name], name
    assert input_value(back, "details-agreement_accepted_on") == step1["agreement_accepted_on"]
    assert selected(back, "details-country") == "US"
    assert selected(back, "details-language") == "en"
    assert selected(back, "details-reseller") == str(partner.pk)
    assert is_checked(back, "details-agreement_attested")

    # Change nothing, Next: the license counts entered before are still there.
    again = post_step(sales, p1, "details", step1)
    assert current_step(again) == "subscriptions"
    assert input_value(again, f"subscriptions-offer_{offers.basic.pk}") == "7"
    assert input_value(again, f"subscriptions-offer_{offers.premium.pk}") == "25"
    assert input_value(again, f"subscriptions-offer_{offers.teams.pk}") is None

    # Review → Back to subscriptions: the counts are kept, and so is the idempotency key.
    review = post_step(sales, p1, "subscriptions", step2)
    key = idempotency_key(review)
    back = post_step(
        sales, p1, "review", {"idempotency_key": key}, wizard_goto_step="subscriptions"
    )
    assert current_step(back) == "subscriptions"
    assert input_value(back, f"subscriptions-offer_{offers.basic.pk}") == "7"
    assert input_value(back, f"subscriptions-offer_{offers.premium.pk}") == "25"
    review_again = post_step(sales, p1, "subscriptions", step2)
    assert idempotency_key(review_again) == key
    assert "<td>Business Premium</td><td>25</td>" in text(review_again)


def test_back_from_subscriptions_keeps_counts_typed_on_that_step(world, offers, sales):
    p1 = world.provider
    post_step(sales, p1, "details", details())
    # Back without pressing Next first: what was typed on step 2 is not lost.
    post_step(sales, p1, "subscriptions", lines((offers.teams, 12)), wizard_goto_step="details")
    forward = post_step(sales, p1, "details", details())
    assert input_value(forward, f"subscriptions-offer_{offers.teams.pk}") == "12"


# ------------------------------------------------------------------------------
# 3. Cancel
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("step", STEPS)
def test_cancel_at_any_step_writes_nothing_and_forgets_the_input(step, world, offers, sales):
    p1 = world.provider
    before = counts()
    sales.get(wizard_url(p1))
    typed = {"details": details(), "subscriptions": lines((offers.basic, 4))}
    for earlier in STEPS[: STEPS.index(step)]:
        post_step(sales, p1, earlier, typed[earlier])
    if step == "review":
        key = sales.session["wizard_new_customer_wizard"]["extra_data"]["idempotency_key"]
        typed["review"] = {"idempotency_key": key}

    # Cancel is a submit button too: the browser posts whatever the step holds.
    cancelled = post_step(sales, p1, step, typed[step], wizard_cancel="1")

    assert cancelled.status_code == 302
    assert cancelled["Location"] == reverse("customers:list", kwargs={"org_slug": p1.slug})
    assert "The new customer was cancelled. Nothing was saved." in text(
        sales.get(cancelled["Location"])
    )
    assert counts() == before
    wizard_state = sales.session["wizard_new_customer_wizard"]
    assert wizard_state["step_data"] == {}
    assert wizard_state["extra_data"] == {}
    restart = sales.get(wizard_url(p1))
    assert current_step(restart) == "details"
    assert input_value(restart, "details-company_name") is None
    assert input_value(restart, "details-domain") is None


# ------------------------------------------------------------------------------
# 4. Double / replayed Submit
# ------------------------------------------------------------------------------
def test_a_double_submit_creates_the_customer_once(world, offers, sales):
    p1 = world.provider
    before = counts()
    review = to_review(sales, p1, details(), lines((offers.basic, 2), (offers.teams, 3)))

    first = submit(sales, p1, review)
    second = submit(sales, p1, review)

    with unscoped("assert"):
        customer = Customer.objects.get(domain=DOMAIN)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == setup_info_url(p1, customer)
    after = counts()
    assert after["Customer"] == before["Customer"] + 1
    assert after["Order"] == before["Order"] + 1
    assert after["Subscription"] == before["Subscription"] + 2
    assert after["User"] == before["User"] + 1
    # The replay did not replace the password the first Submit stashed.
    password = shown_password(sales.get(first["Location"]))
    with unscoped("assert"):
        assert User.objects.get(email=ADMIN).check_password(password)


def test_a_replayed_submit_from_another_tab_after_the_wizard_ended_redirects_too(
    world, offers, sales
):
    p1 = world.provider
    review = to_review(sales, p1, details(), lines((offers.basic, 2)))
    first = submit(sales, p1, review)
    sales.get(wizard_url(p1))  # a new wizard has started meanwhile
    before = counts()
    replay = submit(sales, p1, review)
    assert replay.status_code == 302
    assert replay["Location"] == first["Location"]
    assert counts() == before
