from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from partners.services.organizations import create_provider


class Command(BaseCommand):
    help = "Create an indirect provider and make ADMIN_EMAIL its Admin (invited by email if new)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Company name")
        parser.add_argument("partner_id", help="The program's Partner ID (6 to 10 digits)")
        parser.add_argument("admin_email", help="Email address of the provider's first Admin")
        parser.add_argument("--country", default="US", help="ISO 3166 country code (default US)")
        parser.add_argument("--contact-email", help="Company contact email (default: admin email)")

    def handle(self, *args, name, partner_id, admin_email, country, contact_email, **options):
        try:
            org, link = create_provider(
                name=name,
                partner_id=partner_id,
                country=country.upper(),
                contact_email=contact_email or admin_email,
                admin_email=admin_email,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created indirect provider {org.name} ({org.slug})."))
        if not org.partner_id_verified:
            self.stdout.write(
                self.style.WARNING(
                    f"Partner ID {org.partner_id} is also claimed by another organization, so "
                    "it stays unverified: settle it in the admin (Organizations, filter "
                    '"Disputed Partner IDs", action "Verify the Partner ID").'
                )
            )
        if link:
            self.stdout.write(f"{admin_email} was invited as Admin. Invitation link: {link}")
        else:
            self.stdout.write(f"{admin_email} already had an account and is now its Admin.")
