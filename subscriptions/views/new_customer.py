import logging
from uuid import UUID, uuid4

from django.contrib import messages
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import redirect
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_countries.fields import Country
from formtools.wizard.views import SessionWizardView

from customers.forms import CustomerDetailsForm
from customers.selectors import customer_by_idempotency_key
from customers.views import stash_setup_info
from partners.selectors import active_partner_organizations
from portal.ratelimit import RateLimitedWizardSubmitMixin
from portal.sign_in_domain import customer_sign_in_domain
from portal.views import OrgView
from subscriptions.forms import OrderLinesForm, ReviewForm
from subscriptions.models import Offer
from subscriptions.selectors import orderable_offers
from subscriptions.services.orders import submit_new_customer_order

logger = logging.getLogger(__name__)


class _SubmitFailed(Exception):
    def __init__(self, response):
        self.response = response


class NewCustomerWizard(RateLimitedWizardSubmitMixin, OrgView, SessionWizardView):
    """New customer: customer details → New subscription → Review → Submit.

    The wizard keeps every step on the server (the session), so Back and Next never lose
    input and it works without JavaScript. Cancel throws the whole operation away.
    """

    action = "customers.add"
    rate_limit = "order_submit"
    form_list = [
        ("details", CustomerDetailsForm),
        ("subscriptions", OrderLinesForm),
        ("review", ReviewForm),
    ]
    template_name = "subscriptions/new_customer.html"

    def get_form_kwargs(self, step=None):
        if step == "details":
            return {
                "provider": self.request.org,
                "resellers": active_partner_organizations(org=self.request.org),
            }
        if step == "subscriptions":
            return {"offers": self.offers_for_review()}
        return {}

    def get_form_initial(self, step):
        if step == "details":
            # "Add new customer" on a reseller's row: that reseller is already selected.
            reseller = self.request.GET.get("reseller", "")
            partners = active_partner_organizations(org=self.request.org)
            if reseller.isdigit() and partners.filter(pk=reseller).exists():
                return {"reseller": int(reseller)}
        if step == "review":
            return {"idempotency_key": self.idempotency_key()}
        return {}

    def offers_for_review(self):
        """Orderable offers, plus any the person already chose that has since been
        retired: Submit must then say so on Review, not silently drop the line."""
        chosen = [
            key.removeprefix("subscriptions-offer_")
            for key, value in (self.storage.get_step_data("subscriptions") or {}).items()
            if key.startswith("subscriptions-offer_") and value not in ("", "0", ["", "0"])
        ]
        chosen = [pk for pk in chosen if pk.isdigit()]
        return (orderable_offers() | Offer.objects.filter(pk__in=chosen)).distinct()

    def idempotency_key(self) -> str:
        extra = self.storage.extra_data
        if "idempotency_key" not in extra:
            extra["idempotency_key"] = str(uuid4())
            self.storage.extra_data = extra
        return extra["idempotency_key"]

    def post(self, *args, **kwargs):
        request = self.request
        if "wizard_cancel" in request.POST:
            self.storage.reset()
            messages.info(request, _("The new customer was cancelled. Nothing was saved."))
            return redirect(self.org_url("customers:list"))
        key = _uuid(request.POST.get("review-idempotency_key"))
        replayed = key and customer_by_idempotency_key(provider=request.org, idempotency_key=key)
        if replayed:
            # A second Submit (double click, reload): the customer exists once.
            return redirect(self.org_url("customers:setup-info", pk=replayed.pk))
        goto = request.POST.get("wizard_goto_step")
        posted_step = request.POST.get(f"{self.get_prefix(request)}-current_step")
        if posted_step is not None and posted_step not in self.get_form_list():
            # formtools would look the unknown step up and fail with a KeyError (500).
            raise SuspiciousOperation("The wizard's current step was tampered with.")
        if goto and goto in self.get_form_list() and posted_step in self.get_form_list():
            # Keep what was typed on the page being left (Back never loses input).
            form = self.get_form(step=posted_step, data=request.POST, files=request.FILES)
            self.storage.set_step_data(posted_step, self.process_step(form))
        return super().post(*args, **kwargs)

    def process_step(self, form):
        data = super().process_step(form)
        if isinstance(form, CustomerDetailsForm) and form.is_valid():
            # Keep the prefix the server filled in from the domain, so Back shows it.
            data = data.copy()
            data[form.add_prefix("sign_in_prefix")] = form.cleaned_data["sign_in_prefix"]
        return data

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        if self.steps.current == "review":
            details = self.get_cleaned_data_for_step("details") or {}
            lines_form = self.get_form(
                "subscriptions", data=self.storage.get_step_data("subscriptions")
            )
            context["review_rows"] = _review_rows(self.get_form("details"), details)
            context["lines"] = lines_form.lines() if lines_form.is_valid() else []
        context["step_titles"] = [
            ("details", _("Customer details")),
            ("subscriptions", _("New subscription")),
            ("review", _("Review")),
        ]
        return context

    def render_done(self, form, **kwargs):
        try:
            return super().render_done(form, **kwargs)
        except _SubmitFailed as failed:
            return failed.response

    def _details_with_errors(self, exc: ValidationError):
        """Step 1's form with the service's errors on its fields, or None when the errors
        are not about customer details."""
        fields = getattr(exc, "error_dict", {})
        form = self.get_form("details", data=self.storage.get_step_data("details"))
        if not fields or not set(fields) <= set(form.fields):
            return None
        form.is_valid()
        for field, errors in fields.items():
            if field not in form.errors:
                form.add_error(field, errors)
        return form

    def done(self, form_list, form_dict, **kwargs):
        details = dict(form_dict["details"].cleaned_data)
        reseller = details.pop("reseller")
        session = self.request.session
        review = form_dict["review"]
        try:
            with transaction.atomic():
                customer, password = submit_new_customer_order(
                    provider=self.request.org,
                    actor=self.request.user,
                    details=details,
                    reseller=reseller,
                    lines=form_dict["subscriptions"].lines(),
                    idempotency_key=review.cleaned_data["idempotency_key"],
                )
                if password is not None:
                    # Saved with the order, in its transaction: a concurrent second Submit
                    # waits for this commit, then sends the browser to Setup info, which
                    # must find the password already there.
                    stash_setup_info(session, customer.pk, password)
                    self.storage.reset()
                    session.save()
        except ValidationError as exc:
            # Nothing was written. A customer detail taken meanwhile (another Submit won
            # the sign-in domain) goes back to its field on step 1; anything else stays on
            # Review. All input is kept either way.
            details_form = self._details_with_errors(exc)
            if details_form is not None:
                raise _SubmitFailed(
                    self.render_revalidation_failure("details", details_form)
                ) from exc
            review.add_error(None, exc.messages)
            raise _SubmitFailed(self.render(review)) from exc
        except IntegrityError as exc:
            # A broken invariant (a bug, or data changed under us): all or nothing held.
            logger.exception("New customer order rolled back")
            review.add_error(
                None,
                _(
                    "The order could not be placed because of a problem on our side. "
                    "Nothing was saved; please try again."
                ),
            )
            raise _SubmitFailed(self.render(review)) from exc
        setup_info = redirect(self.org_url("customers:setup-info", pk=customer.pk))
        if password is None:
            # A concurrent second Submit of this wizard. Its copy of the session predates
            # the first one's; saving it would drop the stashed password.
            session.modified = False
            raise _SubmitFailed(setup_info)
        return setup_info


def _uuid(value) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _review_rows(form, details: dict) -> list[tuple[str, str]]:
    """Label and display value of every customer detail, for the Review step."""
    rows = []
    for name, field in form.fields.items():
        if name == "agreement_attested" or name not in details:
            continue
        value = details[name]
        if name == "reseller":
            value = value.name if value else _("None (you manage this customer)")
        elif name == "sign_in_prefix":
            value = customer_sign_in_domain(value)
        elif name == "country":
            value = Country(code=value).name
        elif hasattr(field, "choices"):
            value = dict(field.choices).get(value, value)
        elif hasattr(value, "isoformat"):
            value = date_format(value)
        rows.append((field.label, value))
    return rows
