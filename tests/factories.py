"""What tests build and drive, shared by every test module: model factories, the flows
that create data through the real pages (the new-customer wizard, a partnership draft,
two-factor codes, the browser's log-in), and polling on real services.

Route tables and the URL walker are in tests/routes.py; fixtures are in conftest.py.
"""

import datetime
import html
import re
import time
from datetime import timedelta
from pathlib import Path

import factory
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.urls import reverse
from django.utils import timezone
from factory.django import DjangoModelFactory
from playwright.sync_api import Page, expect

from customers.models import Customer
from partners.models import (
    AuditEvent,
    MailboxProof,
    Membership,
    Organization,
    Partnership,
)
from portal.models import User
from portal.scoping import unscoped
from portal.sign_in_domain import customer_admin_address
from subscriptions.models import Order, Subscription

PASSWORD = "correct-horse-battery-9"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        # allauth logins need a verified primary address (mandatory verification). By
        # default it is one the person proved with the emailed code (a MailboxProof);
        # `verified__proven=False` makes one that was only marked verified.
        if create and extracted is not False:
            address = EmailAddress.objects.create(
                user=obj, email=obj.email, verified=True, primary=True
            )
            if kwargs.get("proven", True):
                MailboxProof.objects.create(email_address=address, method=MailboxProof.Method.CODE)


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    kind = Organization.Kind.PROVIDER
    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    partner_id = factory.Sequence(lambda n: f"{7000000 + n}")
    country = "US"
    contact_email = factory.Sequence(lambda n: f"contact{n}@org.example.test")


class ProviderFactory(OrganizationFactory):
    kind = Organization.Kind.PROVIDER
    # Staff create providers (create_provider), which verifies their Partner ID.
    partner_id_status = Organization.PartnerIdStatus.VERIFIED
    name = factory.Sequence(lambda n: f"Provider {n}")


class ResellerFactory(OrganizationFactory):
    kind = Organization.Kind.RESELLER
    name = factory.Sequence(lambda n: f"Reseller {n}")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(ProviderFactory)
    role = Membership.Role.ADMIN


class CustomerFactory(DjangoModelFactory):
    """A customer with its admin account (password: PASSWORD, already changed)."""

    class Meta:
        model = "customers.Customer"

    provider = factory.SubFactory(ProviderFactory)
    reseller = None
    company_name = factory.Sequence(lambda n: f"Customer {n}")
    domain = factory.Sequence(lambda n: f"customer{n}.example")
    sign_in_prefix = factory.Sequence(lambda n: f"customer{n}")
    country = "US"
    city = "Redmond"
    street = "1 Main Street"
    postal_code = "98052"
    contact_first_name = "Alex"
    contact_last_name = "Doe"
    contact_email = factory.LazyAttribute(lambda o: f"alex@{o.domain}")
    contact_phone = "+1 425 555 0100"
    language = "en"
    agreement_accepted_on = datetime.date(2026, 1, 5)
    agreement_accepted_by_name = "Alex Doe"
    agreement_accepted_by_email = factory.LazyAttribute(lambda o: f"alex@{o.domain}")
    # admin@customer<n>.portal.example: on the portal's sign-in domain, as the wizard makes it.
    admin_user = factory.SubFactory(
        UserFactory,
        email=factory.LazyAttribute(
            lambda o: customer_admin_address(o.factory_parent.sign_in_prefix)
        ),
    )


class OfferFactory(DjangoModelFactory):
    class Meta:
        model = "subscriptions.Offer"

    name = factory.Sequence(lambda n: f"Offer {n}")
    offer_id = factory.Sequence(lambda n: f"OFFER-{n}")
    term = "P1Y"
    billing_frequency = "monthly"
    unit_price = "10.00"
    min_licenses = 1
    max_licenses = 100


class SubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = "subscriptions.Subscription"

    customer = factory.SubFactory(CustomerFactory)
    offer = factory.SubFactory(OfferFactory)
    quantity = 5
    term = "P1Y"
    billing_frequency = "monthly"
    start_date = datetime.date(2026, 11, 1)
    renewal_date = datetime.date(2027, 11, 1)


# ------------------------------------------------------------------------------
# Waiting on real services (the worker, the SMTP sink, the browser): poll, never sleep
# ------------------------------------------------------------------------------
ARTIFACTS = Path(__file__).parent / "e2e" / "artifacts"


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    """Poll a condition until it holds; fail with a clear message otherwise. Never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


# ------------------------------------------------------------------------------
# The new-customer wizard through the test client (its own tests and the reliability ones)
# ------------------------------------------------------------------------------
STEP = "new_customer_wizard-current_step"

STEPS = ("details", "subscriptions", "review")

DOMAIN = "adatum-example.com"

# The sign-in domain is filled in from the primary domain's first label when left empty.
PREFIX = "adatum-example"

SIGN_IN_DOMAIN = "adatum-example.portal.example"

ADMIN = "admin@adatum-example.portal.example"


def wizard_url(org) -> str:
    return reverse("subscriptions:new-customer", kwargs={"org_slug": org.slug})


def setup_info_url(org, customer) -> str:
    return reverse("customers:setup-info", kwargs={"org_slug": org.slug, "pk": customer.pk})


def details(**changes) -> dict:
    """Valid step 1 input; a change to None leaves the field out (an unchecked box)."""
    data = {
        "company_name": "Adatum Corporation",
        "domain": "Adatum-Example.COM",
        "country": "US",
        "city": "Redmond",
        "street": "1 Microsoft Way",
        "postal_code": "98052",
        "contact_first_name": "Dana",
        "contact_last_name": "Lee",
        "contact_email": "dana@adatum.example",
        "contact_phone": "+1 425 555 0100",
        "language": "en",
        "agreement_accepted_on": (timezone.localdate() - timedelta(days=3)).isoformat(),
        "agreement_accepted_by_name": "Dana Lee",
        "agreement_accepted_by_email": "dana@adatum.example",
        "agreement_attested": "on",
        "reseller": "",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def lines(*pairs) -> dict:
    """(offer, licenses) pairs as the subscriptions step posts them."""
    return {f"offer_{offer.pk}": licenses for offer, licenses in pairs}


def post_step(client, org, step: str, data: dict | None = None, **buttons):
    """Post one wizard step the way its form does: management form, prefixed fields, button."""
    payload = {STEP: step, **{f"{step}-{name}": value for name, value in (data or {}).items()}}
    payload.update(buttons)
    return client.post(wizard_url(org), payload)


def text(response) -> str:
    return html.unescape(response.content.decode())


def current_step(response) -> str:
    match = re.search(rf'name="{STEP}" value="([^"]*)"', response.content.decode())
    assert match, response.content.decode()[:3000]
    return match.group(1)


def input_value(response, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', response.content.decode())
    assert tag, f"no input {name}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def is_checked(response, name: str) -> bool:
    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', response.content.decode())
    assert tag, f"no input {name}"
    return bool(re.search(r"\bchecked\b", tag.group(0)))


def selected(response, name: str) -> str | None:
    select = re.search(
        rf'<select[^>]*\bname="{re.escape(name)}".*?</select>', response.content.decode(), re.S
    )
    assert select, f"no select {name}"
    option = re.search(r'<option value="([^"]*)"[^>]*\bselected\b', select.group(0))
    return option.group(1) if option else None


def idempotency_key(review) -> str:
    return input_value(review, "review-idempotency_key")


def counts() -> dict:
    with unscoped("count what the wizard wrote"):
        return {
            model.__name__: model.objects.count() for model in (Customer, Order, Subscription, User)
        } | {"AuditEvent": AuditEvent.objects.exclude(verb__startswith="login.").count()}


def to_review(client, org, step1: dict, step2: dict):
    """Fill in steps 1 and 2; return the Review page."""
    second = post_step(client, org, "details", step1)
    assert current_step(second) == "subscriptions", text(second)[:3000]
    review = post_step(client, org, "subscriptions", step2)
    assert current_step(review) == "review", text(review)[:3000]
    return review


def submit(client, org, review):
    return post_step(client, org, "review", {"idempotency_key": idempotency_key(review)})


def shown_password(response) -> str:
    match = re.search(r'id="setup-password">([^<]*)<', response.content.decode())
    assert match, text(response)[:3000]
    return html.unescape(match.group(1))


def create_through_wizard(client, org, step2: dict, **changes) -> tuple[Customer, str]:
    """The whole wizard and the Setup info page; the customer and its temporary password."""
    review = to_review(client, org, details(**changes), step2)
    done = submit(client, org, review)
    assert done.status_code == 302, text(done)[:3000]
    with unscoped("the customer just created"):
        customer = Customer.objects.get(domain=DOMAIN)
    assert done["Location"] == setup_info_url(org, customer)
    return customer, shown_password(client.get(done["Location"]))


def partner_of(provider, reseller, **fields) -> Partnership:
    with unscoped("test setup: a partnership"):
        return Partnership.objects.create(provider=provider, reseller=reseller, **fields)


# ------------------------------------------------------------------------------
# Partnership requests
# ------------------------------------------------------------------------------
def draft_fields(page: str) -> dict:
    subject = re.search(r'name="subject"[^>]*value="([^"]*)"', page).group(1)
    body = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    token = re.search(r'name="token" value="([^"]*)"', page).group(1)
    return {
        "subject": html.unescape(subject),
        "body": html.unescape(body).lstrip("\n"),
        "token": token,
    }


# ------------------------------------------------------------------------------
# Two-factor codes (allauth's TOTP)
# ------------------------------------------------------------------------------
def totp_code(secret: str) -> str:
    """The code an authenticator app shows now. Tolerance is 0, so stay clear of a rollover."""
    wait_for(lambda: time.time() % mfa_settings.TOTP_PERIOD < mfa_settings.TOTP_PERIOD - 5)
    [counter] = yield_hotp_counters_from_time()
    return format_hotp_value(hotp_value(secret, counter))


def wrong_totp_code(secret: str) -> str:
    [counter] = yield_hotp_counters_from_time()
    near = {format_hotp_value(hotp_value(secret, counter + i)) for i in range(-2, 3)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def reauthenticate(client, url: str) -> None:
    """allauth asks for the password again before a security change, then resumes."""
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    response = client.post(response.url, {"password": PASSWORD})
    assert response.url == url


def activate_totp(client) -> tuple[str, list[str]]:
    """Turn TOTP on through allauth's pages; returns the secret and the recovery codes."""
    url = reverse("mfa_activate_totp")
    reauthenticate(client, url)
    page = client.get(url)
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]  # what the QR code and the page show
    assert secret in page.content.decode()
    refused = client.post(url, {"code": wrong_totp_code(secret)})
    assert "Incorrect code." in refused.content.decode()
    assert not Authenticator.objects.exists()
    response = client.post(url, {"code": totp_code(secret)})
    assert response.status_code == 302
    assert response.url == reverse("mfa_view_recovery_codes")
    assert SECRET_SESSION_KEY not in client.session
    codes_page = client.get(response.url)
    codes = list(codes_page.context["unused_codes"])
    assert all(code in codes_page.content.decode() for code in codes)
    return secret, codes


# ------------------------------------------------------------------------------
# The browser (Playwright)
# ------------------------------------------------------------------------------
def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def fill_customer_details(page: Page) -> None:
    page.get_by_label("Company name").fill("Lamna Healthcare")
    page.get_by_label("Primary domain").fill("lamna.example")
    page.get_by_label("Country").select_option("US")
    page.get_by_label("City").fill("Boston")
    page.get_by_label("Street address").fill("5 Elm Street")
    page.get_by_label("Postal code").fill("02110")
    page.get_by_label("Contact first name").fill("Lee")
    page.get_by_label("Contact last name").fill("Ray")
    page.get_by_label("Contact email").fill("lee@lamna.example")
    page.get_by_label("Contact phone").fill("+1 617 555 0100")
    page.get_by_label("Customer agreement accepted on").fill(timezone.localdate().isoformat())
    page.get_by_label("Accepted by (name)").fill("Lee Ray")
    page.get_by_label("Accepted by (email)").fill("lee@lamna.example")
    page.get_by_label("I confirm the customer accepted the customer agreement.").check()
