"""The outbox with a real Celery worker on the real Redis."""

import pytest
from django.db import transaction

from portal.emails import queue_message, send_email
from portal.models import OutboundEmail
from portal.tasks import deliver_email, requeue_stuck_emails
from tests.factories import wait_for

pytestmark = pytest.mark.worker


def _queue(to="someone@example.test") -> OutboundEmail:
    with transaction.atomic():
        return queue_message(to=to, subject="Hello", body_text="Body", body_html="<p>Body</p>")


def test_a_queued_email_is_delivered_by_the_worker_after_commit(celery_worker, mailoutbox):
    email = _queue()
    wait_for(lambda: OutboundEmail.objects.get(pk=email.pk).status == "sent")
    email.refresh_from_db()
    assert email.attempts == 1 and email.sent_at is not None
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["someone@example.test"]
    assert message.extra_headers["Message-ID"] == f"<{email.uuid}@portal.example>"
    assert message.alternatives[0].mimetype == "text/html"


def test_a_rolled_back_action_sends_nothing(celery_worker, mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_message(to="ghost@example.test", subject="Never", body_text="Never")
        raise RuntimeError("the business write failed")
    assert OutboundEmail.objects.count() == 0
    # Prove the worker is idle rather than slow: a later email goes out alone.
    later = _queue("later@example.test")
    wait_for(lambda: OutboundEmail.objects.get(pk=later.pk).status == "sent")
    assert [m.to for m in mailoutbox] == [["later@example.test"]]


def test_delivering_the_same_row_twice_sends_once(celery_worker, mailoutbox):
    email = _queue()
    wait_for(lambda: OutboundEmail.objects.get(pk=email.pk).status == "sent")
    deliver_email.delay(email.pk)
    deliver_email.delay(email.pk)
    # The (solo) worker runs its queue in order: once the later email is out, both
    # repeats have been handled, and skipped.
    later = _queue("later@example.test")
    wait_for(lambda: OutboundEmail.objects.get(pk=later.pk).status == "sent")
    assert [m.to for m in mailoutbox] == [["someone@example.test"], ["later@example.test"]]
    assert OutboundEmail.objects.get(pk=email.pk).attempts == 1


def test_the_sweeper_publishes_rows_the_broker_never_got(celery_worker, mailoutbox, settings):
    # A row committed while the broker was down: nothing was published for it.
    email = OutboundEmail.objects.create(to="late@example.test", subject="Late", body_text="x")
    OutboundEmail.objects.filter(pk=email.pk).update(updated_at=email.created_at.replace(year=2020))
    settings.OUTBOX_REQUEUE_AFTER_SECONDS = 60
    assert requeue_stuck_emails() == 1
    wait_for(lambda: OutboundEmail.objects.get(pk=email.pk).status == "sent")
    assert requeue_stuck_emails() == 0
    assert [m.to for m in mailoutbox] == [["late@example.test"]]


@pytest.mark.django_db
def test_send_email_renders_the_three_templates():
    email = send_email(
        language="en",
        template="team_invitation",
        to="x@example.test",
        context={
            "organization": type("Org", (), {"name": "Contoso", "partner_id": "4100001"})(),
            "inviter": None,
            "role": "Admin",
            "link": "http://example.test/team-invitations/abc/",
            "expires_at": None,
        },
    )
    assert email.subject == "You're invited to join Contoso on Partner Portal"
    assert "http://example.test/team-invitations/abc/" in email.body_text
    assert email.status == "queued"
