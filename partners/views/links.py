"""The two kinds of emailed link, a team invitation and a partnership request, on the
one flow of portal/links.py: each kind declares what it finds and how it is answered.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partners.forms import PartnershipResponseForm
from partners.models import Organization
from partners.selectors import (
    mailbox_status,
    partnership_request_by_digest,
    reseller_admin_memberships,
    team_invitation_by_digest,
)
from partners.services import partnerships
from partners.services import team as team_services
from partners.views.partnerships import respond
from portal.links import AcceptView, LinkFlow, LinkView

TEAM_INVITATION = LinkFlow(
    name="team invitation",
    session_key="team_invitation_digest",
    accept_url_name="team-invitation-accept",
    template_name="partners/team_invitation.html",
    find=lambda digest: team_invitation_by_digest(digest=digest),
    problem=team_services.invitation_problem,
    mailbox_status=mailbox_status,
    reopen_message=gettext_lazy("Open the link from the invitation email again."),
)

PARTNERSHIP_REQUEST = LinkFlow(
    name="partnership",
    session_key="partnership_link_digest",
    accept_url_name="partnership-accept",
    template_name="partners/partnership_link.html",
    find=lambda digest: partnership_request_by_digest(digest=digest),
    problem=partnerships.request_problem,
    mailbox_status=mailbox_status,
    reopen_message=gettext_lazy("Open the link from the partnership request email again."),
)


class TeamInvitationLinkView(LinkView):
    flow = TEAM_INVITATION


class TeamInvitationAcceptView(AcceptView):
    """The invitation the link pointed at: sign up or log in, then Accept (POST only)."""

    flow = TEAM_INVITATION

    def get_context_data(self, **kwargs):
        invitation = self.object
        context = super().get_context_data(**kwargs)
        context.update(invitation=invitation, organization=invitation.organization)
        return context | self.link_context()

    def answer(self, request):
        try:
            membership = team_services.accept_invitation(user=request.user, invitation=self.object)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(request.path)
        messages.success(
            request,
            _("Welcome to %(org)s. You joined as %(role)s.")
            % {"org": membership.organization.name, "role": membership.get_role_display()},
        )
        return HttpResponseRedirect(membership.organization.get_absolute_url())


class PartnershipLinkView(LinkView):
    flow = PARTNERSHIP_REQUEST


class PartnershipAcceptView(AcceptView):
    """The request the link pointed at: sign up or log in, enroll, then Accept or Decline."""

    flow = PARTNERSHIP_REQUEST

    def get_context_data(self, form=None, **kwargs):
        obj = self.object
        context = super().get_context_data(**kwargs)
        context.update(
            partnership_request=obj,
            provider=obj.provider,
            message=obj.body.replace(partnerships.LINK_MARKER, _("(the link you opened)")),
        )
        context |= self.link_context()
        if not self.request.user.is_authenticated:
            return context
        resellers = reseller_admin_memberships(user=self.request.user)
        here = reverse(self.flow.accept_url_name)
        context["enroll_url"] = f"{reverse('enroll')}?next={here}"
        context["has_reseller"] = resellers.exists()
        context["form"] = form or PartnershipResponseForm(resellers=_organizations(resellers))
        return context

    def answer(self, request):
        obj = self.object
        resellers = _organizations(reseller_admin_memberships(user=request.user))
        form = PartnershipResponseForm(request.POST, resellers=resellers)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        reseller = form.cleaned_data["reseller"] or resellers.first()
        decision = request.POST.get("decision")
        if decision == "accept" and reseller is None:
            messages.error(request, _("Enroll your company as an indirect reseller first."))
            return redirect(request.path)
        return respond(request, obj, reseller, decision, request.path)


def _organizations(memberships):
    return Organization.objects.filter(pk__in=memberships.values("organization")).order_by("name")
