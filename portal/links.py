"""Emailed links that carry a secret token: one flow for every kind (a team invitation,
a partnership request; partners/views/links.py declares them).

Opening the link moves its token's digest into the session and sends the browser on to
the kind's accept page, a URL without the token, so the token never leaks through
Referer or history (as Django's password reset does). Opening it any number of times
changes nothing. The accept page shows what the link points at, asks an anonymous
visitor to sign up or log in, explains when the signed-in account may not answer, and
leaves the answer itself (Accept, Decline...) to the kind.

A `LinkFlow` says, per kind, how to find the object by digest and what makes it
unusable, its session key, accept URL and template; the template extends
templates/portal/link.html and fills its blocks.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views import View
from django.views.generic import TemplateView

from portal.ratelimit import limit
from portal.scoping import unscoped
from portal.sign_in_domain import is_customer_sign_in_account
from portal.tokens import token_digest


@dataclass(frozen=True)
class LinkFlow:
    # For the unscoped() reason: "team invitation", "partnership".
    name: str
    # Holds the digest of the link's token, never the token: sessions are rows in the
    # database too, and the digest opens nothing without the link.
    session_key: str
    accept_url_name: str
    template_name: str
    # The object by its token's digest, or None (run inside unscoped: holding the link
    # is what authorises reading it).
    find: Callable[[str], object | None]
    # Why the object's link can't be used (None: it can), given None when nothing matched.
    problem: Callable[[object | None], str | None]
    # Whether `email` is proven on the user's account: "proven", "unproven" or other.
    mailbox_status: Callable[..., str]
    # Shown at the accept page when the session holds no link (lazy).
    reopen_message: str

    def lookup(self, digest: str):
        with unscoped(f"{self.name} link: the token authorises the read"):
            return self.find(digest)

    def render_problem(self, request, problem: str, status: int):
        response = TemplateResponse(
            request, self.template_name, {"problem": problem}, status=status
        )
        # Possibly at the link's own URL: the origin only goes on, never the path. (Not
        # no-referrer: Chromium then posts forms, the language switcher's included, with
        # "Origin: null", which CSRF refuses.)
        response["Referrer-Policy"] = "strict-origin"
        return response


def signup_url(email: str, *, next_url: str) -> str:
    """allauth's sign-up, the address filled in, coming back to `next_url` once the
    emailed code is entered."""
    return f"{reverse('account_signup')}?next={next_url}&{urlencode({'email': email})}"


@method_decorator(limit("token_link"), name="get")  # guessing links is slow (portal/ratelimit.py)
class LinkView(View):
    """The emailed link itself: /…/<token>/."""

    flow: LinkFlow

    def get(self, request, token):
        obj = self.flow.lookup(token_digest(token))
        problem = self.flow.problem(obj)
        if problem:
            return self.flow.render_problem(request, problem, status=404 if obj is None else 410)
        request.session[self.flow.session_key] = token_digest(token)
        response = redirect(self.flow.accept_url_name)
        # The next page must not learn this URL (with its token) as its referrer.
        response["Referrer-Policy"] = "no-referrer"
        return response


class AcceptView(TemplateView):
    """The page the link led to: `self.object` is what it points at, still usable.

    The site's own Referrer-Policy here: this URL holds no secret, and no-referrer would
    make Chromium post the answer with "Origin: null", which CSRF refuses. The digest
    stays in the session once answered, so a second press (another tab) reads "already
    used" instead of "open the link again".
    """

    flow: LinkFlow

    def get_template_names(self):
        return [self.flow.template_name]

    def dispatch(self, request, *args, **kwargs):
        digest = request.session.get(self.flow.session_key)
        self.object = self.flow.lookup(digest) if digest else None
        if self.object is None:
            return self.flow.render_problem(request, str(self.flow.reopen_message), status=404)
        problem = self.flow.problem(self.object)
        if problem:
            return self.flow.render_problem(request, problem, status=410)
        return super().dispatch(request, *args, **kwargs)

    def link_context(self) -> dict:
        """What every accept page needs to know about the visitor and the address."""
        request, email = self.request, self.object.email
        here = reverse(self.flow.accept_url_name)
        if not request.user.is_authenticated:
            # Opening the link proves nothing (whoever sent it can open it too): sign-up
            # asks for allauth's emailed code, then `next` comes back here.
            return {
                "signup_url": signup_url(email, next_url=here),
                "login_url": f"{reverse('account_login')}?next={here}",
            }
        status = self.flow.mailbox_status(user=request.user, email=email)
        return {
            # A customer's sign-in account may never answer (the services refuse it):
            # the page says so instead of offering a button.
            "customer_account": is_customer_sign_in_account(request.user),
            # `email_matches` when a code proved the address (what the services require);
            # `email_unproven` when it is on the account, verified, but no code ever
            # proved it (a customer admin account, say), so the page explains instead of
            # offering a button that would fail.
            "email_matches": status == "proven",
            "email_unproven": status == "unproven",
        }

    def post(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?next={request.path}")
        return self.answer(request)

    def answer(self, request):
        raise NotImplementedError
