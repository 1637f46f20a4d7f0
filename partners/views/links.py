"""The emailed links: a team invitation and a partnership request. Each link's token
moves into the session and the browser goes on to an accept page without it.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from partners.forms import PartnershipResponseForm
from partners.selectors import (
    mailbox_status,
    partnership_request_by_digest,
    partnership_request_by_token,
    reseller_admin_memberships,
    team_invitation_by_digest,
    team_invitation_by_token,
)
from partners.services import partnerships
from partners.services import team as team_services
from partners.views.partnerships import respond
from portal.ratelimit import limit
from portal.scoping import unscoped
from portal.sign_in_domain import is_customer_sign_in_account
from portal.tokens import token_digest


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
        problem = team_services.invitation_problem(invitation)
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
        problem = team_services.invitation_problem(self.invitation)
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
            membership = team_services.accept_invitation(
                user=request.user, invitation=self.invitation
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(request.path)
        messages.success(
            request,
            _("Welcome to %(org)s. You joined as %(role)s.")
            % {"org": membership.organization.name, "role": membership.get_role_display()},
        )
        return HttpResponseRedirect(membership.organization.get_absolute_url())


# Holds the digest of the link's token, never the token: sessions are rows in the
# database too, and the digest opens nothing without the link.
LINK_SESSION_KEY = "partnership_link_digest"


@method_decorator(limit("token_link"), name="get")
class PartnershipLinkView(View):
    """The emailed link. Its token moves into the session and the browser goes on to a
    URL without it, so the token never leaks through Referer or history (as Django's
    password reset does). Opening it any number of times changes nothing."""

    def get(self, request, token):
        with unscoped("partnership link: the token authorises the read"):
            obj = partnership_request_by_token(token=token)
        problem = partnerships.request_problem(obj)
        if problem:
            return render_problem(request, problem, status=404 if obj is None else 410)
        request.session[LINK_SESSION_KEY] = token_digest(token)
        response = redirect("partnership-accept")
        # The next page must not learn this URL (with its token) as its referrer.
        response["Referrer-Policy"] = "no-referrer"
        return response


def render_problem(request, problem: str, status: int):
    response = TemplateResponse(
        request, "partners/partnership_link.html", {"problem": problem}, status=status
    )
    # Possibly at the link's own URL: the origin only goes on, never the path. (Not
    # no-referrer: Chromium then posts forms with "Origin: null", which CSRF refuses.)
    response["Referrer-Policy"] = "strict-origin"
    return response


class PartnershipAcceptView(TemplateView):
    """The request the link pointed at: sign up or log in, enroll, then Accept or Decline."""

    template_name = "partners/partnership_link.html"

    def get_object(self):
        digest = self.request.session.get(LINK_SESSION_KEY)
        if not digest:
            return None
        with unscoped("partnership link: the token authorises the read"):
            return partnership_request_by_digest(digest=digest)

    def dispatch(self, request, *args, **kwargs):
        # The site's own Referrer-Policy: this URL holds no secret, and no-referrer would
        # make Chromium post Accept with "Origin: null", which CSRF refuses.
        self.object = self.get_object()
        if self.object is None:
            return render_problem(
                request,
                _("Open the link from the partnership request email again."),
                status=404,
            )
        problem = partnerships.request_problem(self.object)
        if problem:
            return render_problem(request, problem, status=410)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.context_for(self.object))

    def context_for(self, obj, form=None):
        request = self.request
        here = reverse("partnership-accept")
        context = {
            "partnership_request": obj,
            "provider": obj.provider,
            "message": obj.body.replace(partnerships.LINK_MARKER, _("(the link you opened)")),
        }
        if not request.user.is_authenticated:
            # Opening the link proves nothing (the provider's staff can open it too):
            # sign-up asks for allauth's emailed code, then `next` comes back here.
            context["signup_url"] = signup_url(obj.email, next_url=here)
            context["login_url"] = f"{reverse('account_login')}?next={here}"
            return context
        # A customer's sign-in account may never answer (the services refuse it): say so
        # instead of offering Accept, Decline or Enroll.
        context["customer_account"] = is_customer_sign_in_account(request.user)
        context.update(address_state(request.user, obj.email))
        resellers = reseller_admin_memberships(user=request.user)
        context["enroll_url"] = f"{reverse('enroll')}?next={here}"
        context["has_reseller"] = resellers.exists()
        context["form"] = form or PartnershipResponseForm(resellers=_organizations(resellers))
        return context

    def post(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?next={request.path}")
        obj = self.object
        resellers = _organizations(reseller_admin_memberships(user=request.user))
        form = PartnershipResponseForm(request.POST, resellers=resellers)
        if not form.is_valid():
            return self.render_to_response(self.context_for(obj, form))
        reseller = form.cleaned_data["reseller"] or resellers.first()
        decision = request.POST.get("decision")
        if decision == "accept" and reseller is None:
            messages.error(request, _("Enroll your company as an indirect reseller first."))
            return redirect(request.path)
        # The digest stays in the session once answered: a second press (another tab)
        # then reads "already answered" instead of "open the link again".
        return respond(request, obj, reseller, decision, request.path)


def _organizations(memberships):
    from partners.models import Organization

    return Organization.objects.filter(pk__in=memberships.values("organization")).order_by("name")
