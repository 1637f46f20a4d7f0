"""Views of the partnership flow: Indirect resellers, Request a partnership, the draft
email, the emailed link, Indirect providers, and ending a partnership."""

from urllib.parse import quote

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2.export.views import ExportMixin

from partners import partnerships
from partners.filters import PartnerResellerFilter
from partners.forms import PartnershipDraftForm, PartnershipRequestForm, PartnershipResponseForm
from partners.permissions import can
from partners.selectors import (
    incoming_request_list,
    partner_provider_list,
    partner_reseller_list,
    partnership_for,
    partnership_request_by_token,
    partnership_request_list,
    reseller_admin_memberships,
)
from partners.tables import PartnerProviderTable, PartnerResellerTable, PartnershipRequestTable
from partners.views import OrgView
from portal.scoping import unscoped

# The link's token exists only in the email and, while the provider drafts it, here.
DRAFTS_SESSION_KEY = "partnership_drafts"


def _remember_token(request, pk: int, token: str) -> None:
    drafts = request.session.get(DRAFTS_SESSION_KEY, {})
    drafts[str(pk)] = token
    request.session[DRAFTS_SESSION_KEY] = drafts


def _forget_token(request, pk: int) -> None:
    drafts = request.session.get(DRAFTS_SESSION_KEY, {})
    if drafts.pop(str(pk), None) is not None:
        request.session[DRAFTS_SESSION_KEY] = drafts


def mailto_url(to: str, subject: str, body: str) -> str:
    """RFC 6068: percent-encode everything, line breaks as %0D%0A."""
    body = body.replace("\r\n", "\n").replace("\n", "\r\n")
    query = f"subject={quote(subject, safe='')}&body={quote(body, safe='')}"
    return f"mailto:{quote(to, safe='@')}?{query}"


class ResellerListView(OrgView, ExportMixin, SingleTableMixin, FilterView):
    """Indirect resellers: active partners, and the requests sent to become one."""

    action = "resellers.view"
    table_class = PartnerResellerTable
    filterset_class = PartnerResellerFilter
    template_name = "partners/reseller_list.html"
    table_pagination = {"per_page": 25}
    export_formats = ("csv",)
    export_name = "indirect-resellers"

    def get_queryset(self):
        return partner_reseller_list(org=self.request.org)

    def get_template_names(self):
        if self.request.htmx and self.request.htmx.target == "resellers":
            return [f"{self.template_name}#results"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        requests = PartnershipRequestTable(
            partnership_request_list(org=self.request.org), prefix="req-", orderable=False
        )
        RequestConfig(self.request, paginate={"per_page": 10}).configure(requests)
        context["request_table"] = requests
        context["has_partners"] = partner_reseller_list(org=self.request.org).exists()
        context["can_request"] = can(self.request.membership, "partnerships.request")
        context["can_end"] = can(self.request.membership, "partnerships.end")
        return context


class PartnershipRequestCreateView(OrgView, FormView):
    action = "partnerships.request"
    form_class = PartnershipRequestForm
    template_name = "partners/partnershiprequest_form.html"

    def form_valid(self, form):
        try:
            request_row, token = partnerships.request_partnership(
                provider=self.request.org, actor=self.request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        _remember_token(self.request, request_row.pk, token)
        return redirect(self.org_url("partners:request-draft", pk=request_row.pk))


class PartnershipRequestDraftView(OrgView, FormView):
    """The draft email: edit, then Open in email, Copy to clipboard, Send, Done."""

    action = "partnerships.request"
    form_class = PartnershipDraftForm
    template_name = "partners/partnershiprequest_draft.html"

    def dispatch(self, request, *args, **kwargs):
        self.object = None
        return super().dispatch(request, *args, **kwargs)

    def get_object(self):
        if self.object is None:
            self.object = get_object_or_404(
                partnership_request_list(org=self.request.org), pk=self.kwargs["pk"]
            )
        return self.object

    def token(self) -> str | None:
        return self.request.session.get(DRAFTS_SESSION_KEY, {}).get(str(self.kwargs["pk"]))

    def get_initial(self):
        obj = self.get_object()
        return {"subject": obj.subject, "body": obj.body}

    def get_context_data(self, **kwargs):
        obj = self.get_object()
        context = super().get_context_data(**kwargs)
        form = context["form"]
        subject = form["subject"].value() or ""
        body = form["body"].value() or ""
        context.update(
            partnership_request=obj,
            token=self.token(),
            mailto=mailto_url(obj.email, subject, body),
        )
        return context

    def form_valid(self, form):
        obj = self.get_object()
        token = self.token()
        if token is None:
            form.add_error(None, _("This draft's link is no longer available. Use Resend."))
            return self.form_invalid(form)
        try:
            _email, created = partnerships.send_partnership_request(
                provider=self.request.org,
                actor=self.request.user,
                request=obj,
                token=token,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        if created:
            messages.success(
                self.request,
                _("The portal is sending your message to %(email)s.") % {"email": obj.email},
            )
        else:
            messages.info(
                self.request,
                _("This message to %(email)s was already sent.") % {"email": obj.email},
            )
        return redirect(self.org_url("partners:request-draft", pk=obj.pk))


class PartnershipRequestActionView(OrgView, View):
    """POST-only actions on a request the provider sent: Done, Resend, Revoke."""

    action = "partnerships.request"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        obj = get_object_or_404(partnership_request_list(org=request.org), pk=kwargs["pk"])
        try:
            return self.perform(obj)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(self.org_url("partners:reseller-list"))


class PartnershipRequestDoneView(PartnershipRequestActionView):
    def perform(self, obj):
        _forget_token(self.request, obj.pk)
        messages.success(
            self.request,
            _(
                "Your partnership request to %(email)s is recorded. The reseller appears "
                "in your list once they accept."
            )
            % {"email": obj.email},
        )
        return redirect(self.org_url("partners:reseller-list"))


class PartnershipRequestResendView(PartnershipRequestActionView):
    def perform(self, obj):
        token = partnerships.resend_partnership_request(
            provider=self.request.org, actor=self.request.user, request=obj
        )
        _remember_token(self.request, obj.pk, token)
        messages.success(
            self.request,
            _("A new link was created for %(email)s; the previous one no longer works.")
            % {"email": obj.email},
        )
        return redirect(self.org_url("partners:request-draft", pk=obj.pk))


class PartnershipRequestRevokeView(PartnershipRequestActionView):
    def perform(self, obj):
        partnerships.revoke_partnership_request(
            provider=self.request.org, actor=self.request.user, request=obj
        )
        _forget_token(self.request, obj.pk)
        messages.success(
            self.request,
            _("The partnership request to %(email)s was revoked; its link no longer works.")
            % {"email": obj.email},
        )
        return redirect(self.org_url("partners:reseller-list"))


class AddCustomerStubView(OrgView, TemplateView):
    """Add new customer on a reseller's row, until the New customer flow exists."""

    action = "partnerships.request"
    template_name = "partners/add_customer_stub.html"

    def get_context_data(self, **kwargs):
        partnership = get_object_or_404(
            partner_reseller_list(org=self.request.org), pk=self.kwargs["pk"]
        )
        return super().get_context_data(partnership=partnership, **kwargs)


class ProviderListView(OrgView, SingleTableMixin, TemplateView):
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
        context["can_respond"] = can(self.request.membership, "partnerships.respond")
        context["can_end"] = can(self.request.membership, "partnerships.end")
        context["my_emails"] = {
            e.lower()
            for e in self.request.user.emailaddress_set.filter(verified=True).values_list(
                "email", flat=True
            )
        }
        return context


class IncomingRequestRespondView(OrgView, View):
    """Accept or Decline, from the Indirect providers page, as this reseller."""

    action = "partnerships.respond"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        obj = get_object_or_404(incoming_request_list(org=request.org), pk=kwargs["pk"])
        back = self.org_url("partners:provider-list")
        return _respond(request, obj, request.org, request.POST.get("decision"), back)


def _respond(request, obj, reseller, decision, on_error: str):
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
    raise Http404


class PartnershipLinkView(TemplateView):
    """The page behind a partnership request link. The token is the only credential."""

    template_name = "partners/partnership_link.html"

    def get_object(self):
        with unscoped("partnership link: the token authorises the read"):
            return partnership_request_by_token(token=self.kwargs["token"])

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        problem = partnerships.request_problem(obj)
        if problem:
            return self.render_to_response({"problem": problem}, status=404 if obj is None else 410)
        return self.render_to_response(self.context_for(obj))

    def context_for(self, obj, form=None):
        request = self.request
        context = {"partnership_request": obj, "provider": obj.provider}
        if not request.user.is_authenticated:
            # Signing up through the link proves ownership of the invited address.
            get_adapter(request).stash_verified_email(request, obj.email)
            context["signup_url"] = f"{reverse('account_signup')}?next={quote(request.path)}"
            context["login_url"] = f"{reverse('account_login')}?next={quote(request.path)}"
            return context
        context["email_matches"] = request.user.emailaddress_set.filter(
            email__iexact=obj.email, verified=True
        ).exists()
        resellers = reseller_admin_memberships(user=request.user)
        context["enroll_url"] = f"{reverse('enroll')}?next={quote(request.path)}"
        context["has_reseller"] = resellers.exists()
        context["form"] = form or PartnershipResponseForm(resellers=_organizations(resellers))
        return context

    def post(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?next={quote(request.path)}")
        obj = self.get_object()
        if obj is None:
            raise Http404
        resellers = _organizations(reseller_admin_memberships(user=request.user))
        form = PartnershipResponseForm(request.POST, resellers=resellers)
        if not form.is_valid():
            return self.render_to_response(self.context_for(obj, form))
        reseller = form.cleaned_data["reseller"] or resellers.first()
        decision = request.POST.get("decision")
        if decision == "accept" and reseller is None:
            messages.error(request, _("Enroll your company as an indirect reseller first."))
            return redirect(request.path)
        return _respond(request, obj, reseller, decision, request.path)


def _organizations(memberships):
    from partners.models import Organization

    return Organization.objects.filter(pk__in=memberships.values("organization")).order_by("name")


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
        return super().get_context_data(partnership=partnership, other=other, **kwargs)

    def post(self, request, *args, **kwargs):
        partnership = self.get_partnership()
        try:
            partnerships.end_partnership(
                org=request.org, actor=request.user, partnership=partnership
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The partnership has ended."))
        name = "partners:reseller-list" if request.org.is_provider else "partners:provider-list"
        return redirect(self.org_url(name))
