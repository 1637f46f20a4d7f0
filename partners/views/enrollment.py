"""Enroll as an indirect reseller."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import FormView

from partners.forms import EnrollmentForm
from partners.selectors import (
    competing_partner_id_claims,
    memberships_of,
)
from partners.services import organizations
from portal.forms import add_service_errors
from portal.sign_in_domain import is_customer_sign_in_account


def safe_next(request, fallback: str) -> str:
    """The `next` parameter when it points inside this site, else `fallback`."""
    target = request.GET.get("next") or request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


class EnrollView(LoginRequiredMixin, FormView):
    """Enroll as an indirect reseller: a company the user will be the first Admin of."""

    form_class = EnrollmentForm
    template_name = "partners/enroll.html"

    def get_initial(self):
        return {"contact_email": self.request.user.email}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            has_organizations=memberships_of(user=self.request.user).exists(),
            # A customer's sign-in account is told why it can't, not shown the form (the
            # service refuses it too).
            customer_account=is_customer_sign_in_account(self.request.user),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            org = organizations.enroll_reseller(user=self.request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(org)s is enrolled as an indirect reseller. You are its Admin.")
            % {"org": org.name},
        )
        # Partner IDs are claims: say so, and say when another organization claims it too.
        if competing_partner_id_claims(org=org).exists():
            notice = _(
                "Another organization also claims Partner ID %(partner_id)s. Until portal "
                "staff verify which claim is genuine, it shows as unverified."
            )
        else:
            notice = _(
                "Partner ID %(partner_id)s shows as unverified until portal staff verify it."
            )
        messages.info(self.request, notice % {"partner_id": org.partner_id})
        return redirect(safe_next(self.request, org.get_absolute_url()))
