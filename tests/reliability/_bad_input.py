"""T5.8 / T4.7 bad input: the objects the fuzzed forms act on (the `fz` fixture), the valid
submissions the strategies spoil, and what must hold when a form accepts. The hostile values
and profiles are in _fuzz.py.
"""

import importlib
import pkgutil
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, domain_validator
from partners.models import (
    Membership,
    Organization,
    Partnership,
    PartnershipRequest,
    TeamInvitation,
)
from partners.services.partnerships import request_partnership
from portal.models import User
from portal.scoping import unscoped
from subscriptions.models import Offer, Subscription
from tests.factories import (
    CustomerFactory,
    OfferFactory,
    SubscriptionFactory,
)
from tests.reliability._fuzz import (
    XSS,
    Tally,
    body_of,
)
from tests.routes import OUR_APPS

WIZARD_STEP = "new_customer_wizard-current_step"
TALLY = Tally()


@dataclass
class Fuzz:
    world: object
    customer: Customer  # P1's customer, delegated to R1
    basic: Offer
    standard: Offer  # an upgrade of basic
    subscription: Subscription
    sales: Membership  # P1's sales agent, whose role the Admin changes
    pending: PartnershipRequest  # P1 → a prospect
    pending_token: str
    incoming: PartnershipRequest  # P2 → R1's admin
    incoming_token: str

    def org_url(self, name: str, org=None, **kwargs) -> str:
        org = org or self.world.provider
        return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


@pytest.fixture
def fz(world) -> Fuzz:
    with unscoped("fuzz fixtures"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        customer = CustomerFactory(provider=world.provider, reseller=world.reseller)
        basic = OfferFactory(name="Business Basic", min_licenses=1, max_licenses=300)
        standard = OfferFactory(name="Business Standard", min_licenses=1, max_licenses=300)
        basic.upgrades.add(standard)
        today = timezone.localdate()
        subscription = SubscriptionFactory(
            customer=customer, offer=basic, start_date=today, renewal_date=today + timedelta(365)
        )
        pending, pending_token = request_partnership(
            provider=world.provider, actor=world.provider_admin, email="prospect@example.test"
        )
        incoming, incoming_token = request_partnership(
            provider=world.other_provider,
            actor=world.other_provider_admin,
            email=world.reseller_admin.email,
        )
        sales = Membership.objects.get(user=world.provider_sales)
    return Fuzz(
        world=world,
        customer=customer,
        basic=basic,
        standard=standard,
        subscription=subscription,
        sales=sales,
        pending=pending,
        pending_token=pending_token,
        incoming=incoming,
        incoming_token=incoming_token,
    )


def account(**changes) -> dict:
    return {
        "company_name": "Adatum Corporation",
        "domain": "adatum-fuzz.example",
        "country": "US",
        "city": "Redmond",
        "street": "1 Main Street",
        "postal_code": "98052",
        "contact_first_name": "Dana",
        "contact_last_name": "Lee",
        "contact_email": "dana@adatum.example",
        "contact_phone": "+1 425 555 0100",
        "language": "en",
        **changes,
    }


def wizard_details() -> dict:
    accepted = (timezone.localdate() - timedelta(days=3)).isoformat()
    data = account(
        agreement_accepted_on=accepted,
        agreement_accepted_by_name="Dana Lee",
        agreement_accepted_by_email="dana@adatum.example",
        agreement_attested="on",
        reseller="",
    )
    return {f"details-{k}": v for k, v in data.items()} | {WIZARD_STEP: "details"}


def wizard_lines(fz: Fuzz) -> dict:
    return {f"subscriptions-offer_{fz.basic.pk}": "5", WIZARD_STEP: "subscriptions"}


def _prepare_wizard(upto: str):
    """Fill the wizard's earlier steps once, outside the examples (they roll back to it)."""

    def prepare(client, fz: Fuzz):
        url = fz.org_url("subscriptions:new-customer")
        client.get(url)
        response = client.post(url, wizard_details())
        if upto == "review":
            response = client.post(url, wizard_lines(fz))
            # The Review page carries the submit's key (a GET would restart the wizard).
            page = body_of(response)
            key = re.search(r'name="review-idempotency_key" value="([^"]+)"', page)
            fz.review_key = key.group(1)

    return prepare


def redirected(response, body) -> bool:
    # Sent on, and not to the login page (that would mean the session was lost).
    return response.status_code == 302 and not response["Location"].startswith(
        reverse("account_login")
    )


def carries_markup(data: dict) -> bool:
    return any(marker in str(value) for value in data.values() for marker in XSS)


def flashed(response) -> set[str]:
    """The levels of the messages the request queued for the page it redirects to."""
    return {message.level_tag for message in get_messages(response.wsgi_request)}


def said_ok(response, body) -> bool:
    return "message--success" in body or "message--info" in body


def wizard_moved_on(response, body) -> bool:
    if response.status_code == 302:
        return True
    current = re.search(rf'name="{WIZARD_STEP}" value="([^"]*)"', body)
    posted = response.wsgi_request.POST.get(WIZARD_STEP)
    return bool(current) and current.group(1) != posted


def drafted(response, body) -> bool:
    return "partners/partnershiprequest_draft.html" in {t.name for t in response.templates}


def _no_nul(*values) -> None:
    for value in values:
        assert "\x00" not in str(value)


def check_enrolled(fz: Fuzz, data: dict) -> None:
    with unscoped("invariants"):
        org = Organization.objects.filter(memberships__user=fz.world.no_org_user).get()
        assert org.kind == Organization.Kind.RESELLER
        assert re.fullmatch(r"\d{6,10}", org.partner_id)
        assert org.name.strip() and org.name == org.name.strip()
        _no_nul(org.name, org.contact_email)


def check_invited(fz: Fuzz, data: dict) -> None:
    with unscoped("invariants"):
        invitation = TeamInvitation.objects.latest("pk")
        assert invitation.organization == fz.world.provider
        assert "@" in invitation.email and invitation.role in Membership.Role.values


def check_role(fz: Fuzz, data: dict) -> None:
    with unscoped("invariants"):
        fz.sales.refresh_from_db()
        assert fz.sales.organization == fz.world.provider
        assert fz.sales.role in Membership.Role.values


def check_requested(fz: Fuzz, data: dict) -> None:
    with unscoped("invariants"):
        for row in PartnershipRequest.objects.filter(provider=fz.world.provider):
            assert "@" in row.email
            _no_nul(row.email, row.contact_name, row.subject, row.body)


def check_customer(fz: Fuzz, data: dict) -> None:
    with unscoped("invariants"):
        for customer in Customer.objects.filter(provider=fz.world.provider):
            assert customer.reseller in (None, fz.world.reseller)
            domain_validator(customer.domain)
            _no_nul(*(getattr(customer, f.attname) for f in Customer._meta.concrete_fields))


def check_subscriptions(fz: Fuzz, data: dict) -> None:
    with unscoped("invariants"):
        for sub in Subscription.objects.select_related("offer", "customer"):
            assert sub.offer.min_licenses <= sub.quantity <= sub.offer.max_licenses
            assert sub.quantity >= 1
            assert sub.customer.provider in (fz.world.provider, fz.world.other_provider)
            assert sub.reseller in (None, fz.world.reseller)
            assert sub.support_contact in (None, fz.world.provider, fz.world.reseller)
            assert sub.offer in (fz.basic, fz.standard)
        check_customer(fz, data)


def check_partnered(fz: Fuzz, data: dict) -> None:
    with unscoped("invariants"):
        for partnership in Partnership.objects.filter(provider=fz.world.other_provider):
            assert partnership.reseller == fz.world.reseller


def check_language(fz: Fuzz, data: dict) -> None:
    fz.world.provider_admin.refresh_from_db()
    assert fz.world.provider_admin.language in {"", "en", "zh-hans"}


def check_preferences(fz: Fuzz, data: dict) -> None:
    """The profile's email settings: each one a yes or no, a box not sent is off, and
    nothing else about the person changed."""
    user = fz.world.provider_admin
    user.refresh_from_db()
    for kind in User.Notification:
        value = getattr(user, kind.value)
        assert isinstance(value, bool)
        if kind.value not in data:
            assert value is False
    assert (user.email, user.language, user.is_active) == ("p1-admin@example.test", "", True)


def check_user(fz: Fuzz, data: dict) -> None:
    with unscoped("invariants"):
        for user in User.objects.all():
            assert "@" in user.email
            _no_nul(user.email)


def nothing(fz: Fuzz, data: dict) -> None:
    pass


def form_classes(module_filter=lambda cls: issubclass(cls, forms.BaseForm)) -> set[str]:
    """Every form (or filter set) class defined in our apps' modules."""
    found = set()
    for app in sorted(OUR_APPS):
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" in info.name or info.name.endswith(("wsgi", "asgi")):
                continue
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if (
                    isinstance(obj, type)
                    and obj.__module__ == module.__name__
                    and module_filter(obj)
                ):
                    found.add(f"{obj.__module__}.{obj.__qualname__}")
    return found
