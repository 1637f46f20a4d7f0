"""T1.6: background tasks and tenants.

Every task of the portal is classified: tenant-aware (takes an organization id and runs
inside `org_scope`) or global, with its reason (portal.celery.GLOBAL_TASKS). A worker runs
with no scope, so a task body that queries tenant data without one raises; and mail is
rendered in the request, inside the sender's scope, so a worker sends only what that
tenant's request put in the outbox.
"""

import re

import pytest
from django.urls import reverse

from portal.celery import GLOBAL_TASKS, app
from portal.models import OutboundEmail
from portal.scoping import ScopeError, unscoped
from tests.factories import CustomerFactory, wait_for
from tests.reliability._faults import draft_partnership_request
from tests.routes import OUR_APPS

# Tenant-aware tasks would be listed here (none yet: no task reads tenant rows).
TENANT_TASKS: dict[str, str] = {}


def _our_tasks() -> set[str]:
    app.loader.import_default_modules()
    return {name for name in app.tasks if name.split(".")[0] in OUR_APPS}


def test_every_task_of_ours_is_classified(record_property):
    ours = _our_tasks()
    assert ours, "no tasks found: autodiscovery is broken"
    unclassified = ours - set(GLOBAL_TASKS) - set(TENANT_TASKS)
    assert unclassified == set(), "classify these tasks in portal.celery.GLOBAL_TASKS"
    assert set(GLOBAL_TASKS) <= ours, "GLOBAL_TASKS names tasks that no longer exist"
    assert all(len(reason) > 40 for reason in GLOBAL_TASKS.values())  # a real reason
    record_property(
        "figure", f"T1.6: {len(ours)} tasks, {len(GLOBAL_TASKS)} global, {len(TENANT_TASKS)} tenant"
    )


def test_a_task_querying_tenant_data_without_a_scope_raises_in_the_worker(celery_worker, world):
    result = app.send_task("tests.reliability.count_customers")
    with pytest.raises(ScopeError):
        result.get(timeout=20)


def test_a_partnership_email_carries_only_its_providers_data(
    celery_worker, world, client_for, mailoutbox
):
    """P1 requests a partnership while P2 has data of its own in the same database: the
    email the worker sends names P1 and nothing of P2's."""
    other = world.other_provider
    with unscoped("P2's own data"):
        CustomerFactory(provider=other, company_name="CANARY-P2-CUSTOMER", domain="p2c.example")
    admin = client_for(world.provider_admin)
    url, fields = draft_partnership_request(admin, world.provider.slug, "owner@fabrikam.example")
    assert admin.post(url, fields).status_code == 302
    email = OutboundEmail.objects.get(to="owner@fabrikam.example")
    wait_for(lambda: OutboundEmail.objects.get(pk=email.pk).status == "sent")
    email.refresh_from_db()
    [sent] = mailoutbox
    html = sent.alternatives[0].content
    for text in (
        f"{email.subject}\n{email.body_text}\n{email.body_html}",
        f"{sent.subject}\n{sent.body}\n{html}",
    ):
        assert world.provider.name in text and world.provider.partner_id in text
        for foreign in (other.name, other.partner_id, "CANARY-P2-CUSTOMER"):
            assert foreign not in text
    link = re.search(r"https?://\S+/partnerships/[^/\s]+/", sent.body)
    assert link and reverse("partnership-accept") not in link.group(0)
