"""Entries recorded before the acting organization was always one of the sides get that
side filled in, so `AuditEvent.visible_to` can be a single indexed equality."""

from django.db import migrations
from django.db.models import F


def fill(apps, schema_editor):
    AuditEvent = apps.get_model("partners", "AuditEvent")
    # A historical model's `objects` is a plain manager: every tenant's rows.
    events = AuditEvent.objects
    events.filter(organization__kind="provider", provider=None).update(
        provider_id=F("organization_id")
    )
    events.filter(organization__kind="reseller", reseller=None).update(
        reseller_id=F("organization_id")
    )


class Migration(migrations.Migration):
    dependencies = [("partners", "0004_activity_sides")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
