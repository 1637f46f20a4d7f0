"""A real SMTP server for tests: an aiosmtpd sink on 127.0.0.1 that can be told how to answer.

    def test_something(celery_worker, smtp_settings):
        smtp_settings.script = ["451 4.3.0 Try again later", None]   # DATA: 451 once, then 250
        smtp_settings.refuse_rcpt["nobody@example.test"] = "550 5.1.1 No such user"
        ...
        assert smtp_settings.messages[0].message["Subject"] == "Hello"

`script` is consumed one entry per DATA command: None accepts (250), a string is the
reply sent instead ("451 ...", "554 ..."), HANG reads the message and then never answers
until `release()` or the fixture tears down (the gate that holds a send "mid-DATA", or
makes the client's timeout end the attempt). Once the script is empty every message is
accepted. HOLD holds the same way, then accepts the message when the gate opens.

Load the fixtures with `pytest_plugins = ["tests.smtp_server"]` in the test module, and
don't import this module there too (pytest could no longer rewrite its asserts): the
constants are on the fixture, `smtp_server.HANG`, `smtp_server.ACCEPTED`.
"""

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
HANG = "hang"
HOLD = "hold"  # like HANG, but the held message is accepted when the gate opens
ACCEPTED = "250 2.0.0 OK: queued"


@dataclass(frozen=True)
class Transaction:
    """One DATA transaction the server was offered, and how it answered."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    reply: str  # ACCEPTED, the scripted reply, or HANG

    @property
    def accepted(self) -> bool:
        return self.reply == ACCEPTED


@dataclass(frozen=True)
class Refusal:
    """One RCPT TO the server refused."""

    mail_from: str
    address: str
    reply: str


class SMTPSink:
    """The aiosmtpd handler and its controller. Everything it records is thread safe to read."""

    HANG = HANG
    HOLD = HOLD
    ACCEPTED = ACCEPTED

    def __init__(self) -> None:
        self.script: list[str | None] = []
        # address (lower case) or "*" -> the reply to its RCPT TO, for every attempt
        self.refuse_rcpt: dict[str, str] = {}
        self.hung = threading.Event()  # set when a HANG entry starts withholding its answer
        self._transactions: list[Transaction] = []
        self._refusals: list[Refusal] = []
        self._changed = threading.Condition()
        self._release = asyncio.Event()  # bound to the server's loop on first wait
        self._controller: Controller | None = None
        self.port = 0

    # -- what the server saw ------------------------------------------------------------
    @property
    def transactions(self) -> list[Transaction]:
        """Every DATA the server was offered: refused, hung and accepted."""
        with self._changed:
            return list(self._transactions)

    @property
    def messages(self) -> list[Transaction]:
        """The messages the server accepted (what a mailbox would hold)."""
        return [t for t in self.transactions if t.accepted]

    @property
    def refusals(self) -> list[Refusal]:
        with self._changed:
            return list(self._refusals)

    # -- aiosmtpd handler hooks (run in the server's thread) ------------------------------
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse_rcpt.get(address.lower()) or self.refuse_rcpt.get("*")
        if reply:
            with self._changed:
                self._refusals.append(Refusal(envelope.mail_from, address, reply))
                self._changed.notify_all()
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        with self._changed:
            action = self.script.pop(0) if self.script else None
            reply = ACCEPTED if action in (None, HOLD) else action
            self._transactions.append(
                Transaction(envelope.mail_from, tuple(envelope.rcpt_tos), message, reply)
            )
            self._changed.notify_all()
        if action in (HANG, HOLD):
            self.hung.set()
            await self._release.wait()
            return reply if action == HOLD else "421 4.3.2 Test server shutting down"
        return reply

    # -- lifecycle ------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget what was seen and scripted, and close the gate again (a sink shared by
        several tests). Call it with nothing held."""
        with self._changed:
            self.script, self.refuse_rcpt = [], {}
            self._transactions, self._refusals = [], []
        self.hung = threading.Event()
        self._release = asyncio.Event()

    def release(self) -> None:
        """Open the gate: every held (HANG) DATA answers now, and later HANGs don't hold."""
        if self._controller is not None:
            self._controller.loop.call_soon_threadsafe(self._release.set)

    def start(self, port: int | None = None) -> None:
        """Listen on a free port, or on `port` (a refusing port that now opens)."""
        last_error: OSError | None = None
        for _ in range(5):  # the free port can be taken between finding and binding it
            controller = Controller(
                self, hostname=HOST, port=port or free_port(), server_hostname="smtp.test"
            )
            try:
                controller.start()
            except OSError as exc:
                last_error = exc
                controller.loop.close()
                continue
            self._controller, self.port = controller, controller.port
            return
        raise RuntimeError(f"could not start the test SMTP server: {last_error}")

    def stop(self) -> None:
        if self._controller is None:
            return
        # Let hung DATA commands answer and end before the loop stops, so the thread
        # ends cleanly instead of leaving pending tasks behind.
        self._controller.loop.call_soon_threadsafe(self._release.set)
        self._controller.stop()
        self._controller = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def closed_port_on_localhost() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it), never
    listening, so a connect() gets ECONNREFUSED at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        yield sock.getsockname()[1]


def point_mailers_at(
    settings, port: int, *, timeout: float = 5.0, retry_base_seconds: float = 0.05
) -> None:
    """Send through real SMTP to 127.0.0.1:port, with fast outbox retries.

    `settings` is pytest-django's fixture: it replaces the locmem backend the test runner
    installs, for this test only. The mailers handler reads settings.MAILERS at each send,
    so the Celery worker thread uses it too.
    """
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": HOST, "port": port, "timeout": timeout},
        }
    }
    settings.OUTBOX_RETRY_BASE_SECONDS = retry_base_seconds


# ------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------
@pytest.fixture
def smtp_server() -> Iterator[SMTPSink]:
    """A running SMTP sink on 127.0.0.1 (see the module docstring for scripting it)."""
    # aiosmtpd 1.4.6 emits no warnings here (checked under filterwarnings=error), so
    # nothing is silenced: a new one in a later version should be looked at, not hidden.
    sink = SMTPSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def mailers_at(settings):
    """mailers_at(port, timeout=..., retry_base_seconds=...): point_mailers_at for this test."""

    def point(port: int, **options) -> None:
        point_mailers_at(settings, port, **options)

    return point


@pytest.fixture
def smtp_settings(smtp_server: SMTPSink, mailers_at) -> SMTPSink:
    """The SMTP sink, with Django's default mailer pointed at it and fast retries."""
    mailers_at(smtp_server.port)
    return smtp_server


@pytest.fixture
def closed_port() -> Iterator[int]:
    with closed_port_on_localhost() as port:
        yield port
