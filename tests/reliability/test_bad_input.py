"""T5.8 and T4.7: hostile input to every form and list page, through the real views.

Every form of the product is driven through the Django test client, logged in as a
persona allowed to use it, so middleware, tenant scoping, services and templates all
run. Hypothesis spoils a valid submission a few fields at a time with hostile values
(10k characters, RTL override, zero-width and combining characters, emoji, NUL, HTML
and SQL fragments, huge and negative numbers, missing fields). Each example runs in
its own savepoint, rolled back afterwards. Per example: status < 500; refused input
comes back with a visible message and no row written; accepted input leaves the
invariants true; no payload comes back unescaped.

A form class of our apps that no case below drives fails `test_every_form_is_fuzzed`,
so a form added later cannot slip past.
"""

import csv
import html
import importlib
import io
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import django_filters
import pytest
from django import forms
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import from_form

from customers.models import Customer, domain_validator
from partners.forms import InviteMemberForm, PartnershipRequestForm
from partners.models import (
    Membership,
    Organization,
    Partnership,
    PartnershipRequest,
    TeamInvitation,
)
from partners.services.partnerships import request_link, request_partnership
from portal.models import User
from portal.scoping import unscoped
from subscriptions.models import Offer, Subscription
from tests.factories import (
    PASSWORD,
    CustomerFactory,
    MembershipFactory,
    OfferFactory,
    ResellerFactory,
    SubscriptionFactory,
    UserFactory,
)
from tests.reliability._fuzz import (
    FUZZ_SETTINGS,
    HOSTILE_VALUES,
    LIST_SETTINGS,
    XSS,
    Tally,
    assert_escaped,
    body_of,
    rolled_back,
    shows_error,
    snapshot,
    spoil,
)
from tests.test_tenancy import OUR_APPS

pytestmark = pytest.mark.django_db

WIZARD_STEP = "new_customer_wizard-current_step"
TALLY = Tally()


# ------------------------------------------------------------------------------
# The objects the forms act on
# ------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------
# Valid submissions (the strategies spoil these)
# ------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------
# What "accepted" looks like, and what must then be true
# ------------------------------------------------------------------------------
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


def check_user(fz: Fuzz, data: dict) -> None:
    with unscoped("invariants"):
        for user in User.objects.all():
            assert "@" in user.email
            _no_nul(user.email)


def nothing(fz: Fuzz, data: dict) -> None:
    pass


# ------------------------------------------------------------------------------
# The forms
# ------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    forms: tuple[str, ...]  # the form classes it drives (dotted paths)
    persona: str | None  # None: anonymous
    url: Callable[[Fuzz], str]
    base: Callable[[Fuzz], dict]
    accepted: Callable
    invariant: Callable[[Fuzz, dict], None] = nothing
    follow: bool = False
    extra: tuple[str, ...] = ()
    prepare: Callable | None = None
    plausible: Callable[[Fuzz], st.SearchStrategy] | None = None  # from_form, mostly valid
    max_fields: int = 3
    # False where no input is refused with a message: the language switcher (Django's
    # set_language) ignores a language it doesn't know and goes back, changing nothing.
    refusable: bool = True


def _version(fz: Fuzz) -> dict:
    return {"version": str(fz.subscription.version)}


def _sub_url(name):
    return lambda fz: fz.org_url(name, pk=fz.subscription.pk)


CASES = [
    Case(
        "enroll",
        ("partners.forms.EnrollmentForm",),
        "no_org_user",
        lambda fz: reverse("enroll"),
        lambda fz: {
            "name": "Fabrikam Fuzz",
            "partner_id": "12345678",
            "country": "US",
            "contact_email": "hello@fabrikam.example",
        },
        redirected,
        check_enrolled,
    ),
    Case(
        "team-invite",
        ("partners.forms.InviteMemberForm",),
        "provider_admin",
        lambda fz: fz.org_url("team:invite"),
        lambda fz: {"email": "new.colleague@example.test", "role": "sales_agent"},
        redirected,
        check_invited,
        plausible=lambda fz: from_form(InviteMemberForm).map(lambda form: form.data),
    ),
    Case(
        "team-role",
        ("partners.forms.ChangeRoleForm",),
        "provider_admin",
        lambda fz: fz.org_url("team:edit", pk=fz.sales.pk),
        lambda fz: {"role": "support_agent"},
        redirected,
        check_role,
    ),
    Case(
        "request-partnership",
        ("partners.forms.PartnershipRequestForm",),
        "provider_sales",
        lambda fz: fz.org_url("partners:request-create"),
        lambda fz: {"email": "someone@reseller.example", "contact_name": "Sam"},
        drafted,
        check_requested,
        plausible=lambda fz: from_form(PartnershipRequestForm).map(lambda form: form.data),
    ),
    Case(
        "partnership-send",
        ("partners.forms.PartnershipDraftForm",),
        "provider_sales",
        lambda fz: fz.org_url("partners:request-send", pk=fz.pending.pk),
        lambda fz: {
            "token": fz.pending_token,
            "subject": "Partnership request",
            "body": f"Hello, please accept: {request_link(fz.pending_token)}",
        },
        said_ok,
        check_requested,
        follow=True,
    ),
    Case(
        "partnership-accept",
        ("partners.forms.PartnershipResponseForm",),
        "reseller_admin",
        lambda fz: reverse("partnership-accept"),
        lambda fz: {"reseller": str(fz.world.reseller.pk), "decision": "accept"},
        said_ok,
        check_partnered,
        follow=True,
        prepare=lambda client, fz: client.get(
            reverse("partnership-link", kwargs={"token": fz.incoming_token})
        ),
    ),
    Case(
        "partnership-respond",
        (),
        "reseller_admin",
        lambda fz: fz.org_url("partners:request-respond", fz.world.reseller, pk=fz.incoming.pk),
        lambda fz: {"decision": "decline"},
        said_ok,
        check_partnered,
        follow=True,
    ),
    Case(
        "customer-edit",
        ("customers.forms.CustomerAccountForm",),
        "provider_sales",
        lambda fz: fz.org_url("customers:edit", pk=fz.customer.pk),
        lambda fz: account(),
        redirected,
        check_customer,
    ),
    Case(
        "customer-reseller",
        ("customers.forms.ResellerChoiceForm",),
        "provider_admin",
        lambda fz: fz.org_url("customers:reseller", pk=fz.customer.pk),
        lambda fz: {"reseller": str(fz.world.reseller.pk)},
        redirected,
        check_customer,
    ),
    Case(
        "wizard-details",
        ("customers.forms.CustomerDetailsForm",),
        "provider_sales",
        lambda fz: fz.org_url("subscriptions:new-customer"),
        lambda fz: wizard_details(),
        wizard_moved_on,
        check_customer,
        prepare=lambda client, fz: client.get(fz.org_url("subscriptions:new-customer")),
    ),
    Case(
        "wizard-subscriptions",
        ("subscriptions.forms.OrderLinesForm",),
        "provider_sales",
        lambda fz: fz.org_url("subscriptions:new-customer"),
        wizard_lines,
        wizard_moved_on,
        check_subscriptions,
        extra=("wizard_goto_step",),
        prepare=_prepare_wizard("subscriptions"),
    ),
    Case(
        "wizard-review",
        ("subscriptions.forms.ReviewForm",),
        "provider_sales",
        lambda fz: fz.org_url("subscriptions:new-customer"),
        lambda fz: {"review-idempotency_key": fz.review_key, WIZARD_STEP: "review"},
        wizard_moved_on,
        check_subscriptions,
        extra=("wizard_goto_step", "wizard_cancel"),
        prepare=_prepare_wizard("review"),
    ),
    Case(
        "subscription-add",
        ("subscriptions.forms.AddSubscriptionsForm",),
        "provider_sales",
        lambda fz: fz.org_url("subscriptions:add", pk=fz.customer.pk),
        lambda fz: {
            f"offer_{fz.basic.pk}": "3",
            f"offer_{fz.standard.pk}": "",
            "reseller": str(fz.world.reseller.pk),
            "idempotency_key": "6f1c9a55-7d0e-4b8e-9f43-0d1f7e2a9b11",
        },
        redirected,
        check_subscriptions,
        extra=("confirm_no_incentive",),
    ),
    Case(
        "support-contact",
        ("subscriptions.forms.SupportContactForm",),
        "provider_support",
        _sub_url("subscriptions:support-contact"),
        lambda fz: {**_version(fz), "contact": str(fz.world.reseller.pk)},
        said_ok,
        check_subscriptions,
        follow=True,
    ),
    Case(
        "incentive",
        ("subscriptions.forms.IncentiveForm",),
        "provider_sales",
        _sub_url("subscriptions:incentive"),
        lambda fz: {**_version(fz), "reseller": str(fz.world.reseller.pk)},
        said_ok,
        check_subscriptions,
        follow=True,
    ),
    Case(
        "licenses",
        ("subscriptions.forms.LicensesForm",),
        "provider_sales",
        _sub_url("subscriptions:licenses"),
        lambda fz: {**_version(fz), "quantity": "7"},
        said_ok,
        check_subscriptions,
        follow=True,
    ),
    Case(
        "add-licenses",
        ("subscriptions.forms.AddLicensesForm",),
        "provider_sales",
        _sub_url("subscriptions:add-licenses"),
        lambda fz: {"count": "2", "idempotency_key": "0b7e7a43-5f2e-4c51-9d0a-3c8f1b2e4d67"},
        said_ok,
        check_subscriptions,
        follow=True,
    ),
    Case(
        "auto-renew",
        ("subscriptions.forms.AutoRenewForm",),
        "provider_sales",
        _sub_url("subscriptions:auto-renew"),
        lambda fz: {**_version(fz), "auto_renew": "on"},
        said_ok,
        check_subscriptions,
        follow=True,
    ),
    Case(
        "upgrade",
        ("subscriptions.forms.UpgradeForm",),
        "provider_sales",
        _sub_url("subscriptions:upgrade"),
        lambda fz: {**_version(fz), "offer": str(fz.standard.pk)},
        said_ok,
        check_subscriptions,
        follow=True,
    ),
    Case(
        "manage-renewal",
        ("subscriptions.forms.RenewalForm",),
        "provider_sales",
        _sub_url("subscriptions:renewal"),
        lambda fz: {"quantity": "7"},
        said_ok,
        check_subscriptions,
        follow=True,
    ),
    Case(
        "email-notifications",
        ("portal.views.NotificationsForm",),
        "provider_admin",
        lambda fz: reverse("profile"),
        lambda fz: {"renewal_emails": "on"},
        redirected,
        refusable=False,
    ),
    Case(
        "suspend",
        ("subscriptions.forms.VersionedForm",),
        "provider_sales",
        _sub_url("subscriptions:suspend"),
        _version,
        said_ok,
        check_subscriptions,
        follow=True,
    ),
    Case(
        "cancel",
        ("subscriptions.forms.VersionedForm",),
        "provider_sales",
        _sub_url("subscriptions:cancel"),
        _version,
        said_ok,
        check_subscriptions,
        follow=True,
    ),
    Case(
        "set-language",
        (),
        "provider_admin",
        lambda fz: reverse("set-language"),
        lambda fz: {"language": "zh-hans", "next": "/"},
        lambda response, body: response.status_code in (302, 204),
        check_language,
        refusable=False,
    ),
    Case(
        "login",
        ("allauth.account.forms.LoginForm",),
        None,
        lambda fz: reverse("account_login"),
        lambda fz: {"login": "p1-admin@example.test", "password": PASSWORD, "remember": "on"},
        redirected,
    ),
    Case(
        "signup",
        ("allauth.account.forms.SignupForm",),
        None,
        lambda fz: reverse("account_signup"),
        lambda fz: {
            "email": "newcomer@example.test",
            "password1": "violet-lantern-orbit-47",
            "password2": "violet-lantern-orbit-47",
        },
        redirected,
        check_user,
    ),
    Case(
        "password-reset",
        ("allauth.account.forms.ResetPasswordForm",),
        None,
        lambda fz: reverse("account_reset_password"),
        lambda fz: {"email": "p1-admin@example.test"},
        redirected,
    ),
    Case(
        "password-change",
        ("allauth.account.forms.ChangePasswordForm",),
        "provider_admin",
        lambda fz: reverse("account_change_password"),
        lambda fz: {
            "oldpassword": PASSWORD,
            "password1": "violet-lantern-orbit-47",
            "password2": "violet-lantern-orbit-47",
        },
        redirected,
        check_user,
    ),
]


def _form_classes(module_filter=lambda cls: issubclass(cls, forms.BaseForm)) -> set[str]:
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


def test_every_form_is_fuzzed():
    ours = _form_classes()
    covered = {name for case in CASES for name in case.forms}
    assert ours - covered == set(), "forms with no bad-input case; add them to CASES"
    stale = {name for name in covered if name.split(".")[0] in OUR_APPS} - ours
    assert stale == set(), "CASES names forms that no longer exist"


def _client_for(case: Case, fz: Fuzz, client_for):
    user = getattr(fz.world, case.persona) if case.persona else None
    client = client_for(user)
    if case.prepare:
        case.prepare(client, fz)
    return client


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_input_to_every_form(case, fz, client_for):
    client = _client_for(case, fz, client_for)
    url = case.url(fz)
    base = case.base(fz)
    strategy = spoil(base, extra=case.extra, max_fields=case.max_fields)
    if case.plausible:
        strategy = st.one_of(strategy, case.plausible(fz))

    @FUZZ_SETTINGS
    @given(data=strategy)
    @rolled_back
    def example(data):
        # The session row is rolled back with the example, so its cookie must be too
        # (a login or password change would otherwise strand the next example).
        saved = client.cookies
        client.cookies = saved.__class__(saved)
        client.cookies.pop("messages", None)  # a message must come from this request
        try:
            check(data)
        finally:
            client.cookies = saved

    def check(data):
        before = snapshot()
        # Forms that answer with a redirect and a message: the page behind the redirect
        # is rendered (and checked for escaping) when the input carries markup; otherwise
        # the message the request queued for it is read directly, which halves the cost.
        follow = case.follow and carries_markup(data)
        response = client.post(url, data, follow=follow)
        assert response.status_code < 500
        body = body_of(response)
        assert_escaped(body, data)
        if case.follow and not follow and response.status_code == 302:
            levels = flashed(response)
            accepted = bool(levels & {"success", "info"})
            refused_with_message = "error" in levels
        else:
            accepted = case.accepted(response, body)
            refused_with_message = response.status_code == 200 and shows_error(body)
        if response.status_code == 400:  # a tampered wizard management form
            assert snapshot() == before
            TALLY.add(case.name, "refused")
        elif accepted:
            case.invariant(fz, data)
            TALLY.add(case.name, "accepted")
        else:
            assert refused_with_message, f"refused without a message: {body[:3000]}"
            assert snapshot() == before, "a refused submission wrote rows"
            TALLY.add(case.name, "refused")

    example()
    # Both paths ran: the base submission is accepted and spoiled ones are refused.
    assert TALLY.of(case.name, "refused") > 0 or not case.refusable
    assert TALLY.of(case.name, "accepted") > 0
    print(case.name, TALLY.of(case.name, "accepted"), TALLY.of(case.name, "refused"))


# ------------------------------------------------------------------------------
# List pages: filters, search, sort, page and export parameters (GET)
# ------------------------------------------------------------------------------
@dataclass
class ListPage:
    name: str
    filtersets: tuple[str, ...]
    persona: str
    org: str  # "provider" or "reseller"
    params: tuple[str, ...]  # the querystring keys the page reads


COMMON_PARAMS = ("sort", "page", "per_page", "_export")
LIST_PAGES = [
    ListPage(
        "customers:list",
        ("customers.filters.CustomerFilter",),
        "provider_sales",
        "provider",
        ("q", "reseller", "provider", *COMMON_PARAMS),
    ),
    ListPage(
        "customers:list",
        ("customers.filters.CustomerFilter",),
        "reseller_admin",
        "reseller",
        ("q", "reseller", "provider", *COMMON_PARAMS),
    ),
    ListPage(
        "team:list",
        ("partners.filters.MemberFilter",),
        "provider_admin",
        "provider",
        ("q", "role", "inv-page", "inv-sort", *COMMON_PARAMS),
    ),
    ListPage(
        "partners:reseller-list",
        ("partners.filters.PartnerResellerFilter",),
        "provider_admin",
        "provider",
        ("q", "req-page", "req-sort", *COMMON_PARAMS),
    ),
    ListPage(
        "activity",
        ("partners.filters.ActivityFilter",),
        "provider_admin",
        "provider",
        ("kind", "actor", "created_at_after", "created_at_before", "date_after", *COMMON_PARAMS),
    ),
    ListPage(
        "subscriptions:list",
        ("subscriptions.filters.SubscriptionFilter",),
        "provider_support",
        "provider",
        ("q", "status", "offer", "reseller", "renews_within", "at_term_end", *COMMON_PARAMS),
    ),
    ListPage("partners:provider-list", (), "reseller_admin", "reseller", COMMON_PARAMS),
]
# The brief's named cases, on every list page.
NAMED_QUERIES = [
    {"page": "abc"},
    {"page": "999999"},
    {"page": "-1"},
    {"page": "0"},
    {"per_page": "0"},
    {"per_page": "-5"},
    {"per_page": str(10**12)},
    {"sort": "nonexistent"},
    {"sort": "-__class__"},
    {"created_at_after": "2026-13-45", "date_after": "2026-13-45"},
    {"created_at_before": "0000-00-00"},
    {"q": "\x00"},
    {"q": "'; DROP TABLE customers_customer;--"},
    {"reseller": "abc"},
    {"reseller": str(10**30)},
    {"provider": "-1"},
    {"actor": "1.5"},
    {"kind": "<script>"},
    {"_export": "xlsx"},
    {"_export": "csv", "q": '<script>alert("fz")</script>'},
]


def test_every_filter_set_is_fuzzed():
    ours = _form_classes(
        lambda cls: (
            issubclass(cls, django_filters.FilterSet) and cls is not django_filters.FilterSet
        )
    )
    covered = {name for page in LIST_PAGES for name in page.filtersets}
    assert ours - covered == set(), "filter sets with no bad-input case; add them to LIST_PAGES"


def _list_url(page: ListPage, fz: Fuzz) -> str:
    org = fz.world.provider if page.org == "provider" else fz.world.reseller
    return fz.org_url(page.name, org)


def _get_and_check(client, url: str, query: dict, before: dict):
    response = client.get(url, query)
    assert response.status_code < 500, (url, query)
    body = body_of(response)
    assert_escaped(body, query)
    assert snapshot() == before, "a list page wrote rows"
    return response, body


@pytest.mark.parametrize("page", LIST_PAGES, ids=lambda page: f"{page.name}-{page.persona}")
def test_hostile_querystrings_on_list_pages(page, fz, client_for):
    client = client_for(getattr(fz.world, page.persona))
    url = _list_url(page, fz)
    before = snapshot()
    for query in NAMED_QUERIES:
        response, _body = _get_and_check(client, url, query, before)
        assert response.status_code == 200, (query, response.status_code)

    @LIST_SETTINGS
    @given(query=st.dictionaries(st.sampled_from(page.params), HOSTILE_VALUES, max_size=4))
    def example(query):
        response, _body = _get_and_check(client, url, query, before)
        assert response.status_code == 200, (query, response.status_code)
        TALLY.add(f"GET {page.name}", "ok")

    example()


# ------------------------------------------------------------------------------
# T4.7: bad quantities through the license-change and add-subscription forms
# ------------------------------------------------------------------------------
BAD_QUANTITIES = ["0", "-1", "1.5", "abc", "", str(10**12), "1\x00"]
QUANTITY_MESSAGES = {
    "0": "at least 1",
    "-1": "at least 1",
    "1.5": "whole number",
    "abc": "whole number",
    "": "Enter the number of licenses",
    str(10**12): "takes 1 to 300 licenses",
    "1\x00": "whole number",
}


@pytest.mark.parametrize("quantity", BAD_QUANTITIES, ids=repr)
def test_bad_quantity_to_license_change(quantity, fz, client_for):
    client = client_for(fz.world.provider_sales)
    before = snapshot()
    response = client.post(
        fz.org_url("subscriptions:licenses", pk=fz.subscription.pk),
        {"version": fz.subscription.version, "quantity": quantity},
        follow=True,
    )
    assert response.status_code == 200
    body = body_of(response)
    errors = re.findall(r'<p class="message message--error">(.*?)</p>', body, re.S)
    assert len(errors) == 1, body
    assert QUANTITY_MESSAGES[quantity] in errors[0]
    assert "licenses" in errors[0].lower() or "license" in errors[0].lower()
    assert snapshot() == before
    fz.subscription.refresh_from_db()
    assert fz.subscription.quantity == 5


@pytest.mark.parametrize("quantity", BAD_QUANTITIES, ids=repr)
def test_bad_quantity_to_add_subscription(quantity, fz, client_for):
    client = client_for(fz.world.provider_sales)
    before = snapshot()
    field = f"offer_{fz.basic.pk}"
    response = client.post(
        fz.org_url("subscriptions:add", pk=fz.customer.pk),
        {
            field: quantity,
            "reseller": fz.world.reseller.pk,
            "idempotency_key": "6f1c9a55-7d0e-4b8e-9f43-0d1f7e2a9b11",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    # Blank means "not this offer": then the form asks to choose one, at the top.
    messages = form.errors.get(field) or form.non_field_errors()
    assert messages, form.errors
    shown = body_of(response)
    assert all(str(m) in html.unescape(shown) for m in messages)
    assert snapshot() == before


# ------------------------------------------------------------------------------
# Output escaping: hostile names stored directly, then every page and export rendered
# ------------------------------------------------------------------------------
SCRIPT, IMG, SVG, BOLD = XSS
FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def hostile_world(fz):
    """Names an attacker controls (their company, their profile, a request) carrying
    payloads, stored without going through any form."""
    world = fz.world
    with unscoped("hostile fixtures"):
        reseller = world.reseller
        reseller.name = IMG
        reseller.save(update_fields=["name"])
        world.other_provider.name = SVG
        world.other_provider.save(update_fields=["name"])
        fz.customer.company_name = SCRIPT
        fz.customer.city = BOLD
        fz.customer.contact_first_name = FORMULA
        fz.customer.save()
        CustomerFactory(provider=world.provider, company_name=FORMULA)
        CustomerFactory(provider=world.provider, company_name="+SUM(1,2)")
        CustomerFactory(provider=world.provider, company_name="@cmd|' /C calc'!A0")
        CustomerFactory(provider=world.provider, company_name="-2+3")
        evil = UserFactory(email="evil@example.test", first_name=SCRIPT, last_name=IMG)
        MembershipFactory(organization=world.provider, user=evil, role="support_agent")
        MembershipFactory(organization=reseller, user=evil, role="sales_agent")
        fz.basic.name = BOLD
        fz.basic.save(update_fields=["name"])
        PartnershipRequest.objects.filter(pk=fz.pending.pk).update(contact_name=SCRIPT)
        second = ResellerFactory(name=SCRIPT, partner_id="99999999")
        Partnership.objects.create(provider=world.provider, reseller=second)
    return fz


def _pages(fz: Fuzz) -> list[tuple[str, str]]:
    """(persona, url) for every page that shows the stored names."""
    p1, r1 = fz.world.provider, fz.world.reseller
    sub = {"pk": fz.subscription.pk}
    cust = {"pk": fz.customer.pk}
    with unscoped("page list"):
        member = Membership.objects.get(user__email="evil@example.test", organization=p1)
        partnership = Partnership.objects.filter(provider=p1, reseller=r1).get()
    provider_pages = [
        ("dashboard", {}),
        ("activity", {}),
        ("partners:reseller-list", {}),
        ("partners:request-create", {}),
        ("partners:partnership-end", {"pk": partnership.pk}),
        ("customers:list", {}),
        ("customers:detail", cust),
        ("customers:row", cust),
        ("customers:edit", cust),
        ("customers:reseller", cust),
        ("customers:reseller-remove", cust),
        ("subscriptions:new-customer", {}),
        ("subscriptions:add", cust),
        ("subscriptions:list", {}),
        ("subscriptions:detail", sub),
        ("subscriptions:cancel", sub),
        ("team:list", {}),
        ("team:edit", {"pk": member.pk}),
        ("team:remove", {"pk": member.pk}),
    ]
    reseller_pages = [
        ("dashboard", {}),
        ("activity", {}),
        ("partners:provider-list", {}),
        ("customers:list", {}),
        ("customers:detail", cust),
        ("customers:edit", cust),
        ("subscriptions:list", {}),
        ("subscriptions:detail", sub),
        ("team:list", {}),
    ]
    return (
        [("provider_admin", fz.org_url(name, p1, **kw)) for name, kw in provider_pages]
        + [("reseller_admin", fz.org_url(name, r1, **kw)) for name, kw in reseller_pages]
        + [("reseller_admin", reverse("partnership-accept"))]
    )


def test_stored_payloads_are_escaped_on_every_page(hostile_world, client_for):
    fz = hostile_world
    clients = {
        "provider_admin": client_for(fz.world.provider_admin),
        "reseller_admin": client_for(fz.world.reseller_admin),
    }
    # Some activity with the names in it, and the link page of P2's request.
    clients["reseller_admin"].get(reverse("partnership-link", kwargs={"token": fz.incoming_token}))
    rendered = 0
    for persona, url in _pages(fz):
        response = clients[persona].get(url, {"q": SCRIPT} if url.endswith("/list/") else {})
        assert response.status_code == 200, (persona, url, response.status_code)
        body = body_of(response)
        for marker in XSS.values():
            assert marker not in body, (url, marker)
        rendered += 1
    assert rendered == len(_pages(fz))


EXPORTS = ["customers:list", "activity", "partners:reseller-list"]  # the provider's CSVs


@pytest.mark.parametrize("route", EXPORTS)
def test_csv_exports_neutralise_formulas(route, hostile_world, client_for):
    """OWASP CSV injection: a cell starting with = + - @ (or tab / CR) runs as a formula
    in a spreadsheet; exported cells must start with a ' instead."""
    fz = hostile_world
    client = client_for(fz.world.provider_admin)
    # Leave a trail in the activity: rename the customer through the form.
    client.post(fz.org_url("customers:edit", pk=fz.customer.pk), account(company_name=FORMULA))
    response = client.get(fz.org_url(route), {"_export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body_of(response))))
    cells = [cell for row in rows[1:] for cell in row]
    assert cells, "the export is empty"
    dangerous = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    if route == "customers:list":  # the hostile company names are there, made inert
        assert any(cell.startswith(("'=", "'+", "'@", "'-")) for cell in cells)
