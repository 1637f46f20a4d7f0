"""Emails that tell an organization's Admins what another organization did to them.

Call `notify_admins` inside the service's transaction, after its activity entry: the
rows are written with the change, so a rolled-back change emails nobody, and a service
that found nothing to do (a no-op, a replayed double submit) returns before reaching it.
"""

from partners.models import Organization
from partners.selectors import admins_who_want
from portal.emails import send_email
from portal.models import User


def notify_admins(
    *, org: Organization, kind: User.Notification, template: str, context: dict
) -> int:
    """Queue `template` to each Admin of `org` who takes `kind` of email, in the language
    they chose (else the active one, as before per-kind preferences). Returns how many
    were queued."""
    sent = 0
    for email, language in admins_who_want(org_id=org.pk, kind=kind):
        send_email(template=template, to=email, context=context, language=language or None)
        sent += 1
    return sent
