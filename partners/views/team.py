from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin

from partners import services
from partners.filters import ActivityFilter, MemberFilter
from partners.forms import ChangeRoleForm, EnrollmentForm, InviteMemberForm
from partners.permissions import can
from partners.selectors import (
    activity_list,
    competing_partner_id_claims,
    mailbox_status,
    member_list,
    memberships_of,
    team_invitation_by_digest,
    team_invitation_by_token,
    team_invitation_list,
)
from partners.tables import ActivityTable, MemberTable, TeamInvitationTable
from portal.forms import add_service_errors
from portal.ratelimit import limit
from portal.scoping import unscoped
from portal.sign_in_domain import is_customer_sign_in_account
from portal.tables import ExportMixin
from portal.tokens import token_digest


def safe_next(request, fallback: str) -> str:
    """The `next` parameter when it points inside this site, else `fallback`."""
    target = request.GET.get("next") or request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def signup_url(email: str, *, next_url: str) -> str:
    """allauth's sign-up, the address filled in, coming back to `next_url` once the
    emailed code is entered."""
    return f"{reverse('account_signup')}?next={next_url}&{urlencode({'email': email})}"


def address_state(user, email: str) -> dict:
    """For the link pages: `email_matches` when a code proved the address (what the
    services require); `email_unproven` when it is on the account, verified, but no code
    ever proved it (a customer admin account, say), so the page explains instead of
    offering a button that would fail."""
    status = mailbox_status(user=user, email=email)
    return {"email_matches": status == "proven", "email_unproven": status == "unproven"}


class OrgView(LoginRequiredMixin):
    """Base of every /orgs/<org_slug>/ view. The middleware has set request.org.

    `action` names the row of partners.permissions.PERMISSIONS the view needs; a
    member without it gets the same 404 as a stranger.
    """

    action: str

    def dispatch(self, request, *args, **kwargs):
        if not can(getattr(request, "membership", None), self.action):
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def org_url(self, name: str, **kwargs) -> str:
        return reverse(name, kwargs={"org_slug": self.request.org.slug, **kwargs})


class DashboardView(OrgView, TemplateView):
    action = "dashboard.view"
    template_name = "partners/dashboard.html"

    def get_context_data(self, **kwargs):
        org = self.request.org
        return super().get_context_data(
            member_count=member_list(org=org).count(),
            pending_invitations=team_invitation_list(org=org).count(),
            **kwargs,
        )


class MemberListView(OrgView, SingleTableMixin, FilterView):
    action = "team.view"
    table_class = MemberTable
    filterset_class = MemberFilter
    template_name = "partners/member_list.html"
    table_pagination = {"per_page": 25}

    def get_queryset(self):
        return member_list(org=self.request.org)

    def get_template_names(self):
        if self.request.htmx:
            return [f"{self.template_name}#results"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        invitations = TeamInvitationTable(
            team_invitation_list(org=self.request.org), prefix="inv-", orderable=False
        )
        RequestConfig(self.request, paginate={"per_page": 25}).configure(invitations)
        context["invitation_table"] = invitations
        context["can_manage"] = can(self.request.membership, "team.manage")
        return context


class MemberInviteView(OrgView, FormView):
    action = "team.manage"
    form_class = InviteMemberForm
    template_name = "partners/member_invite.html"

    def form_valid(self, form):
        try:
            invitation, _link = services.invite_member(
                org=self.request.org,
                actor=self.request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Invitation sent to %(email)s.") % {"email": invitation.email},
        )
        return redirect(self.org_url("team:list"))


class MemberUpdateView(OrgView, FormView):
    """Change a member's role, or go on to remove them."""

    action = "team.manage"
    form_class = ChangeRoleForm
    template_name = "partners/member_form.html"

    def dispatch(self, request, *args, **kwargs):
        self.member = None
        return super().dispatch(request, *args, **kwargs)

    def get_member(self):
        if self.member is None:
            self.member = get_object_or_404(member_list(org=self.request.org), pk=self.kwargs["pk"])
        return self.member

    def get_initial(self):
        return {"role": self.get_member().role}

    def get_context_data(self, **kwargs):
        return super().get_context_data(member=self.get_member(), **kwargs)

    def form_valid(self, form):
        member = self.get_member()
        try:
            services.change_role(
                org=self.request.org,
                actor=self.request.user,
                membership=member,
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(user)s is now %(role)s.")
            % {"user": member.user.display_name, "role": member.get_role_display()},
        )
        return redirect(self.org_url("team:list"))


class MemberRemoveView(OrgView, TemplateView):
    """GET asks for confirmation; POST removes."""

    action = "team.view"
    template_name = "partners/member_confirm_remove.html"

    def get_member(self):
        members = member_list(org=self.request.org)
        if not can(self.request.membership, "team.manage"):
            # Anyone may leave; only Admins remove others.
            members = members.filter(user=self.request.user)
        return get_object_or_404(members, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(member=self.get_member(), **kwargs)

    def post(self, request, *args, **kwargs):
        member = self.get_member()
        try:
            services.remove_member(org=request.org, actor=request.user, membership=member)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(self.org_url("team:list"))
        if member.user_id == request.user.pk:
            messages.success(request, _("You left %(org)s.") % {"org": request.org.name})
            return redirect("home")
        messages.success(request, _("%(user)s was removed.") % {"user": member.user.display_name})
        return redirect(self.org_url("team:list"))


class InvitationActionView(OrgView, View):
    """POST-only actions on a pending team invitation."""

    action = "team.manage"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        invitation = get_object_or_404(team_invitation_list(org=request.org), pk=kwargs["pk"])
        try:
            self.perform(invitation)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect(self.org_url("team:list"))


class InvitationResendView(InvitationActionView):
    def perform(self, invitation):
        services.resend_invitation(
            org=self.request.org, actor=self.request.user, invitation=invitation
        )
        messages.success(
            self.request,
            _("A new invitation was sent to %(email)s. The previous link no longer works.")
            % {"email": invitation.email},
        )


class InvitationRevokeView(InvitationActionView):
    def perform(self, invitation):
        services.revoke_invitation(
            org=self.request.org, actor=self.request.user, invitation=invitation
        )
        messages.success(
            self.request,
            _("The invitation to %(email)s was revoked.") % {"email": invitation.email},
        )


# Holds the digest of the link's token, never the token (sessions are database rows).
INVITATION_SESSION_KEY = "team_invitation_digest"


def _no_referrer(response):
    # The redirect away from the secret link: the next page must not learn its URL.
    response["Referrer-Policy"] = "no-referrer"
    return response


def render_invitation_problem(request, problem: str, status: int):
    response = TemplateResponse(
        request, "partners/team_invitation.html", {"problem": problem}, status=status
    )
    # Shown at the link's own URL: the origin only, never the path, goes on to any site.
    # (Not no-referrer: Chromium then posts forms, the language switcher's included, with
    # "Origin: null", which CSRF refuses.)
    response["Referrer-Policy"] = "strict-origin"
    return response


@method_decorator(limit("token_link"), name="get")  # guessing links is slow (portal/ratelimit.py)
class TeamInvitationLinkView(View):
    """The emailed link. Its token's digest moves into the session and the browser goes
    on to a URL without it, so the token never leaks through Referer or history (as
    Django's password reset and the partnership link do). Opening it changes nothing."""

    def get(self, request, token):
        with unscoped("team invitation link: the token authorises the read"):
            invitation = team_invitation_by_token(token=token)
        problem = services.invitation_problem(invitation)
        if problem:
            status = 404 if invitation is None else 410
            return render_invitation_problem(request, problem, status)
        request.session[INVITATION_SESSION_KEY] = token_digest(token)
        return _no_referrer(redirect("team-invitation-accept"))


class TeamInvitationAcceptView(TemplateView):
    """The invitation the link pointed at: sign up or log in, then Accept (POST only)."""

    template_name = "partners/team_invitation.html"

    def get_invitation(self):
        digest = self.request.session.get(INVITATION_SESSION_KEY)
        if not digest:
            return None
        with unscoped("team invitation link: the token authorises the read"):
            return team_invitation_by_digest(digest=digest)

    def dispatch(self, request, *args, **kwargs):
        self.invitation = self.get_invitation()
        if self.invitation is None:
            return render_invitation_problem(
                request, _("Open the link from the invitation email again."), status=404
            )
        # Kept in the session once used, so a second press reads "already been used".
        problem = services.invitation_problem(self.invitation)
        if problem:
            return render_invitation_problem(request, problem, status=410)
        # The site's own Referrer-Policy here: this URL holds no secret, and no-referrer
        # would make Chromium post Accept with "Origin: null", which CSRF refuses.
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        invitation = self.invitation
        here = reverse("team-invitation-accept")
        context = {"invitation": invitation, "organization": invitation.organization}
        if not request.user.is_authenticated:
            # Opening the link proves nothing (the inviting Admins can Resend and so hold
            # a working link): sign-up asks for allauth's emailed code, then comes back.
            context["signup_url"] = signup_url(invitation.email, next_url=here)
            context["login_url"] = f"{reverse('account_login')}?next={here}"
        else:
            # A customer's sign-in account never joins (the service refuses it).
            context["customer_account"] = is_customer_sign_in_account(request.user)
            context.update(address_state(request.user, invitation.email))
        return self.render_to_response(context)

    def post(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?next={request.path}")
        try:
            membership = services.accept_invitation(user=request.user, invitation=self.invitation)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(request.path)
        messages.success(
            request,
            _("Welcome to %(org)s. You joined as %(role)s.")
            % {"org": membership.organization.name, "role": membership.get_role_display()},
        )
        return HttpResponseRedirect(membership.organization.get_absolute_url())


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
            org = services.enroll_reseller(user=self.request.user, **form.cleaned_data)
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


class ActivityListView(OrgView, ExportMixin, SingleTableMixin, FilterView):
    """Activity: one line per change to the organization's relationships, and sign-ins."""

    action = "activity.view"
    table_class = ActivityTable
    filterset_class = ActivityFilter
    template_name = "partners/activity_list.html"
    table_pagination = {"per_page": 50}
    export_formats = ("csv",)
    export_name = "activity"

    def get_queryset(self):
        return activity_list(org=self.request.org)

    def get_template_names(self):
        if self.request.htmx and self.request.htmx.target == "activity":
            return [f"{self.template_name}#results"]
        return [self.template_name]
