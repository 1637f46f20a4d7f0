"""The daily lifecycle job (Celery beat: CELERY_BEAT_SCHEDULE "subscription-lifecycle")."""

from datetime import date

from celery import shared_task
from django.utils import timezone

from subscriptions.services.renewals import run_lifecycle as run


@shared_task(name="subscriptions.tasks.run_lifecycle")
def run_lifecycle(as_of: str | None = None) -> dict:
    """Renew, expire and remind as of `as_of` (ISO date; today by default). Safe to run
    twice, late, or twice at once: the service is idempotent and skips locked rows."""
    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    return run(as_of=day).as_dict()
