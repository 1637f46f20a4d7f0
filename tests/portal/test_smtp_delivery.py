"""The outbox over real SMTP: a real Celery worker sending to an aiosmtpd server.

The server (tests/smtp_server.py) is scripted per test: 4xx then 250, a 550 on RCPT, a
port nobody listens on, a DATA that is never answered.
"""

import html
import re
import time

import pytest
from django.db import transaction
from django.urls import reverse

from partners.partnerships import draft_message, request_partnership, send_partnership_request
from portal.emails import queue_message
from portal.models import OutboundEmail
from portal.scoping import unscoped
from portal.tasks import MAX_ATTEMPTS
from tests.conftest import wait_for

pytestmark = pytest.mark.worker

TRY_LATER = "451 4.3.0 Try again later"
NO_SUCH_USER = "550 5.1.1 No such user"


def _queue(to="someone@example.test", subject="Hello") -> OutboundEmail:
    with transaction.atomic():
        return queue_message(
            to=to, subject=subject, body_text="Body text", body_html="<p>Body <b>html</b></p>"
        )


def _row(email: OutboundEmail) -> OutboundEmail:
    return OutboundEmail.objects.get(pk=email.pk)


def _settled(email: OutboundEmail) -> OutboundEmail | None:
    """The row once the worker is done with it for good (sent or failed), else None."""
    row = _row(email)
    return row if row.status in {OutboundEmail.Status.SENT, OutboundEmail.Status.FAILED} else None


def test_a_queued_email_arrives_at_the_smtp_server_with_both_parts_and_its_message_id(
    celery_worker, smtp_settings
):
    email = _queue(to="someone@example.test", subject="Welcome, Zoë")
    row = wait_for(lambda: _settled(email))
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None

    [delivery] = smtp_settings.transactions
    assert delivery.accepted
    assert delivery.mail_from == "noreply@portal.example"
    assert delivery.rcpt_tos == ("someone@example.test",)
    message = delivery.message
    assert message["To"] == "someone@example.test"
    assert message["From"] == "Partner Portal <noreply@portal.example>"
    assert message["Subject"] == "Welcome, Zoë"
    assert message["Message-ID"] == f"<{row.uuid}@portal.example>"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Body text"
    assert message.get_body(("html",)).get_content().strip() == "<p>Body <b>html</b></p>"


def test_a_server_answering_451_twice_gets_the_email_once_on_the_third_attempt(
    celery_worker, smtp_settings
):
    smtp_settings.script = [TRY_LATER, TRY_LATER, None]
    email = _queue()
    row = wait_for(lambda: _settled(email))
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "")
    assert [t.reply for t in smtp_settings.transactions] == [
        TRY_LATER,
        TRY_LATER,
        smtp_settings.ACCEPTED,
    ]
    assert len(smtp_settings.messages) == 1
    # Every attempt carries the same Message-ID, so a duplicate would be recognisable.
    assert {t.message["Message-ID"] for t in smtp_settings.transactions} == {
        f"<{row.uuid}@portal.example>"
    }


def test_a_recipient_refused_with_550_fails_after_one_attempt_and_is_never_retried(
    celery_worker, smtp_settings, settings
):
    # Countdown 0: a retry, if the task scheduled one, is published at once, ahead of the
    # good email queued below; the solo worker takes its queue in order, so by the time
    # the good one is sent any retry of the bad one would have run.
    settings.OUTBOX_RETRY_BASE_SECONDS = 0
    smtp_settings.refuse_rcpt["nobody@example.test"] = NO_SUCH_USER
    bad = _queue(to="nobody@example.test")
    row = wait_for(lambda: _settled(bad))
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in row.last_error and "No such user" in row.last_error

    good = _queue(to="someone@example.test")
    wait_for(lambda: _row(good).status == OutboundEmail.Status.SENT)
    row = _row(bad)
    assert (row.status, row.attempts) == ("failed", 1)
    assert [r.address for r in smtp_settings.refusals] == ["nobody@example.test"]
    assert [m.rcpt_tos for m in smtp_settings.transactions] == [("someone@example.test",)]


def test_an_unreachable_server_is_retried_with_growing_delays_then_the_email_fails(
    celery_worker, mailers_at, closed_port
):
    base = 0.05
    mailers_at(closed_port, retry_base_seconds=base)
    email = _queue()
    saved_at: dict[int, float] = {}  # attempts -> when the worker saved that attempt

    def failed():
        row = _row(email)
        saved_at.setdefault(row.attempts, row.updated_at.timestamp())
        return row if row.status == OutboundEmail.Status.FAILED else None

    row = wait_for(failed, timeout=15, interval=0.005)
    assert row.attempts == MAX_ATTEMPTS
    assert "ConnectionRefusedError" in row.last_error and "refused" in row.last_error
    assert not OutboundEmail.objects.filter(status="queued").exists()

    # Attempt n+1 is published after attempt n is saved, with a countdown of
    # base * 2**(n-1): 0.05, 0.1, 0.2, 0.4, 0.8 s. The poll may miss a short-lived state,
    # so gaps are checked where both ends were seen, and the total from the row itself.
    delays = [base * 2 ** (n - 1) for n in range(1, MAX_ATTEMPTS)]
    for n, delay in enumerate(delays, start=1):
        if n in saved_at and n + 1 in saved_at:
            assert saved_at[n + 1] - saved_at[n] >= delay, (n, saved_at)
    assert (row.updated_at - row.created_at).total_seconds() >= sum(delays)
    assert {MAX_ATTEMPTS - 1, MAX_ATTEMPTS} <= saved_at.keys(), saved_at


def test_a_server_that_never_answers_data_times_out_and_the_retry_delivers(
    celery_worker, smtp_server, mailers_at
):
    mailers_at(smtp_server.port, timeout=1, retry_base_seconds=0.5)
    smtp_server.script = [smtp_server.HANG]  # the first DATA is never answered; later ones are
    started = time.monotonic()
    email = _queue()
    assert smtp_server.hung.wait(timeout=5)

    def attempted():
        row = _row(email)
        return row if row.attempts >= 1 else None

    row = wait_for(attempted, timeout=5, interval=0.01)
    elapsed = time.monotonic() - started
    # Given up on after the mailer's 1 s timeout: not the server's 5 minutes, not forever.
    assert 0.9 <= elapsed < 4, elapsed
    assert (row.status, row.attempts) == ("queued", 1)
    assert "timed out" in row.last_error

    row = wait_for(lambda: _settled(email), timeout=10)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert [t.reply for t in smtp_server.transactions] == [smtp_server.HANG, smtp_server.ACCEPTED]


def test_a_partnership_request_the_server_refuses_shows_failed_and_why_on_the_resellers_page(
    celery_worker, smtp_settings, world, client_for
):
    smtp_settings.refuse_rcpt["owner@newreseller.example"] = NO_SUCH_USER
    with unscoped("test setup"):
        request, token = request_partnership(
            provider=world.provider, actor=world.provider_admin, email="owner@newreseller.example"
        )
        subject, body = draft_message(request, token)
        email, created = send_partnership_request(
            provider=world.provider,
            actor=world.provider_admin,
            request=request,
            token=token,
            subject=subject,
            body=body,
        )
    assert created
    row = wait_for(lambda: _settled(email))
    assert (row.status, row.attempts) == ("failed", 1)
    assert [r.address for r in smtp_settings.refusals] == ["owner@newreseller.example"]

    client = client_for(world.provider_admin)
    page = client.get(reverse("partners:reseller-list", kwargs={"org_slug": world.provider.slug}))
    assert page.status_code == 200
    rows = re.findall(r"<tr\b.*?</tr>", page.content.decode(), re.S)
    [request_row] = [r for r in rows if "owner@newreseller.example" in r]
    # The delivery cell: the Failed badge, with the server's reason under it.
    assert re.search(
        r">Failed</span><br><small[^>]*>[^<]*550[^<]*No such user[^<]*</small>",
        html.unescape(request_row),
    ), request_row
