"""Un-verify the addresses that only a partnership or team-invitation link "verified".

Until this change, signing up through either link marked the invited address verified
at once (allauth's stash), though whoever sent or could resend the link could use it
too. Which addresses were made that way was never recorded, so this migration guesses,
and errs on the side of un-verifying: a wrong guess costs the owner one emailed code at
their next login (allauth's mandatory verification asks for it there), a missed one
leaves an impersonator able to answer requests.

An address is un-verified when a partnership request or a team invitation to it existed
when its account was created (created_at <= date_joined): only then could the sign-up
have gone through a link. Whether the link was still open, or answered, is ignored on
purpose: the attack needs neither (a provider's staff member signs up through their own
request's link and leaves it unanswered). Accounts made before any link to their address
keep their verification: they proved it some other way (a code at sign-up, staff, demo).

The sessions of those accounts end, so nobody logged in now keeps working as them; the
services refuse them anyway, as an unverified address has no MailboxProof.

Every address still verified afterwards gets a MailboxProof of method "earlier": it was
verified by the means of the time (customer admin accounts lose theirs again in the
customers app's migration, their domain having been typed by a provider).
"""

from django.conf import settings
from django.db import migrations
from django.db.models import Exists, OuterRef
from django.utils import timezone


# Historical models (apps.get_model) carry plain managers, never ScopedManager: their
# `objects` spans every tenant, as a migration must.
def link_before_signup(model):
    return Exists(
        model.objects.filter(
            email__iexact=OuterRef("email"), created_at__lte=OuterRef("user__date_joined")
        )
    )


def end_sessions(apps, user_ids: set[int]) -> int:
    if not user_ids or settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return 0
    from django.contrib.sessions.backends.db import SessionStore

    Session = apps.get_model("sessions", "Session")
    store = SessionStore()
    wanted = {str(pk) for pk in user_ids}
    live = Session.objects.filter(expire_date__gt=timezone.now())
    doomed = [
        session.pk
        for session in live.only("pk", "session_data").iterator(chunk_size=2000)
        if store.decode(session.session_data).get("_auth_user_id") in wanted
    ]
    for start in range(0, len(doomed), 1000):
        Session.objects.filter(pk__in=doomed[start : start + 1000]).delete()
    return len(doomed)


def unverify_link_signups(apps, schema_editor):
    EmailAddress = apps.get_model("account", "EmailAddress")
    PartnershipRequest = apps.get_model("partners", "PartnershipRequest")
    TeamInvitation = apps.get_model("partners", "TeamInvitation")
    MailboxProof = apps.get_model("partners", "MailboxProof")

    # One query per kind of link: an OR of the two EXISTS would defeat PostgreSQL's
    # semi-join and probe every request for each of a million addresses (minutes, not 1 s).
    suspects: dict[int, int] = {}
    for model in (PartnershipRequest, TeamInvitation):
        verified = EmailAddress.objects.filter(verified=True)
        suspects.update(verified.filter(link_before_signup(model)).values_list("pk", "user_id"))
    pks = list(suspects)
    for start in range(0, len(pks), 1000):
        EmailAddress.objects.filter(pk__in=pks[start : start + 1000]).update(verified=False)
    end_sessions(apps, set(suspects.values()))

    # One INSERT ... SELECT: a million verified addresses must not pass through Python.
    proofs = schema_editor.quote_name(MailboxProof._meta.db_table)
    addresses = schema_editor.quote_name(EmailAddress._meta.db_table)
    schema_editor.execute(
        f"INSERT INTO {proofs} (email_address_id, method, proven_at) "  # noqa: S608
        f"SELECT id, %s, %s FROM {addresses} WHERE verified = %s",
        ["earlier", timezone.now(), True],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("account", "0009_emailaddress_unique_primary_email"),
        ("sessions", "0001_initial"),
        ("partners", "0009_mailbox_proof"),
    ]

    operations = [
        migrations.RunPython(unverify_link_signups, migrations.RunPython.noop, elidable=False),
    ]
