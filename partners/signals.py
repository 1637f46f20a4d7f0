"""Sign-ins and failed sign-ins go to the activity log of every organization the person
belongs to. Django and allauth announce them only through signals."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from partners.models import Membership
from portal.models import User
from portal.scoping import unscoped


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


@receiver(user_logged_in, dispatch_uid="partners.login_succeeded")
def login_succeeded(sender, request, user, **kwargs) -> None:
    from partners.services import record_event

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
    from partners.services import record_failed_sign_in

    login = credentials.get("email") or credentials.get("username") or ""
    user = User.objects.filter(email__iexact=login).first() if login else None
    if user is not None:
        with unscoped("sign-in activity spans the user's organizations"):
            record_failed_sign_in(user=user, ip=_ip(request))
