"""Manage renewal: schedule, change or remove what changes when the term ends; and Renew
an expired subscription. The subscription page shows them
(templates/subscriptions/_manage_renewal.html)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView

from subscriptions.forms import RenewalForm, VersionedForm
from subscriptions.models import Offer
from subscriptions.services import renewals
from subscriptions.views.subscription import SubscriptionMixin


class RenewalView(SubscriptionMixin, View):
    """POST the schedule (it replaces the one there was)."""

    action = "subscriptions.renewal"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        subscription = self.get_subscription()
        options = renewals.renewal_options(subscription)
        form = RenewalForm(request.POST, offers=options["offers"], terms=options["terms"])
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(f"{self.detail_url()}#renewal")
        data = form.cleaned_data
        try:
            renewals.schedule_change(
                subscription=subscription,
                actor=request.user,
                org=request.org,
                quantity=data["quantity"],
                offer=data["offer"],
                term=data["term"],
                billing_frequency=data["billing_frequency"],
                expire=data["expire"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(f"{self.detail_url()}#renewal")
        messages.success(request, _("The change was scheduled for the renewal."))
        return redirect(f"{self.detail_url()}#renewal")


class RemoveRenewalView(SubscriptionMixin, View):
    action = "subscriptions.renewal"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        renewals.remove_scheduled_change(
            subscription=self.get_subscription(), actor=request.user, org=request.org
        )
        messages.success(request, _("The scheduled change was removed."))
        return redirect(f"{self.detail_url()}#renewal")


class RenewView(SubscriptionMixin, FormView):
    """Renew an expired subscription, after a page that says what the new paid term is.
    Who may is Manage renewal's rule; whether it still can be (expired, not closed) is
    the service's, so a refused renewal comes back as its message."""

    action = "subscriptions.renewal"
    form_class = VersionedForm
    template_name = "subscriptions/subscription_confirm_renew.html"

    def get_initial(self):
        return {"version": self.get_subscription().version}

    def get_context_data(self, **kwargs):
        subscription = self.get_subscription()
        today = timezone.localdate()
        renewable = subscription.status == subscription.Status.EXPIRED and not (
            subscription.is_closed(today)
        )
        plan = renewals.renewal_plan(subscription, as_of=today) if renewable else None
        return super().get_context_data(
            subscription=subscription,
            renewable=renewable,
            plan=plan,
            term_label=Offer.Term(plan["term"]).label if plan else "",
            **kwargs,
        )

    def form_invalid(self, form):
        for errors in form.errors.values():
            for error in errors:
                messages.error(self.request, error)
        return redirect(self.detail_url())

    def form_valid(self, form):
        try:
            subscription = renewals.renew_subscription(
                subscription=self.get_subscription(),
                actor=self.request.user,
                org=self.request.org,
                as_of=timezone.localdate(),
                version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            messages.error(self.request, " ".join(exc.messages))
            return redirect(self.detail_url())
        messages.success(
            self.request,
            _(
                "The subscription was renewed: it is active again, and its new term ends "
                "on %(date)s."
            )
            % {"date": date_format(subscription.term_end, "DATE_FORMAT")},
        )
        return redirect(self.detail_url())
