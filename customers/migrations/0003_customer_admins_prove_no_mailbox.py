"""Customer admin accounts hold no MailboxProof.

partners 0008 gave every address still verified a proof of method "earlier". A customer
admin's admin@<domain> was never proven: the provider typed the domain and the New
customer wizard marked the address verified. Without a proof such an account cannot
answer partnership requests or accept team invitations (partners/partnerships.py).
"""

from django.db import migrations


def drop_customer_admin_proofs(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    MailboxProof = apps.get_model("partners", "MailboxProof")
    admins = Customer._base_manager.exclude(admin_user=None).values("admin_user_id")
    MailboxProof._base_manager.filter(email_address__user_id__in=admins).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_list_indexes"),
        ("partners", "0008_unverify_link_signups"),
    ]

    operations = [
        migrations.RunPython(drop_customer_admin_proofs, migrations.RunPython.noop, elidable=False),
    ]
