from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin

from customers import services
from customers.filters import CustomerFilter
from customers.forms import CustomerAccountForm, ResellerChoiceForm
from customers.selectors import customer_detail, customer_list
from customers.tables import CustomerTable
from partners.selectors import active_partner_organizations
from portal.forms import add_service_errors
from portal.sealing import stash_in_session, take_from_session
from portal.tables import ExportMixin
from portal.views import OrgListView, OrgView
from subscriptions.selectors import customer_table, subscription_list
from subscriptions.tables import CustomerSubscriptionTable

# The Setup info page reads the one-time password from the session once, then forgets
# it. It is kept there sealed (portal/sealing.py), under this name and the customer's id,
# for SETUP_INFO_MAX_AGE_SECONDS at most: a page never opened doesn't leave it behind.
SETUP_INFO_SESSION_KEY = "customer_setup_info"


def stash_setup_info(session, customer_pk: int, password: str) -> None:
    """Keep the temporary password for the Setup info page to show once."""
    stash_in_session(
        session,
        f"{SETUP_INFO_SESSION_KEY}:{customer_pk}",
        password,
        max_age=settings.SETUP_INFO_MAX_AGE_SECONDS,
    )


def take_setup_info(session, customer_pk: int) -> str | None:
    """The temporary password, if it was stashed within the time allowed; only once."""
    return take_from_session(session, f"{SETUP_INFO_SESSION_KEY}:{customer_pk}")


class CustomerListView(OrgListView, ExportMixin, SingleTableMixin, FilterView):
    action = "customers.view"
    results_target = "customers"
    table_class = CustomerTable
    filterset_class = CustomerFilter
    template_name = "customers/customer_list.html"
    table_pagination = {"per_page": 25}
    export_formats = ("csv",)
    export_name = "customers"

    def get_queryset(self):
        return customer_table(org=self.request.org)

    def get_table_kwargs(self):
        # Each side drops the column that would name itself on every row: a provider's
        # customers all have it as provider, a reseller's all have it as reseller. (The
        # reseller's column also pushed Created past the edge at 1280 px: issue 19.)
        return {"exclude": ("provider",) if self.request.org.is_provider else ("reseller",)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Rows on this page answer it without another query; only an empty page asks
        # whether the filters hid every customer or there are none.
        context["has_customers"] = (
            context["table"].paginator.count > 0 or customer_list(org=self.request.org).exists()
        )
        return context


class CustomerMixin(OrgView):
    def get_customer(self):
        if not hasattr(self, "_customer"):
            self._customer = get_object_or_404(
                customer_detail(org=self.request.org), pk=self.kwargs["pk"]
            )
        return self._customer

    def get_permission_object(self):
        return self.get_customer()

    def get_context_data(self, **kwargs):
        return super().get_context_data(customer=self.get_customer(), **kwargs)


class CustomerRowView(CustomerMixin, TemplateView):
    """The expanded row of the Customers table (htmx), or a page of its own without JavaScript."""

    action = "customers.view"
    template_name = "customers/customer_row.html"

    def get_template_names(self):
        if self.request.htmx:
            return [f"{self.template_name}#row"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["subscriptions"] = list(subscription_list(customer=self.get_customer())[:5])
        return context


class CustomerDetailView(CustomerMixin, TemplateView):
    """The customer's account and its Subscriptions (a table, 25 to a page)."""

    action = "customers.view"
    template_name = "customers/customer_detail.html"

    def get_context_data(self, **kwargs):
        table = CustomerSubscriptionTable(subscription_list(customer=self.get_customer()))
        RequestConfig(self.request, paginate={"per_page": 25}).configure(table)
        return super().get_context_data(subscriptions=table, **kwargs)


class CustomerEditView(CustomerMixin, FormView):
    action = "customers.edit"
    form_class = CustomerAccountForm
    template_name = "customers/customer_form.html"

    def get_initial(self):
        customer = self.get_customer()
        return {field: getattr(customer, field) for field in services.ACCOUNT_FIELDS}

    def form_valid(self, form):
        try:
            services.update_customer_account(
                customer=self.get_customer(),
                actor=self.request.user,
                org=self.request.org,
                details=form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("The account information was saved."))
        return redirect(self.org_url("customers:detail", pk=self.get_customer().pk))


class CustomerResellerView(CustomerMixin, FormView):
    """Establish a reseller relationship with an existing customer, or change it."""

    action = "customers.delegate"
    form_class = ResellerChoiceForm
    template_name = "customers/customer_reseller_form.html"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["resellers"] = active_partner_organizations(org=self.request.org)
        return kwargs

    def get_initial(self):
        return {"reseller": self.get_customer().reseller}

    def form_valid(self, form):
        customer = self.get_customer()
        if form.cleaned_data["reseller"] == customer.reseller:
            messages.info(
                self.request,
                _("Nothing changed: %(reseller)s already administers %(customer)s.")
                % {"reseller": customer.reseller.name, "customer": customer.company_name},
            )
            return redirect(self.org_url("customers:detail", pk=customer.pk))
        try:
            services.set_customer_reseller(
                customer=customer, actor=self.request.user, reseller=form.cleaned_data["reseller"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(reseller)s now administers %(customer)s.")
            % {"reseller": form.cleaned_data["reseller"].name, "customer": customer.company_name},
        )
        return redirect(self.org_url("customers:detail", pk=customer.pk))


class CustomerResellerRemoveView(CustomerMixin, TemplateView):
    action = "customers.delegate"
    template_name = "customers/customer_confirm_remove_reseller.html"

    def post(self, request, *args, **kwargs):
        customer = self.get_customer()
        if customer.reseller is None:
            return redirect(self.org_url("customers:detail", pk=customer.pk))
        name = customer.reseller.name
        services.set_customer_reseller(customer=customer, actor=request.user, reseller=None)
        messages.success(
            request,
            _("%(reseller)s no longer administers %(customer)s.")
            % {"reseller": name, "customer": customer.company_name},
        )
        return redirect(self.org_url("customers:detail", pk=customer.pk))


@method_decorator(never_cache, name="dispatch")
class SetupInfoView(CustomerMixin, TemplateView):
    """The Confirmation page. The temporary password shows once; any later visit says so."""

    action = "customers.add"
    template_name = "customers/customer_setup_info.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["password"] = take_setup_info(self.request.session, self.get_customer().pk)
        context["account_name"] = self.get_customer().admin_user.email
        return context


class CustomerAreaView(TemplateView):
    """The customer's own admin account: its company and subscriptions, read-only.

    The tenant here is the customer itself: customers.middleware.CustomerAreaMiddleware
    resolves it from the logged-in user and runs this view in its scope.
    """

    customer_area = True
    template_name = "customers/customer_area.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = self.request.customer
        context["customer"] = customer
        context["subscriptions"] = subscription_list(customer=customer).select_related(
            "customer__provider"
        )
        return context
