"""Email delivery through the outbox (RELIABILITY.md §3: T3.1, T3.3 to T3.8; and T6.5).

A real Celery worker (the suite's in-thread worker on Redis) sends to a real SMTP server
(aiosmtpd, tests/smtp_server.py) scripted per test. Broker outages and killed workers are
in test_faults.py.
"""

import html
import itertools
import re
import socket
import time
from datetime import datetime, timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partners.models import TeamInvitation
from partners.services.partnerships import (
    draft_message,
    request_partnership,
    send_partnership_request,
)
from portal.emails import queue_message
from portal.models import OutboundEmail
from portal.scoping import unscoped
from portal.tasks import MAX_ATTEMPTS, RETRY_JITTER, deliver_email, requeue_stuck_emails
from tests.factories import wait_for
from tests.reliability._faults import SMTPSink, draft_partnership_request

pytestmark = pytest.mark.worker

TRY_LATER = "451 4.3.0 Try again later"
NO_SUCH_USER = "550 5.1.1 No such user"
Status = OutboundEmail.Status


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
    return row if row.status in {Status.SENT, Status.FAILED} else None


def _drained(sink: SMTPSink) -> None:
    """Wait until the worker has run everything published before now.

    The solo worker takes its queue in order: once a sentinel email queued now is sent,
    every earlier task (duplicates, retries with countdown 0) has run.
    """
    sentinel = _queue(to="sentinel@example.test")
    wait_for(lambda: _row(sentinel).status == Status.SENT)


def _gaps(row: OutboundEmail) -> list[tuple[float, float]]:
    """(scheduled delay, delay until the next attempt) per retry, from the attempt log."""
    log = row.attempt_log
    gaps = []
    for entry, after in itertools.pairwise(log):
        at, retry_after = datetime.fromisoformat(entry["at"]), entry["retry_after"]
        scheduled = (datetime.fromisoformat(retry_after) - at).total_seconds()
        gaps.append((scheduled, (datetime.fromisoformat(after["at"]) - at).total_seconds()))
    return gaps


def _assert_schedule(row: OutboundEmail, base: float) -> None:
    """Each retry was scheduled base * 2**(n-1) (±jitter) after attempt n, and ran no earlier."""
    for n, (scheduled, actual) in enumerate(_gaps(row), start=1):
        expected = base * 2 ** (n - 1)
        assert expected * (1 - RETRY_JITTER) <= scheduled <= expected * (1 + RETRY_JITTER), (
            n,
            scheduled,
        )
        assert actual >= scheduled - 0.01, (n, scheduled, actual)


def test_a_queued_email_arrives_at_the_smtp_server_with_both_parts_and_its_message_id(
    celery_worker, smtp_settings
):
    email = _queue(to="someone@example.test", subject="Welcome, Zoë")
    row = wait_for(lambda: _settled(email))
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None and row.inflight_since is None and row.worker_pid is None
    assert [entry["error"] for entry in row.attempt_log] == [""]

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


def test_t3_1_an_invitation_whose_transaction_rolls_back_leaves_no_row_and_sends_nothing(
    celery_worker, smtp_settings, world
):
    """T3.1: the invite view inserts the invitation and its outbox row, then a later write
    of the same transaction fails (a real database error: a trigger refuses the audit
    event). Nothing is left and nothing is sent."""
    client = Client(raise_request_exception=False)
    client.force_login(world.provider_admin)  # before the trigger: logins are audited too
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$;"
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON partners_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
        )
    try:
        response = client.post(
            reverse("team:invite", kwargs={"org_slug": world.provider.slug}),
            {"email": "ghost@example.test", "role": "support_agent"},
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TRIGGER refuse_audit ON partners_auditevent; DROP FUNCTION refuse_audit();"
            )
    assert response.status_code == 500
    assert OutboundEmail.objects.count() == 0
    with unscoped("assert"):
        assert TeamInvitation.objects.count() == 0
    _drained(smtp_settings)
    assert [m.rcpt_tos for m in smtp_settings.transactions] == [("sentinel@example.test",)]


def test_t3_3_a_server_answering_451_twice_gets_the_email_once_on_the_third_attempt(
    celery_worker, smtp_settings, settings
):
    """T3.3: 451, 451, 250 → SENT after 3 attempts, 1 message, retry gaps on schedule."""
    settings.OUTBOX_RETRY_BASE_SECONDS = 0.2
    smtp_settings.script = [TRY_LATER, TRY_LATER, None]
    email = _queue()
    row = wait_for(lambda: _settled(email))
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "")
    assert [entry["error"] for entry in row.attempt_log] == [TRY_LATER, TRY_LATER, ""]
    _assert_schedule(row, base=0.2)  # 0.2 s then 0.4 s, ±10%
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


def test_t3_4_a_recipient_refused_with_550_fails_once_and_the_resellers_page_says_why(
    celery_worker, smtp_settings, world, client_for, settings
):
    """T3.4: 550 on RCPT → FAILED after 1 attempt, never retried; the provider sees the code."""
    # Countdown 0: a retry, had the task scheduled one, would run before the sentinel.
    settings.OUTBOX_RETRY_BASE_SECONDS = 0
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
    assert row.last_error == "550 5.1.1 No such user"
    _drained(smtp_settings)
    assert (_row(email).status, _row(email).attempts) == ("failed", 1)
    assert [r.address for r in smtp_settings.refusals] == ["owner@newreseller.example"]
    assert [m.rcpt_tos for m in smtp_settings.transactions] == [("sentinel@example.test",)]

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


def test_t3_5_an_unreachable_server_is_retried_on_schedule_then_the_email_fails(
    celery_worker, mailers_at, closed_port
):
    """T3.5: connection refused throughout → backoff, FAILED after MAX_ATTEMPTS, 0 INFLIGHT."""
    mailers_at(closed_port, retry_base_seconds=0.05)
    email = _queue()
    row = wait_for(lambda: _settled(email), timeout=15)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert "ConnectionRefusedError" in row.last_error
    assert len(row.attempt_log) == MAX_ATTEMPTS
    assert row.attempt_log[-1]["retry_after"] is None  # the last attempt schedules nothing
    _assert_schedule(row, base=0.05)  # 0.05, 0.1, 0.2, 0.4, 0.8 s, ±10%
    assert not OutboundEmail.objects.exclude(status__in=[Status.SENT, Status.FAILED]).exists()


def test_t3_6_a_server_that_never_answers_data_times_out_and_waits_for_its_retry(
    celery_worker, smtp_server, mailers_at, record_property
):
    """T3.6: DATA never answered → the attempt ends on EMAIL_TIMEOUT (1 s here), the row
    waits for its retry (not stuck INFLIGHT), and the retry delivers."""
    mailers_at(smtp_server.port, timeout=1, retry_base_seconds=1.0)
    smtp_server.script = [smtp_server.HANG]  # the first DATA is never answered; later ones are
    started = time.monotonic()
    email = _queue()
    assert smtp_server.hung.wait(timeout=5)
    row = wait_for(lambda: (r := _row(email)).status == Status.AWAITING_RETRY and r, timeout=6)
    elapsed = time.monotonic() - started  # bounded by the wait above: EMAIL_TIMEOUT + 5 s
    assert row.attempts == 1 and "timed out" in row.last_error
    assert row.retry_after > timezone.now() - timedelta(seconds=1)
    row = wait_for(lambda: _settled(email), timeout=10)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert [t.reply for t in smtp_server.transactions] == [smtp_server.HANG, smtp_server.ACCEPTED]
    record_property("figure", f"T3.6: hung DATA given up after {elapsed:.2f} s")


def test_t3_7_the_same_row_published_four_times_and_send_pressed_twice_send_once(
    celery_worker, smtp_settings, world, client_for
):
    """T3.7: duplicate wake-ups and a double-clicked Send → 1 message, 1 SENT row."""
    email = _queue(to="dup@example.test")  # published once on commit
    for _ in range(3):
        deliver_email.delay(email.pk)
    _drained(smtp_settings)
    row = _row(email)
    assert (row.status, row.attempts, len(row.attempt_log)) == ("sent", 1, 1)
    assert [m.rcpt_tos for m in smtp_settings.messages].count(("dup@example.test",)) == 1

    client = client_for(world.provider_admin)
    url, fields = draft_partnership_request(client, world.provider.slug, "owner@twice.example")
    first, second = client.post(url, fields), client.post(url, fields)
    assert (first.status_code, second.status_code) == (302, 302)
    [row] = OutboundEmail.objects.filter(to="owner@twice.example")
    wait_for(lambda: _row(row).status == Status.SENT)
    _drained(smtp_settings)
    assert [m.rcpt_tos for m in smtp_settings.messages].count(("owner@twice.example",)) == 1


def _stuck(to: str, **state) -> OutboundEmail:
    """A row in a forced state, never published (as if the broker or its worker lost it)."""
    email = OutboundEmail.objects.create(to=to, subject="Stuck", body_text="x")
    OutboundEmail.objects.filter(pk=email.pk).update(**state)
    return email


def test_t3_8_the_sweeper_republishes_stuck_rows_once_and_skips_locked_and_live_ones(
    celery_worker, smtp_settings, settings
):
    """T3.8: old QUEUED, AWAITING_RETRY and INFLIGHT rows are published once each and sent
    once; a row locked by another transaction and a row a live worker is sending are left."""
    settings.OUTBOX_REQUEUE_AFTER_SECONDS = 60
    settings.OUTBOX_INFLIGHT_TIMEOUT_SECONDS = 600
    old = timezone.now() - timedelta(hours=2)
    queued = _stuck("queued@example.test", updated_at=old)
    waiting = _stuck("waiting@example.test", status=Status.AWAITING_RETRY, retry_after=old)
    dead = _stuck("dead@example.test", status=Status.INFLIGHT, inflight_since=old, attempts=1)
    live = _stuck("live@example.test", status=Status.INFLIGHT, inflight_since=timezone.now())
    fresh = _stuck("fresh@example.test")  # just queued: its own publish is still coming
    locked = _stuck("locked@example.test", updated_at=old)

    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]
    ) as side:
        side.execute("SELECT id FROM portal_outboundemail WHERE id = %s FOR UPDATE", [locked.pk])
        # Waiting for the held row would end in this lock timeout's error: returning at
        # all proves the sweep skipped it.
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '5s'")
        assert requeue_stuck_emails() == 3
        for email in (queued, waiting, dead):
            wait_for(lambda email=email: _row(email).status == Status.SENT)
        assert requeue_stuck_emails() == 0  # each was published once
        side.rollback()
    assert requeue_stuck_emails() == 1  # the lock is gone: its turn
    wait_for(lambda: _row(locked).status == Status.SENT)
    _drained(smtp_settings)

    sent = [m.rcpt_tos[0] for m in smtp_settings.messages]
    for email in (queued, waiting, dead, locked):
        assert sent.count(email.to) == 1, (email.to, sent)
    assert _row(dead).attempts == 2  # the dead worker's attempt counts
    assert (_row(live).status, _row(fresh).status) == (Status.INFLIGHT, Status.QUEUED)
    assert "live@example.test" not in sent and "fresh@example.test" not in sent


@pytest.mark.fault
def test_t6_5_a_server_refusing_then_opening_gets_the_waiting_email_on_the_next_retry(
    celery_worker, mailers_at
):
    """T6.5: connection refused → AWAITING_RETRY; the port opens; the next retry delivers."""
    with socket.socket() as refusing:  # bound, not listening: connect() is refused
        refusing.bind(("127.0.0.1", 0))
        port = refusing.getsockname()[1]
        mailers_at(port, retry_base_seconds=1.0)
        email = _queue(to="patient@example.test")
        row = wait_for(lambda: (r := _row(email)).status == Status.AWAITING_RETRY and r)
        assert row.attempts == 1 and "ConnectionRefusedError" in row.last_error
    sink = SMTPSink()
    sink.start(port)  # the same port opens (the retry is ~1 s away)
    try:
        row = wait_for(lambda: _settled(email), timeout=10)
        assert (row.status, row.attempts) == ("sent", 2)
        assert [m.rcpt_tos for m in sink.messages] == [("patient@example.test",)]
    finally:
        sink.stop()
