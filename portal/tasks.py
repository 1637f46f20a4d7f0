"""Outbox delivery. Tasks take ids, never model instances, and are safe to run twice."""

import logging
import smtplib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from portal.models import OutboundEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6


def _is_permanent(exc: Exception) -> bool:
    """5xx answers mean the server will never take this message: don't retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _reason(exc: Exception) -> str:
    """What went wrong, in words a provider can act on (shown on the requests list)."""

    def text(value) -> str:
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, message = next(iter(exc.recipients.values()))
        return f"{code} {text(message)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _message(email: OutboundEmail) -> EmailMultiAlternatives:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].rstrip(">") or "portal"
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        # Stable across retries, so a duplicate delivery is recognisable as one.
        headers={"Message-ID": f"<{email.uuid}@{domain}>"},
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


@shared_task(bind=True, acks_late=True, max_retries=MAX_ATTEMPTS - 1)
def deliver_email(self, email_id: int) -> str:
    """Send one outbox row. Rows that are gone, locked by another worker or done are skipped."""
    error: Exception | None = None
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=OutboundEmail.Status.QUEUED)
            .first()
        )
        if email is None:
            return "skipped"
        email.attempts += 1
        try:
            _message(email).send()
        except (smtplib.SMTPException, OSError) as exc:
            error = exc
            email.last_error = _reason(exc)[:2000]
            if _is_permanent(exc) or email.attempts >= MAX_ATTEMPTS:
                email.status = OutboundEmail.Status.FAILED
            logger.warning("Email %s attempt %s failed: %s", email.pk, email.attempts, exc)
        else:
            email.status = OutboundEmail.Status.SENT
            email.sent_at = timezone.now()
            email.last_error = ""
        email.save(update_fields=["attempts", "status", "sent_at", "last_error", "updated_at"])
    if error is not None and email.status == OutboundEmail.Status.QUEUED:
        # Exponential backoff (10 s, 20 s, 40 s ... by default), capped at 10 minutes.
        base = settings.OUTBOX_RETRY_BASE_SECONDS
        raise self.retry(exc=error, countdown=min(base * 2 ** (email.attempts - 1), 600))
    return email.status


@shared_task
def requeue_stuck_emails() -> int:
    """Publish again QUEUED rows nobody delivered (broker down at commit, lost message)."""
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER_SECONDS)
    ids = list(
        OutboundEmail.objects.filter(
            status=OutboundEmail.Status.QUEUED, updated_at__lt=cutoff
        ).values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        deliver_email.delay(pk)
    return len(ids)
