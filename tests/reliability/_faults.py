"""Fault harness (RELIABILITY.md §6): real services on 127.0.0.1 that tests stop and kill.

- `RedisServer`: a throwaway `redis-server` on a free port (no persistence), stopped with
  `SHUTDOWN NOSAVE` and started again on the same port.
- `use_broker(url)`: point this process's Celery app (publishing) at that server.
- `WorkerProcess`: a real `celery -A portal worker -P prefork -c 1` subprocess on the test
  database, whose main process and child can be SIGKILLed.
- `PortalServer`: the real WSGI handler in a subprocess (wsgiref, one thread, so one
  database connection or pool is reused across requests, as in a gunicorn sync worker).
- `kill_db_connections()`: what a PostgreSQL restart does to every client but us.

Every process is started by a fixture and stopped in a `finally`, even when a test fails.
"""

import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import kombu.pools
import psutil
import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from tests.factories import wait_for
from tests.smtp_server import SMTPSink, free_port

__all__ = ["SMTPSink", "free_port"]

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _stop_process(proc: subprocess.Popen | None, grace: float = 10) -> None:
    """End a process we started and everything it forked (its own session/group)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _kill_group(proc: subprocess.Popen | None) -> None:
    """SIGKILL the process group of a process started with start_new_session=True."""
    if proc is None:
        return
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(timeout=10)


def database_url() -> str:
    """The URL of pytest-django's test database (test_<name>), for subprocesses."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def is_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# ------------------------------------------------------------------------------
# Redis
# ------------------------------------------------------------------------------
class RedisServer:
    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log = log_dir / f"redis-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.log.write_text("")
        self.proc = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: "Ready to accept connections" in self.log.read_text() or self.proc.poll(),
            timeout=10,
            interval=0.01,
        )
        assert self.proc.poll() is None, _tail(self.log)

    def stop(self) -> None:
        """An outage: SHUTDOWN NOSAVE, so the server comes back empty, as after a crash."""
        if self.proc is None or self.proc.poll() is not None:
            return
        subprocess.run(  # noqa: S603
            [
                shutil.which("redis-cli") or "/usr/bin/redis-cli",
                "-p",
                str(self.port),
                "shutdown",
                "nosave",
            ],
            capture_output=True,
            timeout=10,
        )
        self.proc.wait(timeout=10)

    def close(self) -> None:
        self.stop()
        _stop_process(self.proc)


@pytest.fixture(scope="module")
def fault_redis(tmp_path_factory) -> Iterator[RedisServer]:
    """A redis-server of this module's own, on a free port: the one the tests stop."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.close()


def _reset_celery_connections(app) -> None:
    # Celery caches its connection and producer pools on first publish (app._after_fork
    # resets the same two attributes). They live in kombu's global registries, keyed by
    # broker URL: clear those too, or the next switch to this URL gets the closed pool
    # back ("Acquire on closed pool", swallowed by the robust on_commit publish).
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def use_broker(url: str) -> Iterator[None]:
    """Publish from this process to `url` instead of the suite's Redis, then switch back."""
    from portal.celery import app

    saved = (app.conf.broker_url, app.conf.result_backend)
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration
    # (celery.app.utils.Settings.broker_url), and `make test` exports it.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    _reset_celery_connections(app)
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.update(broker_url=url, result_backend=url)
    assert app.conf.broker_url == url
    try:
        yield
    finally:
        _reset_celery_connections(app)
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        app.conf.update(broker_url=saved[0], result_backend=saved[1])


# ------------------------------------------------------------------------------
# A real prefork worker
# ------------------------------------------------------------------------------
class WorkerProcess:
    """`celery -A portal worker -P prefork -c 1` on the test database and a given broker."""

    def __init__(self, *, broker_url: str, queue: str, log_dir: Path, **env: str) -> None:
        self.queue = queue
        self.log = log_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_RESULT_BACKEND": broker_url,
            "CELERY_QUEUE": queue,
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.write_text("")
        self.proc = subprocess.Popen(  # noqa: S603 (our own command, fixed arguments)
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-P",
                "prefork",
                "-c",
                "1",
                "-Q",
                self.queue,
                "-n",
                f"fault-{uuid.uuid4().hex[:8]}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: teardown kills the children too
        )
        try:
            wait_for(
                lambda: " ready." in self.log.read_text() or self.proc.poll() is not None,
                timeout=30,
                interval=0.05,
            )
        except AssertionError:
            raise AssertionError(f"worker did not start:\n{_tail(self.log)}") from None
        assert self.proc.poll() is None, _tail(self.log)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def children(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.pid).children()]

    def kill_main(self) -> None:
        """SIGKILL the main process only (Celery's prefork children die with it: pdeathsig)."""
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def close(self) -> None:
        _stop_process(self.proc)
        _kill_group(self.proc)

    def output(self) -> str:
        return _tail(self.log)


@contextmanager
def running_worker(**options) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(**options)
    try:
        worker.start()
        yield worker
    finally:
        worker.close()


# ------------------------------------------------------------------------------
# The portal behind a real WSGI server
# ------------------------------------------------------------------------------
# Runs in the subprocess. The database options are set before django.setup(), the way
# settings.py would set them: POOL=1 is production (psycopg's pool, CONN_MAX_AGE=0);
# POOL=0 is a persistent connection (CONN_MAX_AGE=60). HEALTH toggles CONN_HEALTH_CHECKS.
SERVER = """
import os
from wsgiref.simple_server import WSGIRequestHandler, make_server

import portal.settings as s

db = s.DATABASES["default"]
db["CONN_HEALTH_CHECKS"] = os.environ["HEALTH"] == "1"
if os.environ["POOL"] == "0":
    db["OPTIONS"].pop("pool", None)
    db["CONN_MAX_AGE"] = 60

import django
django.setup()
from django.core.wsgi import get_wsgi_application


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
"""


class PortalServer:
    def __init__(self, *, pool: bool, health_checks: bool, log_dir: Path) -> None:
        self.log = log_dir / f"server-{uuid.uuid4().hex[:8]}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": database_url(),
            # No collectstatic here: plain storage, as the test suite's settings use.
            "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "POOL": "1" if pool else "0",
            "HEALTH": "1" if health_checks else "0",
        }
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", SERVER],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
            start_new_session=True,
        )
        line = self.proc.stdout.readline()
        assert line.strip().isdigit(), _tail(self.log)
        self.port = int(line)

    def get(self, path: str, cookies: dict[str, str]) -> int:
        request = urllib.request.Request(
            f"http://{HOST}:{self.port}{path}",
            headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def close(self) -> None:
        _stop_process(self.proc, grace=5)
        _kill_group(self.proc)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def errors(self) -> str:
        return _tail(self.log)


# ------------------------------------------------------------------------------
# PostgreSQL "restart"
# ------------------------------------------------------------------------------
def kill_db_connections() -> int:
    """Terminate every backend of the test database except this test's own connection.

    From a side connection: to its clients this is what a server restart looks like.
    Returns how many were terminated.
    """
    connection.ensure_connection()
    own = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as side:
        rows = side.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [own],
        ).fetchall()
    return sum(1 for (terminated,) in rows if terminated)


def timed(call):
    """(result, seconds) of call()."""
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


# ------------------------------------------------------------------------------
# Driving the mail-producing pages
# ------------------------------------------------------------------------------
def draft_partnership_request(client, org_slug: str, email: str) -> tuple[str, dict]:
    """ "Request a partnership" for `email`: returns the Send URL and the form as drafted."""
    page = client.post(
        reverse("partners:request-create", kwargs={"org_slug": org_slug}), {"email": email}
    )
    assert page.status_code == 200, page.status_code
    text = page.content.decode()
    body = re.search(r'<textarea name="body"[^>]*>\n?(.*?)</textarea>', text, re.S)
    token = re.search(r'name="token" value="([^"]+)"', text)
    pk = re.search(r"/resellers/requests/(\d+)/send/", text)
    assert body and token and pk, text[:3000]
    url = reverse("partners:request-send", kwargs={"org_slug": org_slug, "pk": pk.group(1)})
    fields = {
        "token": token.group(1),
        "subject": "Partner with us",
        "body": html.unescape(body.group(1)),
    }
    return url, fields
