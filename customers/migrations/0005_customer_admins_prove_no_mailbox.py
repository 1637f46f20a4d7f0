"""Customer admin accounts hold no MailboxProof.

partners 0010 gave every address still verified a proof of method "earlier". A customer
admin's address was never proven: the portal made it up (admin@<prefix> on the portal's
sign-in domain, customers 0004; before that admin@<domain>, typed by the provider) and
marked it verified. Without a proof such an account cannot
answer partnership requests or accept team invitations (partners/services/partnerships.py).
"""

from django.db import migrations


def drop_customer_admin_proofs(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    MailboxProof = apps.get_model("partners", "MailboxProof")
    # Historical models carry plain managers (ScopedManager is not used in migrations),
    # so `objects` here spans every tenant; no scope is needed or applied.
    admins = Customer.objects.exclude(admin_user=None).values("admin_user_id")
    MailboxProof.objects.filter(email_address__user_id__in=admins).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_customer_sign_in_prefix"),
        ("partners", "0010_unverify_link_signups"),
    ]

    operations = [
        migrations.RunPython(drop_customer_admin_proofs, migrations.RunPython.noop, elidable=False),
    ]
