"""Outbox delivery. Tasks take ids, never model instances, and are safe to run twice.

The row is the state machine (pretix's OutgoingMail): QUEUED → INFLIGHT (claimed and
committed before the SMTP conversation) → SENT, AWAITING_RETRY or FAILED. A wake-up for a
row that is in flight or done is a no-op, so duplicate publishes never send twice; a
claim whose worker died is freed by the sweeper (or at once by the redelivered message).
"""

import logging
import os
import random
import smtplib
from datetime import timedelta
from functools import partial

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from portal.emails import personalized
from portal.models import OutboundEmail
from portal.sealing import SealError

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
RETRY_JITTER = 0.1  # ±10% on each delay, so mail refused together isn't retried in lockstep
SWEEP_BATCH = 500
Status = OutboundEmail.Status

# Errors worth another attempt; 5xx answers are classified as permanent by _is_permanent.
DELIVERY_ERRORS = (smtplib.SMTPException, OSError, SoftTimeLimitExceeded)


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


def retry_delay(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: base, 2x base, 4x base ... capped at 10 minutes.

    Kept well under the Redis visibility timeout (1 h), past which a waiting retry would
    be redelivered early.
    """
    return min(settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** (attempts - 1), 600.0)


def _message(email: OutboundEmail) -> EmailMultiAlternatives:
    """The message to hand to SMTP, with the row's sealed links and codes put back."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].rstrip(">") or "portal"
    subject, text, html = personalized(email)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
        # Stable across retries, so a duplicate delivery is recognisable as one.
        headers={"Message-ID": f"<{email.uuid}@{domain}>"},
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def _claim(email_id: int, request) -> OutboundEmail | None:
    """Mark the row INFLIGHT for this worker and commit, or None if it isn't ours to send.

    A row still INFLIGHT under this very task id, on a message the broker redelivered, was
    claimed by a worker process that died mid-send (task_reject_on_worker_lost): take it
    over. Any other INFLIGHT row belongs to a live sender, or to the sweeper.
    """
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True).filter(pk=email_id).first()
        )
        if email is None:
            return None
        redelivered = bool((request.delivery_info or {}).get("redelivered"))
        orphaned = (
            email.status == Status.INFLIGHT
            and redelivered
            and bool(request.id)
            and email.task_id == request.id
        )
        if email.status not in (Status.QUEUED, Status.AWAITING_RETRY) and not orphaned:
            return None
        email.status = Status.INFLIGHT
        email.inflight_since = timezone.now()
        email.worker_pid = os.getpid()
        email.task_id = request.id or ""
        email.attempts += 1
        email.save(
            update_fields=[
                "status",
                "inflight_since",
                "worker_pid",
                "task_id",
                "attempts",
                "updated_at",
            ]
        )
    return email


def _finish(email: OutboundEmail, **fields) -> bool:
    """Record the outcome, unless the sweeper took the claim back meanwhile."""
    claim = OutboundEmail.objects.filter(pk=email.pk, status=Status.INFLIGHT, task_id=email.task_id)
    fields |= {"inflight_since": None, "worker_pid": None, "updated_at": timezone.now()}
    if fields["status"] in (Status.SENT, Status.FAILED):
        # Done with for good: the links and codes it carried are needed nowhere now.
        fields["sealed_secrets"] = ""
    try:
        return bool(claim.update(**fields))
    except (OperationalError, InterfaceError):
        # The database dropped us during the send (restart, failover). The outcome is
        # known: record it on a fresh connection rather than leave the row INFLIGHT for
        # the sweeper to send again.
        connection.close()
        return bool(claim.update(**fields))


@shared_task(bind=True, acks_late=True, ignore_result=True)
def deliver_email(self, email_id: int) -> str:
    """Send one outbox row. Rows that are gone, in flight elsewhere or done are skipped."""
    email = _claim(email_id, self.request)
    if email is None:
        return "skipped"
    now = timezone.now()
    entry = {"attempt": email.attempts, "at": now.isoformat(), "error": "", "retry_after": None}
    try:
        message = _message(email)
    except SealError:
        # Sealed under a SECRET_KEY that is gone (rotated without SECRET_KEY_FALLBACKS):
        # no attempt can ever rebuild the link. Say so where the provider sees the status.
        reason = "The message's personalized link could not be decrypted: send it again."
        logger.error("Email %s: its sealed parts could not be opened", email.pk)
        _finish(
            email,
            status=Status.FAILED,
            last_error=reason,
            attempt_log=[*email.attempt_log, entry | {"error": reason}],
        )
        return Status.FAILED
    try:
        message.send()
    except DELIVERY_ERRORS as exc:
        entry["error"] = _reason(exc)[:500]
        logger.warning("Email %s attempt %s failed: %s", email.pk, email.attempts, exc)
        if _is_permanent(exc) or email.attempts >= MAX_ATTEMPTS:
            _finish(
                email,
                status=Status.FAILED,
                last_error=_reason(exc)[:2000],
                attempt_log=[*email.attempt_log, entry],
            )
            return Status.FAILED
        delay = retry_delay(email.attempts) * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)  # noqa: S311
        retry_after = now + timedelta(seconds=delay)
        entry["retry_after"] = retry_after.isoformat()
        if _finish(
            email,
            status=Status.AWAITING_RETRY,
            retry_after=retry_after,
            last_error=_reason(exc)[:2000],
            attempt_log=[*email.attempt_log, entry],
        ):
            try:
                deliver_email.apply_async((email.pk,), countdown=delay)
            except Exception:  # broker down: the sweeper publishes it later
                logger.warning("Could not schedule the retry of email %s", email.pk, exc_info=True)
        return Status.AWAITING_RETRY
    _finish(
        email,
        status=Status.SENT,
        sent_at=timezone.now(),
        last_error="",
        attempt_log=[*email.attempt_log, entry],
    )
    return Status.SENT


@shared_task(ignore_result=True)
def requeue_stuck_emails() -> int:
    """Publish again the rows nobody is delivering; returns how many.

    QUEUED rows older than OUTBOX_REQUEUE_AFTER_SECONDS (broker down at commit, message
    lost), AWAITING_RETRY rows that far past their retry time, and INFLIGHT rows older than
    OUTBOX_INFLIGHT_TIMEOUT_SECONDS (the worker died mid-send). Rows another transaction
    holds are skipped, not waited for. Each is set back to QUEUED with a fresh timestamp,
    so the next sweep leaves it alone unless it is stuck again.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER_SECONDS)
    dead = now - timedelta(seconds=settings.OUTBOX_INFLIGHT_TIMEOUT_SECONDS)
    with transaction.atomic():
        ids = list(
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=Status.QUEUED, updated_at__lt=stale)
                | Q(status=Status.AWAITING_RETRY, retry_after__lt=stale)
                | Q(status=Status.INFLIGHT, inflight_since__lt=dead)
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        OutboundEmail.objects.filter(pk__in=ids).update(
            status=Status.QUEUED, inflight_since=None, worker_pid=None, updated_at=now
        )
        for pk in ids:
            transaction.on_commit(partial(deliver_email.delay, pk), robust=True)
    if ids:
        logger.info("Requeued %s stuck emails", len(ids))
    return len(ids)
