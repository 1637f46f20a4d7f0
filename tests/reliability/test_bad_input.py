"""T5.8: hostile input to every form of the product, through its view (hypothesis; profiles in
_fuzz.py): never a 500, a clear message when refused and nothing written, the invariants
kept when accepted.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import from_form

from partners.forms import InviteMemberForm, PartnershipRequestForm
from partners.services.partnerships import request_link
from portal.models import User
from portal.scoping import unscoped
from subscriptions.models import Subscription
from tests.factories import (
    PASSWORD,
)
from tests.reliability._bad_input import (
    TALLY,
    WIZARD_STEP,
    Fuzz,
    _prepare_wizard,
    account,
    carries_markup,
    check_customer,
    check_enrolled,
    check_invited,
    check_language,
    check_partnered,
    check_preferences,
    check_requested,
    check_role,
    check_subscriptions,
    check_user,
    drafted,
    flashed,
    form_classes,
    nothing,
    redirected,
    said_ok,
    wizard_details,
    wizard_lines,
    wizard_moved_on,
)
from tests.reliability._fuzz import (
    FUZZ_SETTINGS,
    assert_escaped,
    body_of,
    rolled_back,
    shows_error,
    snapshot,
    spoil,
)
from tests.routes import OUR_APPS

pytestmark = pytest.mark.django_db


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


def _expire(fz: Fuzz) -> None:
    """Expired ten days ago, so renewing it (as of today) is within its window."""
    today = timezone.localdate()
    with unscoped("fuzz: an expired subscription to renew"):
        Subscription.objects.filter(pk=fz.subscription.pk).update(
            status=Subscription.Status.EXPIRED,
            start_date=today - timedelta(days=375),
            renewal_date=today - timedelta(days=10),
        )


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
        lambda fz: {kind.value: "on" for kind in User.Notification},
        redirected,
        check_preferences,
        # Checkboxes only: Django reads any value sent as ticked and a missing one as not,
        # so no input is refused; the invariant checks what was saved instead.
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
        "renew",
        ("subscriptions.forms.VersionedForm",),
        "provider_sales",
        _sub_url("subscriptions:renew"),
        _version,
        said_ok,
        check_subscriptions,
        follow=True,
        prepare=lambda client, fz: _expire(fz),
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


def test_every_form_is_fuzzed():
    ours = form_classes()
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
def test_hostile_input_to_every_form(case, fz, client_for, record_property):
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
    accepted, refused = TALLY.of(case.name, "accepted"), TALLY.of(case.name, "refused")
    record_property("figure", f"{case.name}: {accepted} accepted, {refused} refused")
