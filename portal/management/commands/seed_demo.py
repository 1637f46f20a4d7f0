"""Demo data for `make run`. Idempotent: running it twice changes nothing."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from partners.models import Membership, Organization, Partnership, PartnershipRequest
from partners.partnerships import request_partnership
from portal.models import User
from portal.scoping import unscoped

PASSWORD = "demo-pass-2026"  # noqa: S105 (published demo password, DEBUG only)

ORGANIZATIONS = [
    # kind, name, slug, partner id, country, admin email
    ("provider", "Contoso Distribution", "contoso", "4100001", "US", "provider@demo.example"),
    ("reseller", "Fabrikam Solutions", "fabrikam", "5200001", "US", "reseller@demo.example"),
    ("reseller", "Northwind IT", "northwind", "5200002", "GB", "northwind@demo.example"),
    ("provider", "Tailspin Cloud", "tailspin", "4100002", "DE", "tailspin@demo.example"),
]
STAFF_EMAIL = "admin@demo.example"
NAMES = {
    "provider@demo.example": ("Pat", "Provider"),
    "reseller@demo.example": ("Rita", "Reseller"),
    "northwind@demo.example": ("Nina", "Northwind"),
    "tailspin@demo.example": ("Tom", "Tailspin"),
    STAFF_EMAIL: ("Sam", "Staff"),
}


class Command(BaseCommand):
    help = "Load the demo organizations and logins (refuses when DEBUG is false unless --force)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even when DEBUG is false.")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo data with DEBUG=false: it creates accounts with a "
                "published password. Use --force if you really mean it."
            )
        with transaction.atomic(), unscoped("demo data"):
            self._user(STAFF_EMAIL, staff=True)
            for kind, name, slug, partner_id, country, email in ORGANIZATIONS:
                org, _ = Organization.objects.update_or_create(
                    partner_id=partner_id,
                    defaults={
                        "kind": kind,
                        "name": name,
                        "slug": slug,
                        "country": country,
                        "contact_email": email,
                    },
                )
                Membership.objects.update_or_create(
                    user=self._user(email), organization=org, defaults={"role": "admin"}
                )
            self._partnerships()
        self.stdout.write(self.style.SUCCESS(f"Demo data is ready. Logins (password {PASSWORD}):"))
        for kind, name, _slug, _pid, _country, email in ORGANIZATIONS:
            self.stdout.write(f"  {email:<26} Admin of {name} ({kind})")
        self.stdout.write(f"  {STAFF_EMAIL:<26} staff superuser (/admin/)")

    def _partnerships(self) -> None:
        contoso = Organization.objects.get(slug="contoso")
        fabrikam = Organization.objects.get(slug="fabrikam")
        Partnership.objects.get_or_create(provider=contoso, reseller=fabrikam, ended_at=None)
        pending = PartnershipRequest.objects.filter(
            provider=contoso,
            email="pending@demo.example",
            state="pending",
            expires_at__gt=timezone.now(),
        )
        if not pending.exists():
            request_partnership(
                provider=contoso,
                actor=User.objects.get(email="provider@demo.example"),
                email="pending@demo.example",
                contact_name="Pending Reseller",
            )

    def _user(self, email: str, staff: bool = False) -> User:
        user, _ = User.objects.get_or_create(email=email)
        user.is_staff = user.is_superuser = staff
        user.first_name, user.last_name = NAMES[email]
        user.set_password(PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
