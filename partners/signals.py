"""Sign-ins and failed sign-ins go to the activity log of every organization the person
belongs to. Django and allauth announce them only through signals."""

from allauth.account.signals import email_confirmed
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils.translation import gettext as _

from partners.models import Membership
from portal.models import User
from portal.scoping import unscoped


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


@receiver(user_logged_in, dispatch_uid="partners.login_succeeded")
def login_succeeded(sender, request, user, **kwargs) -> None:
    from partners.audit import record_event

    with unscoped("sign-in activity spans the user's organizations"):
        for membership in Membership.objects.filter(user=user).select_related("organization"):
            record_event(
                org=membership.organization,
                actor=user,
                verb="login.succeeded",
                target=user.email,
                ip=_ip(request),
            )


@receiver(user_login_failed, dispatch_uid="partners.login_failed")
def login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Counted per account, organization and hour rather than logged where only staff see
    # them: an organization's Admins should see that someone is trying its members'
    # passwords (and from where), and a count per hour tells them as much as a line per
    # attempt, while no stranger can grow their log by more than one row an hour.
    from partners.audit import record_failed_sign_in

    login = credentials.get("email") or credentials.get("username") or ""
    user = User.objects.filter(email__iexact=login).first() if login else None
    if user is not None:
        with unscoped("sign-in activity spans the user's organizations"):
            record_failed_sign_in(user=user, ip=_ip(request))


@receiver(email_confirmed, dispatch_uid="partners.mailbox_proven")
def mailbox_proven(sender, request, email_address, **kwargs) -> None:
    """allauth sends this when its emailed code (sign-up, login by code, a new address)
    is typed back, and from the admin's "Mark as verified" action: the one moment the
    portal knows the person holds the mailbox. See MailboxProof for why the flag is not
    enough."""
    from partners.models import MailboxProof
    from partners.services.accounts import record_mailbox_proof

    acting = getattr(request, "user", None)
    by_staff = bool(getattr(acting, "is_staff", False)) and acting.pk != email_address.user_id
    method = MailboxProof.Method.STAFF if by_staff else MailboxProof.Method.CODE
    record_mailbox_proof(email_address=email_address, method=method)
    # allauth's login by code verifies a still-unverified address on the way in. Unlike
    # sign-up or a password login, that session never showed the password, so the
    # password (and two-factor) may be a squatter's: they are voided (see the service).
    route = getattr(getattr(request, "resolver_match", None), "url_name", None)
    if route == "account_confirm_login_code":
        from partners.services.accounts import forget_unproven_credentials

        forget_unproven_credentials(user=email_address.user)
        messages.warning(
            request,
            _(
                "%(email)s is confirmed. This account's password and two-factor setup were "
                "chosen before anyone proved the address, so they no longer work: choose "
                "a new password under Change password."
            )
            % {"email": email_address.email},
        )
