"""Manage renewal: schedule, change or remove what changes when the term ends. The
subscription page shows it (templates/subscriptions/_manage_renewal.html)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views import View

from subscriptions.forms import RenewalForm
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
