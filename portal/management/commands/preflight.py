"""Check that the services the settings point at answer, and say how to start them if not."""

import socket
import sys
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand

HINT = "Start it with `docker compose up -d db redis` (or your system's service manager)."


class Command(BaseCommand):
    help = "Fail fast, with a clear message, when PostgreSQL or Redis is unreachable."

    def handle(self, *args, **options):
        problems = []
        database = settings.DATABASES["default"]
        if database["ENGINE"] == "django.db.backends.postgresql":
            import psycopg

            where = f"{database.get('HOST') or 'localhost'}:{database.get('PORT') or 5432}"
            try:
                # The server, not the database: the test run creates its own database.
                psycopg.connect(
                    host=database.get("HOST") or None,
                    port=database.get("PORT") or None,
                    user=database.get("USER") or None,
                    password=database.get("PASSWORD") or None,
                    dbname="postgres",
                    connect_timeout=3,
                ).close()
            except psycopg.OperationalError as exc:
                reason = str(exc).strip().splitlines()[0]
                problems.append(f"PostgreSQL at {where} is unreachable ({reason}).")
        broker = settings.CELERY_BROKER_URL
        if broker:
            url = urlparse(broker)
            try:
                with socket.create_connection(
                    (url.hostname or "localhost", url.port or 6379), 2
                ) as s:
                    s.sendall(b"PING\r\n")
                    if not s.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                        raise OSError("unexpected answer to PING")
            except OSError as exc:
                problems.append(
                    f"Redis at {url.hostname}:{url.port or 6379} is unreachable ({exc})."
                )
        if problems:
            for problem in problems:
                self.stderr.write(self.style.ERROR(problem))
            self.stderr.write(HINT)
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("Services are reachable."))
