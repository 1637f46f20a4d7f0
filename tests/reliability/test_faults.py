"""Faults with real services (RELIABILITY.md §6; T3.2 = T6.2, T6.1, T6.3, T6.4, T6.6).

This module has its own redis-server (stopped and restarted by the tests), its own SMTP
sink, and a real `celery worker -P prefork -c 1` subprocess on the test database that the
tests SIGKILL. The portal's publishes from this process go to that Redis too
(`use_broker`). Nothing is mocked; waits poll with wait_for, never sleep.
"""

import os
import signal
import time
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from portal.emails import queue_message
from portal.models import OutboundEmail
from portal.tasks import requeue_stuck_emails
from tests.factories import PASSWORD, OfferFactory, details, lines, submit, to_review, wait_for
from tests.reliability._faults import (
    PortalServer,
    SMTPSink,
    WorkerProcess,
    draft_partnership_request,
    is_gone,
    kill_db_connections,
    timed,
    use_broker,
)

pytestmark = [pytest.mark.worker, pytest.mark.fault]

Status = OutboundEmail.Status
REQUEST_BUDGET = 2.0  # seconds a page may take with Redis down (no publish hang)


# ------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fault_smtp() -> Iterator[SMTPSink]:
    sink = SMTPSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def _module_worker(fault_redis, fault_smtp, django_db_setup, tmp_path_factory):
    from portal.celery import app

    worker = WorkerProcess(
        broker_url=fault_redis.url,
        queue=app.conf.task_default_queue,
        log_dir=tmp_path_factory.mktemp("worker"),
        EMAIL_URL=f"smtp://127.0.0.1:{fault_smtp.port}",
        EMAIL_TIMEOUT="5",
        OUTBOX_RETRY_BASE_SECONDS="0.2",
    )
    try:
        yield worker
    finally:
        worker.close()


@pytest.fixture
def worker(_module_worker, fault_redis, fault_smtp, transactional_db) -> Iterator[WorkerProcess]:
    """The module's prefork worker, running (started again if a test killed it), with this
    process publishing to the module's Redis and a clean SMTP sink."""
    if fault_redis.proc.poll() is not None:
        fault_redis.start()
    if _module_worker.proc is None or _module_worker.proc.poll() is not None:
        _module_worker.close()
        _module_worker.start()
    fault_smtp.reset()
    with use_broker(fault_redis.url):
        try:
            yield _module_worker
        except BaseException:
            print(_module_worker.output())
            raise


def _queue(to: str) -> OutboundEmail:
    with transaction.atomic():
        return queue_message(to=to, subject="Fault test", body_text="Body")


def _row(email: OutboundEmail) -> OutboundEmail:
    return OutboundEmail.objects.get(pk=email.pk)


def _delivered(sink: SMTPSink, to: str) -> int:
    return sum(1 for message in sink.messages if message.rcpt_tos == (to,))


def _inflight(email: OutboundEmail) -> OutboundEmail | None:
    row = _row(email)
    return row if row.status == Status.INFLIGHT and row.worker_pid else None


# ------------------------------------------------------------------------------
# T3.2 / T6.2: Redis down while people use the portal
# ------------------------------------------------------------------------------
def test_t3_2_t6_2_with_redis_stopped_pages_answer_fast_and_mail_goes_out_once_after_recovery(
    worker, fault_redis, fault_smtp, world, settings, record_property
):
    """T3.2 + T6.2. Redis (broker, result backend and here the cache) is stopped; login,
    list pages, Request a partnership → Send, invite a colleague and the new-customer
    wizard's Submit all answer without a 5xx within 2 s, and the mail is kept QUEUED.
    Redis comes back; one sweep; each message arrives exactly once within 30 s."""
    # What settings.py makes of CACHE_URL=redis://... (docker-compose): Django's
    # RedisCache, failing open on an outage (portal/cache.py).
    settings.CACHES = {
        "default": {"BACKEND": "portal.cache.FailOpenRedisCache", "LOCATION": fault_redis.url}
    }
    settings.ACCOUNT_RATE_LIMITS = {}  # allauth's limits on: their counters live in Redis
    offer = OfferFactory(name="Business Basic", min_licenses=1, max_licenses=300)
    admin, sales = Client(), Client()
    admin.force_login(world.provider_admin)
    sales.force_login(world.provider_sales)
    p1 = world.provider.slug
    review = to_review(sales, world.provider, details(), lines((offer, 2)))

    fault_redis.stop()
    timings: dict[str, tuple[int, float]] = {}

    def page(name, call):
        response, seconds = timed(call)
        timings[name] = (response.status_code, seconds)
        return response

    login = page(
        "login",
        lambda: Client().post(
            reverse("account_login"),
            {"login": world.provider_support.email, "password": PASSWORD},
        ),
    )
    page("resellers list", lambda: admin.get(reverse("partners:reseller-list", args=[p1])))
    page("customers list", lambda: admin.get(reverse("customers:list", args=[p1])))
    url, fields = draft_partnership_request(admin, p1, "owner@outage.example")
    page("partnership send", lambda: admin.post(url, fields))
    page(
        "team invite",
        lambda: admin.post(
            reverse("team:invite", args=[p1]), {"email": "new@outage.example", "role": "admin"}
        ),
    )
    page("order submit", lambda: submit(sales, world.provider, review))
    figures = {k: f"{s} in {t:.2f}s" for k, (s, t) in timings.items()}
    record_property("figure", f"T6.2 with Redis down: {figures}")

    assert login.status_code == 302, login.content.decode()[:2000]
    assert {name: status for name, (status, _) in timings.items()} == {
        "login": 302,
        "resellers list": 200,
        "customers list": 200,
        "partnership send": 302,
        "team invite": 302,
        "order submit": 302,
    }
    assert max(seconds for _, seconds in timings.values()) <= REQUEST_BUDGET, timings
    recipients = ["owner@outage.example", "new@outage.example"]
    rows = list(OutboundEmail.objects.filter(to__in=recipients))
    assert sorted(row.status for row in rows) == [Status.QUEUED, Status.QUEUED]
    assert fault_smtp.messages == []

    restarted = time.monotonic()
    fault_redis.start()
    settings.OUTBOX_REQUEUE_AFTER_SECONDS = 0
    assert requeue_stuck_emails() == 2
    for row in rows:
        wait_for(lambda row=row: _row(row).status == Status.SENT, timeout=30)
    print(f"T3.2: delivered {time.monotonic() - restarted:.2f} s after Redis restarted")
    assert requeue_stuck_emails() == 0
    assert [_delivered(fault_smtp, to) for to in recipients] == [1, 1]


# ------------------------------------------------------------------------------
# T6.1: a worker killed mid-send
# ------------------------------------------------------------------------------
def test_t6_1_sigkill_of_the_prefork_child_mid_send_is_redelivered_and_sent_once(
    worker, fault_smtp
):
    """T6.1 (child). The gate holds DATA; the child that claimed the row is SIGKILLed; the
    gate opens. task_reject_on_worker_lost puts the message back, the new child takes over
    the orphaned claim (same task id, redelivered), and the message goes out once."""
    fault_smtp.script = [fault_smtp.HANG]
    email = _queue("child@kill.example")
    assert fault_smtp.hung.wait(timeout=20), worker.output()
    row = wait_for(lambda: _inflight(email))
    assert row.worker_pid in worker.children() and row.worker_pid != worker.pid
    killed = time.monotonic()
    os.kill(row.worker_pid, signal.SIGKILL)
    fault_smtp.release()

    row = wait_for(lambda: (r := _row(email)).status == Status.SENT and r, timeout=30)
    print(f"T6.1 child: sent {time.monotonic() - killed:.2f} s after the SIGKILL")
    assert row.attempts == 2
    assert [t.reply for t in fault_smtp.transactions] == [fault_smtp.HANG, fault_smtp.ACCEPTED]
    assert _delivered(fault_smtp, "child@kill.example") == 1
    assert worker.proc.poll() is None  # the main process carried on with a new child


def test_t6_1_sigkill_of_the_main_worker_mid_send_is_recovered_by_the_sweeper_once(
    worker, fault_smtp, settings
):
    """T6.1 (main). SIGKILL of the worker's main process takes the child with it; the
    message stays unacked in Redis (redelivered only after the 1 h visibility timeout), the
    row stays INFLIGHT. A new worker plus one sweep deliver it, once."""
    fault_smtp.script = [fault_smtp.HANG]
    email = _queue("main@kill.example")
    assert fault_smtp.hung.wait(timeout=20), worker.output()
    row = wait_for(lambda: _inflight(email))
    worker.kill_main()
    wait_for(lambda: is_gone(row.worker_pid), timeout=10)
    fault_smtp.release()
    assert _row(email).status == Status.INFLIGHT
    assert _delivered(fault_smtp, "main@kill.example") == 0

    restarted = time.monotonic()
    worker.start()
    started = time.monotonic() - restarted
    settings.OUTBOX_INFLIGHT_TIMEOUT_SECONDS = 0  # production: 600 s (> the task time limit)
    assert requeue_stuck_emails() == 1
    row = wait_for(lambda: (r := _row(email)).status == Status.SENT and r, timeout=30)
    print(
        f"T6.1 main: new worker up in {started:.2f} s, "
        f"sent {time.monotonic() - restarted:.2f} s after the restart"
    )
    assert row.attempts == 2
    assert requeue_stuck_emails() == 0
    assert _delivered(fault_smtp, "main@kill.example") == 1


# ------------------------------------------------------------------------------
# T6.4: database connections killed under a live worker
# ------------------------------------------------------------------------------
def test_t6_4_database_connections_killed_during_and_between_tasks_lose_nothing(worker, fault_smtp):
    """T6.4. All database connections but the test's are terminated while the worker holds
    one mid-send, and again between two tasks: both emails end SENT, once each, 0 FAILED.
    The first send completes after its connection died: the outcome is recorded on a new
    connection (portal.tasks._finish), not left INFLIGHT for a second send."""
    fault_smtp.script = [fault_smtp.HOLD]
    first = _queue("first@pg.example")
    assert fault_smtp.hung.wait(timeout=20), worker.output()
    wait_for(lambda: _inflight(first))
    assert kill_db_connections() >= 1  # the worker child's connection among them
    fault_smtp.release()
    wait_for(lambda: _row(first).status == Status.SENT, timeout=20)

    kill_db_connections()
    second = _queue("second@pg.example")
    wait_for(lambda: _row(second).status == Status.SENT, timeout=20)
    assert (_row(first).attempts, _row(second).attempts) == (1, 1)
    assert not OutboundEmail.objects.filter(status=Status.FAILED).exists()
    assert [_delivered(fault_smtp, to) for to in ("first@pg.example", "second@pg.example")] == [
        1,
        1,
    ]


# ------------------------------------------------------------------------------
# T6.6: no worker and no beat for a while
# ------------------------------------------------------------------------------
def test_t6_6_with_worker_and_beat_down_rows_accumulate_then_one_sweep_delivers_each_once(
    worker, fault_smtp, settings
):
    """T6.6. With no worker and no beat, mail piles up QUEUED (its messages wait in Redis).
    One sweep publishes every row again, so each has two messages; the worker comes back
    and sends each exactly once."""
    worker.close()
    recipients = [f"pile{n}@sweep.example" for n in range(3)]
    emails = [_queue(to) for to in recipients]
    assert {_row(e).status for e in emails} == {Status.QUEUED}
    settings.OUTBOX_REQUEUE_AFTER_SECONDS = 0
    assert requeue_stuck_emails() == 3

    worker.start()
    for email in emails:
        wait_for(lambda email=email: _row(email).status == Status.SENT, timeout=30)
    sentinel = _queue("sentinel@sweep.example")  # queued after the duplicates: runs after
    wait_for(lambda: _row(sentinel).status == Status.SENT, timeout=30)
    assert [_delivered(fault_smtp, to) for to in recipients] == [1, 1, 1]
    assert [_row(e).attempts for e in emails] == [1, 1, 1]


# ------------------------------------------------------------------------------
# T6.3: PostgreSQL restarted while the portal runs
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("pool", [True, False], ids=["psycopg-pool", "conn-max-age-60"])
def test_t6_3_after_the_database_drops_every_connection_the_next_request_succeeds(
    pool, transactional_db, world, tmp_path
):
    """T6.3. A real WSGI server (one thread, so its connection or pool is reused). All its
    database connections are terminated between two requests. With CONN_HEALTH_CHECKS the
    next request is a 200; the control run without them shows the 500 the setting saves."""
    client = Client()
    client.force_login(world.provider_admin)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    path = reverse("partners:reseller-list", args=[world.provider.slug])
    statuses = {}
    for health_checks in (True, False):
        server = PortalServer(pool=pool, health_checks=health_checks, log_dir=tmp_path)
        try:
            server.start()
            before = server.get(path, cookies)
            killed = kill_db_connections()
            after = server.get(path, cookies)
            again = server.get(path, cookies)
        finally:
            server.close()
        statuses[health_checks] = (before, killed >= 1, after, again)
    print(f"T6.3 {'pool' if pool else 'CONN_MAX_AGE=60'}: {statuses}")
    assert statuses[True] == (200, True, 200, 200)
    # The control: without health checks the first request after the drop is a 500. (How
    # many follow depends on how many dead connections the pool still holds.)
    assert statuses[False][:3] == (200, True, 500)
