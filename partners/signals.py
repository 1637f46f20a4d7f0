"""Sign-ins and failed sign-ins go to the activity log of every organization the person
belongs to. Django and allauth announce them only through signals."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from partners.models import Membership
from portal.models import User
from portal.scoping import unscoped


def _record(user: User, verb: str, request) -> None:
    from partners.services import record_event

    ip = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    with unscoped("sign-in activity spans the user's organizations"):
        for membership in Membership.objects.filter(user=user).select_related("organization"):
            org = membership.organization
            record_event(org=org, actor=user, verb=verb, target=user.email, ip=ip)


@receiver(user_logged_in, dispatch_uid="partners.login_succeeded")
def login_succeeded(sender, request, user, **kwargs) -> None:
    _record(user, "login.succeeded", request)


@receiver(user_login_failed, dispatch_uid="partners.login_failed")
def login_failed(sender, credentials, request=None, **kwargs) -> None:
    login = credentials.get("email") or credentials.get("username") or ""
    user = User.objects.filter(email__iexact=login).first() if login else None
    if user is not None:
        _record(user, "login.failed", request)
