"""The Celery app: `celery -A portal worker` and `celery -A portal beat`."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# Tasks read rows the request has just written, so they are published once it commits,
# by a `transaction.on_commit` hook marked robust (portal/emails.py, portal/tasks.py).
# Not with DjangoTask.delay_on_commit(), which Celery's Django fix-up adds to every task:
# its hook is not robust, so a broker outage would raise into a request whose rows are
# already saved.
app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Database connections: Celery's Django fix-up (celery.fixups.django) already closes them
# on task_prerun/task_postrun, so a connection the database dropped between two tasks is
# replaced, not reused (tests/reliability/test_faults.py, T6.4). Nothing to add here.

# Tenancy rule for tasks (RELIABILITY.md T1.6). A worker runs with no scope active, so a
# task body that touches a tenant model raises ScopeError. A task that needs tenant data
# must take the organization's id and run its body inside `org_scope(...)` (pretix's
# EventTask: add that base class with its first user). Every other task is global and is
# listed here with the reason; tests/reliability/test_tasks.py fails on a task that is
# neither.
GLOBAL_TASKS = {
    "portal.tasks.deliver_email": (
        "Sends one stored outbox row. The mail was rendered in the request, inside the "
        "tenant's scope; the task only reads OutboundEmail, which is not tenant-owned."
    ),
    "portal.tasks.requeue_stuck_emails": (
        "Periodic sweep over the whole outbox (all tenants by design); reads only "
        "OutboundEmail ids and publishes deliver_email."
    ),
    "subscriptions.tasks.run_lifecycle": (
        "The daily lifecycle job over every tenant's due subscriptions by design: renewals, "
        "expiries and reminders, each row locked and handled in its own transaction, "
        "explicitly unscoped in subscriptions.services.renewals."
    ),
}


@setup_logging.connect
def _use_django_logging(**kwargs):
    # Forward worker logs to Django's LOGGING instead of Celery's own set-up.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
