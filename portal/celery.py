"""The Celery app: `celery -A portal worker` and `celery -A portal beat`."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# DjangoTask adds delay_on_commit(); tasks read rows the request has just written.
app = Celery("portal", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs):
    # Forward worker logs to Django's LOGGING instead of Celery's own set-up.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
