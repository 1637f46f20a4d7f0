"""`manage.py run_lifecycle [--as-of 2027-01-31]`: the daily job, by hand (or in tests)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from subscriptions.services.renewals import run_lifecycle


class Command(BaseCommand):
    help = "Renew or expire subscriptions whose term ended, and send the renewal reminders."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="The day to run for (YYYY-MM-DD); today by default.")
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, as_of=None, batch_size=None, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--as-of must be a date, YYYY-MM-DD: {as_of}") from exc
        result = run_lifecycle(as_of=day, batch_size=batch_size)
        self.stdout.write(
            f"{day}: {result.renewed} renewed, {result.expired} expired, "
            f"{result.reminded} reminded, {result.skipped} skipped (held by another run)"
        )
