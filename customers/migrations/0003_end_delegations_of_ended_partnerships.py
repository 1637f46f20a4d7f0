"""Customers still delegated to a reseller whose partnership with their provider ended.

Before ending a partnership also ended its delegations (issue 14, finding 4), these kept
their reseller, hidden while no partnership was active, and came back the day the two
partnered again. They now get no reseller, with the activity entry that ending a
partnership writes today (the portal acted, so no user). Written in batches.
"""

from itertools import batched

from django.db import migrations
from django.db.models import Exists, OuterRef
from django.utils import timezone

BATCH = 5000


def end_stale_delegations(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Partnership = apps.get_model("partners", "Partnership")
    AuditEvent = apps.get_model("partners", "AuditEvent")
    active = Partnership.objects.filter(
        provider=OuterRef("provider"), reseller=OuterRef("reseller"), ended_at=None
    )
    stale = (
        Customer.objects.filter(reseller__isnull=False)
        .exclude(Exists(active))
        .order_by("pk")
        .values_list("pk", "company_name", "provider_id", "reseller_id", "reseller__name")
    )
    for rows in batched(stale.iterator(chunk_size=BATCH), BATCH):
        Customer.objects.filter(pk__in=[row[0] for row in rows]).update(
            reseller=None, updated_at=timezone.now()
        )
        AuditEvent.objects.bulk_create(
            AuditEvent(
                organization_id=provider_id,
                actor=None,
                verb="customer.delegation_ended",
                target=name[:300],
                data={"old": reseller_name, "new": None},
                provider_id=provider_id,
                reseller_id=reseller_id,
                customer_id=pk,
            )
            for pk, name, provider_id, reseller_id, reseller_name in rows
        )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_list_indexes"),
        ("partners", "0006_organization_name_index"),
    ]

    operations = [
        migrations.RunPython(end_stale_delegations, migrations.RunPython.noop, elidable=True),
    ]
