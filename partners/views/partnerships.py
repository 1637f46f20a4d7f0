"""Views of the partnership flow: Indirect resellers, Request a partnership, the draft
email, the emailed link, Indirect providers, and ending a partnership."""

from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin

from customers.filters import ResellerCustomersFilter
from customers.selectors import delegated_customer_count
from partners.filters import PartnershipRequestFilter
from partners.forms import PartnershipDraftForm, PartnershipRequestForm
from partners.selectors import (
    incoming_request_list,
    open_partnership_request_list,
    partner_provider_list,
    partner_reseller_list,
    partnership_for,
    partnership_request_list,
    proven_addresses,
)
from partners.services import partnerships
from partners.tables import PartnerProviderTable, PartnerResellerTable, PartnershipRequestTable
from portal.ratelimit import RateLimitedPostMixin
from portal.sign_in_domain import is_customer_sign_in_address
from portal.tables import ExportMixin
from portal.views import OrgListView, OrgView
from subscriptions.services import lifecycle


def mailto_url(to: str, subject: str, body: str) -> str:
    """RFC 6068: percent-encode everything, line breaks as %0D%0A."""
    body = body.replace("\r\n", "\n").replace("\n", "\r\n")
    query = f"subject={quote(subject, safe='')}&body={quote(body, safe='')}"
    return f"mailto:{quote(to, safe='@')}?{query}"


class ResellerListView(OrgListView, ExportMixin, SingleTableMixin, FilterView):
    """Indirect resellers: active partners, and the requests sent to become one."""

    action = "resellers.view"
    results_target = "resellers"
    table_class = PartnerResellerTable
    filterset_class = ResellerCustomersFilter
    template_name = "partners/reseller_list.html"
    table_pagination = {"per_page": 25}
    export_formats = ("csv",)
    export_name = "indirect-resellers"

    def get_queryset(self):
        return partner_reseller_list(org=self.request.org)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        request_filter = PartnershipRequestFilter(
            self.request.GET, queryset=partnership_request_list(org=self.request.org)
        )
        requests = PartnershipRequestTable(request_filter.qs, prefix="req-", orderable=False)
        context["request_filter"] = request_filter
        RequestConfig(self.request, paginate={"per_page": 10}).configure(requests)
        context["request_table"] = requests
        context["has_partners"] = (
            context["table"].paginator.count > 0
            or partner_reseller_list(org=self.request.org).exists()
        )
        return context


def render_draft(view, request_row, token: str, form=None, status: int = 200):
    """The draft email page. Rendered straight from the POST that made the link:
    the token is never stored, so this response is the only place the provider sees it."""
    subject, body = partnerships.draft_message(request_row, token)
    form = form or PartnershipDraftForm(initial={"subject": subject, "body": body, "token": token})
    link = partnerships.request_link(token)
    # What Send delivers: the portal's prefix and framing around the provider's text, in
    # the reseller's language. "Open in email" and "Copy" keep the provider's own text.
    received = partnerships.reseller_message(
        provider=view.request.org,
        subject=_("[your subject]"),
        body=_("[Your message, as written above]"),
        link=link,
        language=partnerships.recipient_language(request_row.email),
    )
    context = {
        "partnership_request": request_row,
        "form": form,
        "link": link,
        "received": received,
        "mailto": mailto_url(
            request_row.email,
            form["subject"].value() or "",
            form["body"].value() or "",
        ),
        "view": view,
    }
    return TemplateResponse(
        view.request, "partners/partnershiprequest_draft.html", context, status=status
    )


class PartnershipRequestCreateView(RateLimitedPostMixin, OrgView, FormView):
    """Request a partnership: the reseller's address, then the draft email."""

    action = "partnerships.request"
    rate_limit = "partnership_draft"
    form_class = PartnershipRequestForm
    template_name = "partners/partnershiprequest_form.html"

    def form_valid(self, form):
        try:
            request_row, token = partnerships.request_partnership(
                provider=self.request.org, actor=self.request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            if exc.code == "already_requested":
                # The message says to use Resend: offer it right here.
                self.pending_request = (
                    open_partnership_request_list(org=self.request.org)
                    .filter(email__iexact=form.cleaned_data["email"])
                    .first()
                )
            return self.form_invalid(form)
        return render_draft(self, request_row, token)

    def get_context_data(self, **kwargs):
        pending = getattr(self, "pending_request", None)
        return super().get_context_data(pending_request=pending, **kwargs)


class PartnershipRequestActionView(OrgView, View):
    """POST-only actions on a request the provider sent."""

    action = "partnerships.request"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        obj = get_object_or_404(partnership_request_list(org=request.org), pk=kwargs["pk"])
        try:
            return self.perform(obj)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(self.org_url("partners:reseller-list"))


class PartnershipRequestSendView(RateLimitedPostMixin, PartnershipRequestActionView):
    """Send: the portal emails the edited draft to the reseller, through Celery."""

    rate_limit = "partnership_request"

    def perform(self, obj):
        form = PartnershipDraftForm(self.request.POST)
        if not form.is_valid():
            token = form.cleaned_data.get("token", "")
            if not partnerships.link_matches(obj, token):
                # Only this page's hidden field carries the link; without it the draft
                # cannot be shown again (the token is stored nowhere).
                raise ValidationError(
                    _("This draft is out of date. Use Resend to get a new draft and link."),
                    code="stale_link",
                )
            return render_draft(self, obj, token, form=form)
        try:
            _email, created = partnerships.send_partnership_request(
                provider=self.request.org,
                actor=self.request.user,
                request=obj,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            if exc.code in {"not_open", "stale_link"}:
                raise
            form.add_error(None, exc)
            return render_draft(self, obj, form.cleaned_data["token"], form=form)
        if created:
            messages.success(
                self.request,
                _(
                    "The portal is sending your partnership request to %(email)s. "
                    "The reseller appears in your list once they accept."
                )
                % {"email": obj.email},
            )
        else:
            messages.info(
                self.request,
                _("This message to %(email)s was already sent.") % {"email": obj.email},
            )
        return redirect(self.org_url("partners:reseller-list"))


class ConfirmedRequestActionView(PartnershipRequestActionView):
    """Resend and Revoke: a GET shows what the action will do, with the button that
    does it (a plain form: no JavaScript needed); the POST does it."""

    http_method_names = ["get", "post"]
    template_name = "partners/partnershiprequest_confirm.html"
    confirm: str  # "resend" or "revoke"

    def get(self, request, *args, **kwargs):
        obj = get_object_or_404(partnership_request_list(org=request.org), pk=kwargs["pk"])
        if not obj.is_open:
            messages.info(
                request,
                _("The request to %(email)s is no longer pending.") % {"email": obj.email},
            )
            return redirect(self.org_url("partners:reseller-list"))
        context = {"partnership_request": obj, "confirm": self.confirm, "view": self}
        return TemplateResponse(request, self.template_name, context)


class PartnershipRequestResendView(ConfirmedRequestActionView):
    """Resend: a new link (the old one stops working) and the draft again."""

    confirm = "resend"

    def perform(self, obj):
        token = partnerships.resend_partnership_request(
            provider=self.request.org, actor=self.request.user, request=obj
        )
        obj.refresh_from_db()
        messages.success(
            self.request,
            _("A new link was created for %(email)s; the previous one no longer works.")
            % {"email": obj.email},
        )
        return render_draft(self, obj, token)


class PartnershipRequestRevokeView(ConfirmedRequestActionView):
    confirm = "revoke"

    def perform(self, obj):
        partnerships.revoke_partnership_request(
            provider=self.request.org, actor=self.request.user, request=obj
        )
        messages.success(
            self.request,
            _("The partnership request to %(email)s was revoked; its link no longer works.")
            % {"email": obj.email},
        )
        return redirect(self.org_url("partners:reseller-list"))


class ProviderListView(OrgListView, SingleTableMixin, TemplateView):
    """Indirect providers (reseller side), and requests waiting for an answer."""

    action = "providers.view"
    table_class = PartnerProviderTable
    template_name = "partners/provider_list.html"
    table_pagination = {"per_page": 25}

    def get_table_data(self):
        return partner_provider_list(org=self.request.org)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["incoming"] = incoming_request_list(org=self.request.org)
        # Accept and Decline only where the service will accept them (it refuses the rest
        # with a message): requests sent to an address proven by a code, and never from a
        # customer's sign-in account (one that enrolled before they were refused). Its
        # sign-in address is verified, so the addresses just read tell (no query of its own).
        # Who may answer at all is the template's `org_perms.partnerships_respond`.
        emails = {
            e.lower()
            for e in proven_addresses(user=self.request.user).values_list("email", flat=True)
        }
        if any(map(is_customer_sign_in_address, {self.request.user.email, *emails})):
            emails = set()
        context["answerable_emails"] = emails
        return context


class IncomingRequestRespondView(OrgView, View):
    """Accept or Decline, from the Indirect providers page, as this reseller."""

    action = "partnerships.respond"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        obj = get_object_or_404(incoming_request_list(org=request.org), pk=kwargs["pk"])
        back = self.org_url("partners:provider-list")
        return respond(request, obj, request.org, request.POST.get("decision"), back)


def respond(request, obj, reseller, decision, on_error: str):
    try:
        if decision == "accept":
            partnership = partnerships.accept_partnership(
                request=obj, reseller=reseller, actor=request.user
            )
            messages.success(
                request,
                _("You are now an indirect reseller of %(provider)s.")
                % {"provider": partnership.provider.name},
            )
            return redirect(reverse("partners:provider-list", kwargs={"org_slug": reseller.slug}))
        if decision == "decline":
            partnerships.decline_partnership(request=obj, actor=request.user, reseller=reseller)
            messages.success(
                request,
                _("You declined the partnership request from %(provider)s.")
                % {"provider": obj.provider.name},
            )
            if reseller is not None:
                return redirect(
                    reverse("partners:provider-list", kwargs={"org_slug": reseller.slug})
                )
            return redirect("home")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(on_error)
    # Only a hand-made POST gets here: the page's buttons always carry a decision.
    messages.error(request, _("Choose Accept or Decline."))
    return redirect(on_error)


class PartnershipEndView(OrgView, TemplateView):
    """End a partnership, from either side, after a page that says what will change."""

    action = "partnerships.end"
    template_name = "partners/partnership_confirm_end.html"

    def get_partnership(self):
        return get_object_or_404(
            partnership_for(org=self.request.org).filter(ended_at=None), pk=self.kwargs["pk"]
        )

    def get_context_data(self, **kwargs):
        partnership = self.get_partnership()
        other = (
            partnership.reseller
            if partnership.provider_id == self.request.org.pk
            else partnership.provider
        )
        return super().get_context_data(
            partnership=partnership,
            other=other,
            customer_count=delegated_customer_count(partnership=partnership),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        partnership = self.get_partnership()
        try:
            # The subscriptions app's service: it ends the delegations and support
            # contacts with the partnership, in one transaction.
            _partnership, customers = lifecycle.end_partnership(
                org=request.org, actor=request.user, partnership=partnership
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                ngettext(
                    "The partnership has ended. %(count)s customer no longer has a reseller.",
                    "The partnership has ended. %(count)s customers no longer have a reseller.",
                    customers,
                )
                % {"count": customers}
                if customers
                else _("The partnership has ended."),
            )
        name = "partners:reseller-list" if request.org.is_provider else "partners:provider-list"
        return redirect(self.org_url(name))
