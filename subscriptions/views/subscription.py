"""New subscription for an existing customer, the subscription detail page and its
actions, and the Subscriptions list."""

from uuid import uuid4

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from customers.selectors import customer_detail
from partners.models import Organization
from partners.permissions import can
from partners.selectors import active_partner_organizations
from portal.forms import add_service_errors
from portal.ratelimit import RateLimitedPostMixin
from portal.tables import ExportMixin
from portal.views import OrgListView, OrgView
from subscriptions.filters import SubscriptionFilter
from subscriptions.forms import (
    AddLicensesForm,
    AddSubscriptionsForm,
    AutoRenewForm,
    IncentiveForm,
    LicensesForm,
    SupportContactForm,
    UpgradeForm,
    VersionedForm,
)
from subscriptions.models import Subscription, renewal_date
from subscriptions.selectors import (
    orderable_offers,
    subscription_detail,
    subscription_history,
    subscription_table,
    upgrade_offers,
)
from subscriptions.services import lifecycle, orders
from subscriptions.tables import SubscriptionTable
from subscriptions.views.renewal_section import renewal_context


def support_contacts(subscription: Subscription):
    """The provider itself and, when it is still a partner, the reseller the customer is
    delegated to (the service refuses anyone else), and whoever supports it now."""
    customer = subscription.customer
    partners = active_partner_organizations(org=customer.provider).filter(pk=customer.reseller_id)
    return Organization.objects.filter(
        Q(pk=customer.provider_id)
        | Q(pk__in=partners.values("pk"))
        | Q(pk=subscription.support_contact_id)
    )


class SubscriptionAddView(RateLimitedPostMixin, OrgView, FormView):
    """The New subscription page for an existing customer."""

    action = "subscriptions.add"
    rate_limit = "order_submit"
    form_class = AddSubscriptionsForm
    template_name = "subscriptions/subscription_add.html"

    def get_customer(self):
        if not hasattr(self, "_customer"):
            self._customer = get_object_or_404(
                customer_detail(org=self.request.org), pk=self.kwargs["pk"]
            )
        return self._customer

    def get_permission_object(self):
        return self.get_customer()

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["offers"] = orderable_offers()
        kwargs["resellers"] = active_partner_organizations(org=self.request.org)
        return kwargs

    def get_initial(self):
        return {"reseller": self.get_customer().reseller, "idempotency_key": uuid4()}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(customer=self.get_customer(), **kwargs)
        context["needs_confirmation"] = "confirm_no_incentive" in context["form"].errors
        return context

    def form_valid(self, form):
        customer = self.get_customer()
        try:
            order = orders.add_subscriptions(
                provider=self.request.org,
                actor=self.request.user,
                customer=customer,
                lines=form.lines(),
                reseller=form.cleaned_data["reseller"],
                confirm_no_incentive=form.cleaned_data["confirm_no_incentive"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        count = order.subscriptions.count()
        messages.success(
            self.request,
            ngettext(
                "%(count)s new subscription added for %(customer)s.",
                "%(count)s new subscriptions added for %(customer)s.",
                count,
            )
            % {"count": count, "customer": customer.company_name},
        )
        return redirect(f"{self.org_url('customers:detail', pk=customer.pk)}#subscriptions")


class SubscriptionMixin(OrgView):
    def get_subscription(self) -> Subscription:
        if not hasattr(self, "_subscription"):
            self._subscription = get_object_or_404(
                subscription_detail(org=self.request.org), pk=self.kwargs["pk"]
            )
        return self._subscription

    def get_permission_object(self):
        return self.get_subscription()

    def detail_url(self) -> str:
        return self.org_url("subscriptions:detail", pk=self.kwargs["pk"])


class SubscriptionDetailView(SubscriptionMixin, TemplateView):
    action = "subscriptions.view"
    template_name = "subscriptions/subscription_detail.html"

    def get_context_data(self, **kwargs):
        subscription = self.get_subscription()
        membership = self.request.membership
        provider = subscription.customer.provider
        version = {"version": subscription.version}
        forms = {}
        # A cancelled or expired subscription is read-only: no form at all.
        live = not subscription.is_final
        if live and can(membership, "subscriptions.support_contact", subscription):
            forms["support_contact"] = SupportContactForm(
                initial={**version, "contact": subscription.support_contact or provider},
                contacts=support_contacts(subscription),
                auto_id="id_support_%s",
            )
        if live and can(membership, "subscriptions.manage", subscription):
            forms["incentive"] = IncentiveForm(
                initial={**version, "reseller": subscription.reseller},
                resellers=active_partner_organizations(org=provider),
                auto_id="id_incentive_%s",
            )
            forms["auto_renew"] = AutoRenewForm(
                initial={**version, "auto_renew": subscription.auto_renew}, auto_id="id_renew_%s"
            )
            offers = upgrade_offers(subscription=subscription)
            if offers.exists():
                # A GET to the review page, which confirms with a POST.
                forms["upgrade"] = UpgradeForm(
                    initial=version, offers=offers, auto_id="id_upgrade_%s"
                )
        if live and can(membership, "subscriptions.operate", subscription):
            # One license form: the number the subscription should have.
            forms["licenses"] = LicensesForm(
                initial={**version, "quantity": subscription.quantity}, auto_id="id_licenses_%s"
            )
            forms["status"] = VersionedForm(initial=version)
        return super().get_context_data(
            subscription=subscription,
            customer=subscription.customer,
            provider=provider,
            history=subscription_history(subscription=subscription),
            forms=forms,
            **renewal_context(membership, subscription),
            **kwargs,
        )


class SubscriptionActionView(SubscriptionMixin, View):
    """POST one change; a stale version or a broken rule comes back as a message."""

    http_method_names = ["post"]
    form_class = VersionedForm
    success_message: str

    def form_kwargs(self, subscription) -> dict:
        return {}

    def post(self, request, *args, **kwargs):
        subscription = self.get_subscription()
        form = self.form_class(request.POST, **self.form_kwargs(subscription))
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(self.detail_url())
        try:
            self.perform(subscription, form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(self.detail_url())
        messages.success(request, self.success_message)
        return redirect(self.detail_url())

    def common(self, data) -> dict:
        return {
            "actor": self.request.user,
            "org": self.request.org,
            "version": data["version"],
        }


class SupportContactView(SubscriptionActionView):
    action = "subscriptions.support_contact"
    form_class = SupportContactForm

    @property
    def success_message(self):
        return _("The designated support contact was saved.")

    def form_kwargs(self, subscription):
        return {"contacts": support_contacts(subscription)}

    def perform(self, subscription, data):
        lifecycle.designate_support_contact(
            subscription=subscription, contact=data["contact"], **self.common(data)
        )


class IncentiveView(SubscriptionActionView):
    action = "subscriptions.manage"
    form_class = IncentiveForm

    @property
    def success_message(self):
        return _("The reseller for incentive credit was saved.")

    def form_kwargs(self, subscription):
        return {"resellers": active_partner_organizations(org=subscription.customer.provider)}

    def perform(self, subscription, data):
        lifecycle.set_incentive_reseller(
            subscription=subscription, reseller=data["reseller"], **self.common(data)
        )


class LicensesView(SubscriptionActionView):
    action = "subscriptions.operate"
    form_class = LicensesForm

    @property
    def success_message(self):
        return _("The number of licenses was changed.")

    def perform(self, subscription, data):
        lifecycle.change_licenses(
            subscription=subscription, quantity=data["quantity"], **self.common(data)
        )


class AddLicensesView(SubscriptionActionView):
    """Add licenses relative to the current count (no version: concurrent additions all
    count); the form's key makes a double submit one addition."""

    action = "subscriptions.operate"
    form_class = AddLicensesForm

    @property
    def success_message(self):
        return _("Licenses were added: the subscription now has %(total)s.") % {
            "total": self.result.quantity
        }

    def perform(self, subscription, data):
        self.result = lifecycle.add_licenses(
            subscription=subscription,
            actor=self.request.user,
            org=self.request.org,
            count=data["count"],
            idempotency_key=data["idempotency_key"],
        )


class AutoRenewView(SubscriptionActionView):
    action = "subscriptions.manage"
    form_class = AutoRenewForm

    @property
    def success_message(self):
        return _("Auto-renew was saved.")

    def perform(self, subscription, data):
        lifecycle.set_auto_renew(
            subscription=subscription, auto_renew=data["auto_renew"], **self.common(data)
        )


class UpgradeView(SubscriptionActionView):
    """GET: the review (from, to, what carries over), with the button that upgrades.
    POST: the upgrade."""

    action = "subscriptions.manage"
    form_class = UpgradeForm
    http_method_names = ["get", "post"]

    def get(self, request, *args, **kwargs):
        subscription = self.get_subscription()
        form = self.form_class(request.GET, **self.form_kwargs(subscription))
        if subscription.is_final or not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(self.detail_url())
        offer = form.cleaned_data["offer"]
        context = {
            "subscription": subscription,
            "offer": offer,
            "form": form,
            "renewal_date": renewal_date(subscription.term_start, offer.term),
            "view": self,
        }
        return TemplateResponse(request, "subscriptions/subscription_confirm_upgrade.html", context)

    @property
    def success_message(self):
        return _("The subscription was upgraded; its licenses carried over.")

    def form_kwargs(self, subscription):
        return {"offers": upgrade_offers(subscription=subscription)}

    def perform(self, subscription, data):
        lifecycle.upgrade_subscription(
            subscription=subscription, offer=data["offer"], **self.common(data)
        )


class StatusView(SubscriptionActionView):
    action = "subscriptions.operate"
    status: str

    @property
    def success_message(self):
        return {
            "suspended": _("The subscription was suspended."),
            "active": _("The subscription was reactivated."),
        }[self.status]

    def perform(self, subscription, data):
        lifecycle.set_status(subscription=subscription, status=self.status, **self.common(data))


class SuspendView(StatusView):
    status = Subscription.Status.SUSPENDED


class ReactivateView(StatusView):
    status = Subscription.Status.ACTIVE


class CancelView(SubscriptionMixin, FormView):
    """Cancel, after a page that says it is final."""

    action = "subscriptions.manage"
    form_class = VersionedForm
    template_name = "subscriptions/subscription_confirm_cancel.html"

    def get_initial(self):
        return {"version": self.get_subscription().version}

    def get_context_data(self, **kwargs):
        return super().get_context_data(subscription=self.get_subscription(), **kwargs)

    def form_valid(self, form):
        try:
            lifecycle.set_status(
                subscription=self.get_subscription(),
                actor=self.request.user,
                org=self.request.org,
                status=Subscription.Status.CANCELLED,
                version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            messages.error(self.request, " ".join(exc.messages))
            return redirect(self.detail_url())
        messages.success(self.request, _("The subscription was cancelled."))
        return redirect(self.detail_url())


class SubscriptionListView(OrgListView, ExportMixin, SingleTableMixin, FilterView):
    """Subscriptions: everything the organization may see, with who is credited and who
    supports it. For a reseller, this is where credited or supported subscriptions of
    customers it does not administer show up (read-only)."""

    action = "subscriptions.view"
    results_target = "subscriptions"
    table_class = SubscriptionTable
    filterset_class = SubscriptionFilter
    template_name = "subscriptions/subscription_list.html"
    table_pagination = {"per_page": 25}
    export_formats = ("csv",)
    export_name = "subscriptions"

    def get_queryset(self):
        return subscription_table(org=self.request.org).order_by("customer__company_name", "pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Rows on this page answer it; only an empty page asks whether filters hid all.
        context["has_subscriptions"] = (
            context["table"].paginator.count > 0
            or subscription_detail(org=self.request.org).exists()
        )
        return context
