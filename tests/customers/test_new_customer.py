"""New customer through the real wizard (customer details → subscriptions → review → submit),
its one-time Setup info page, and the first login of the customer's admin account.

Everything runs through the Django test client against the real views, sessions and
PostgreSQL: nothing in the ORM is mocked.
"""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_countries.fields import Country

from customers.models import Customer
from customers.views import SETUP_INFO_SESSION_KEY
from partners.models import AuditEvent, Partnership
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from portal.sealing import SESSION_KEY as SEALED_SESSION_KEY
from subscriptions.models import Offer, Order, Subscription
from tests.factories import (
    ADMIN,
    DOMAIN,
    PREFIX,
    SIGN_IN_DOMAIN,
    STEPS,
    CustomerFactory,
    OfferFactory,
    counts,
    create_through_wizard,
    current_step,
    details,
    idempotency_key,
    input_value,
    is_checked,
    lines,
    partner_of,
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

NEW_PASSWORD = "violet-lantern-orbit-47"
BAD_LOGIN = "The email address and/or password you specified are not correct."
NOTHING_CHOSEN = "Choose at least one subscription and enter its number of licenses."
INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


# ------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------


def login(client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})


# ------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------
@pytest.fixture
def partner(world):
    """R1, an active partner of P1."""
    partner_of(world.provider, world.reseller)
    return world.reseller


@pytest.fixture
def offers(db):
    return SimpleNamespace(
        basic=OfferFactory(name="Business Basic", min_licenses=1, max_licenses=300),
        premium=OfferFactory(name="Business Premium", min_licenses=5, max_licenses=100),
        teams=OfferFactory(name="Teams Essentials", min_licenses=1, max_licenses=300),
    )


@pytest.fixture
def sales(world, client_for):
    return client_for(world.provider_sales)


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


# ------------------------------------------------------------------------------
# 5. Bad input on step 1
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"company_name": ""}, "This field is required.", id="empty-company"),
        pytest.param({"company_name": "   "}, "This field is required.", id="blank-company"),
        pytest.param(
            {"domain": "not a domain"},
            "Enter a domain name such as contoso.com (letters, digits, hyphens and dots).",
            id="domain-with-spaces",
        ),
        pytest.param(
            {"domain": "-bad-.com"},
            "Enter a domain name such as contoso.com (letters, digits, hyphens and dots).",
            id="domain-hyphens",
        ),
        pytest.param({"domain": ""}, "This field is required.", id="empty-domain"),
        pytest.param(
            {"country": "ZZ"},
            "Select a valid choice. ZZ is not one of the available choices.",
            id="country",
        ),
        pytest.param({"city": ""}, "This field is required.", id="city"),
        pytest.param({"street": ""}, "This field is required.", id="street"),
        pytest.param({"postal_code": ""}, "This field is required.", id="postal-code"),
        pytest.param({"contact_first_name": ""}, "This field is required.", id="first-name"),
        pytest.param({"contact_last_name": ""}, "This field is required.", id="last-name"),
        pytest.param(
            {"contact_email": "dana.adatum"}, "Enter a valid email address.", id="contact-email"
        ),
        pytest.param(
            {"contact_phone": "abc"}, "Enter a phone number, e.g. +1 425 555 0100.", id="phone"
        ),
        pytest.param(
            {"language": "xx"},
            "Select a valid choice. xx is not one of the available choices.",
            id="language",
        ),
        pytest.param(
            {"agreement_accepted_on": (timezone.localdate() + timedelta(days=1)).isoformat()},
            "The acceptance date cannot be in the future.",
            id="agreement-in-future",
        ),
        pytest.param(
            {"agreement_accepted_on": "yesterday"}, "Enter a valid date.", id="agreement-date"
        ),
        pytest.param(
            {"agreement_accepted_by_name": ""}, "This field is required.", id="agreement-name"
        ),
        pytest.param(
            {"agreement_accepted_by_email": ""}, "This field is required.", id="agreement-email"
        ),
        pytest.param(
            {"agreement_accepted_by_email": "dana"},
            "Enter a valid email address.",
            id="agreement-email-invalid",
        ),
        pytest.param(
            {"agreement_attested": None},
            "Confirm that the customer accepted the agreement.",
            id="attestation-unchecked",
        ),
        pytest.param({"reseller": "999999"}, INVALID_CHOICE, id="unknown-reseller"),
        pytest.param({"reseller": "abc"}, INVALID_CHOICE, id="non-numeric-reseller"),
    ],
)
def test_bad_customer_details_are_refused_on_step_one(changes, message, world, offers, sales):
    before = counts()
    response = post_step(sales, world.provider, "details", details(**changes))
    assert response.status_code == 200
    assert current_step(response) == "details"
    assert message in text(response)
    assert 'aria-invalid="true"' in response.content.decode()
    assert counts() == before


def test_a_reseller_that_is_another_providers_partner_cannot_be_chosen(world, offers, sales):
    partner_of(world.other_provider, world.reseller)
    before = counts()
    form = sales.get(wizard_url(world.provider), {"reseller": world.reseller.pk})
    assert f'<option value="{world.reseller.pk}"' not in form.content.decode()
    assert selected(form, "details-reseller") == ""  # "None" stays selected

    response = post_step(sales, world.provider, "details", details(reseller=world.reseller.pk))
    assert response.status_code == 200
    assert current_step(response) == "details"
    assert INVALID_CHOICE in text(response)
    assert counts() == before


def test_a_reseller_whose_partnership_ended_cannot_be_chosen(world, offers, sales):
    partner_of(world.provider, world.reseller, ended_at=timezone.now() - timedelta(days=1))
    before = counts()
    form = sales.get(wizard_url(world.provider), {"reseller": world.reseller.pk})
    assert f'<option value="{world.reseller.pk}"' not in form.content.decode()

    response = post_step(sales, world.provider, "details", details(reseller=world.reseller.pk))
    assert current_step(response) == "details"
    assert INVALID_CHOICE in text(response)
    assert counts() == before


def test_a_reseller_with_a_new_partnership_after_an_ended_one_can_be_chosen(world, offers, sales):
    partner_of(world.provider, world.reseller, ended_at=timezone.now() - timedelta(days=30))
    partner_of(world.provider, world.reseller)
    form = sales.get(wizard_url(world.provider), {"reseller": world.reseller.pk})
    assert selected(form, "details-reseller") == str(world.reseller.pk)
    assert form.content.decode().count(f'<option value="{world.reseller.pk}"') == 1


def test_a_domain_of_one_of_the_providers_own_customers_is_refused_on_step_one(
    world, offers, sales
):
    # A provider may be told about its own customers (another provider's: see
    # tests/reliability/test_sign_in_domain.py).
    with unscoped("test setup: P1's customer"):
        CustomerFactory(provider=world.provider, company_name="Adatum Old", domain=DOMAIN)
    before = counts()
    response = post_step(sales, world.provider, "details", details())
    assert response.status_code == 200
    assert current_step(response) == "details"
    assert f"One of your customers already has the domain {DOMAIN}." in text(response)
    assert counts() == before


def test_the_sign_in_domain_is_filled_in_from_the_primary_domain_and_kept_on_back(
    world, offers, sales
):
    form = sales.get(wizard_url(world.provider))
    page = text(form)
    assert "Sign-in domain" in page and ".portal.example</span>" in page
    assert 'data-prefix-from="id_details-domain"' in form.content.decode()

    post_step(sales, world.provider, "details", details())
    back = post_step(
        sales, world.provider, "subscriptions", lines((offers.basic, 1)), wizard_goto_step="details"
    )
    assert input_value(back, "details-sign_in_prefix") == PREFIX


@pytest.mark.parametrize(
    ("typed", "prefix"),
    [
        pytest.param("adatum", "adatum", id="a-label"),
        pytest.param("  Adatum-HQ ", "adatum-hq", id="case-and-spaces"),
        pytest.param("adatum.portal.example", "adatum", id="the-whole-domain"),
    ],
)
def test_a_sign_in_domain_of_ones_own_choosing_is_the_admin_login(
    typed, prefix, world, offers, sales
):
    customer, _password = create_through_wizard(
        sales, world.provider, lines((offers.basic, 1)), sign_in_prefix=typed
    )
    with unscoped("assert"):
        customer.refresh_from_db()
        assert customer.sign_in_prefix == prefix
        assert customer.admin_user.email == f"admin@{prefix}.portal.example"
        assert customer.domain == DOMAIN  # the customer's own domain stays as typed


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("-adatum", id="leading-hyphen"),
        pytest.param("adatum-", id="trailing-hyphen"),
        pytest.param("ada tum", id="space"),
        pytest.param("ada_tum", id="underscore"),
        pytest.param("adatum.hq", id="two-labels"),
        pytest.param("ädatum", id="non-ascii"),
        pytest.param("a" * 64, id="64-characters"),
    ],
)
def test_a_sign_in_domain_that_is_not_a_dns_label_is_refused_on_step_one(
    typed, world, offers, sales
):
    before = counts()
    response = post_step(sales, world.provider, "details", details(sign_in_prefix=typed))
    assert response.status_code == 200
    assert current_step(response) == "details"
    assert "Use 1 to 63 lowercase letters, digits and hyphens" in text(response)
    assert 'aria-invalid="true"' in response.content.decode()
    assert counts() == before


def test_a_sign_in_domain_in_use_is_refused_on_step_one(world, offers, sales):
    with unscoped("test setup: P1's customer"):
        CustomerFactory(provider=world.provider, domain="adatum.example", sign_in_prefix="adatum")
    before = counts()
    response = post_step(sales, world.provider, "details", details(sign_in_prefix="adatum"))
    assert current_step(response) == "details"
    assert "adatum.portal.example is not available. Choose another sign-in domain." in text(
        response
    )
    assert counts() == before


# ------------------------------------------------------------------------------
# 6. Bad input on step 2
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("quantities", "message"),
    [
        pytest.param({}, NOTHING_CHOSEN, id="nothing-chosen"),
        pytest.param({"basic": "", "premium": "0"}, NOTHING_CHOSEN, id="blank-and-zero"),
        pytest.param(
            {"premium": "2"}, "Business Premium needs at least 5 licenses.", id="below-minimum"
        ),
        pytest.param(
            {"premium": "101"},
            "Business Premium takes at most 100 licenses.",
            id="above-maximum",
        ),
        pytest.param(
            {"basic": "-3"}, "Ensure this value is greater than or equal to 0.", id="negative"
        ),
        pytest.param({"basic": "many"}, "Enter a whole number.", id="non-numeric"),
        pytest.param({"basic": "2.5"}, "Enter a whole number.", id="fraction"),
    ],
)
def test_bad_subscriptions_are_refused_on_step_two(quantities, message, world, offers, sales):
    post_step(sales, world.provider, "details", details())
    before = counts()
    data = {f"offer_{getattr(offers, name).pk}": value for name, value in quantities.items()}
    response = post_step(sales, world.provider, "subscriptions", data)
    assert response.status_code == 200
    assert current_step(response) == "subscriptions"
    assert message in text(response)
    assert counts() == before


def test_an_inactive_offer_is_not_offered_and_cannot_be_posted(world, offers, sales):
    legacy = OfferFactory(name="Legacy Suite", is_active=False)
    page = post_step(sales, world.provider, "details", details())
    assert current_step(page) == "subscriptions"
    assert "Legacy Suite" not in text(page)
    assert f"subscriptions-offer_{legacy.pk}" not in page.content.decode()

    before = counts()
    response = post_step(sales, world.provider, "subscriptions", lines((legacy, 5)))
    assert current_step(response) == "subscriptions"
    assert NOTHING_CHOSEN in text(response)
    assert counts() == before


# ------------------------------------------------------------------------------
# 7. Submit-time failures
# ------------------------------------------------------------------------------
def _assert_wizard_state_kept(client, org, offers, review):
    back = post_step(
        client,
        org,
        "review",
        {"idempotency_key": idempotency_key(review)},
        wizard_goto_step="details",
    )
    assert current_step(back) == "details"
    assert input_value(back, "details-company_name") == "Adatum Corporation"
    assert input_value(back, "details-domain") == "Adatum-Example.COM"
    forward = post_step(client, org, "details", details())
    assert input_value(forward, f"subscriptions-offer_{offers.basic.pk}") == "7"


def test_a_sign_in_domain_taken_between_review_and_submit_sends_back_to_its_field(
    world, offers, sales
):
    p1 = world.provider
    review = to_review(sales, p1, details(), lines((offers.basic, 7), (offers.premium, 25)))
    with unscoped("test setup: another provider's customer takes the sign-in domain meanwhile"):
        CustomerFactory(
            provider=world.other_provider,
            company_name="Secret Co",
            domain="secret.example",
            sign_in_prefix=PREFIX,
        )
    before = counts()

    response = submit(sales, p1, review)

    # Submit re-checks every step: the sign-in domain field says what is wrong, input kept.
    assert response.status_code == 200
    assert current_step(response) == "details"
    page = text(response)
    assert f"{SIGN_IN_DOMAIN} is not available. Choose another sign-in domain." in page
    assert world.other_provider.name not in page and "Secret Co" not in page
    assert "secret.example" not in page
    assert counts() == before
    assert input_value(response, "details-company_name") == "Adatum Corporation"

    # Choose another and submit again: the same (unused) key now creates the customer.
    post_step(sales, p1, "details", details(sign_in_prefix="adatum-two"))
    fixed_review = post_step(sales, p1, "subscriptions", lines((offers.basic, 7)))
    assert idempotency_key(fixed_review) == idempotency_key(review)
    done = submit(sales, p1, fixed_review)
    assert done.status_code == 302
    assert counts()["Customer"] == before["Customer"] + 1
    with unscoped("assert"):
        assert User.objects.filter(email="admin@adatum-two.portal.example").exists()


def test_an_offer_deactivated_between_review_and_submit_keeps_the_wizard_on_review(
    world, offers, sales
):
    p1 = world.provider
    review = to_review(sales, p1, details(), lines((offers.basic, 7), (offers.premium, 25)))
    Offer.objects.filter(pk=offers.premium.pk).update(is_active=False)
    before = counts()

    response = submit(sales, p1, review)

    assert counts() == before
    assert response.status_code == 200
    assert current_step(response) == "review"
    assert "Business Premium can no longer be ordered." in text(response)
    _assert_wizard_state_kept(sales, p1, offers, review)


def test_the_only_offer_deactivated_before_submit_is_reported_on_review(world, offers, sales):
    p1 = world.provider
    review = to_review(sales, p1, details(), lines((offers.premium, 25)))
    Offer.objects.filter(pk=offers.premium.pk).update(is_active=False)
    before = counts()

    response = submit(sales, p1, review)

    assert counts() == before
    assert response.status_code == 200
    assert current_step(response) == "review"
    assert "Business Premium can no longer be ordered." in text(response)


def test_the_only_offer_deactivated_before_submit_writes_nothing(world, offers, sales):
    p1 = world.provider
    review = to_review(sales, p1, details(), lines((offers.premium, 25)))
    Offer.objects.filter(pk=offers.premium.pk).update(is_active=False)
    before = counts()
    response = submit(sales, p1, review)
    assert response.status_code == 200  # no redirect to Setup info
    assert counts() == before


def test_a_reseller_whose_partnership_ends_before_submit_is_not_delegated(
    world, partner, offers, sales
):
    p1 = world.provider
    review = to_review(sales, p1, details(reseller=partner.pk), lines((offers.basic, 7)))
    with unscoped("test setup: the partnership ends meanwhile"):
        Partnership.objects.filter(provider=p1, reseller=partner).update(ended_at=timezone.now())
    before = counts()
    response = submit(sales, p1, review)
    assert response.status_code == 200
    assert counts() == before
    assert current_step(response) == "details"
    assert INVALID_CHOICE in text(response)


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
    with django_assert_max_num_queries(48):  # 46 for 3 offers and for 30
        done = submit(sales, p1, review)
    assert done.status_code == 302
    with django_assert_max_num_queries(20):
        info = sales.get(done["Location"])
    assert "Setup info" in text(info)
    with unscoped("assert"):
        assert Subscription.objects.count() == offer_count
