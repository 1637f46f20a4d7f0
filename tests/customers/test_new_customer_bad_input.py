"""The new-customer wizard refusing bad input on each step, and failures at Submit time: a
clear message, the input kept, nothing written.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from partners.models import Partnership
from portal.models import User
from portal.scoping import unscoped
from subscriptions.models import Offer
from tests.customers._wizard import INVALID_CHOICE, NOTHING_CHOSEN
from tests.factories import (
    DOMAIN,
    PREFIX,
    SIGN_IN_DOMAIN,
    CustomerFactory,
    OfferFactory,
    counts,
    create_through_wizard,
    current_step,
    details,
    idempotency_key,
    input_value,
    lines,
    partner_of,
    post_step,
    selected,
    submit,
    text,
    to_review,
    wizard_url,
)

pytestmark = pytest.mark.django_db


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
