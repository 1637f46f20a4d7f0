"""The Users page: members, their roles, and pending team invitations."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin

from partners.filters import MemberFilter
from partners.forms import ChangeRoleForm, InviteMemberForm
from partners.selectors import (
    member_list,
    team_invitation_list,
)
from partners.services import team as team_services
from partners.tables import MemberTable, TeamInvitationTable
from portal.views import OrgListView, OrgView


class MemberListView(OrgListView, SingleTableMixin, FilterView):
    action = "team.view"
    results_target = "*"
    table_class = MemberTable
    filterset_class = MemberFilter
    template_name = "partners/member_list.html"
    table_pagination = {"per_page": 25}

    def get_queryset(self):
        return member_list(org=self.request.org)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        invitations = TeamInvitationTable(
            team_invitation_list(org=self.request.org), prefix="inv-", orderable=False
        )
        RequestConfig(self.request, paginate={"per_page": 25}).configure(invitations)
        context["invitation_table"] = invitations
        return context


class MemberInviteView(OrgView, FormView):
    action = "team.manage"
    form_class = InviteMemberForm
    template_name = "partners/member_invite.html"

    def form_valid(self, form):
        try:
            invitation, _link = team_services.invite_member(
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
            team_services.change_role(
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

    action = "team.remove"
    template_name = "partners/member_confirm_remove.html"

    def get_member(self):
        if not hasattr(self, "_member"):
            self._member = get_object_or_404(
                member_list(org=self.request.org), pk=self.kwargs["pk"]
            )
        return self._member

    def get_permission_object(self):
        # Anyone may leave; only Admins remove others (the "team.remove" rule).
        return self.get_member()

    def get_context_data(self, **kwargs):
        return super().get_context_data(member=self.get_member(), **kwargs)

    def post(self, request, *args, **kwargs):
        member = self.get_member()
        try:
            team_services.remove_member(org=request.org, actor=request.user, membership=member)
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
        team_services.resend_invitation(
            org=self.request.org, actor=self.request.user, invitation=invitation
        )
        messages.success(
            self.request,
            _("A new invitation was sent to %(email)s. The previous link no longer works.")
            % {"email": invitation.email},
        )


class InvitationRevokeView(InvitationActionView):
    def perform(self, invitation):
        team_services.revoke_invitation(
            org=self.request.org, actor=self.request.user, invitation=invitation
        )
        messages.success(
            self.request,
            _("The invitation to %(email)s was revoked.") % {"email": invitation.email},
        )
